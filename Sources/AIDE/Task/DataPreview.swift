import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A short description of a task's data for the prompts, like AIDE's data preview: the file tree with
/// sizes, each CSV's shape and columns (type, missing values, a few statistics), and small text files
/// inline. Its cost does not grow with the data: each CSV is read up to a byte budget (a head sample,
/// whose row count is scaled to the file's size and statistics marked as the sample's), and the file
/// tree lists a bounded number of entries, the rest counted and sized by extension.
public enum DataPreview {
    /// Bytes read at most from each CSV file; a larger file is previewed from its first bytes.
    public static let defaultSampleBytes = 2 << 20
    /// Values counted as missing, as pandas' `read_csv` counts them by default.
    static let missingValues: Set<String> = [
        "", "NA", "N/A", "n/a", "NaN", "nan", "-NaN", "-nan", "NULL", "null", "None", "<NA>", "#N/A", "#NA",
    ]
    /// The longest of them, in bytes: a longer value is not looked up.
    static let missingLength = missingValues.map(\.utf8.count).max() ?? 0
    static let textExtensions: Set<String> = ["txt", "md", "json"]
    static let inlineLimit = 2048
    static let maxEntriesPerDirectory = 25
    static let maxTreeLines = 120
    static let maxDepth = 4
    static let maxCSVFiles = 12
    /// Distinct values remembered per column; past this a column reports "at least N unique".
    static let distinctCap = 10_000

    /// The preview of `directory`, at most `maxLength` characters. When the full preview is longer, every
    /// column is still listed with its type and missing count, but statistics are kept for only as many
    /// columns as fit (training data first); if even that is too long, small text files give way to their
    /// names, and last the text is cut at a line. Each step says so.
    public static func generate(for directory: URL, maxLength: Int = 6000, sampleBytes: Int = defaultSampleBytes) -> String {
        build(for: directory, maxLength: maxLength, sampleBytes: sampleBytes).text
    }

    /// The preview of `directory` from `listings` its folders were listed in already (a walk of the
    /// same folder, links resolved), listing only what they lack.
    static func generate(for directory: URL, listings: Listings) -> String {
        var bytesRead = 0
        return generate(
            for: directory, maxLength: 6000, sampleBytes: defaultSampleBytes, listings: listings, bytesRead: &bytesRead)
    }

    /// The preview and how many bytes of file contents building it read.
    static func build(for directory: URL, maxLength: Int, sampleBytes: Int, listings: Listings = Listings()) -> (text: String, bytesRead: Int) {
        var bytesRead = 0
        let text = generate(for: directory, maxLength: maxLength, sampleBytes: sampleBytes, listings: listings, bytesRead: &bytesRead)
        return (text, bytesRead)
    }

