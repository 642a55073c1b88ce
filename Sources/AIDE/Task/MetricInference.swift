import Foundation

/// A metric named in words (aideml's `eval`, a competition's "Evaluation" section).
public struct InferredMetric: Sendable, Hashable {
    /// How the prompts call it ("RMSE of log values").
    public var name: String
    public var direction: MetricDirection
    /// The built-in grading metric computing it, when there is one.
    public var grading: GradingMetric?
}

/// Reads which metric a text names, and so which way it improves.
public enum MetricInference {
    /// Known metrics by the phrases that name them, the longest phrases first within each family so
    /// "root mean squared logarithmic error" is not read as RMSE.
    static let patterns: [(phrases: [String], metric: InferredMetric)] = [
        (["quadratic weighted kappa", "quadratic kappa", "qwk", "cohen's kappa", "kappa"],
         InferredMetric(name: "quadratic weighted kappa", direction: .maximize, grading: .quadraticKappa)),
        (["multi-class logarithmic loss", "multiclass logarithmic loss", "multi-class log loss", "multiclass log loss",
          "multi class log loss", "categorical cross-entropy", "categorical cross entropy"],
         InferredMetric(name: "multi-class log loss", direction: .minimize, grading: .multiclassLogloss)),
        (["mean column-wise roc auc", "mean column-wise auc", "column-wise roc auc", "mean columnwise roc auc",
          "average of the individual aucs", "averaged across columns"],
         InferredMetric(name: "mean column-wise ROC AUC", direction: .maximize, grading: .meanColumnROCAUC)),
        (["root mean squared logarithmic error", "root mean squared log error", "root mean square logarithmic error",
          "rmsle"],
         InferredMetric(name: "RMSLE", direction: .minimize, grading: .rmsle)),
        (["rmse between the logarithm", "rmse of the log", "rmse of log", "root mean squared error between the logarithm",
          "root-mean-squared-error (rmse) between the logarithm", "rmse on the log", "log rmse"],
         InferredMetric(name: "RMSE of log values", direction: .minimize, grading: .rmseLog)),
        (["root mean squared error", "root mean square error", "root-mean-squared-error", "root-mean-square error", "rmse"],
         InferredMetric(name: "RMSE", direction: .minimize, grading: .rmse)),
        (["mean squared error", "mse"], InferredMetric(name: "MSE", direction: .minimize, grading: nil)),
        (["mean absolute percentage error", "mape", "smape"], InferredMetric(name: "MAPE", direction: .minimize, grading: nil)),
        (["mean absolute error", "mae"], InferredMetric(name: "MAE", direction: .minimize, grading: .mae)),
        (["logarithmic loss", "log loss", "logloss", "log-loss", "cross-entropy", "cross entropy"],
         InferredMetric(name: "log loss", direction: .minimize, grading: .logloss)),
        (["area under the roc curve", "area under the receiver operating characteristic", "roc auc", "roc-auc", "auc-roc",
          "auroc", "auc"],
         InferredMetric(name: "ROC AUC", direction: .maximize, grading: .rocAUC)),
        (["mean average precision", "map@"], InferredMetric(name: "mean average precision", direction: .maximize, grading: nil)),
        (["f1-score", "f1 score", "f-score", "f1"], InferredMetric(name: "F1", direction: .maximize, grading: .f1)),
        (["accuracy"], InferredMetric(name: "accuracy", direction: .maximize, grading: .accuracy)),
        (["coefficient of determination", "r-squared", "r2 score", "r^2", "r²"],
         InferredMetric(name: "R²", direction: .maximize, grading: nil)),
        (["dice coefficient", "dice score", "jaccard", "intersection over union", "iou"],
         InferredMetric(name: "overlap score", direction: .maximize, grading: nil)),
        (["precision", "recall"], InferredMetric(name: "precision/recall", direction: .maximize, grading: nil)),
        (["error rate"], InferredMetric(name: "error rate", direction: .minimize, grading: nil)),
    ]

    /// The metric the text names first (by position), or nil when it names none it knows.
    public static func metric(in text: String) -> InferredMetric? {
        let lower = text.lowercased()
        var best: (position: Int, length: Int, metric: InferredMetric)?
        for (phrases, metric) in patterns {
            for phrase in phrases {
                guard let position = firstWordMatch(of: phrase, in: lower) else { continue }
                if best == nil || position < best!.position || (position == best!.position && phrase.count > best!.length) {
                    best = (position, phrase.count, metric)
                }
            }
        }
        guard var found = best?.metric else { return nil }
        // "the RMSE metric between the logarithm of the predicted and observed values" (aideml's house prices).
        if found.grading == .rmse, ["logarithm", "log of", "log(", "log values", "log-transformed", "logged"].contains(where: lower.contains) {
            found = InferredMetric(name: "RMSE of log values", direction: .minimize, grading: .rmseLog)
        }
        if let stated = statedDirection(in: lower) { found.direction = stated }
        return found
    }

    /// "lower is better", "higher is better" and the like, which settle the direction whatever the metric.
    static func statedDirection(in lower: String) -> MetricDirection? {
        let lowerBetter = ["lower is better", "smaller is better", "lower scores are better", "to be minimized", "minimize"]
        let higherBetter = ["higher is better", "larger is better", "higher scores are better", "to be maximized", "maximize"]
        let low = lowerBetter.compactMap { firstWordMatch(of: $0, in: lower) }.min()
        let high = higherBetter.compactMap { firstWordMatch(of: $0, in: lower) }.min()
        switch (low, high) {
        case (let l?, let h?): return l < h ? .minimize : .maximize
        case (_?, nil): return .minimize
        case (nil, _?): return .maximize
        default: return nil
        }
    }

    /// Offset of the first occurrence of `phrase` not inside a longer word.
    static func firstWordMatch(of phrase: String, in text: String) -> Int? {
        var searchRange = text.startIndex..<text.endIndex
        while let range = text.range(of: phrase, range: searchRange) {
            let before = range.lowerBound == text.startIndex ? nil : text[text.index(before: range.lowerBound)]
            let after = range.upperBound == text.endIndex ? nil : text[range.upperBound]
            let phraseEndsInWord = phrase.last.map { $0.isLetter || $0.isNumber } ?? false
            let isWordChar: (Character?) -> Bool = { $0.map { $0.isLetter || $0.isNumber } ?? false }
            if !isWordChar(before) && (!phraseEndsInWord || !isWordChar(after)) {
                return text.distance(from: text.startIndex, to: range.lowerBound)
            }
            searchRange = text.index(after: range.lowerBound)..<text.endIndex
        }
        return nil
    }

    /// The "Evaluation" section of a competition description (Markdown), or nil when it has none.
    public static func evaluationSection(of markdown: String) -> String? {
        let lines = markdown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = lines.firstIndex(where: { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            return trimmed.hasPrefix("#") && trimmed.lowercased().contains("evaluation")
        }) else { return nil }
        let level = lines[start].prefix { $0 == "#" }.count
        var section: [String] = []
        for line in lines[(start + 1)...] {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("#") && trimmed.prefix(while: { $0 == "#" }).count <= level { break }
            section.append(line)
        }
        return section.joined(separator: "\n")
    }
}
