import Foundation

/// Why a submission (or the answers) could not be graded: the facts, worded in `description` for the
/// agent's operator.
public enum GradingError: Error, CustomStringConvertible, LocalizedError, Sendable, Equatable {
    /// A CSV the grading reads.
    public enum File: String, Sendable, Equatable {
        case answers
        case submission
        case sampleSubmission = "sample submission"
    }

    /// How many things were at fault, and the first few of them as shown (`first: 1, 2, … 3 more`).
    public struct Examples: Sendable, Equatable, CustomStringConvertible {
        public var count: Int
        public var first: [String]

        public init(_ items: [String], limit: Int = 5) {
            count = items.count
            first = Array(items.prefix(limit))
        }

        public var description: String {
            let shown = first.joined(separator: ", ")
            return count > first.count ? "\(shown), … \(count - first.count) more" : shown
        }
    }

    /// What is wrong with a submission that does not match the answers.
    public enum Mismatch: Sendable, Equatable, CustomStringConvertible {
        case missingIDs(Examples)
        case repeatedIDs(Examples)
        case extraIDs(Examples)
        case notFiniteNumbers(Examples)
        /// quadratic_kappa's predictions must be integer labels.
        case notIntegerLabels(Examples)
        /// rmsle takes log(1 + value).
        case atOrBelowMinusOne(Examples)
        /// rmse_log takes the log.
        case notPositive(Examples)
        case notProbabilities(Examples)
        /// Rows of a wide metric with a value that is not a finite number (non-negative for
        /// multiclass_logloss).
        case badRows(Examples, nonNegative: Bool)

        public var description: String {
            switch self {
            case .missingIDs(let ids): return "\(ids.count) id(s) missing (first: \(ids))"
            case .repeatedIDs(let ids): return "\(ids.count) id(s) given more than once (first: \(ids))"
            case .extraIDs(let ids): return "\(ids.count) id(s) not in the answers (first: \(ids))"
            case .notFiniteNumbers(let bad): return "\(bad.count) prediction(s) not finite numbers (first: \(bad))"
            case .notIntegerLabels(let bad):
                return "\(bad.count) prediction(s) not integer labels, which quadratic_kappa needs (first: \(bad))"
            case .atOrBelowMinusOne(let bad):
                return "\(bad.count) prediction(s) at or below -1, which rmsle cannot take log(1 + value) of (first: \(bad))"
            case .notPositive(let bad):
                return "\(bad.count) prediction(s) not positive, which rmse_log cannot take the log of (first: \(bad))"
            case .notProbabilities(let bad):
                return "\(bad.count) prediction(s) not probabilities in [0, 1] (first: \(bad))"
            case .badRows(let bad, let nonNegative):
                let what = nonNegative ? "non-negative probabilities" : "finite numbers"
                return "\(bad.count) row(s) with values that are not \(what) (first: \(bad))"
            }
        }
    }

    /// A file the grading needs cannot be read as CSV.
    case unreadable(File, name: String, cause: CSVError)
    /// The task grades with a command: there is no built-in metric to grade with.
    case gradedByCommand
    /// A file lacks the id or target column.
    case missingColumn(File, name: String, column: String, columns: [String])
    /// A file lacks some of a wide metric's columns.
    case missingColumns(File, name: String, missing: [String], columns: [String])
    /// A wide metric's answers have no column but the id column.
    case noColumnBesidesID(name: String, idColumn: String)
    case noAnswerRows(name: String)
    case repeatedAnswerIDs(name: String, ids: Examples)
    /// Answers the metric cannot take (`bad`: "id (\"value\")", or ids for a wide metric).
    case unusableAnswers(name: String, metric: GradingMetric, bad: Examples)
    /// A binary metric's answers hold other than two classes.
    case classCount(metric: GradingMetric, classes: Examples)
    /// A binary metric's two classes, neither of which is recognizably the positive one.
    case unknownPositiveClass(metric: GradingMetric, classes: Examples)
    /// mean_column_roc_auc's answers have a column of one class only.
    case singleClassColumn(String)
    /// The submission does not match the answers.
    case mismatch(name: String, ids: Int, rows: Int, problems: [Mismatch])
    /// The grading command's folder cannot be made (`reason`: `ErrorText.reason`).
    case cannotPrepare(reason: String)
    /// The sandbox the grading command runs in cannot be set up.
    case sandbox(SandboxError)
    case cannotStartCommand(reason: String)
    /// The grading command failed: exit status, or nil when it timed out; its last output lines.
    case commandFailed(status: Int32?, lastOutput: String)
    case noScore(lastOutput: String)