    private static func generate(
        for directory: URL, maxLength: Int, sampleBytes: Int, listings: Listings, bytesRead: inout Int
    ) -> String {
        let files = listFiles(in: directory, listings: listings)
        let tree = renderTree(directory: directory, listings: listings)
        var texts: [(path: String, text: String)] = []
        let csvFiles = files.filter { pathExtension($0.path).lowercased() == "csv" }
        // Each CSV on a thread of its own: parsing the samples is most of a preview's work.
        let sampled = Array(csvFiles.prefix(maxCSVFiles))
        let summaries = Mutex([(summary: CSVSummary, bytesRead: Int)?](repeating: nil, count: sampled.count))
        DispatchQueue.concurrentPerform(iterations: sampled.count) { index in
            var read = 0
            let summary = summarize(csv: sampled[index].url, path: sampled[index].path, sampleBytes: sampleBytes, bytesRead: &read)
            summaries.withLock { $0[index] = (summary, read) }
        }
        var csvs = summaries.withLock { $0.map { $0!.summary } }
        bytesRead += summaries.withLock { $0.reduce(0) { $0 + $1!.bytesRead } }
        for file in files where textExtensions.contains(pathExtension(file.path).lowercased()) && file.size < inlineLimit {
            if let data = readHead(of: file.url, upTo: inlineLimit) {
                bytesRead += data.count
                texts.append((file.path, String(decoding: data, as: UTF8.self)))
            }
        }
        // Training data first, then the rest by name, so later files can refer to earlier ones.
        csvs.sort { a, b in
            let ta = a.path.lowercased().contains("train"), tb = b.path.lowercased().contains("train")
            return ta != tb ? ta : a.path < b.path
        }
        // The columns a table has beyond the widest other table made of its columns (train.csv's target,
        // which test.csv lacks) get their statistics first.
        for index in csvs.indices {
            let names = Set(csvs[index].columns.map(\.name))
            let subsets = csvs.indices.map { Set(csvs[$0].columns.map(\.name)) }.filter {
                $0.count >= 2 && $0.count < names.count && $0.isSubset(of: names)
            }
            if let widest = subsets.max(by: { $0.count < $1.count }) { csvs[index].priority = names.subtracting(widest) }
        }
        var omittedCSVs = ""
        if csvFiles.count > maxCSVFiles {
            omittedCSVs = "\n(\(csvFiles.count - maxCSVFiles) more CSV files not previewed)\n"
        }

        /// `detail[i]`: how many leading columns of `csvs[i]` get a line of statistics (the rest are listed).
        func render(detail: [Int], inlineTexts: Bool, note: String = "") -> String {
            var out = "Files in the data directory:\n" + tree
            var described: [CSVSummary] = []
            for (index, csv) in csvs.enumerated() {
                out += "\n" + csv.render(detailedColumns: detail[index], describedBefore: described)
                if csv.error == nil { described.append(csv) }
            }
            out += omittedCSVs
            for text in texts {
                if inlineTexts {
                    let body = text.text.hasSuffix("\n") ? text.text : text.text + "\n"
                    out += "\n-> \(text.path):\n\(body)"
                } else {
                    out += "\n-> \(text.path): (contents left out to fit the preview)\n"
                }
            }
            return out + note
        }

        let all = csvs.map(\.columns.count)
        let full = render(detail: all, inlineTexts: true)
        if full.count <= maxLength { return full }
        // Every column listed with its type; then statistics for as many columns as fit, training data first.
        let note = "\n(statistics of some columns left out to fit the preview in \(maxLength) characters)\n"
        for inlineTexts in [true, false] {
            var detail = Array(repeating: 0, count: csvs.count)
            guard render(detail: detail, inlineTexts: inlineTexts, note: note).count <= maxLength else { continue }
            for index in csvs.indices {
                var low = 0, high = all[index]  // the most columns that fit lies in low...high
                while low < high {
                    let middle = (low + high + 1) / 2
                    detail[index] = middle
                    if render(detail: detail, inlineTexts: inlineTexts, note: note).count <= maxLength {
                        low = middle
                    } else {
                        high = middle - 1
                    }
                }
                detail[index] = low
                if low < all[index] { break }
            }
            return render(detail: detail, inlineTexts: inlineTexts, note: note)
        }
        return truncate(render(detail: Array(repeating: 0, count: csvs.count), inlineTexts: false, note: note), to: maxLength)
    }

    /// `text` cut at a line boundary so that it and a closing note fit in `maxLength` characters.
    static func truncate(_ text: String, to maxLength: Int) -> String {
        let note = "\n… (preview truncated: \(text.count) characters in all, \(maxLength) shown at most)\n"
        guard maxLength > note.count + 20 else { return String(text.prefix(max(0, maxLength))) }
        var kept = String(text.prefix(maxLength - note.count))
        if let lastNewline = kept.lastIndex(of: "\n") { kept = String(kept[...lastNewline]) }
        return kept.hasSuffix("\n") ? String(kept.dropLast()) + note : kept + note
    }

    // MARK: Files

    struct FileEntry {
        /// The file's path on disk.
        var location: String
        /// Relative to the data directory.
        var path: String
        var size: Int

        var url: URL { URL(fileURLWithPath: location, isDirectory: false) }
    }

