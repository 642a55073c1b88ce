import Foundation

/// Why a submission (or the answers) could not be graded, in words fit to show the agent's operator.
public struct GradingError: Error, CustomStringConvertible, LocalizedError, Sendable, Equatable {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
    public var errorDescription: String? { message }
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
        let table: CSVTable
        do {
            table = try CSVTable(contentsOf: answersFile)
        } catch {
            throw GradingError("cannot read the answers \(answersFile.lastPathComponent): \(error)")
        }
        try self.init(spec: spec, answers: table, name: answersFile.lastPathComponent)
    }

    /// Grades against answers already read (`name` is how errors refer to them).
    init(spec: GradingSpec, answers table: CSVTable, name: String = "answers") throws {
        self.spec = spec
        guard let metric = spec.metric else { throw GradingError("the task grades with a command, not a built-in metric") }
        guard let idIndex = table.columnIndex(spec.idColumn) else {
            throw GradingError("the answers \(name) have no column \"\(spec.idColumn)\" (columns: \(Self.list(table.header)))")
        }
        if metric.isWide {
            let ids = table.rows.map { Self.canonicalID($0[idIndex]) }
            guard !table.rows.isEmpty else { throw GradingError("the answers \(name) have no rows") }
            let duplicates = Self.duplicates(ids)
            guard duplicates.isEmpty else {
                throw GradingError("the answers \(name) repeat \(duplicates.count) id(s) (first: \(Self.list(duplicates)))")
            }
            self.ids = ids
            truth = try Self.wideTruth(metric, spec: spec, table: table, idIndex: idIndex, name: name)
            return
        }
        guard let targetIndex = table.columnIndex(spec.targetColumn) else {
            throw GradingError(
                "the answers \(name) have no column \"\(spec.targetColumn)\" (columns: \(Self.list(table.header)))")
        }
        guard !table.rows.isEmpty else { throw GradingError("the answers \(name) have no rows") }
        let ids = table.rows.map { Self.canonicalID($0[idIndex]) }
        let duplicates = Self.duplicates(ids)
        guard duplicates.isEmpty else {
            throw GradingError("the answers \(name) repeat \(duplicates.count) id(s) (first: \(Self.list(duplicates)))")
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
                let what =
                    switch metric {
                    case .rmseLog: "positive numbers (rmse_log takes their log)"
                    case .rmsle: "numbers above -1 (rmsle takes log(1 + value))"
                    case .quadraticKappa: "integer labels (quadratic_kappa compares ordered classes)"
                    default: "finite numbers"
                    }
                throw GradingError("\(bad.count) answer(s) in \(name) are not \(what) (first: \(Self.list(bad)))")
            }
            truth = .numbers(numbers)
        case .accuracy, .f1:
            let labels = raw.map(Label.init)
            truth = .labels(labels, positive: metric == .f1 ? Self.positiveClass(of: Set(labels)) : nil)
        case .rocAUC, .logloss:
            let labels = raw.map(Label.init)
            let classes = Set(labels)
            let names = Self.list(classes.sorted().map(\.description))
            guard classes.count == 2 else {
                throw GradingError(
                    "\(metric.rawValue) needs exactly two classes in the answers, found \(classes.count): \(names)")
            }
            guard let positive = Self.positiveClass(of: classes) else {
                throw GradingError(
                    "\(metric.rawValue): cannot tell which class is positive among \(names); use 0/1 or false/true labels")
            }
            truth = .binary(labels.map { $0 == positive })
        case .multiclassLogloss, .meanColumnROCAUC:
            preconditionFailure("wide metrics are read above")
        }
    }

    /// The submission's score with the grading metric (see `spec.metric.direction` for which way is better).
    public func score(submission: URL) throws -> Double {
        let table: CSVTable
        do {
            table = try CSVTable(contentsOf: submission)
        } catch {
            throw GradingError("cannot read the submission \(submission.lastPathComponent): \(error)")
        }
        return try score(table, name: submission.lastPathComponent)
    }

    func score(_ table: CSVTable, name: String = "submission") throws -> Double {
        guard let idIndex = table.columnIndex(spec.idColumn) else {
            throw GradingError("the submission \(name) has no column \"\(spec.idColumn)\" (columns: \(Self.list(table.header)))")
        }
        if case .columns(let columns, let actual) = truth {
            return try scoreWide(table, name: name, idIndex: idIndex, columns: columns, actual: actual)
        }
        guard let targetIndex = table.columnIndex(spec.targetColumn) else {
            throw GradingError(
                "the submission \(name) has no column \"\(spec.targetColumn)\" (columns: \(Self.list(table.header)))")
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
        var problems: [String] = []
        if !missing.isEmpty { problems.append("\(missing.count) id(s) missing (first: \(Self.list(missing)))") }
        if !repeated.isEmpty { problems.append("\(repeated.count) id(s) given more than once (first: \(Self.list(repeated)))") }
        if !extra.isEmpty { problems.append("\(extra.count) id(s) not in the answers (first: \(Self.list(extra)))") }

        let values = ids.map { predictions[$0] ?? "" }
        switch truth {
        case .numbers(let actual):
            let (numbers, bad) = Self.numbers(values, ids: ids, present: predictions)
            if !bad.isEmpty { problems.append("\(bad.count) prediction(s) not finite numbers (first: \(Self.list(bad)))") }
            if spec.metric == .quadraticKappa {
                let fractional = zip(ids, numbers).filter { $0.1.isFinite && $0.1 != $0.1.rounded() }.map {
                    "\($0.0) (\(Self.format($0.1)))"
                }
                if !fractional.isEmpty {
                    problems.append(
                        "\(fractional.count) prediction(s) not integer labels, which quadratic_kappa needs "
                            + "(first: \(Self.list(fractional)))")
                }
            }
            if spec.metric == .rmsle {
                let low = zip(ids, numbers).filter { $0.1.isFinite && $0.1 <= -1 }.map { "\($0.0) (\(Self.format($0.1)))" }
                if !low.isEmpty {
                    problems.append(
                        "\(low.count) prediction(s) at or below -1, which rmsle cannot take log(1 + value) of "
                            + "(first: \(Self.list(low)))")
                }
            }
            if spec.metric == .rmseLog {
                let nonPositive = zip(ids, numbers).filter { $0.1.isFinite && $0.1 <= 0 }.map { "\($0.0) (\(Self.format($0.1)))" }
                if !nonPositive.isEmpty {
                    problems.append(
                        "\(nonPositive.count) prediction(s) not positive, which rmse_log cannot take the log of "
                            + "(first: \(Self.list(nonPositive)))")
                }
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
            if !bad.isEmpty { problems.append("\(bad.count) prediction(s) not finite numbers (first: \(Self.list(bad)))") }
            if spec.metric == .logloss {
                let outside = zip(ids, numbers).filter { $0.1.isFinite && ($0.1 < 0 || $0.1 > 1) }.map {
                    "\($0.0) (\(Self.format($0.1)))"
                }
                if !outside.isEmpty {
                    problems.append("\(outside.count) prediction(s) not probabilities in [0, 1] (first: \(Self.list(outside)))")
                }
            }
            try throwIfAny(problems, name: name, rows: table.rows.count)
            if spec.metric == .logloss { return Self.logloss(probabilities: numbers, positive: actual) }
            return Self.rocAUC(scores: numbers, positive: actual)
        case .columns(let columns, let actual):
            return try scoreWide(table, name: name, idIndex: idIndex, columns: columns, actual: actual)
        }
    }

    func throwIfAny(_ problems: [String], name: String, rows: Int) throws {
        guard !problems.isEmpty else { return }
        throw GradingError(
            "the submission \(name) does not match the answers (\(ids.count) ids, submission has \(rows) rows): "
                + problems.joined(separator: "; "))
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
        let shown = items.prefix(limit).joined(separator: ", ")
        return items.count > limit ? "\(shown), … \(items.count - limit) more" : shown
    }

    static func format(_ number: Double) -> String {
        if number == number.rounded(), abs(number) < 1e15 { return String(Int64(number)) }
        return String(number)
    }
}
