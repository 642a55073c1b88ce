import Foundation
import Testing

@testable import AIDE

/// The data preview the prompts show: tree, CSV shapes and column statistics, inline text, bounds.
struct DataPreviewTests {
    /// A small data folder: two CSVs (one a subset of the other's columns), small and large text files,
    /// a subfolder, a hidden file.
    static func makeData() throws -> URL {
        let folder = TaskTestSupport.temporaryDirectory("preview")
        try TaskTestSupport.write(
            "id,age,city,score,label\n1,20,Paris,0.5,1\n2,NA,Rome,1.5,0\n3,40,Paris,,1\n4,30,\"Oslo, Norway\",2.5,0\n",
            to: folder.appendingPathComponent("train.csv"))
        try TaskTestSupport.write(
            "id,age,city,score\n5,25,Rome,1\n6,35,Paris,2\n", to: folder.appendingPathComponent("test.csv"))
        try TaskTestSupport.write("Scores are in points.\n", to: folder.appendingPathComponent("notes.md"))
        try TaskTestSupport.write(String(repeating: "long text\n", count: 300), to: folder.appendingPathComponent("big.txt"))
        try TaskTestSupport.write("{\"a\": 1}", to: folder.appendingPathComponent("extra/meta.json"))
        try TaskTestSupport.write("secret", to: folder.appendingPathComponent(".hidden"))
        return folder
    }