    public var description: String {
        switch self {
        case .unreadable(let file, let name, let cause): return "cannot read the \(file.rawValue) \(name): \(cause)"
        case .gradedByCommand: return "the task grades with a command, not a built-in metric"
        case .missingColumn(let file, let name, let column, let columns):
            let has = file == .submission ? "has" : "have"
            return "the \(file.rawValue) \(name) \(has) no column \"\(column)\" (columns: \(Examples(columns)))"
        case .missingColumns(let file, let name, let missing, let columns):
            let lacks = file == .submission ? "lacks" : "have no"
            return "the \(file.rawValue) \(name) \(lacks) column(s) \(Examples(missing)) (columns: \(Examples(columns)))"
        case .noColumnBesidesID(let name, let idColumn): return "the answers \(name) have no column besides \"\(idColumn)\""
        case .noAnswerRows(let name): return "the answers \(name) have no rows"
        case .repeatedAnswerIDs(let name, let ids): return "the answers \(name) repeat \(ids.count) id(s) (first: \(ids))"
        case .unusableAnswers(let name, let metric, let bad):
            switch metric {
            case .multiclassLogloss, .meanColumnROCAUC:
                let what = metric == .multiclassLogloss ? "one-hot rows (0/1, exactly one 1)" : "0/1 values"
                return "\(bad.count) answer row(s) in \(name) are not \(what) (first ids: \(bad))"
            default:
                let what =
                    switch metric {
                    case .rmseLog: "positive numbers (rmse_log takes their log)"
                    case .rmsle: "numbers above -1 (rmsle takes log(1 + value))"
                    case .quadraticKappa: "integer labels (quadratic_kappa compares ordered classes)"
                    default: "finite numbers"
                    }
                return "\(bad.count) answer(s) in \(name) are not \(what) (first: \(bad))"
            }
        case .classCount(let metric, let classes):
            return "\(metric.rawValue) needs exactly two classes in the answers, found \(classes.count): \(classes)"
        case .unknownPositiveClass(let metric, let classes):
            return "\(metric.rawValue): cannot tell which class is positive among \(classes); use 0/1 or false/true labels"
        case .singleClassColumn(let column): return "mean_column_roc_auc: the answers' column \"\(column)\" has only one class"
        case .mismatch(let name, let ids, let rows, let problems):
            return "the submission \(name) does not match the answers (\(ids) ids, submission has \(rows) rows): "
                + problems.map(\.description).joined(separator: "; ")
        case .cannotPrepare(let reason): return "cannot prepare the grading folder: \(reason)"
        case .sandbox(let error): return error.description
        case .cannotStartCommand(let reason): return "cannot start the grading command: \(reason)"
        case .commandFailed(let status, let lastOutput):
            let how = status.map { "exit status \($0)" } ?? "timed out"
            return "the grading command failed (\(how))\(lastOutput.isEmpty ? "" : ": " + lastOutput)"
        case .noScore(let lastOutput):
            return "the grading command printed no score (a number or JSON with a \"score\" on its last line); its last output: "
                + lastOutput
        }
    }

    public var errorDescription: String? { description }
}

/// Grades a submission CSV against hidden answers with the task's grading metric.
///
/// Rows are joined on the id column; every answer id must have exactly one prediction, in the column
/// named like the answers' target column. Ids match as trimmed text, and numbers match by value
/// (`7` and `7.0` are the same id); labels compare the same way.
public struct Grader: Sendable {
    public let spec: GradingSpec
    /// Answer ids, canonical, in the answers' order.
    let ids: [String]
    let truth: Truth

    /// The true values, in the form the metric needs.
    enum Truth: Sendable {
        /// rmse, rmse_log, mae.
        case numbers([Double])
        /// accuracy, f1 (multi-class or binary with a known positive class).
        case labels([Label], positive: Label?)
        /// roc_auc, logloss: whether each answer is the positive class.
        case binary([Bool])
        /// Wide metrics: the scored columns and, per row and column, whether the answer is 1.
        case columns([String], [[Bool]])
    }

    /// A label compared by value: finite numbers by number, `true`/`false` in any case, else trimmed text.
    enum Label: Hashable, Sendable, Comparable, CustomStringConvertible {
        case number(Double)
        case text(String)

        init(_ raw: String) {
            let trimmed = raw.trimmingCharacters(in: .whitespaces)
            if let number = Double(trimmed), number.isFinite {
                self = .number(number)
            } else if trimmed.lowercased() == "true" || trimmed.lowercased() == "false" {
                self = .text(trimmed.lowercased())
            } else {
                self = .text(trimmed)
            }
        }

        var description: String {
            switch self {
            case .number(let number): return Grader.format(number)
            case .text(let text): return text
            }
        }

