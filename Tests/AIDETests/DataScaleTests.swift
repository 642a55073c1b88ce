import AIDETesting
import Foundation
import Testing

@testable import AIDE

/// Large data: the preview reads a bounded number of bytes whatever the size, and a run builds it once.
struct DataScaleTests {
    /// A CSV of `rows` rows × 4 columns of about the same length, written in chunks (never held whole).
    static func writeCSV(rows: Int, to url: URL) throws {
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.write(contentsOf: Data("id,feature,city,label\n".utf8))
        var chunk = ""
        for id in 0..<rows {
            chunk += "\(String(format: "%07d", id)),\(Double(id % 1000) / 10),\(["Paris", "Rome", "Oslo"][id % 3]),\(id % 2)\n"
            if chunk.utf8.count > 1 << 16 {
                try handle.write(contentsOf: Data(chunk.utf8))
                chunk = ""
            }
        }
        try handle.write(contentsOf: Data(chunk.utf8))
    }

    @Test func previewOfALargeCSVReadsOnlyItsBudget() throws {
        let folder = TaskTestSupport.temporaryDirectory("preview-large")
        defer { try? FileManager.default.removeItem(at: folder) }
        let rows = 200_000
        try Self.writeCSV(rows: rows, to: folder.appendingPathComponent("train.csv"))
        try TaskTestSupport.write("id\n1\n", to: folder.appendingPathComponent("test.csv"))
        let size = try #require(try folder.appendingPathComponent("train.csv").resourceValues(forKeys: [.fileSizeKey]).fileSize)
        #expect(size > 4_000_000)  // 60 times the budget

        let budget = 64 << 10
        let (preview, bytesRead) = DataPreview.build(for: folder, maxLength: 6000, sampleBytes: budget)
        // The large file up to its budget, the small one whole: nothing more.
        #expect(bytesRead <= budget + 5)
        #expect(bytesRead >= budget)
        // The row count is an estimate, and says so; it lands near the truth (rows are of similar length).
        let line = try #require(preview.split(separator: "\n").first { $0.hasPrefix("-> train.csv: about ") })
        #expect(line.contains("rows (estimated from the first 65."))
        #expect(line.contains("of \(DataPreview.formatSize(size))) × 4 columns"))
        let estimate = try #require(Int(line.dropFirst("-> train.csv: about ".count).prefix { $0.isNumber }))
        #expect(abs(estimate - rows) < rows / 20, "estimated \(estimate) rows of \(rows)")
        // Statistics are the sample's, and say so.
        #expect(preview.contains("   statistics below are of a sample: the first "))
        #expect(preview.contains("   label (numeric): min 0, max 1, mean 0.499846; values: 0 (1621), 1 (1620)"))
        #expect(preview.contains("   statistics below are of a sample: the first 3241 rows\n"))
        #expect(preview.contains("-> test.csv: 1 rows × 1 columns\n"))

        // With a budget above the file's size, the file is read whole and counted exactly.
        let whole = DataPreview.build(for: folder, maxLength: 6000, sampleBytes: size + 1)
        #expect(whole.bytesRead == size + 5)
        #expect(whole.text.contains("-> train.csv: \(rows) rows × 4 columns\n"))
        #expect(!whole.text.contains("sample"))
    }

    @Test func aSampleEndingInsideAQuotedFieldKeepsTheRecordsBeforeIt() throws {
        let folder = TaskTestSupport.temporaryDirectory("preview-quoted")
        defer { try? FileManager.default.removeItem(at: folder) }
        let record = "1,\"a note\nspanning lines\"\n"
        try TaskTestSupport.write("id,note\n" + String(repeating: record, count: 100), to: folder.appendingPathComponent("notes.csv"))
        // 8 + 26 × 3 + 10 bytes: the sample's last line break falls inside the fourth record's note.
        let preview = DataPreview.generate(for: folder, sampleBytes: 8 + 26 * 3 + 10)
        #expect(preview.contains("-> notes.csv: about "))
        #expect(preview.contains("statistics below are of a sample: the first 3 rows"))
        #expect(!preview.contains("could not be read"))
    }

    @Test func aFolderOfManyFilesIsCountedBySizeAndExtension() throws {
        let folder = TaskTestSupport.temporaryDirectory("preview-images")
        defer { try? FileManager.default.removeItem(at: folder) }
        let images = folder.appendingPathComponent("images")
        for index in 0..<300 {
            try TaskTestSupport.write(String(repeating: "x", count: 100), to: images.appendingPathComponent(String(format: "%04d.png", index)))
        }
        for index in 0..<5 { try TaskTestSupport.write("t", to: images.appendingPathComponent("label-\(index).txt")) }
        try FileManager.default.createDirectory(at: images.appendingPathComponent("zz-more"), withIntermediateDirectories: true)
        let preview = DataPreview.generate(for: folder)
        // 25 listed; the other 281 entries: 275 .png of 100 B, the 5 .txt, the folder.
        #expect(preview.contains("images/ (306 entries)"))
        #expect(preview.contains("    … and 281 more: 275 .png (27.5 kB), 5 .txt (5 B), 1 folder\n"))
    }

    /// The preview is built when the run starts and stored; a resume uses the stored one even when the
    /// run's data changed since.
    @Test func aRunStoresItsPreviewAndAResumeDoesNotRebuildIt() async throws {
        let scripted = try ScriptedRun(taskSteps: 6, answers: ScriptedRun.goodSteps(4))
        defer { scripted.remove() }
        let first = try await scripted.start()
        #expect(first.status == .finished)
        let database = first.folder.appendingPathComponent(RunStore.fileName)
        let stored = try {
            let store = try RunStore.openReadOnly(path: database)
            defer { try? store.close() }
            return try store.dataPreview()
        }()
        let preview = try #require(stored)
        #expect(preview.contains("-> train.csv: 30 rows × 3 columns"))

        // Data that would change the preview, were it built again.
        try TaskTestSupport.write("a,b\n1,2\n", to: first.folder.appendingPathComponent("input/added.csv"))
        let second = try await scripted.resume(first.folder)
        #expect(second.status == .finished)
        let store = try RunStore.openReadOnly(path: database)
        defer { try? store.close() }
        #expect(try store.dataPreview() == preview)
    }
}

extension DataScaleTests {
    /// `aide preview DIR` prints the preview a run would show; a path that is not a folder is a one-line error.
    @Test func aidePreviewPrintsWhatTheModelIsShown() async throws {
        let folder = TaskTestSupport.temporaryDirectory("preview-cli")
        defer { try? FileManager.default.removeItem(at: folder) }
        try TaskTestSupport.write("id,x\n1,0.5\n2,1.5\n", to: folder.appendingPathComponent("train.csv"))
        let shown = try await CommandRunner.run(["preview", folder.path], environment: [:], timeout: 60)
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout == DataPreview.generate(for: folder.resolvingSymlinksInPath()) + "\n")
        #expect(shown.stdout.contains("train.csv: 2 rows × 2 columns"), "\(shown.stdout)")
        let missing = try await CommandRunner.run(["preview", folder.appendingPathComponent("nope").path], environment: [:], timeout: 60)
        #expect(missing.status != 0)
        #expect(missing.stderr.hasPrefix("Error: \(folder.appendingPathComponent("nope").path) is not a folder\n"), "\(missing.stderr)")
    }
}
