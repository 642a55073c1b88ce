import Foundation

// The two other forms of a bench summary: markdown for people (a CI job summary) and JUnit XML for
// CI systems (one test case per task × seed; the schema is Tests/Fixtures/junit.xsd).

extension BenchSummary {
    /// A markdown summary: one table row per task, then what failed and the baseline comparison.
    public func markdown() -> String {
        var lines: [String] = []
        lines.append("## aide bench \(bench.name)")
        lines.append("")
        let seedList = bench.seeds.map(String.init).joined(separator: ", ")
        var counts = "\(totals.cases) runs (\(tasks.count) task\(tasks.count == 1 ? "" : "s") × seed\(bench.seeds.count == 1 ? "" : "s") \(seedList)): "
        counts += "\(totals.finished) finished, \(totals.failed) failed"
        if totals.incomplete > 0 { counts += ", \(totals.incomplete) not done" }
        counts += "; \(totals.validSubmissions) valid submission\(totals.validSubmissions == 1 ? "" : "s")"
        counts += "; \(BenchFormat.tokens(Double(totals.inputTokens + totals.outputTokens))) tokens, $\(String(format: "%.2f", totals.costUSD))"
        if totals.cachedInputTokens > 0 {
            counts += " (\(BenchFormat.tokens(Double(totals.cachedInputTokens))) input tokens from the prompt cache, "
                + "$\(String(format: "%.2f", totals.cacheSavingsUSD)) saved)"
        }
        counts += "."
        lines.append(counts)
        lines.append("")
        lines.append("| task | runs | valid | test score (mean ± SE) | agent's metric (mean ± SE) | steps to best | time to best | tokens / run | USD / run | thresholds |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|")
        for task in tasks {
            let test = task.gradingMetric.map { metric in
                "\(Self.meanSE(task.testScore)) \(metric.rawValue) \(metric.direction == .minimize ? "↓" : "↑")"
            } ?? "–"
            let metric = "\(Self.meanSE(task.metric)) \(task.direction == .minimize ? "↓" : "↑")"
            let thresholds = task.thresholds.isEmpty
                ? "–" : task.thresholds.map { "\($0.name) \(BenchFormat.percent($0.rate))" }.joined(separator: ", ")
            let cells = [
                task.task, "\(task.completed)/\(task.cases)", BenchFormat.percent(task.validSubmissionRate), test, metric,
                task.stepsToBest.mean.map(BenchFormat.number) ?? "–",
                task.secondsToBest.mean.map(BenchFormat.duration) ?? "–",
                task.tokens.mean.map(BenchFormat.tokens) ?? "–",
                task.costUSD.mean.map { String(format: "%.3f", $0) } ?? "–",
                thresholds,
            ]
            lines.append("| " + cells.map(ReportRenderer.cell).joined(separator: " | ") + " |")
        }
        let problems = cases.filter { !$0.validSubmission }
        if !problems.isEmpty {
            lines.append("")
            lines.append("Runs without a valid submission:")
            lines.append("")
            for result in problems {
                lines.append("- \(result.task) seed \(result.seed): \(JUnitReport.problem(result).message)")
            }
        }
        if let baseline {
            lines.append("")
            let regressions = baseline.regressions
            lines.append(
                regressions.isEmpty
                    ? "Baseline `\(baseline.file)`: no regression (tolerance \(baseline.tolerance))."
                    : "Baseline `\(baseline.file)`: **\(regressions.count) regression\(regressions.count == 1 ? "" : "s")**.")
            lines.append("")
            for row in baseline.tasks { lines.append("- \(row.regressed ? "**regressed** " : "")\(row.message)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func meanSE(_ statistic: BenchStatistic) -> String {
        guard let mean = statistic.mean else { return "–" }
        guard let stderr = statistic.stderr else { return BenchFormat.number(mean) }
        return "\(BenchFormat.number(mean)) ± \(BenchFormat.number(stderr))"
    }
}

/// JUnit XML of a bench, as Jenkins, GitLab and GitHub test reporters read it (Ant's schema):
/// a `<testsuite>` per task, a `<testcase classname="<task>" name="seed K">` per run. A run that
/// failed or finished without a valid submission is a `<failure>`; a run not done is `<skipped>`.
public enum JUnitReport {
    /// Why a case is not a pass; `nil` type for a pass.
    static func problem(_ result: BenchSummary.CaseResult) -> (type: String?, message: String) {
        switch result.status {
        case .pending, .running, .interrupted:
            return ("skipped", result.status == .interrupted ? "interrupted; not finished" : "not run yet (\(result.status.rawValue))")
        case .failed:
            let exit = result.exitStatus.map { " (exit status \($0))" } ?? ""
            return ("RunFailed", "the run failed\(exit): \(result.message ?? "no message")")
        case .finished:
            if result.validSubmission { return (nil, "valid submission") }
            if result.runFolder == nil { return ("NoValidSubmission", "no run found: \(result.message ?? "")") }
            if result.goodNodes == 0 {
                return ("NoValidSubmission", "no valid submission: all \(result.steps) node\(result.steps == 1 ? "" : "s") buggy")
            }
            return ("NoValidSubmission", "no valid submission: the best node has no test score")
        }
    }

    public static func xml(_ summary: BenchSummary, hostname: String = ProcessInfo.processInfo.hostName) -> String {
        let hostname = hostname.isEmpty ? "localhost" : hostname  // the schema requires one
        let timestamp = Self.timestamp(summary.bench.createdAt)
        var suites: [String] = []
        var allTests = 0
        var allFailures = 0
        var allSkipped = 0
        var allTime = 0.0
        for task in summary.tasks {
            let results = summary.cases.filter { $0.task == task.task }
            var body: [String] = []
            var failures = 0
            var skipped = 0
            var time = 0.0
            for result in results {
                let (type, message) = problem(result)
                time += result.wallSeconds
                let attributes = "classname=\"\(MarkupText.escape(result.task))\" name=\"seed \(result.seed)\" time=\"\(seconds(result.wallSeconds))\""
                var inner: [String] = []
                if type == "skipped" {
                    skipped += 1
                    inner.append("      <skipped message=\"\(MarkupText.escape(message))\"/>")
                } else if let type {
                    failures += 1
                    inner.append("      <failure message=\"\(MarkupText.escape(message))\" type=\"\(type)\">\(MarkupText.escape(details(result)))</failure>")
                }
                inner.append("      <system-out>\(MarkupText.escape(details(result)))</system-out>")
                body.append("    <testcase \(attributes)>")
                body.append(contentsOf: inner)
                body.append("    </testcase>")
            }
            var properties: [String] = []
            func property(_ name: String, _ value: String?) {
                if let value { properties.append("      <property name=\"\(name)\" value=\"\(MarkupText.escape(value))\"/>") }
            }
            property("grading_metric", task.gradingMetric?.rawValue)
            property("test_score_mean", task.testScore.mean.map(BenchFormat.number))
            property("test_score_stderr", task.testScore.stderr.map(BenchFormat.number))
            property("metric_mean", task.metric.mean.map(BenchFormat.number))
            property("valid_submission_rate", task.validSubmissionRate.map(BenchFormat.number))
            for threshold in task.thresholds { property("threshold_\(threshold.name)_rate", threshold.rate.map(BenchFormat.number)) }
            allTests += results.count
            allFailures += failures
            allSkipped += skipped
            allTime += time
            var suite = ["  <testsuite name=\"\(MarkupText.escape(task.task))\" tests=\"\(results.count)\" failures=\"\(failures)\" errors=\"0\" skipped=\"\(skipped)\" time=\"\(seconds(time))\" timestamp=\"\(timestamp)\" hostname=\"\(MarkupText.escape(hostname))\">"]
            if !properties.isEmpty { suite += ["    <properties>"] + properties + ["    </properties>"] }
            suite += body
            suite.append("  </testsuite>")
            suites.append(suite.joined(separator: "\n"))
        }
        var lines = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>"]
        lines.append("<testsuites name=\"aide bench \(MarkupText.escape(summary.bench.name))\" tests=\"\(allTests)\" failures=\"\(allFailures)\" errors=\"0\" skipped=\"\(allSkipped)\" time=\"\(seconds(allTime))\">")
        lines += suites
        lines.append("</testsuites>")
        return lines.joined(separator: "\n") + "\n"
    }

    static func details(_ result: BenchSummary.CaseResult) -> String {
        var parts: [String] = []
        parts.append("status: \(result.status.rawValue)")
        if let folder = result.runFolder { parts.append("run: \(folder)") }
        parts.append("steps: \(result.steps) (\(result.goodNodes) good)")
        if let metric = result.bestMetric { parts.append("best metric: \(BenchFormat.number(metric))") }
        if let score = result.bestTestScore { parts.append("best test score: \(BenchFormat.number(score))") }
        if !result.thresholdsReached.isEmpty { parts.append("thresholds reached: \(result.thresholdsReached.joined(separator: ", "))") }
        if let message = result.message { parts.append("message: \(message)") }
        return parts.joined(separator: "\n")
    }

    static func seconds(_ value: Double) -> String {
        String(format: "%.3f", max(0, value.isFinite ? value : 0))
    }

    /// ISO 8601 without a zone, as Ant's schema types `timestamp`; UTC.
    static func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        return formatter.string(from: date)
    }
}

extension BenchSummary {
    /// The files `write(to:)` makes.
    public static let outputNames = ["summary.md", "summary.json", "junit.xml"]

    /// Writes summary.md, summary.json and junit.xml into `directory` (created if missing).
    public func write(to directory: URL) throws -> [URL] {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let files = Self.outputNames.map { directory.appendingPathComponent($0) }
            try OutputFile.write(Data(markdown().utf8), to: files[0].path)
            try OutputFile.write(try json(), to: files[1].path)
            try OutputFile.write(Data(JUnitReport.xml(self).utf8), to: files[2].path)
            return files
        } catch {
            throw BenchError.cannotWriteSummary(folder: directory.path, reason: ErrorText.reason(error))
        }
    }
}
