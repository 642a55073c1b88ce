import Foundation

/// How `aide report` writes: for a terminal, for a CI job summary, or for programs.
public enum ReportFormat: String, Sendable, CaseIterable, Codable {
    case text
    case markdown
    case json
    /// One self-contained page (HTMLReport); for a single run's report only.
    case html
}

/// Renders reports as text (optionally with ANSI colour), markdown or JSON (docs/REPORT_JSON.md).
/// Every rendering ends with a newline.
public enum ReportRenderer {
    public static func render(_ report: RunReport, format: ReportFormat, color: Bool = false) throws -> String {
        switch format {
        case .text: return text(report, color: color)
        case .markdown: return markdown(report)
        case .json: return try json(report)
        case .html: return try HTMLReport.render(report)
        }
    }

    public static func render(_ detail: NodeDetail, format: ReportFormat, color: Bool = false) throws -> String {
        switch format {
        // What a script printed must not steer the terminal it is shown on.
        case .text: return text(detail.harmlessForTerminal(), color: color)
        case .markdown: return markdown(detail.harmlessForTerminal())
        case .json: return try json(detail)
        case .html: throw ReportError.htmlShowsOneRun
        }
    }

    public static func render(_ listing: RunListing, format: ReportFormat, color: Bool = false) throws -> String {
        switch format {
        case .text: return text(listing)
        case .markdown: return markdown(listing)
        case .json: return try json(listing)
        case .html: throw ReportError.htmlShowsOneRun
        }
    }

    public static func render(_ comparison: RunComparison, format: ReportFormat, color: Bool = false) throws -> String {
        switch format {
        case .text: return text(comparison)
        case .markdown: return markdown(comparison)
        case .json: return try json(comparison)
        case .html: throw ReportError.htmlShowsOneRun
        }
    }