        static func < (a: Label, b: Label) -> Bool {
            switch (a, b) {
            case (.number(let x), .number(let y)): return x < y
            case (.number, .text): return true
            case (.text, .number): return false
            case (.text(let x), .text(let y)): return x < y
            }
        }
    }

    public init(spec: GradingSpec, answersFile: URL) throws {
        try self.init(spec: spec, answers: try Self.table(.answers, at: answersFile), name: answersFile.lastPathComponent)
    }

    /// Grades against answers already read (`name` is how errors refer to them).
    init(spec: GradingSpec, answers table: CSVTable, name: String = "answers") throws {
        self.spec = spec
        guard let metric = spec.metric else { throw GradingError.gradedByCommand }
        guard let idIndex = table.columnIndex(spec.idColumn) else {
            throw GradingError.missingColumn(.answers, name: name, column: spec.idColumn, columns: table.header)
        }
        if metric.isWide {
            let ids = table.rows.map { Self.canonicalID($0[idIndex]) }
            guard !table.rows.isEmpty else { throw GradingError.noAnswerRows(name: name) }
            let duplicates = Self.duplicates(ids)
            guard duplicates.isEmpty else {
                throw GradingError.repeatedAnswerIDs(name: name, ids: .init(duplicates))
            }
            self.ids = ids
            truth = try Self.wideTruth(metric, spec: spec, table: table, idIndex: idIndex, name: name)
            return
        }
        guard let targetIndex = table.columnIndex(spec.targetColumn) else {
            throw GradingError.missingColumn(.answers, name: name, column: spec.targetColumn, columns: table.header)
        }
        guard !table.rows.isEmpty else { throw GradingError.noAnswerRows(name: name) }
        let ids = table.rows.map { Self.canonicalID($0[idIndex]) }
        let duplicates = Self.duplicates(ids)
        guard duplicates.isEmpty else {
            throw GradingError.repeatedAnswerIDs(name: name, ids: .init(duplicates))
        }
        self.ids = ids
        let raw = table.rows.map { $0[targetIndex] }
        switch metric {
        case .rmse, .rmseLog, .mae, .rmsle, .quadraticKappa:
            var numbers: [Double] = []
            var bad: [String] = []
            for (id, value) in zip(ids, raw) {
                if let number = Double(value.trimmingCharacters(in: .whitespaces)), number.isFinite,
                    metric != .rmseLog || number > 0, metric != .rmsle || number > -1,
                    metric != .quadraticKappa || number == number.rounded()
                {
                    numbers.append(number)
                } else {
                    bad.append("\(id) (\"\(value)\")")
                }
            }
            guard bad.isEmpty else {
                    throw GradingError.unusableAnswers(name: name, metric: metric, bad: .init(bad))
            }
            truth = .numbers(numbers)
        case .accuracy, .f1:
            let labels = raw.map(Label.init)
            truth = .labels(labels, positive: metric == .f1 ? Self.positiveClass(of: Set(labels)) : nil)
        case .rocAUC, .logloss:
            let labels = raw.map(Label.init)
            let classes = Set(labels)
            let names = GradingError.Examples(classes.sorted().map(\.description))
            guard classes.count == 2 else { throw GradingError.classCount(metric: metric, classes: names) }
            guard let positive = Self.positiveClass(of: classes) else {
                throw GradingError.unknownPositiveClass(metric: metric, classes: names)
            }
            truth = .binary(labels.map { $0 == positive })
        case .multiclassLogloss, .meanColumnROCAUC:
            preconditionFailure("wide metrics are read above")
        }
    }

    /// The submission's score with the grading metric (see `spec.metric.direction` for which way is better).
    public func score(submission: URL) throws -> Double {
        try score(try Self.table(.submission, at: submission), name: submission.lastPathComponent)
    }

