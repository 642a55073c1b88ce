import Foundation

/// Whether a node is good, and its metric: the rules applied to every executed script.
///
/// A node is buggy when the script raised, timed out, ended badly, wrote no submission, the
/// submission failed its check, the review found a bug, or the output holds no `Validation metric:
/// <number>` line. The metric is always the harness's own reading of that line (the last one);
/// the review's metric is only a cross-check (see `Node.metricDisagreement`).
public struct Assessment: Sendable, Hashable {
    public var isBuggy: Bool
    public var reasons: [String]
    public var metric: Double?
    public var metricSource: MetricSource?

    public static func of(
        execution: ExecutionResult, review: Review?, submissionWritten: Bool, submissionFile: String,
        submissionProblems: [String] = []
    ) -> Assessment {
        var reasons: [String] = []
        if let stopped = execution.stoppedBecause {
            reasons.append("stopped: \(stopped)")
        } else if let failure = execution.placement?.failure {
            reasons.append(failure)  // Slurm ended the job, not the script: its reason
        } else if execution.timedOut {
            reasons.append(String(format: "timed out after %.0f s", execution.duration))
        } else if let exception = execution.exceptionType {
            reasons.append("raised \(exception)")
        } else if let signal = execution.signal {
            reasons.append("killed by signal \(signal)")
        } else if let code = execution.exitCode, code != 0 {
            reasons.append("exited with status \(code)")
        }
        if !submissionWritten { reasons.append("wrote no ./working/\(submissionFile)") }
        reasons += submissionProblems
        if review?.isBug == true { reasons.append("the review found a bug") }

        let metric = MetricParser.validationMetric(in: execution.output)
        if metric == nil {
            reasons.append("printed no `Validation metric: <number>` line with a finite number")
        }
        return Assessment(
            isBuggy: !reasons.isEmpty, reasons: reasons, metric: reasons.isEmpty ? metric : nil,
            metricSource: reasons.isEmpty ? .output : nil)
    }
}

extension Assessment {
    /// Makes the node buggy for `reason` (a check after the assessment failed).
    mutating func reject(_ reason: String) {
        reasons.append(reason)
        isBuggy = true
        metric = nil
        metricSource = nil
    }
}

/// The review's metric against the harness's, when they differ by more than the tolerance.
public struct MetricDisagreement: Sendable, Hashable, CustomStringConvertible {
    public var harness: Double
    public var review: Double

    /// Relative tolerance: the review copies a number from the output, so anything beyond rounding
    /// is a disagreement.
    public static let tolerance = 1e-3

    public init?(harness: Double?, review: Double?) {
        guard let harness, let review, harness.isFinite, review.isFinite else { return nil }
        let scale = max(abs(harness), abs(review), 1e-12)
        guard abs(harness - review) / scale > Self.tolerance else { return nil }
        self.harness = harness
        self.review = review
    }

    public var description: String {
        "the review read \(Prompts.formatMetric(review)), the output says \(Prompts.formatMetric(harness))"
    }
}

extension Node {
    /// Set when the review's metric and the harness's differ beyond `MetricDisagreement.tolerance`;
    /// both numbers are stored on the node (`review_metric`, `metric`).
    public var metricDisagreement: MetricDisagreement? {
        MetricDisagreement(harness: metric, review: review?.metric)
    }
}

/// Reads the validation metric from a script's output.
public enum MetricParser {
    /// The number on the last `Validation metric: <number>` line (what the prompts ask scripts to
    /// print); nil when there is none or its number is not finite. This is the metric the harness
    /// uses, whatever the review says.
    public static func validationMetric(in output: String) -> Double? {
        for line in output.split(whereSeparator: \.isNewline).reversed() {
            guard let range = line.range(of: "validation metric:", options: .caseInsensitive) else { continue }
            let rest = line[range.upperBound...].drop { $0 == " " || $0 == "\t" }
            var token = rest.prefix { !$0.isWhitespace && $0 != "," && $0 != ";" }
            // "Validation metric: 0.87." ends a sentence.
            if Double(token) == nil, token.hasSuffix(".") { token = token.dropLast() }
            return Double(token).flatMap { $0.isFinite ? $0 : nil }
        }
        return nil
    }
}