    /// Sorted keys, ISO 8601 dates, a final newline.
    public static func json<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try ReportSchema.encoder.encode(value), as: UTF8.self) + "\n"
    }

    // MARK: Pieces

    static func number(_ value: Double?) -> String { value.map(ProgressPrinter.format) ?? "-" }

    static func usd(_ value: Double?) -> String { value.map { String(format: "$%.4f", $0) } ?? "unknown" }

    static func date(_ date: Date?) -> String {
        guard let date else { return "-" }
        return String(Timestamp.text(date).prefix(19)) + " UTC"
    }

    static func status(_ run: RunReport.RunInfo) -> String {
        if let silent = run.silentFor {
            return "stopped without a word (marked running, but nothing written for \(ProgressPrinter.duration(silent)); resumable)"
        }
        return run.status.rawValue + (run.stopReason.map { " (\($0))" } ?? "")
    }

    static func directionText(_ direction: MetricDirection) -> String {
        direction == .minimize ? "minimize (lower is better)" : "maximize (higher is better)"
    }

    private enum Paint: String {
        case green = "\u{1B}[32m"
        case boldGreen = "\u{1B}[1;32m"
        case red = "\u{1B}[31m"
        case dim = "\u{1B}[2m"
        case bold = "\u{1B}[1m"
    }

    private static func paint(_ text: String, _ paint: Paint, _ color: Bool) -> String {
        color ? paint.rawValue + text + "\u{1B}[0m" : text
    }

    /// Nodes in tree order (each followed by its children, by step) with their depth.
    static func treeOrder(_ nodes: [NodeView.Row]) -> [(node: NodeView.Row, depth: Int)] {
        let ids = Set(nodes.map(\.id))
        var children: [String: [NodeView.Row]] = [:]
        var roots: [NodeView.Row] = []
        for node in nodes.sorted(by: { $0.step < $1.step }) {
            if let parent = node.parentID, ids.contains(parent), parent != node.id {
                children[parent, default: []].append(node)
            } else {
                roots.append(node)
            }
        }
        var ordered: [(node: NodeView.Row, depth: Int)] = []
        var seen: Set<String> = []
        func visit(_ node: NodeView.Row, _ depth: Int) {
            guard seen.insert(node.id).inserted else { return }
            ordered.append((node, depth))
            for child in children[node.id] ?? [] { visit(child, depth + 1) }
        }
        for root in roots { visit(root, 0) }
        // A parent cycle (never written by aide) would hide nodes: list them at the top level.
        for node in nodes where !seen.contains(node.id) { visit(node, 0) }
        return ordered
    }

    /// `* 3 improve d9a2b6c7  metric 0.1268  test 0.129  51.7s  ← best`: `*` marks the best path,
    /// children are indented two spaces under their parent.
    static func treeLine(_ node: NodeView.Row, depth: Int, isBest: Bool, color: Bool) -> String {
        var line = (node.onBestPath ? "* " : "  ") + String(repeating: "  ", count: depth)
        line += "\(node.step) \(node.stage.rawValue) \(node.id)"
        if let other = node.otherParentID { line += " × \(other)" }
        var fields: [String] = []
        if node.isBuggy {
            let reasons = node.bugReasons.isEmpty ? "" : ": " + node.bugReasons.joined(separator: ", ")
            fields.append(paint("✗ buggy" + reasons, .red, color))
        } else {
            fields.append("metric " + number(node.metric))
            if let test = node.testScore { fields.append("test " + number(test)) }
        }
        if let exec = node.execTime { fields.append(ProgressPrinter.duration(exec)) }
        if isBest { fields.append("← best") }
        let text = line + "  " + fields.joined(separator: "  ")
        if isBest { return paint(text, .boldGreen, color) }
        if node.onBestPath, !node.isBuggy { return paint(text, .green, color) }
        return text
    }

    // MARK: Text

    static func text(_ report: RunReport, color: Bool) -> String {
        let run = report.run
        var lines: [String] = []
        lines.append(paint("run \(run.id)", .bold, color) + " · \(run.task) · " + status(run))
        lines.append("started \(date(run.startedAt)) · " + (run.finishedAt.map { "finished \(date($0))" } ?? "last write \(date(run.updatedAt))"))
        lines.append("metric: \(run.metricName), \(directionText(run.direction))")
        if let sandbox = run.sandbox { lines.append("scripts ran in sandbox: \(sandbox)") }
        lines.append("nodes: \(report.counts.steps) (\(report.counts.good) good, \(report.counts.buggy) buggy)")
        if let best = report.best {
            var line = "best: node \(best.id) (step \(best.step)), metric \(number(best.metric))"
            if let test = best.testScore { line += ", test score \(number(test))" }
            lines.append(line)
            lines.append("best path: " + report.bestPath.joined(separator: " → "))
        } else {
            lines.append("best: none (no good node)")
        }
        lines.append(
            "tokens: \(report.totals.inputTokens) in / \(report.totals.outputTokens) out · \(usd(report.totals.costUSD)) · \(report.totals.calls) calls")
        if let cache = cacheLine(report.totals) { lines.append(cache) }
        for model in report.models {
            var line = "  \(model.model): \(model.calls) calls"
            if model.failedCalls > 0 { line += " (\(model.failedCalls) failed)" }
            line += ", \(model.inputTokens) in / \(model.outputTokens) out, \(usd(model.costUSD))"
            lines.append(line)
        }
        lines.append(
            "time: \(ProgressPrinter.duration(report.time.wall)) wall · \(ProgressPrinter.duration(report.time.llm)) LLM · "
                + "\(ProgressPrinter.duration(report.time.execution)) execution")
        lines.append("")
        if report.nodes.isEmpty {
            lines.append("no nodes yet")
        } else {
            lines.append("tree (* marks the path to the best node):")
            for (node, depth) in treeOrder(report.nodes) {
                lines.append(treeLine(node, depth: depth, isBest: node.id == report.best?.id, color: color))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func text(_ detail: NodeDetail, color: Bool) -> String {
        var lines: [String] = []
        var head = "node \(detail.id) · step \(detail.step) · \(detail.stage.rawValue)"
        if let parent = detail.parentID { head += " of \(parent)" }
        if let other = detail.otherParentID { head += " × \(other)" }
        head += " · run \(detail.runID)"
        lines.append(paint(head, .bold, color))
        if detail.isBuggy {
            lines.append(paint("buggy: " + (detail.bugReasons.isEmpty ? "unknown" : detail.bugReasons.joined(separator: ", ")), .red, color))
        } else {
            var line = "metric \(number(detail.metric))"
            if let source = detail.metricSource { line += " (from the \(source.rawValue))" }
            if let check = MetricDisagreement(harness: detail.metric, review: detail.review?.metric) { line += " · \(check)" }
            if let test = detail.testScore { line += " · test score \(number(test))" }
            if detail.isBest { line += " · the best node" } else if detail.onBestPath { line += " · on the best path" }
            lines.append(paint(line, .green, color))
        }
        if let error = detail.error { lines.append("error: \(error)") }
        if !detail.children.isEmpty { lines.append("children: " + detail.children.joined(separator: ", ")) }
        lines.append("")
        lines.append(section("plan", color))
        lines.append(detail.plan)
        lines.append("")
        lines.append(section("code", color))
        lines.append(detail.code.hasSuffix("\n") ? String(detail.code.dropLast()) : detail.code)
        lines.append("")
        if let diff = detail.diff {
            lines.append(section("change against the parent (patch)", color))
            lines.append(diff)
            lines.append("")
        }
        lines.append(section("execution", color))
        if let output = detail.output {
            var facts = ["ran \(ProgressPrinter.duration(detail.execTime ?? 0))"]
            if let code = detail.exitCode { facts.append("exit \(code)") }
            if let signal = detail.signal { facts.append("signal \(signal)") }
            if detail.timedOut == true { facts.append("timed out") }
            if let exception = detail.exceptionType { facts.append("raised \(exception)") }
            if let place = detail.ranOn, place != "local" { facts.append(place) }
            if let wait = detail.queueWait { facts.append("queued \(ProgressPrinter.duration(wait))") }
            lines.append(facts.joined(separator: " · "))
            lines.append(output.hasSuffix("\n") ? String(output.dropLast()) : output)
        } else {
            lines.append("never ran")
        }
        lines.append("")
        lines.append(section("review", color))
        if let review = detail.review {
            lines.append(
                (review.isBug ? "bug" : "no bug") + (review.metric.map { " · metric \(number($0))" } ?? "") + ": "
                    + review.summary)
        } else {
            lines.append("none")
        }
        lines.append("")
        lines.append(section("llm calls", color))
        if detail.calls.isEmpty { lines.append("none") }
        for call in detail.calls { lines.append(callLine(call)) }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func section(_ title: String, _ color: Bool) -> String {
        paint("── \(title) ──", .dim, color)
    }

    /// The prompt cache's share of a run's input and what it saved; nil when no call used it.
    static func cacheLine(_ totals: RunReport.Totals) -> String? {
        guard totals.cachedInputTokens > 0 || totals.cacheWriteTokens > 0 else { return nil }
        let share = totals.inputTokens > 0 ? Double(totals.cachedInputTokens) / Double(totals.inputTokens) : 0
        return "prompt cache: \(totals.cachedInputTokens) input tokens read (\(String(format: "%.0f", share * 100))% of input), "
            + "\(totals.cacheWriteTokens) written · saved \(usd(totals.cacheSavingsUSD))"
    }

    static func callLine(_ call: NodeView.Call) -> String {
        var line = "\(call.purpose.rawValue) · \(call.model) · \(String(format: "%.1fs", call.latency))"
        line += " · \(call.inputTokens) in / \(call.outputTokens) out · \(usd(call.costUSD))"
        if let cached = call.cachedInputTokens, cached > 0 { line += " · \(cached) cached" }
        if let written = call.cacheWriteTokens, written > 0 { line += " · \(written) cache written" }
        if let saved = call.cacheSavingsUSD { line += " · cache saved \(usd(saved))" }
        if call.attempts > 1 { line += " · \(call.attempts) attempts" }
        if let error = call.error { line += " · failed: \(error)" }
        return line
    }

    static func text(_ listing: RunListing) -> String {
        guard !listing.runs.isEmpty else { return "no runs under \(listing.runsDirectory)\n" }
        let header = ["run", "task", "status", "steps", "best", "test", "usd", "started"]
        let rows = listing.runs.map { row -> [String] in
            if let error = row.error { return [row.id, "unreadable: \(error)", "", "", "", "", "", ""] }
            return [
                row.id, row.task ?? "-", row.status?.rawValue ?? "-", "\(row.steps)", number(row.bestMetric),
                number(row.bestTestScore), String(format: "%.4f", row.costUSD), date(row.startedAt),
            ]
        }
        return table(header, rows)
    }

    static func text(_ comparison: RunComparison) -> String {
        let header = ["run", "status", "best", "test", "steps to best", "steps", "tokens", "usd", "wall", "llm", "exec"]
        let rows = comparison.runs.map { row -> [String] in
            [
                row.id + (row.id == comparison.bestRun ? " *" : ""), row.status.rawValue, number(row.bestMetric),
                number(row.bestTestScore), row.stepsToBest.map(String.init) ?? "-", "\(row.steps)",
                "\(row.inputTokens + row.outputTokens)", String(format: "%.4f", row.costUSD),
                ProgressPrinter.duration(row.time.wall), ProgressPrinter.duration(row.time.llm),
                ProgressPrinter.duration(row.time.execution),
            ]
        }
        var text = table(header, rows)
        if let best = comparison.bestRun { text += "* best metric: \(best)\n" }
        return text
    }

    /// Columns padded to their widest cell, two spaces apart, trailing spaces trimmed.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.indices.map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }.joined(separator: "\n") + "\n"
    }

    // MARK: Markdown

    /// Text safe inside a table cell: pipes escaped, lines joined.
    static func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    static func markdown(_ report: RunReport) -> String {
        let run = report.run
        var lines: [String] = ["## aide run `\(run.id)`", "", "| | |", "|---|---|"]
        lines.append("| task | \(cell(run.task)) |")
        lines.append("| status | \(cell(status(run))) |")
        lines.append("| started | \(date(run.startedAt)) |")
        lines.append("| finished | \(run.finishedAt.map { date($0) } ?? "-") |")
        lines.append("| metric | \(cell(run.metricName)), \(directionText(run.direction)) |")
        if let sandbox = run.sandbox { lines.append("| sandbox | \(cell(sandbox)) |") }
        lines.append("| nodes | \(report.counts.steps) (\(report.counts.good) good, \(report.counts.buggy) buggy) |")
        if let best = report.best {
            lines.append("| best | `\(best.id)` (step \(best.step)): metric \(number(best.metric)), test \(number(best.testScore)) |")
            lines.append("| best path | \(report.bestPath.map { "`\($0)`" }.joined(separator: " → ")) |")
        } else {
            lines.append("| best | none (no good node) |")
        }
        lines.append("| tokens | \(report.totals.inputTokens) in / \(report.totals.outputTokens) out (\(report.totals.calls) calls) |")
        lines.append("| cost | \(usd(report.totals.costUSD)) |")
        if let cache = cacheLine(report.totals) { lines.append("| prompt cache | \(cache.dropFirst("prompt cache: ".count)) |") }
        lines.append(
            "| time | \(ProgressPrinter.duration(report.time.wall)) wall, \(ProgressPrinter.duration(report.time.llm)) LLM, "
                + "\(ProgressPrinter.duration(report.time.execution)) execution |")
        if !report.models.isEmpty {
            lines += ["", "### Models", "", "| model | calls | failed | input tokens | output tokens | USD |", "|---|---:|---:|---:|---:|---:|"]
            for model in report.models {
                lines.append(
                    "| \(cell(model.model)) | \(model.calls) | \(model.failedCalls) | \(model.inputTokens) | \(model.outputTokens) | \(usd(model.costUSD)) |")
            }
        }
        lines += ["", "### Tree", ""]
        if report.nodes.isEmpty { lines.append("No nodes yet.") }
        for (node, depth) in treeOrder(report.nodes) {
            var item = String(repeating: "  ", count: depth) + "- "
            let label = "step \(node.step) \(node.stage.rawValue) `\(node.id)`"
            item += node.onBestPath ? "**\(label)**" : label
            if node.isBuggy {
                item += " — ✗ buggy" + (node.bugReasons.isEmpty ? "" : ": " + cell(node.bugReasons.joined(separator: ", ")))
            } else {
                item += " — metric \(number(node.metric))"
                if let test = node.testScore { item += ", test \(number(test))" }
            }
            if let exec = node.execTime { item += ", \(ProgressPrinter.duration(exec))" }
            if node.id == report.best?.id { item += " ← best" }
            lines.append(item)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A fence longer than any run of backticks in `text`.
    static func fenced(_ text: String, language: String = "") -> [String] {
        var longest = 0
        var current = 0
        for character in text {
            current = character == "`" ? current + 1 : 0
            longest = max(longest, current)
        }
        let fence = String(repeating: "`", count: max(3, longest + 1))
        let body = text.hasSuffix("\n") ? String(text.dropLast()) : text
        return [fence + language, body, fence]
    }

    static func markdown(_ detail: NodeDetail) -> String {
        var lines = ["## Node `\(detail.id)` (step \(detail.step), \(detail.stage.rawValue)) of run `\(detail.runID)`", ""]
        lines += ["| | |", "|---|---|"]
        lines.append("| parent | \(detail.parentID.map { "`\($0)`" } ?? "-") |")
        if let other = detail.otherParentID { lines.append("| crossed with | `\(other)` |") }
        lines.append("| buggy | \(detail.isBuggy ? "yes: " + cell(detail.bugReasons.joined(separator: ", ")) : "no") |")
        lines.append("| metric | \(number(detail.metric))\(detail.metricSource.map { " (from the \($0.rawValue))" } ?? "") |")
        if let check = MetricDisagreement(harness: detail.metric, review: detail.review?.metric) {
            lines.append("| metric cross-check | \(check) |")
        }
        lines.append("| test score | \(number(detail.testScore)) |")
        lines.append("| best | \(detail.isBest ? "yes" : detail.onBestPath ? "on the best path" : "no") |")
        if let exec = detail.execTime { lines.append("| execution | \(ProgressPrinter.duration(exec)) |") }
        if let place = detail.ranOn {
            lines.append("| ran on | \(cell(place))\(detail.queueWait.map { ", queued \(ProgressPrinter.duration($0))" } ?? "") |")
        }
        if let error = detail.error { lines.append("| error | \(cell(error)) |") }
        lines += ["", "### Plan", "", detail.plan, "", "### Code", ""] + fenced(detail.code, language: "python")
        if let diff = detail.diff { lines += ["", "### Change against the parent (patch)", ""] + fenced(diff, language: "diff") }
        lines += ["", "### Output", ""]
        lines += detail.output.map { fenced($0) } ?? ["Never ran."]
        lines += ["", "### Review", ""]
        if let review = detail.review {
            lines.append((review.isBug ? "Bug" : "No bug") + (review.metric.map { ", metric \(number($0))" } ?? "") + ": " + review.summary)
        } else {
            lines.append("None.")
        }
        lines += ["", "### LLM calls", ""]
        if detail.calls.isEmpty {
            lines.append("None.")
        } else {
            lines += ["| purpose | model | latency | input | output | USD | error |", "|---|---|---:|---:|---:|---:|---|"]
            for call in detail.calls {
                lines.append(
                    "| \(call.purpose.rawValue) | \(cell(call.model)) | \(String(format: "%.1fs", call.latency)) | \(call.inputTokens) | "
                        + "\(call.outputTokens) | \(usd(call.costUSD)) | \(cell(call.error ?? "")) |")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func markdown(_ listing: RunListing) -> String {
        var lines = ["## aide runs in `\(listing.runsDirectory)`", ""]
        guard !listing.runs.isEmpty else { return (lines + ["No runs."]).joined(separator: "\n") + "\n" }
        lines += ["| run | task | status | steps | best | test | USD | started |", "|---|---|---|---:|---:|---:|---:|---|"]
        for row in listing.runs {
            if let error = row.error {
                lines.append("| `\(row.id)` | unreadable: \(cell(error)) | | | | | | |")
            } else {
                lines.append(
                    "| `\(row.id)` | \(cell(row.task ?? "-")) | \(row.status?.rawValue ?? "-") | \(row.steps) | "
                        + "\(number(row.bestMetric)) | \(number(row.bestTestScore)) | \(String(format: "%.4f", row.costUSD)) | "
                        + "\(date(row.startedAt)) |")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func markdown(_ comparison: RunComparison) -> String {
        var lines = ["## Comparison", ""]
        lines += [
            "| run | status | best | test | steps to best | steps | tokens | USD | wall | LLM | execution |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in comparison.runs {
            let name = row.id == comparison.bestRun ? "**`\(row.id)`**" : "`\(row.id)`"
            lines.append(
                "| \(name) | \(row.status.rawValue) | \(number(row.bestMetric)) | \(number(row.bestTestScore)) | "
                    + "\(row.stepsToBest.map(String.init) ?? "-") | \(row.steps) | \(row.inputTokens + row.outputTokens) | "
                    + "\(String(format: "%.4f", row.costUSD)) | \(ProgressPrinter.duration(row.time.wall)) | "
                    + "\(ProgressPrinter.duration(row.time.llm)) | \(ProgressPrinter.duration(row.time.execution)) |")
        }
        if let best = comparison.bestRun { lines += ["", "Best metric: `\(best)`."] }
        return lines.joined(separator: "\n") + "\n"
    }
}