    func score(_ table: CSVTable, name: String = "submission") throws -> Double {
        guard let idIndex = table.columnIndex(spec.idColumn) else {
            throw GradingError.missingColumn(.submission, name: name, column: spec.idColumn, columns: table.header)
        }
        if case .columns(let columns, let actual) = truth {
            return try scoreWide(table, name: name, idIndex: idIndex, columns: columns, actual: actual)
        }
        guard let targetIndex = table.columnIndex(spec.targetColumn) else {
            throw GradingError.missingColumn(.submission, name: name, column: spec.targetColumn, columns: table.header)
        }
        let expected = Set(ids)
        var predictions: [String: String] = [:]
        var repeated: [String] = []
        var repeatedSeen: Set<String> = []
        var extra: [String] = []
        for row in table.rows {
            let id = Self.canonicalID(row[idIndex])
            if predictions[id] != nil {
                if repeatedSeen.insert(id).inserted { repeated.append(id) }
                continue
            }
            predictions[id] = row[targetIndex]
            if !expected.contains(id) { extra.append(id) }
        }
        let missing = ids.filter { predictions[$0] == nil }
        var problems = Self.idProblems(missing: missing, repeated: repeated, extra: extra)

        let values = ids.map { predictions[$0] ?? "" }
        switch truth {
        case .numbers(let actual):
            let (numbers, bad) = Self.numbers(values, ids: ids, present: predictions)
            if !bad.isEmpty { problems.append(.notFiniteNumbers(.init(bad))) }
            if spec.metric == .quadraticKappa {
                let fractional = zip(ids, numbers).filter { $0.1.isFinite && $0.1 != $0.1.rounded() }.map {
                    "\($0.0) (\(Self.format($0.1)))"
                }
                if !fractional.isEmpty { problems.append(.notIntegerLabels(.init(fractional))) }
            }
            if spec.metric == .rmsle {
                let low = zip(ids, numbers).filter { $0.1.isFinite && $0.1 <= -1 }.map { "\($0.0) (\(Self.format($0.1)))" }
                if !low.isEmpty { problems.append(.atOrBelowMinusOne(.init(low))) }
            }
            if spec.metric == .rmseLog {
                let nonPositive = zip(ids, numbers).filter { $0.1.isFinite && $0.1 <= 0 }.map { "\($0.0) (\(Self.format($0.1)))" }
                if !nonPositive.isEmpty { problems.append(.notPositive(.init(nonPositive))) }
            }
            try throwIfAny(problems, name: name, rows: table.rows.count)
            if spec.metric == .quadraticKappa { return Self.quadraticKappa(predicted: numbers, actual: actual) }
            return Self.regression(spec.metric ?? .rmse, predicted: numbers, actual: actual)
        case .labels(let actual, let positive):
            try throwIfAny(problems, name: name, rows: table.rows.count)
            let predicted = values.map(Label.init)
            if spec.metric == .accuracy { return Self.accuracy(predicted: predicted, actual: actual) }
            return Self.f1(predicted: predicted, actual: actual, positive: positive)
        case .binary(let actual):
            let (numbers, bad) = Self.numbers(values, ids: ids, present: predictions)
            if !bad.isEmpty { problems.append(.notFiniteNumbers(.init(bad))) }
            if spec.metric == .logloss {
                let outside = zip(ids, numbers).filter { $0.1.isFinite && ($0.1 < 0 || $0.1 > 1) }.map {
                    "\($0.0) (\(Self.format($0.1)))"
                }
                if !outside.isEmpty { problems.append(.notProbabilities(.init(outside))) }
            }
            try throwIfAny(problems, name: name, rows: table.rows.count)
            if spec.metric == .logloss { return Self.logloss(probabilities: numbers, positive: actual) }
            return Self.rocAUC(scores: numbers, positive: actual)
        case .columns(let columns, let actual):
            return try scoreWide(table, name: name, idIndex: idIndex, columns: columns, actual: actual)
        }
    }

    func throwIfAny(_ problems: [GradingError.Mismatch], name: String, rows: Int) throws {
        guard !problems.isEmpty else { return }
        throw GradingError.mismatch(name: name, ids: ids.count, rows: rows, problems: problems)
    }

    /// The ids a submission lacks, repeats, or has beyond the answers.
    static func idProblems(missing: [String], repeated: [String], extra: [String]) -> [GradingError.Mismatch] {
        var problems: [GradingError.Mismatch] = []
        if !missing.isEmpty { problems.append(.missingIDs(.init(missing))) }
        if !repeated.isEmpty { problems.append(.repeatedIDs(.init(repeated))) }
        if !extra.isEmpty { problems.append(.extraIDs(.init(extra))) }
        return problems
    }

    /// `url` read as CSV, or a `GradingError` saying which of the grading's files could not be.
    static func table(_ file: GradingError.File, at url: URL) throws -> CSVTable {
        do {
            return try CSVTable(contentsOf: url)
        } catch let error as CSVError {
            throw GradingError.unreadable(file, name: url.lastPathComponent, cause: error)
        }
    }

    // MARK: Metrics

