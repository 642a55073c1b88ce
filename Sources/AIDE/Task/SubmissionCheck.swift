import Foundation

/// What a submission must hold for the task's test set, checked before grading so that a malformed
/// one makes its node buggy, with reasons precise enough for the debug step to act on ("292 rows
/// expected, 291 found; Id 1461 missing").
///
/// The columns are the sample submission's (`grading.sample_submission`, else a
/// `sample_submission*.csv` at the top of the data), else the grading id and target columns. The
/// ids are the answers' when the task is graded, else the sample submission's. A column must be
/// numeric where the grading metric takes numbers, or (without grading) where the sample's values
/// all are. Whether the file is a regular file of bounded size is the sandbox's check; this one
/// is about the content.
public struct SubmissionCheck: Sendable, Hashable {
    public var columns: [String]
    public var idColumn: String
    /// Canonical ids (see `Grader.canonicalID`), in the test set's order; empty when unknown.
    public var ids: [String]
    public var numericColumns: Set<String>
    /// Where the columns came from, for messages ("sample_submission.csv", "the grading spec").
    public var columnsSource: String

    public init(columns: [String], idColumn: String, ids: [String], numericColumns: Set<String>, columnsSource: String) {
        self.columns = columns
        self.idColumn = idColumn
        self.ids = ids
        self.numericColumns = numericColumns
        self.columnsSource = columnsSource
    }

    /// The check for a task, or nil when nothing says what a submission holds (no grading and no
    /// sample submission). Throws when the named sample submission cannot be read.
    public static func make(
        grading: GradingSpec?, sampleSubmission: String?, dataDirectory: URL, grader: Grader?
    ) throws -> SubmissionCheck? {
        let sampleFile = sampleSubmission.map { dataDirectory.appendingPathComponent($0) } ?? defaultSample(in: dataDirectory)
        var sample: CSVTable?
        if let sampleFile { sample = try Grader.table(.sampleSubmission, at: sampleFile) }
        if let sample, let sampleFile {
            let idColumn = grading.map(\.idColumn).flatMap { sample.header.contains($0) ? $0 : nil } ?? sample.header.first ?? ""
            guard let idIndex = sample.columnIndex(idColumn) else { return nil }
            var numeric: Set<String> = []
            for (index, column) in sample.header.enumerated() where index != idIndex {
                if let grading, let grader, column == grading.targetColumn {
                    if grader.expectsNumbers { numeric.insert(column) }
                } else if !sample.rows.isEmpty, sample.rows.allSatisfy({ Self.number($0[index]) != nil }) {
                    numeric.insert(column)
                }
            }
            return SubmissionCheck(
                columns: sample.header, idColumn: idColumn,
                ids: grader?.ids ?? sample.rows.map { Grader.canonicalID($0[idIndex]) }, numericColumns: numeric,
                columnsSource: sampleFile.lastPathComponent)
        }
        // Without a sample, only a one-column target says what the columns are.
        guard let grading, let grader, !grading.idColumn.isEmpty, !grading.targetColumn.isEmpty else { return nil }
        if case .columns = grader.truth { return nil }
        return SubmissionCheck(
            columns: [grading.idColumn, grading.targetColumn], idColumn: grading.idColumn, ids: grader.ids,
            numericColumns: grader.expectsNumbers ? [grading.targetColumn] : [], columnsSource: "the grading spec")
    }

    /// The first `sample_submission*.csv` (any case) at the top of the data, by name.
    static func defaultSample(in directory: URL) -> URL? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().first {
            let lower = $0.lowercased()
            return lower.hasPrefix("sample_submission") && lower.hasSuffix(".csv")
        }.map { directory.appendingPathComponent($0) }
    }

    /// What is wrong with the submission at `file`; empty when nothing is.
    public func problems(in file: URL) -> [String] {
        let name = file.lastPathComponent
        let table: CSVTable
        do {
            table = try CSVTable(contentsOf: file)
        } catch let error as CSVError {
            return ["\(name) is not a valid CSV file: \(error)"]
        } catch {
            return ["\(name) cannot be read: \(error)"]
        }
        return problems(in: table, name: name)
    }

    func problems(in table: CSVTable, name: String) -> [String] {
        var problems: [String] = []
        let header = table.header.map { $0.trimmingCharacters(in: .whitespaces) }
        let missingColumns = columns.filter { !header.contains($0) }
        let extraColumns = header.filter { !columns.contains($0) }
        if !missingColumns.isEmpty || !extraColumns.isEmpty {
            var text = "\(name) has columns \(Self.quoted(header)), expected \(Self.quoted(columns)) as in \(columnsSource)"
            if !missingColumns.isEmpty { text += "; missing \(Self.quoted(missingColumns))" }
            if !extraColumns.isEmpty { text += "; unexpected \(Self.quoted(extraColumns))" }
            problems.append(text)
        }
        guard let idIndex = header.firstIndex(of: idColumn) else { return problems }

        if !ids.isEmpty {
            var counts: [String: Int] = [:]
            var order: [String] = []
            for row in table.rows {
                let id = Grader.canonicalID(row[idIndex])
                if counts[id] == nil { order.append(id) }
                counts[id, default: 0] += 1
            }
            let expected = Set(ids)
            let missing = ids.filter { counts[$0] == nil }
            let repeated = order.filter { counts[$0]! > 1 }
            let unknown = order.filter { !expected.contains($0) }
            if table.rows.count != ids.count || !missing.isEmpty || !repeated.isEmpty || !unknown.isEmpty {
                var parts = ["\(ids.count) rows expected, \(table.rows.count) found"]
                if !missing.isEmpty { parts.append("\(idColumn) \(Grader.list(missing)) missing") }
                if !repeated.isEmpty { parts.append("\(idColumn) \(Grader.list(repeated)) given more than once") }
                if !unknown.isEmpty { parts.append("\(idColumn) \(Grader.list(unknown)) not in the test set") }
                problems.append(parts.joined(separator: "; "))
            }
        }

        for (index, column) in header.enumerated() where index != idIndex && columns.contains(column) {
            var empty: [String] = []
            var notNumbers: [String] = []
            for row in table.rows {
                let value = row[index].trimmingCharacters(in: .whitespaces)
                let id = row[idIndex].trimmingCharacters(in: .whitespaces)
                if value.isEmpty || ["nan", "na", "null", "none", "<na>"].contains(value.lowercased()) {
                    empty.append(id)
                } else if numericColumns.contains(column), Self.number(value) == nil {
                    notNumbers.append("\(id) (\"\(value)\")")
                }
            }
            if !empty.isEmpty {
                problems.append("\(empty.count) empty or NaN value(s) in \(column) (\(idColumn) \(Grader.list(empty)))")
            }
            if !notNumbers.isEmpty {
                problems.append("\(notNumbers.count) value(s) in \(column) not finite numbers (\(idColumn) \(Grader.list(notNumbers)))")
            }
        }
        return problems
    }

    private static func number(_ text: String) -> Double? {
        Double(text.trimmingCharacters(in: .whitespaces)).flatMap { $0.isFinite ? $0 : nil }
    }

    private static func quoted(_ names: [String]) -> String {
        names.map { "\"\($0)\"" }.joined(separator: ", ")
    }
}

extension Grader {
    /// Whether the metric reads the predictions as numbers (regression values or probabilities).
    var expectsNumbers: Bool {
        switch truth {
        case .numbers, .binary: return true
        // Several target columns (wide metrics): each is checked by the sample's own values.
        case .labels, .columns: return false
        }
    }
}