    /// Regular files under `directory`, depth-first by name, skipping hidden files, bounded in depth and count.
    static func listFiles(in directory: URL, listings: Listings = Listings()) -> [FileEntry] {
        var result: [FileEntry] = []
        func walk(_ path: String, prefix: String, depth: Int) {
            guard depth < maxDepth, result.count < 2000 else { return }
            let base = path.hasSuffix("/") ? path : path + "/"
            for child in listings.children(of: path) {
                if child.isDirectory {
                    walk(base + child.name, prefix: prefix + child.name + "/", depth: depth + 1)
                } else {
                    result.append(FileEntry(location: base + child.name, path: prefix + child.name, size: child.size))
                }
            }
        }
        walk(directory.path, prefix: "", depth: 0)
        return result
    }

    struct Child {
        var name: String
        /// Links followed.
        var isDirectory: Bool
        var size: Int
    }

    /// The folders one preview lists, each listed once: its visible entries by name, each with one
    /// stat (links followed; a folder of 100,000 files costs 100,000 stats, not URL resource lookups),
    /// and how many entries it holds in all. A walk that listed them already hands them over.
    final class Listings {
        private var children: [String: [Child]] = [:]
        private var counts: [String: Int] = [:]
        /// Folders listed here (for their entries or their count), not handed over.
        private(set) var listedHere = 0

        init() {}

        /// `entries` (all of them, in any order; nil: only the count is known) and `count`, for the folder at `path`.
        func keep(_ entries: [Child]?, count: Int, for path: String) {
            counts[path] = count
            if let entries { children[path] = Self.visible(entries) }
        }

        /// The visible entries of the folder at `path` by name.
        func children(of path: String) -> [Child] {
            if let kept = children[path] { return kept }
            listedHere += 1
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return [] }
            let base = path.hasSuffix("/") ? path : path + "/"
            let listed = Self.visible(names.map { name in
                var info = stat()
                let found = stat(base + name, &info) == 0
                let isDirectory = found && info.st_mode & S_IFMT == S_IFDIR
                return Child(name: name, isDirectory: isDirectory, size: found && !isDirectory ? Int(info.st_size) : 0)
            })
            keep(listed, count: names.count, for: path)
            return listed
        }

        /// How many entries the folder at `path` holds, hidden ones too.
        func count(of path: String) -> Int {
            if let kept = counts[path] { return kept }
            listedHere += 1
            let count = (try? FileManager.default.contentsOfDirectory(atPath: path).count) ?? 0
            counts[path] = count
            return count
        }