    @Test func smallDirectory() throws {
        let folder = try Self.makeData()
        defer { try? FileManager.default.removeItem(at: folder) }
        let preview = DataPreview.generate(for: folder)
        #expect(
            preview
                == """
                Files in the data directory:
                  big.txt (3.0 kB)
                  extra/ (1 entry)
                    meta.json (8 B)
                  notes.md (22 B)
                  test.csv (43 B)
                  train.csv (97 B)

                -> train.csv: 4 rows × 5 columns
                   id (numeric): min 1, max 4, mean 2.5
                   age (numeric, 1 missing): min 20, max 40, mean 30
                   city (text): 3 unique; top: Paris (2), Oslo, Norway (1), Rome (1)
                   score (numeric, 1 missing): min 0.5, max 2.5, mean 1.5
                   label (numeric): min 0, max 1, mean 0.5; values: 0 (2), 1 (2)

                -> test.csv: 2 rows × 4 columns
                   id (numeric): min 5, max 6, mean 5.5
                   age (numeric): min 25, max 35, mean 30
                   city (text): 2 unique; top: Paris (1), Rome (1)
                   score (numeric): min 1, max 2, mean 1.5

                -> extra/meta.json:
                {"a": 1}

                -> notes.md:
                Scores are in points.

                """)
        #expect(!preview.contains("long text"))  // 3 kB: too big to inline
        #expect(!preview.contains(".hidden"))
        #expect(!preview.contains("left out"))
    }

    @Test func wideSubsetTableIsDescribedByDifference() throws {
        let folder = TaskTestSupport.temporaryDirectory("preview")
        defer { try? FileManager.default.removeItem(at: folder) }
        let names = (1...8).map { "f\($0)" }
        let row = (1...8).map(String.init).joined(separator: ",")
        try TaskTestSupport.write(
            (names + ["y"]).joined(separator: ",") + "\n" + row + ",1\n", to: folder.appendingPathComponent("a_train.csv"))
        try TaskTestSupport.write(names.joined(separator: ",") + "\n" + row + "\n", to: folder.appendingPathComponent("b_test.csv"))
        let preview = DataPreview.generate(for: folder)
        #expect(preview.contains("-> b_test.csv: 1 rows × 8 columns\n   columns: those of a_train.csv without y\n"))
    }

    @Test func longPreviewKeepsEveryColumnAndSaysWhatItLeftOut() throws {
        let folder = try Self.makeData()
        defer { try? FileManager.default.removeItem(at: folder) }
        let full = DataPreview.generate(for: folder)
        // Shorter than the full preview: statistics give way first, the target's (not in test.csv) kept first.
        let shorter = DataPreview.generate(for: folder, maxLength: full.count - 60)
        #expect(shorter.count <= full.count - 60)
        #expect(shorter.contains("statistics of some columns left out to fit the preview"))
        #expect(shorter.contains("label (numeric): min 0, max 1"))
        for column in ["id", "age", "city", "score", "label"] { #expect(shorter.contains(column)) }
        #expect(shorter.contains("-> notes.md:\nScores are in points."))
        // Much shorter: cut at a line, and said so.
        let cut = DataPreview.generate(for: folder, maxLength: 250)
        #expect(cut.count <= 250)
        #expect(cut.contains("preview truncated"))
        #expect(cut.hasPrefix("Files in the data directory:\n"))
        #expect(DataPreview.generate(for: folder, maxLength: 10).count <= 10)
    }

    @Test func unreadableAndEmptyInputs() throws {
        let folder = TaskTestSupport.temporaryDirectory("preview")
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(DataPreview.generate(for: folder) == "Files in the data directory:\n  (empty)\n")
        try TaskTestSupport.write("a,b\n1,\"open\n", to: folder.appendingPathComponent("broken.csv"))
        try TaskTestSupport.write("a,b\n1,2,3\n4,5\n,\n", to: folder.appendingPathComponent("ragged.csv"))
        let preview = DataPreview.generate(for: folder)
        #expect(preview.contains("-> broken.csv: could not be read: line 2: a quoted field is never closed"))
        #expect(preview.contains("-> ragged.csv: 3 rows × 2 columns (1 rows with a different number of fields)"))
        #expect(preview.contains("b (numeric, 1 missing)"))
        let nowhere = folder.appendingPathComponent("nowhere")
        #expect(DataPreview.generate(for: nowhere) == "Files in the data directory:\n  (empty)\n")
    }

    @Test func manyFilesAreBounded() throws {
        let folder = TaskTestSupport.temporaryDirectory("preview")
        defer { try? FileManager.default.removeItem(at: folder) }
        for index in 0..<60 {
            try TaskTestSupport.write("x\n\(index)\n", to: folder.appendingPathComponent(String(format: "part-%02d.csv", index)))
        }
        let preview = DataPreview.generate(for: folder)
        #expect(preview.contains("… and 35 more"))
        #expect(preview.contains("(48 more CSV files not previewed)"))
        #expect(preview.count <= 6000)
    }

    static let housePricesFolder = URL(fileURLWithPath: "/work/shared/datasets/house_prices")

    @Test(
        .enabled(
            "needs Kaggle's house prices data at /work/shared/datasets/house_prices",
            { FileManager.default.fileExists(atPath: housePricesFolder.appendingPathComponent("train.csv").path) }))
    func housePrices() throws {
        // How fast is measured by scripts/bench-data.sh, not here.
        let preview = DataPreview.generate(for: Self.housePricesFolder)
        #expect(preview.count <= 6000)
        #expect(preview.contains("  train.csv (460.7 kB)"))
        #expect(preview.contains("-> train.csv: 1460 rows × 81 columns\n"))
        #expect(preview.contains("-> test.csv: 1459 rows × 80 columns\n   columns: those of train.csv without SalePrice\n"))
        #expect(preview.contains("-> sample_submission.csv: 1459 rows × 2 columns"))
        // The target's statistics come first; pandas' missing values ("NA") are counted.
        #expect(preview.contains("   SalePrice (numeric): min 34900, max 755000, mean 180921\n"))
        #expect(preview.contains("   LotFrontage (numeric, 259 missing): min 21, max 313, mean 70.05\n"))
        #expect(preview.contains("   MSZoning (text): 5 unique; top: RL (1151), RM (218), FV (65)\n"))
        #expect(preview.contains("   Id (numeric): min 1, max 1460, mean 730.5\n"))
        #expect(preview.contains("statistics of some columns left out to fit the preview in 6000 characters"))
        // data_description.txt is 13 kB: listed, not inlined.
        #expect(preview.contains("  data_description.txt (13.4 kB)"))
        #expect(!preview.contains("MSSubClass: Identifies the type of dwelling"))
        // With room, every column has its statistics.
        let roomy = DataPreview.generate(for: Self.housePricesFolder, maxLength: 100_000)
        #expect(!roomy.contains("left out"))
        #expect(roomy.contains("   SaleCondition (text): 6 unique; top: Normal (1198), Partial (125), Abnorml (101)\n"))
    }
}