    static func regression(_ metric: GradingMetric, predicted: [Double], actual: [Double]) -> Double {
        let n = Double(actual.count)
        switch metric {
        case .mae:
            return zip(predicted, actual).reduce(0) { $0 + abs($1.0 - $1.1) } / n
        case .rmsle:
            return (zip(predicted, actual).reduce(0) { sum, pair in
                let d = Foundation.log1p(pair.0) - Foundation.log1p(pair.1)
                return sum + d * d
            } / n).squareRoot()
        case .rmseLog:
            return (zip(predicted, actual).reduce(0) { sum, pair in
                let d = Foundation.log(pair.0) - Foundation.log(pair.1)
                return sum + d * d
            } / n).squareRoot()
        default:
            return (zip(predicted, actual).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / n).squareRoot()
        }
    }

    static func accuracy(predicted: [Label], actual: [Label]) -> Double {
        Double(zip(predicted, actual).filter { $0 == $1 }.count) / Double(actual.count)
    }

    /// Binary F1 of `positive` when there is one, else the macro average over every label seen
    /// (in the answers or the predictions), each label's F1 being 0 when it has no true positive.
    static func f1(predicted: [Label], actual: [Label], positive: Label?) -> Double {
        func f1(of label: Label) -> Double {
            var tp = 0, fp = 0, fn = 0
            for (p, a) in zip(predicted, actual) {
                if p == label && a == label { tp += 1 } else if p == label { fp += 1 } else if a == label { fn += 1 }
            }
            let denominator = 2 * tp + fp + fn
            return denominator == 0 ? 0 : Double(2 * tp) / Double(denominator)
        }
        if let positive { return f1(of: positive) }
        let labels = Set(actual).union(predicted)
        return labels.reduce(0) { $0 + f1(of: $1) } / Double(labels.count)
    }

    /// The Mann-Whitney U statistic over positives × negatives, ties counting half (average ranks).
    static func rocAUC(scores: [Double], positive: [Bool]) -> Double {
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSumPositive = 0.0
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count && scores[order[end + 1]] == scores[order[start]] { end += 1 }
            let averageRank = Double(start + end) / 2 + 1
            for k in start...end where positive[order[k]] { rankSumPositive += averageRank }
            start = end + 1
        }
        let nPositive = Double(positive.filter { $0 }.count)
        let nNegative = Double(positive.count) - nPositive
        return (rankSumPositive - nPositive * (nPositive + 1) / 2) / (nPositive * nNegative)
    }

    static func logloss(probabilities: [Double], positive: [Bool]) -> Double {
        let eps = 1e-15
        let total = zip(probabilities, positive).reduce(0.0) { sum, pair in
            let p = min(max(pair.0, eps), 1 - eps)
            return sum - (pair.1 ? Foundation.log(p) : Foundation.log(1 - p))
        }
        return total / Double(positive.count)
    }

    /// "1", then "true", then the larger of two numbers; nil when none of these tells.
    static func positiveClass(of classes: Set<Label>) -> Label? {
        guard classes.count == 2 else { return nil }
        if classes.contains(.number(1)) { return .number(1) }
        if classes.contains(.text("true")) { return .text("true") }
        let numbers = classes.compactMap { label -> Double? in
            if case .number(let number) = label { return number }
            return nil
        }
        if numbers.count == 2, let largest = numbers.max() { return .number(largest) }
        return nil
    }

    // MARK: Helpers

    /// Ids compare as trimmed text, except that integral numbers compare by value (`7.0` is `7`).
    static func canonicalID(_ raw: String) -> String {
        let trimmed = raw.trimmingCharacters(in: .whitespaces)
        if trimmed.contains("."), let number = Double(trimmed), number.isFinite, number == number.rounded(),
            abs(number) < 1e15
        {
            return String(Int64(number))
        }
        return trimmed
    }

    static func numbers(_ values: [String], ids: [String], present: [String: String]) -> ([Double], [String]) {
        var numbers: [Double] = []
        var bad: [String] = []
        numbers.reserveCapacity(values.count)
        for (id, value) in zip(ids, values) {
            if let number = Double(value.trimmingCharacters(in: .whitespaces)), number.isFinite {
                numbers.append(number)
            } else {
                numbers.append(.nan)
                if present[id] != nil { bad.append("\(id) (\"\(value)\")") }
            }
        }
        return (numbers, bad)
    }

    static func duplicates(_ ids: [String]) -> [String] {
        var seen: Set<String> = []
        var reported: Set<String> = []
        var result: [String] = []
        for id in ids where !seen.insert(id).inserted {
            if reported.insert(id).inserted { result.append(id) }
        }
        return result
    }

    /// The first five items, then how many more.
    static func list(_ items: [String], limit: Int = 5) -> String {
        GradingError.Examples(items, limit: limit).description
    }

    static func format(_ number: Double) -> String {
        if number == number.rounded(), abs(number) < 1e15 { return String(Int64(number)) }
        return String(number)
    }
}