        /// Byte order of UTF-8 is code-point order, as String's `<` gives for normalized names, but cheaper.
        private static func visible(_ entries: [Child]) -> [Child] {
            entries.filter { !$0.name.hasPrefix(".") }.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        }
    }

    static func renderTree(directory: URL, listings: Listings = Listings()) -> String {
        var lines: [String] = []
        var truncated = false
        func walk(_ path: String, indent: String, depth: Int) {
            let entries = listings.children(of: path)
            let base = path.hasSuffix("/") ? path : path + "/"
            for (index, child) in entries.enumerated() {
                if lines.count >= maxTreeLines {
                    truncated = true
                    return
                }
                if index == maxEntriesPerDirectory {
                    lines.append("\(indent)… and \(entries.count - index) more: \(describe(entries[index...]))")
                    return
                }
                if child.isDirectory {
                    let count = listings.count(of: base + child.name)
                    lines.append("\(indent)\(child.name)/ (\(count) entr\(count == 1 ? "y" : "ies"))")
                    if depth + 1 < maxDepth { walk(base + child.name, indent: indent + "  ", depth: depth + 1) }
                } else {
                    lines.append("\(indent)\(child.name) (\(formatSize(child.size)))")
                }
            }
        }
        walk(directory.path, indent: "  ", depth: 0)
        if lines.isEmpty { lines.append("  (empty)") }
        if truncated { lines.append("  … (file list cut at \(maxTreeLines) lines)") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Entries not listed, counted and sized by kind: "19975 .png (40.1 MB), 2 folders".
    static func describe(_ entries: ArraySlice<Child>) -> String {
        var byExtension: [String: (count: Int, bytes: Int)] = [:]
        var folders = 0
        for entry in entries {
            if entry.isDirectory {
                folders += 1
                continue
            }
            let ext = pathExtension(entry.name).lowercased()
            let key = ext.isEmpty ? "without extension" : "." + ext
            byExtension[key, default: (0, 0)].count += 1
            byExtension[key, default: (0, 0)].bytes += entry.size
        }
        var parts = byExtension.sorted { $0.value.count != $1.value.count ? $0.value.count > $1.value.count : $0.key < $1.key }
            .prefix(8).map { "\($0.value.count) \($0.key) (\(formatSize($0.value.bytes)))" }
        if byExtension.count > 8 { parts.append("\(byExtension.count - 8) other kinds") }
        if folders > 0 { parts.append("\(folders) folder\(folders == 1 ? "" : "s")") }
        return parts.joined(separator: ", ")
    }

    /// What follows the last dot of a file name ("png" of "0001.png"), as URL's `pathExtension` says
    /// it, without making a URL per file: empty for "README", ".hidden" and "name.".
    static func pathExtension(_ name: String) -> String {
        let last = name.utf8.lastIndex(of: UInt8(ascii: "/")).map { name.utf8.index(after: $0) } ?? name.utf8.startIndex
        guard let dot = name.utf8[last...].lastIndex(of: UInt8(ascii: ".")), dot != last else { return "" }
        return String(name[name.utf8.index(after: dot)...])
    }

    static func formatSize(_ bytes: Int) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1000 && unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }

    // MARK: CSV summaries

    struct ColumnStats {
        var name: String
        var missing = 0
        var numeric = 0
        var nonNumeric = 0
        var min = Double.infinity
        var max = -Double.infinity
        var sum = 0.0
        var counts: [String: Int] = [:]
        var overflow = false

        mutating func add(_ value: String) {
            if value.utf8.count <= DataPreview.missingLength, DataPreview.missingValues.contains(value) {
                missing += 1
                return
            }
            if nonNumeric == 0, let number = Double(value), number.isFinite {
                numeric += 1
                if number < min { min = number }
                if number > max { max = number }
                sum += number
            } else {
                nonNumeric += 1
            }
            // One lookup per value while there is room; past the cap only values already counted are.
            if counts.count < DataPreview.distinctCap {
                counts[value, default: 0] += 1
            } else if let index = counts.index(forKey: value) {
                counts.values[index] += 1
            } else {
                overflow = true
            }
        }

        var isNumeric: Bool { nonNumeric == 0 && numeric > 0 }

        var typeName: String {
            if numeric == 0 && nonNumeric == 0 { return "empty" }
            return isNumeric ? "numeric" : "text"
        }

        var uniqueText: String { overflow ? "at least \(counts.count)" : "\(counts.count)" }

        func topValues(_ k: Int) -> String {
            counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(k).map {
                let shown = $0.key.count > 30 ? String($0.key.prefix(30)) + "…" : $0.key
                return "\(shown) (\($0.value))"
            }.joined(separator: ", ")
        }

        func render(detailed: Bool) -> String {
            var head = "\(name) (\(typeName)"
            if missing > 0 { head += ", \(missing) missing" }
            head += ")"
            guard detailed else { return head }
            if numeric == 0 && nonNumeric == 0 { return head }
            if isNumeric {
                var line = "\(head): min \(format(min)), max \(format(max)), mean \(format(sum / Double(numeric)))"
                // A few values, each repeated (a label, a count): list them.
                if !overflow && counts.count <= 5 && numeric >= 2 * counts.count { line += "; values: \(topValues(5))" }
                return line
            }
            return "\(head): \(uniqueText) unique; top: \(topValues(3))"
        }

        func format(_ number: Double) -> String {
            if number == number.rounded(), abs(number) < 1e15 { return String(Int64(number)) }
            return String(format: "%.6g", number)
        }
    }

    struct CSVSummary {
        var path: String
        var rows = 0
        var columns: [ColumnStats] = []
        var raggedRows = 0
        var error: String?
        /// Columns whose statistics are kept first when space is short.
        var priority: Set<String> = []
        /// Set when only the file's first bytes were read.
        var sample: Sample?

        struct Sample {
            /// Bytes of whole records read.
            var bytes: Int
            var fileBytes: Int

            /// The file's rows, scaled from `rows` in the sample by size.
            func estimatedRows(_ rows: Int) -> Int {
                Int((Double(rows) * Double(fileBytes) / Double(max(bytes, 1))).rounded())
            }
        }

        var shape: String {
            guard let sample else { return "\(rows) rows × \(columns.count) columns" }
            return "about \(sample.estimatedRows(rows)) rows (estimated from the first \(DataPreview.formatSize(sample.bytes)) "
                + "of \(DataPreview.formatSize(sample.fileBytes))) × \(columns.count) columns"
        }

        func render(detailedColumns: Int, describedBefore: [CSVSummary]) -> String {
            if let error { return "-> \(path): could not be read: \(error)\n" }
            var out = "-> \(path): \(shape)"
            if raggedRows > 0 { out += " (\(raggedRows) rows with a different number of fields)" }
            out += "\n"
            if sample != nil { out += "   statistics below are of a sample: the first \(rows) rows\n" }
            let names = columns.map(\.name)
            // A wide table whose columns all appear in one already shown: say how it differs instead.
            if names.count >= 5, let earlier = describedBefore.first(where: { Set(names).isSubset(of: $0.columns.map(\.name)) }) {
                let missing = earlier.columns.map(\.name).filter { !names.contains($0) }
                if missing.isEmpty {
                    out += "   columns: the same as \(earlier.path)\n"
                } else {
                    out += "   columns: those of \(earlier.path) without \(Grader.list(missing, limit: 10))\n"
                }
                return out
            }
            // Statistics for the first `detailedColumns` in priority order, shown in the file's order.
            let order = columns.indices.filter { priority.contains(columns[$0].name) }
                + columns.indices.filter { !priority.contains(columns[$0].name) }
            let detailed = Set(order.prefix(detailedColumns))
            for (index, column) in columns.enumerated() where detailed.contains(index) {
                out += "   \(column.render(detailed: true))\n"
            }
            if detailed.count < columns.count {
                let rest = columns.indices.filter { !detailed.contains($0) }.map { columns[$0].render(detailed: false) }
                out += detailed.isEmpty ? "   columns: " : "   \(rest.count) more column\(rest.count == 1 ? "" : "s"): "
                out += rest.joined(separator: ", ") + "\n"
            }
            return out
        }
    }

    /// The first `limit` bytes of `url` (all of it when shorter), read without mapping the file; nil
    /// when it cannot be opened.
    static func readHead(of url: URL, upTo limit: Int) -> Data? {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return nil }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: max(0, limit))) ?? Data()
    }

    /// One CSV's summary from at most `sampleBytes` of it. A larger file is summarized from its first
    /// complete records; its row count is scaled from the sample to the file's size.
    static func summarize(csv url: URL, path: String, sampleBytes: Int, bytesRead: inout Int) -> CSVSummary {
        var summary = CSVSummary(path: path)
        let size = (try? url.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? nil
        guard var data = readHead(of: url, upTo: sampleBytes) else {
            summary.error = "the file cannot be opened"
            return summary
        }
        bytesRead += data.count
        let sampled = size.map { $0 > data.count } ?? (data.count >= sampleBytes)
        if sampled {
            // Only whole lines: the sample ends at its last line break.
            if let lastBreak = data.lastIndex(of: UInt8(ascii: "\n")) { data = data.prefix(through: lastBreak) }
            summary.sample = CSVSummary.Sample(bytes: data.count, fileBytes: size ?? data.count)
        }
        var columns: [ColumnStats]?
        var rows = 0
        var ragged = 0
        do {
            try CSVTable.forEachRecord(in: data) { fields, _ in
                guard columns != nil else {
                    columns = fields.map { ColumnStats(name: $0) }
                    return
                }
                rows += 1
                if fields.count != columns!.count { ragged += 1 }
                for index in 0..<min(fields.count, columns!.count) { columns![index].add(fields[index]) }
            }
        } catch {
            // A sample may end inside a quoted field that spans lines: the records before it stand.
            if summary.sample == nil || columns == nil || rows == 0 {
                summary.error = "\(error)"
                return summary
            }
        }
        summary.columns = columns ?? []
        summary.rows = rows
        summary.raggedRows = ragged
        return summary
    }
}
