import Foundation

/// The metrics that score several columns at once (MLE-bench's multi-class log loss and mean
/// column-wise ROC AUC), and quadratic weighted kappa.
extension Grader {
    /// The answers of a wide metric: one 0/1 column per class (multiclass_logloss, exactly one 1 a row)
    /// or per target (mean_column_roc_auc).
    static func wideTruth(_ metric: GradingMetric, spec: GradingSpec, table: CSVTable, idIndex: Int, name: String) throws -> Truth {
        let columns = spec.targetColumns ?? table.header.enumerated().filter { $0.offset != idIndex }.map(\.element)
        guard !columns.isEmpty else { throw GradingError.noColumnBesidesID(name: name, idColumn: spec.idColumn) }
        let missing = columns.filter { table.columnIndex($0) == nil }
        guard missing.isEmpty else {
            throw GradingError.missingColumns(.answers, name: name, missing: missing, columns: table.header)
        }
        let indices = columns.map { table.columnIndex($0)! }
        var rows: [[Bool]] = []
        var bad: [String] = []
        for row in table.rows {
            var flags: [Bool] = []
            for index in indices {
                let value = Double(row[index].trimmingCharacters(in: .whitespaces))
                if value == 1 { flags.append(true) } else if value == 0 { flags.append(false) } else { bad.append(row[idIndex]) }
            }
            if metric == .multiclassLogloss && flags.filter({ $0 }).count != 1 { bad.append(row[idIndex]) }
            rows.append(flags)
        }
        guard bad.isEmpty else {
            throw GradingError.unusableAnswers(name: name, metric: metric, bad: .init(bad))
        }
        if metric == .meanColumnROCAUC {
            for (k, column) in columns.enumerated() {
                let positives = rows.filter { $0[k] }.count
                guard positives > 0 && positives < rows.count else {
                    throw GradingError.singleClassColumn(column)
                }
            }
        }
        return .columns(columns, rows)
    }

    func scoreWide(_ table: CSVTable, name: String, idIndex: Int, columns: [String], actual: [[Bool]]) throws -> Double {
        let missingColumns = columns.filter { table.columnIndex($0) == nil }
        guard missingColumns.isEmpty else {
            throw GradingError.missingColumns(.submission, name: name, missing: missingColumns, columns: table.header)
        }
        let indices = columns.map { table.columnIndex($0)! }
        var byID: [String: [String]] = [:]
        var repeated: [String] = []
        for row in table.rows {
            let id = Self.canonicalID(row[idIndex])
            if byID[id] != nil { repeated.append(id) } else { byID[id] = row }
        }
        let expected = Set(ids)
        let missing = ids.filter { byID[$0] == nil }
        let extra = byID.keys.filter { !expected.contains($0) }.sorted()
        var problems = Self.idProblems(missing: missing, repeated: repeated, extra: extra)
        var matrix: [[Double]] = []
        var bad: [String] = []
        for id in ids {
            guard let row = byID[id] else { continue }
            let values = indices.map { Double(row[$0].trimmingCharacters(in: .whitespaces)) ?? .nan }
            if values.contains(where: { !$0.isFinite }) || (spec.metric == .multiclassLogloss && values.contains { $0 < 0 }) {
                bad.append(id)
            }
            matrix.append(values)
        }
        if !bad.isEmpty {
            problems.append(.badRows(.init(bad), nonNegative: spec.metric == .multiclassLogloss))
        }
        try throwIfAny(problems, name: name, rows: table.rows.count)
        if spec.metric == .multiclassLogloss { return Self.multiclassLogloss(probabilities: matrix, actual: actual) }
        return Self.meanColumnROCAUC(scores: matrix, actual: actual)
    }

    /// Each row's probabilities rescaled to sum to 1, then clipped to [ε, 1 − ε] with ε the float64
    /// epsilon (as scikit-learn's log_loss, which MLE-bench grades with), then the mean negative log of
    /// the true class's probability.
    static func multiclassLogloss(probabilities: [[Double]], actual: [[Bool]]) -> Double {
        let eps = Double.ulpOfOne
        var total = 0.0
        for (row, truth) in zip(probabilities, actual) {
            guard let k = truth.firstIndex(of: true) else { continue }
            let sum = row.reduce(0, +)
            let p = sum > 0 ? row[k] / sum : 0
            total -= Foundation.log(min(max(p, eps), 1 - eps))
        }
        return total / Double(actual.count)
    }

    /// The ROC AUC of each column, averaged (scikit-learn's `roc_auc_score(average="macro")`).
    static func meanColumnROCAUC(scores: [[Double]], actual: [[Bool]]) -> Double {
        guard let width = actual.first?.count, width > 0 else { return .nan }
        let total = (0..<width).reduce(0.0) { sum, k in
            sum + rocAUC(scores: scores.map { $0[k] }, positive: actual.map { $0[k] })
        }
        return total / Double(width)
    }

    /// Cohen's kappa with quadratic weights; the classes are the sorted union of the labels seen, and a
    /// weight is the squared distance of the classes' positions, as scikit-learn's cohen_kappa_score.
    static func quadraticKappa(predicted: [Double], actual: [Double]) -> Double {
        let classes = Array(Set(predicted).union(actual)).sorted()
        let n = classes.count
        guard n > 1 else { return .nan }
        let position = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($0.element, $0.offset) })
        var observed = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for (p, a) in zip(predicted, actual) { observed[position[a]!][position[p]!] += 1 }
        let rows = observed.map { $0.reduce(0, +) }
        let cols = (0..<n).map { j in observed.reduce(0) { $0 + $1[j] } }
        let total = rows.reduce(0, +)
        var weightedObserved = 0.0
        var weightedExpected = 0.0
        for i in 0..<n {
            for j in 0..<n {
                let weight = Double((i - j) * (i - j))
                weightedObserved += weight * observed[i][j]
                weightedExpected += weight * rows[i] * cols[j] / total
            }
        }
        return 1 - weightedObserved / weightedExpected
    }
}
