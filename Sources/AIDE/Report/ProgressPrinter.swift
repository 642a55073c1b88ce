import Foundation

/// Prints a run's progress: on a terminal, a status line redrawn in place plus one line per
/// finished node; piped, the node lines only.
public final class ProgressPrinter: Sendable {
    private let interactive: Bool

    public init(interactive: Bool = isatty(STDERR_FILENO) == 1) {
        self.interactive = interactive
    }

    /// Handles one event (called from the run, in order).
    public func handle(_ progress: RunProgress) {
        if let node = progress.node {
            write(clearLine + Self.nodeLine(node) + "\n")
        }
        if interactive {
            write(clearLine + Self.statusLine(progress) + (progress.step == nil ? "\n" : ""))
        }
    }

    private var clearLine: String { interactive ? "\r\u{1B}[2K" : "" }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// `step 3/20 · improve: executing · best 0.1234 (test 0.1301) · 12.3k tokens · $0.042 · 1m05s`
    public static func statusLine(_ progress: RunProgress) -> String {
        var parts: [String] = []
        let done = progress.nodes
        parts.append(progress.step.map { "step \($0 + 1)/\(progress.budgetSteps)" } ?? "\(done)/\(progress.budgetSteps) steps")
        parts.append(progress.stage)
        if progress.inFlight > 1 { parts.append("\(progress.inFlight) in flight") }
        if let best = progress.bestMetric {
            var text = "best " + format(best)
            if let test = progress.bestTestScore { text += " (test " + format(test) + ")" }
            parts.append(text)
        } else {
            parts.append("no good node yet")
        }
        parts.append(tokens(progress.inputTokens + progress.outputTokens) + " tokens")
        parts.append(String(format: "$%.3f", progress.costUSD))
        parts.append(duration(progress.elapsed))
        return parts.joined(separator: " · ")
    }

    /// `  3 improve  metric 0.1234  test 0.1301  4.2 s` or `  4 debug    buggy: raised ValueError`
    public static func nodeLine(_ node: Node) -> String {
        let stage = node.stage.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)
        var line = String(format: "%4d ", node.step) + stage
        if node.isBuggy {
            line += " buggy: " + (node.bugReasons.isEmpty ? "unknown" : node.bugReasons.joined(separator: ", "))
        } else if let metric = node.metric {
            line += " metric " + format(metric)
            if let test = node.testScore { line += "  test " + format(test) }
        }
        if let execution = node.execution { line += String(format: "  %.1f s", execution.duration) }
        return line
    }

    static func format(_ value: Double) -> String { String(format: "%.5g", value) }

    static func tokens(_ count: Int) -> String {
        count >= 1000 ? String(format: "%.1fk", Double(count) / 1000) : "\(count)"
    }

    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds)
        if total >= 3600 { return String(format: "%dh%02dm", total / 3600, (total % 3600) / 60) }
        if total >= 60 { return String(format: "%dm%02ds", total / 60, total % 60) }
        return String(format: "%.1fs", seconds)
    }
}

extension RunSummary {
    /// The closing lines of a run (the CLI adds how to continue one that did not finish).
    public var text: String {
        var lines = ["run \(runID): \(status.rawValue)" + (stopReason.map { " (\($0))" } ?? "")]
        lines.append("  nodes: \(nodes) (\(goodNodes) good, \(nodes - goodNodes) buggy)")
        if let best {
            var line = "  best: node \(best.id) (step \(best.step)), metric " + ProgressPrinter.format(best.metric ?? .nan)
            if let test = best.testScore { line += ", test score " + ProgressPrinter.format(test) }
            lines.append(line)
            lines.append("  best solution: \(folder.appendingPathComponent("best_solution.py").path)")
        } else {
            lines.append("  best: none (no good node)")
        }
        lines.append(String(
            format: "  tokens: %d in / %d out · $%.4f · %@", inputTokens, outputTokens, costUSD,
            ProgressPrinter.duration(elapsed)))
        lines.append("  database: \(folder.appendingPathComponent("run.sqlite").path)")
        return lines.joined(separator: "\n")
    }
}
