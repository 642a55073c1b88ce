import Foundation

/// What kind of prediction a task asks for, read from the target's values.
public enum TaskKind: String, Sendable, Hashable, Codable {
    case regression
    case binaryClassification = "binary classification"
    case multiclassClassification = "multi-class classification"
    /// One probability column per class in the submission (the sample submission is wide).
    case classProbabilities = "class probabilities"
}

/// What a data folder holds, as far as its files tell: the train/test/sample-submission files, the
/// id and target columns, the kind of task. Each field is nil where the files do not say.
public struct DataSurvey: Sendable, Hashable {
    public var folder: URL
    /// File names inside `folder`.
    public var train: String?
    public var test: String?
    public var sampleSubmission: String?
    /// Every file in the folder, sorted.
    public var files: [String]
    public var idColumn: String?
    /// The submission's columns besides the id: one for most tasks, one per class for probabilities.
    public var targetColumns: [String]
    public var kind: TaskKind?
    /// Distinct target values in train (classification), sorted, at most 20.
    public var classes: [String]
    /// Whether the sample submission's target values hold fractions (probabilities or scores).
    public var sampleHasFractions: Bool

    public var targetColumn: String? { targetColumns.count == 1 ? targetColumns[0] : nil }

    /// Looks at the top-level files of `folder`: CSV names containing train, test, sample/submission.
    public static func survey(_ folder: URL) throws -> DataSurvey {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TaskInferenceError.notADirectory(path: folder.path)
        }
        let files = try manager.contentsOfDirectory(atPath: folder.path).filter { !$0.hasPrefix(".") }.sorted()
        let csvs = files.filter { $0.lowercased().hasSuffix(".csv") }
        func pick(_ test: (String) -> Bool, exact: String) -> String? {
            csvs.first { $0.lowercased() == exact } ?? csvs.first { test($0.lowercased()) }
        }
        let sample = pick({ $0.contains("sample") || $0.contains("submission") }, exact: "sample_submission.csv")
        let train = pick({ $0.contains("train") }, exact: "train.csv")
        let test = pick({ $0.contains("test") && $0 != sample?.lowercased() }, exact: "test.csv")
        var survey = DataSurvey(
            folder: folder, train: train, test: test, sampleSubmission: sample, files: files, idColumn: nil,
            targetColumns: [], kind: nil, classes: [], sampleHasFractions: false)
        let read = { (name: String?) -> CSVTable? in name.flatMap { try? CSVTable(contentsOf: folder.appendingPathComponent($0)) } }
        let trainTable = read(train)
        let testTable = read(test)
        let sampleTable = read(sample)

        // The id: the sample submission's first column (when the test file has it too), else a test
        // column named like an id.
        if let sampleTable, let first = sampleTable.header.first, testTable?.columnIndex(first) != nil || testTable == nil {
            survey.idColumn = first
        } else if let testTable {
            survey.idColumn = testTable.header.first { ["id", "index"].contains($0.lowercased()) }
                ?? testTable.header.first { $0.lowercased().hasSuffix("_id") || $0.lowercased().hasSuffix("id") }
        }
        if let sampleTable {
            survey.targetColumns = sampleTable.header.filter { $0 != survey.idColumn }
            survey.sampleHasFractions = sampleTable.rows.prefix(200).contains { row in
                row.enumerated().contains { index, value in
                    sampleTable.header[index] != survey.idColumn && (Double(value).map { $0 != $0.rounded() } ?? false)
                }
            }
        } else if let trainTable, let testTable {
            survey.targetColumns = trainTable.header.filter { testTable.columnIndex($0) == nil && $0 != survey.idColumn }
        }

        if survey.targetColumns.count > 1 {
            survey.kind = .classProbabilities
        } else if let target = survey.targetColumn, let values = trainTable?.column(target), !values.isEmpty {
            let distinct = Set(values.map { $0.trimmingCharacters(in: .whitespaces) })
            let numbers = distinct.compactMap(Double.init)
            if distinct.count <= 2 {
                survey.kind = .binaryClassification
            } else if numbers.count == distinct.count {
                let integral = numbers.allSatisfy { $0 == $0.rounded() }
                survey.kind =
                    integral && distinct.count <= 20 && distinct.count * 10 <= values.count
                    ? .multiclassClassification : .regression
            } else {
                survey.kind = .multiclassClassification
            }
            if survey.kind != .regression { survey.classes = Array(distinct.sorted().prefix(20)) }
        }
        return survey
    }

    /// A metric that suits the task kind, for when nothing names one.
    public var defaultMetric: InferredMetric? {
        switch kind {
        case .regression: return InferredMetric(name: "RMSE", direction: .minimize, grading: .rmse)
        case .binaryClassification:
            return sampleHasFractions
                ? InferredMetric(name: "ROC AUC", direction: .maximize, grading: .rocAUC)
                : InferredMetric(name: "accuracy", direction: .maximize, grading: .accuracy)
        case .multiclassClassification: return InferredMetric(name: "accuracy", direction: .maximize, grading: .accuracy)
        case .classProbabilities:
            return InferredMetric(name: "multi-class log loss", direction: .minimize, grading: .multiclassLogloss)
        case nil: return nil
        }
    }
}

/// Why a task could not be inferred (`aide init`, aideml's `key=value` form).
public enum TaskInferenceError: Error, CustomStringConvertible, LocalizedError, Sendable, Equatable {
    /// The data folder is not a folder.
    case notADirectory(path: String)
    /// A folder without the public/ and private/ parts of an mle-bench prepared competition.
    case notMLEBenchCompetition(path: String)
    /// An aideml setting without `=`.
    case notKeyValue(item: String)
    /// An aideml key that is neither aideml's nor a task.yaml key; `known`: the aideml keys that work.
    case unknownKey(key: String, known: [String])
    case missingDataDirectory
    case missingGoal

    public var description: String {
        switch self {
        case .notADirectory(let path): return "\(path) is not a directory"
        case .notMLEBenchCompetition(let path):
            return "\(path) is not an mle-bench prepared competition: expected public/ and private/ in it (or in its prepared/ folder)"
        case .notKeyValue(let item): return "\"\(item)\": expected key=value, such as data_dir=path or goal=\"…\""
        case .unknownKey(let key, let known):
            return "unknown key \"\(key)\"; aideml keys that work here: \(known.joined(separator: ", ")), "
                + "and any task.yaml key such as metric.direction=minimize"
        case .missingDataDirectory: return "data_dir=… is required: the folder with the task's data"
        case .missingGoal: return "goal=\"…\" (or desc_file=…) is required: what the search should achieve"
        }
    }

    public var errorDescription: String? { description }
}
