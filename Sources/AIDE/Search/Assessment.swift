import Foundation

/// Whether a node is good, and its metric: the rules applied to every executed script.
///
/// A node is buggy when the script raised, timed out, ended badly, wrote no submission, the review
/// found a bug, or there is no finite metric. The metric comes from the review; when the review
/// call failed, from the script's own output if it printed one.
public struct Assessment: Sendable, Hashable {
    public var isBuggy: Bool
    public var reasons: [String]
    public var metric: Double?
    public var metricSource: String?

    public static func of(
        execution: ExecutionResult, review: Review?, reviewFailed: Bool, submissionWritten: Bool,
        submissionFile: String
    ) -> Assessment {
        var reasons: [String] = []
        if execution.timedOut {
            reasons.append(String(format: "timed out after %.0f s", execution.duration))
        } else if let exception = execution.exceptionType {
            reasons.append("raised \(exception)")
        } else if let signal = execution.signal {
            reasons.append("killed by signal \(signal)")
        } else if let code = execution.exitCode, code != 0 {
            reasons.append("exited with status \(code)")
        }
        if !submissionWritten { reasons.append("wrote no ./working/\(submissionFile)") }
        if review?.isBug == true { reasons.append("the review found a bug") }

        var metric: Double?
        var source: String?
        if let value = review?.metric, value.isFinite {
            metric = value
            source = "review"
        } else if reviewFailed, let value = MetricParser.lastMetric(in: execution.output) {
            metric = value
            source = "output"
        }
        if metric == nil { reasons.append("no finite validation metric") }
        return Assessment(
            isBuggy: !reasons.isEmpty, reasons: reasons, metric: reasons.isEmpty ? metric : nil,
            metricSource: reasons.isEmpty ? source : nil)
    }
}

/// Reads a validation metric from a script's output, for when the review cannot.
public enum MetricParser {
    /// The value on the last `Validation metric: <value>` line (what the prompts ask scripts to
    /// print), else the last number on the last line naming a metric; nil when none is finite.
    public static func lastMetric(in output: String) -> Double? {
        let lines = output.split(whereSeparator: \.isNewline).map(String.init)
        for line in lines.reversed() {
            if let range = line.range(of: "validation metric:", options: .caseInsensitive),
                let value = firstNumber(in: line[range.upperBound...])
            {
                return value
            }
        }
        let names = ["metric", "score", "rmse", "mae", "mse", "auc", "accuracy", "f1", "logloss", "loss", "validation"]
        for line in lines.reversed() {
            let lower = line.lowercased()
            guard names.contains(where: { lower.contains($0) }) else { continue }
            if let value = numbers(in: Substring(line)).last { return value }
        }
        return nil
    }

    private static func firstNumber(in text: Substring) -> Double? {
        numbers(in: text).first
    }

    private static func numbers(in text: Substring) -> [Double] {
        var found: [Double] = []
        var current = ""
        func flush() {
            if let value = Double(current), value.isFinite { found.append(value) }
            current = ""
        }
        for character in text {
            if character.isNumber || (character == "." && !current.contains(".") && !current.contains("e"))
                || (character == "-" && (current.isEmpty || current.hasSuffix("e")))
                || ((character == "e" || character == "E") && !current.isEmpty && !current.contains("e")
                    && current.last?.isNumber == true)
            {
                current.append(character == "E" ? "e" : character)
            } else {
                flush()
            }
        }
        flush()
        return found
    }
}
