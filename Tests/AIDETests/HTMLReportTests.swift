import AIDETesting
import Foundation
import GRDB
import Testing

@testable import AIDE

/// `aide report <run> --format html`: one self-contained page, from runs with known trees written
/// through the real store and read back read-only.
struct HTMLReportTests {
    private static let spec = TaskSpec(
        name: "house-prices", goal: "Predict SalePrice.", data: "data",
        metric: MetricSpec(name: "RMSE of log SalePrice", direction: .minimize),
        agent: AgentSpec(codeModel: "claude-sonnet-4-5", feedbackModel: "claude-haiku-4-5"))

    private static let start = Date(timeIntervalSinceReferenceDate: 770_000_000)

    private static let hostile = "print('x')\n# </script><script>alert(1)</script>\ns = \"<!-- </SCRIPT> -->\"\n"

    /// A fresh directory, removed when `body` returns.
    private static func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("aide-html-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try await body(directory)
    }

    /// Writes a run of `count` nodes to `directory/<id>/run.sqlite` (minimize). Node `i`'s parent is
    /// `parent(i)`; every 4th node is buggy; good nodes' metrics fall with the step. Node 1's code,
    /// plan and output try to break out of the page's script element.
    @discardableResult
    static func makeRun(
        in directory: URL, id: String, count: Int, parent: (Int) -> Int? = { $0 < 3 ? nil : ($0 - 3) / 2 }
    ) throws -> [String] {
        let store = try RunStore(path: RunStore.fileURL(runsDirectory: directory, runID: id))
        defer { try? store.close() }
        try store.createRun(RunRecord(id: id, taskFile: "tasks/house-prices/task.yaml", spec: spec, startedAt: start))
        var journal = Journal(direction: .minimize)
        var ids: [String] = []
        var cumulative = (input: 0, output: 0, cost: 0.0)
        for step in 0..<count {
            let hex = String(step * 7919 + 4096, radix: 16)
            let nodeID = "n" + String(repeating: "0", count: max(0, 7 - hex.count)) + hex
            ids.append(nodeID)
            let buggy = step % 4 == 1
            let metric: Double? = buggy ? nil : 1.0 / Double(step + 2)
            let created = start.addingTimeInterval(Double(step) * 10)
            let code = step == 1 ? hostile : "import numpy as np\n# node \(nodeID)\nprint(f\"Validation metric: {\(metric ?? 0)}\")\n"
            let made = Node(
                id: nodeID, parentID: parent(step).map { ids[$0] }, step: step,
                stage: parent(step) == nil ? .draft : buggy || step % 4 == 2 ? .debug : .improve,
                plan: step == 1 ? "Plan </script> & <b>bold</b>" : "Plan of \(nodeID).", code: code,
                execution: ExecutionResult(
                    output: step == 1 ? "</script><script>alert(2)</script>\n" : "Validation metric: \(metric ?? 0)\n",
                    outputBytes: 20, exitCode: buggy ? 1 : 0, duration: 1.5,
                    exceptionType: buggy ? "KeyError" : nil),
                review: Review(isBug: buggy, summary: "Review of \(nodeID).", metric: metric),
                metric: metric, metricSource: metric == nil ? nil : .review, testScore: metric.map { $0 * 1.05 },
                isBuggy: buggy, bugReasons: buggy ? ["raised KeyError"] : [], createdAt: created,
                finishedAt: created.addingTimeInterval(9))
            journal.append(made)
            let call = LLMCallRecord(
                runID: id, nodeID: nil, step: step, purpose: CallPurpose(made.stage), model: "claude-sonnet-4-5",
                provider: .anthropic, latency: 5, lastAttemptLatency: 5, inputTokens: 1000, outputTokens: 200,
                costUSD: 0.01, attempts: 1, createdAt: created)
            cumulative.input += 1000
            cumulative.output += 200
            cumulative.cost += 0.01
            let best = journal.best
            try store.commit(
                node: made, calls: [call],
                metrics: MetricsRecord(
                    runID: id, step: step, bestMetric: best?.metric, bestTestScore: best?.testScore, bestNodeID: best?.id,
                    inputTokens: cumulative.input, outputTokens: cumulative.output, costUSD: cumulative.cost,
                    elapsed: Double(step + 1) * 10, nodes: journal.count, buggyNodes: journal.buggyNodes.count),
                bestNodeID: best?.id)
        }
        try store.updateRun(
            status: .finished, stopReason: "steps budget", bestNodeID: nil,
            finishedAt: start.addingTimeInterval(Double(count) * 10))
        return ids
    }

    /// The page without its two embedded JSON blobs: the markup, CSS and JS aide wrote itself.
    static func template(_ html: String) -> String {
        var text = html
        for id in ["aide-report", "aide-details"] {
            let open = "<script type=\"application/json\" id=\"\(id)\">"
            guard let start = text.range(of: open), let end = text.range(of: "</script>", range: start.upperBound..<text.endIndex)
            else { continue }
            text.replaceSubrange(start.upperBound..<end.lowerBound, with: "")
        }
        return text
    }

    static func count(_ needle: String, in text: String) -> Int {
        text.lowercased().components(separatedBy: needle.lowercased()).count - 1
    }

    @Test func pageIsSelfContainedEmbedsEveryNodeAndCannotBeBrokenOutOf() async throws {
        try await Self.withTemporaryDirectory { directory in
            let ids = try Self.makeRun(in: directory, id: "html-small", count: 9)
            let store = try RunStore.openReadOnly(path: RunStore.fileURL(runsDirectory: directory, runID: "html-small"))
            defer { try? store.close() }
            let html = try HTMLReport.load(store)

            #expect(html.hasPrefix("<!DOCTYPE html>"))
            // Nothing fetched: no external scripts, styles, images or fonts.
            let page = Self.template(html)
            #expect(!page.contains("http://") && !page.contains("https://"))
            for pattern in ["<script src", "<link", "<img", "@import", "url("] {
                #expect(!html.lowercased().contains(pattern), "\(pattern)")
            }
            // Every node id, in the report data and in the details.
            for id in ids { #expect(Self.count("\"\(id)\"", in: html) >= 2, "\(id)") }
            // Only the page's own three script elements open and close; the hostile code is inert.
            #expect(Self.count("<script", in: html) == 3)
            #expect(Self.count("</script", in: html) == 3)
            #expect(Self.count("<!--", in: html) == 0)
            #expect(!html.contains("alert(1)</"))
            // …and reads back exactly from the embedded JSON.
            let detailsJSON = try #require(Self.blob("aide-details", in: html))
            let details = try JSONSerialization.jsonObject(with: Data(detailsJSON.utf8)) as? [String: [String: Any]]
            #expect(details?[ids[1]]?["code"] as? String == Self.hostile)
            #expect(details?[ids[1]]?["plan"] as? String == "Plan </script> & <b>bold</b>")
            #expect(details?.count == ids.count)
            let dataJSON = try #require(Self.blob("aide-report", in: html))
            let data = try JSONSerialization.jsonObject(with: Data(dataJSON.utf8)) as? [String: Any]
            let report = data?["report"] as? [String: Any]
            #expect(report?["schema"] as? String == ReportSchema.name)
            #expect((report?["nodes"] as? [Any])?.count == ids.count)
            let steps = data?["steps"] as? [[String: Any]]
            #expect(steps?.count == ids.count)
            #expect(steps?.last?["input_tokens"] as? Int == 9_000)
            // The page reports what it drew, and any script error.
            #expect(html.contains("body.dataset.nodes = String(drawn)"))
            #expect(html.contains("window.onerror"))
        }
    }

    static func blob(_ id: String, in html: String) -> String? {
        let open = "<script type=\"application/json\" id=\"\(id)\">"
        guard let start = html.range(of: open), let end = html.range(of: "</script>", range: start.upperBound..<html.endIndex)
        else { return nil }
        return String(html[start.upperBound..<end.lowerBound])
    }

    @Test func titleIsEscapedAndReportWithoutSnapshotStillRenders() async throws {
        try await Self.withTemporaryDirectory { directory in
            try Self.makeRun(in: directory, id: "html-title", count: 3)
            let store = try RunStore.openReadOnly(path: RunStore.fileURL(runsDirectory: directory, runID: "html-title"))
            defer { try? store.close() }
            var report = try RunReport.load(store)
            report.run.task = "<b>task</b> & co"
            let html = try ReportRenderer.render(report, format: .html)
            #expect(html.contains("<title>aide · &lt;b&gt;task&lt;/b&gt; &amp; co · html-title</title>"))
            #expect(Self.blob("aide-details", in: html) == "{}")
            #expect(Self.count("</script", in: html) == 3)
            #expect(throws: ReportError.self) {
                try ReportRenderer.render(RunComparison(reports: [report, report]), format: .html)
            }
        }
    }

    @Test func largeRunStaysCompact() async throws {
        // `scripts/check-html-report.sh` without a run asks for this run to be kept for Chromium.
        let keep = ProcessInfo.processInfo.environment["AIDE_HTML_REPORT_FIXTURE"]
        let body = { (directory: URL) throws in
            // 2,000 nodes: ten drafts, then a binary-ish tree under them.
            let ids = try Self.makeRun(in: directory, id: "html-large", count: 2_000) { $0 < 10 ? nil : ($0 - 10) / 2 }
            let store = try RunStore.openReadOnly(path: RunStore.fileURL(runsDirectory: directory, runID: "html-large"))
            defer { try? store.close() }
            // How fast is measured by scripts/bench-report.sh, not here.
            let html = try HTMLReport.load(store)
            #expect(html.utf8.count < 3_000_000, "\(html.utf8.count) bytes")
            #expect(Self.count("</script", in: html) == 3)
            for id in ids.suffix(5) { #expect(html.contains("\"\(id)\"")) }
        }
        if let keep {
            let directory = URL(fileURLWithPath: keep, isDirectory: true)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try? FileManager.default.removeItem(at: directory.appendingPathComponent("html-large"))
            try body(directory)
        } else {
            try await Self.withTemporaryDirectory { try body($0) }
        }
    }

    @Test func longOutputIsCutToItsHeadAndTailWithAMarkerAndTheRestIsWhole() async throws {
        try await Self.withTemporaryDirectory { directory in
            let store = try RunStore(path: RunStore.fileURL(runsDirectory: directory, runID: "html-long"))
            defer { try? store.close() }
            try store.createRun(RunRecord(id: "html-long", taskFile: "task.yaml", spec: Self.spec, startedAt: Self.start))
            // Multi-byte characters around both cuts, so they must fall between characters.
            let head = String(repeating: "é", count: 1_500) + "HEAD-END"
            let middle = String(repeating: "middle line that is cut\n", count: 2_000)
            let tail = "TAIL-START" + String(repeating: "€", count: 1_000) + "\n"
            let long = head + middle + tail
            let code = String(repeating: "print('a long script')\n", count: 1_000)
            let node = Node(
                id: "a1b2c3d4", parentID: nil, step: 0, stage: .draft, plan: "Plan.", code: code,
                execution: ExecutionResult(output: long, outputBytes: long.utf8.count, exitCode: 0, duration: 1),
                metric: 0.5, isBuggy: false, createdAt: Self.start, finishedAt: Self.start)
            let short = Node(
                id: "e5f6a7b8", parentID: "a1b2c3d4", step: 1, stage: .improve, plan: "Plan.", code: "print(1)\n",
                execution: ExecutionResult(output: "short\n", outputBytes: 6, exitCode: 0, duration: 1),
                metric: 0.4, isBuggy: false, createdAt: Self.start, finishedAt: Self.start)
            let calls = [
                LLMCallRecord(
                    runID: "html-long", nodeID: nil, step: 1, purpose: .improve, model: "claude-sonnet-4-5",
                    provider: .anthropic, latency: 2.5, lastAttemptLatency: 2.5, inputTokens: 1_234, outputTokens: 56,
                    costUSD: 0.0123, attempts: 1, createdAt: Self.start),
                LLMCallRecord(
                    runID: "html-long", nodeID: nil, step: 1, purpose: .review, model: "gpt-4o", provider: .openai,
                    error: "HTTP 529", latency: 30, attempts: 3, createdAt: Self.start),
            ]
            for (made, madeCalls) in [(node, [LLMCallRecord]()), (short, calls)] {
                try store.commit(
                    node: made, calls: madeCalls,
                    metrics: MetricsRecord(
                        runID: "html-long", step: made.step, inputTokens: 0, outputTokens: 0, costUSD: 0, elapsed: 1,
                        nodes: made.step + 1, buggyNodes: 0),
                    bestNodeID: made.id)
            }
            let html = String(decoding: try HTMLReport.page(store, nodeCommand: { "aide report \($0) --node \($1)" }), as: UTF8.self)
            let detailsJSON = try #require(Self.blob("aide-details", in: html))
            let details = try #require(try JSONSerialization.jsonObject(with: Data(detailsJSON.utf8)) as? [String: [String: Any]])
            let output = try #require(details["a1b2c3d4"]?["output"] as? String)
            let cut = try #require(details["a1b2c3d4"]?["output_cut"] as? Int)
            // Head and tail kept whole up to the bound, the middle replaced by a marker naming the command.
            #expect(output.hasPrefix(String(repeating: "é", count: 1_000)))
            #expect(output.hasSuffix(String(repeating: "€", count: 600) + "\n"))
            #expect(output.contains("\(cut) bytes cut; the whole output: aide report html-long --node a1b2c3d4"))
            #expect(details["a1b2c3d4"]?["whole_output"] as? String == "aide report html-long --node a1b2c3d4")
            #expect(details["e5f6a7b8"]?["whole_output"] == nil)
            #expect(!output.contains("HEAD-END") && !output.contains("TAIL-START"))
            #expect(output.utf8.count < HTMLReport.outputHead + HTMLReport.outputTail + 200)
            let keptBytes = output.utf8.count - (output.components(separatedBy: "…")[1].utf8.count + 2 * "…".utf8.count + 2)
            #expect(keptBytes + cut == long.utf8.count, "kept \(keptBytes), cut \(cut), of \(long.utf8.count)")
            // Code stays whole; a short output is not cut.
            #expect(details["a1b2c3d4"]?["code"] as? String == code)
            #expect(details["e5f6a7b8"]?["output"] as? String == "short\n")
            #expect(details["e5f6a7b8"]?["output_cut"] == nil)
            // The node's LLM calls, for its panel.
            let nodeCalls = try #require(details["e5f6a7b8"]?["calls"] as? [[String: Any]])
            #expect(nodeCalls.count == 2)
            #expect(nodeCalls[0]["purpose"] as? String == "improve" && nodeCalls[0]["input_tokens"] as? Int == 1_234)
            #expect(nodeCalls[0]["cost_usd"] as? Double == 0.0123 && nodeCalls[0]["latency"] as? Double == 2.5)
            #expect(nodeCalls[1]["cost_usd"] is NSNull && nodeCalls[1]["error"] as? String == "HTTP 529")
            #expect(nodeCalls[1]["attempts"] as? Int == 3)
            #expect((details["a1b2c3d4"]?["calls"] as? [Any])?.isEmpty == true)
            // The page leaves out the traceback (the output holds it) and keeps every other body field.
            #expect(details["a1b2c3d4"]?["traceback"] is NSNull)
            #expect(details["e5f6a7b8"]?["debug_depth"] as? Int == 0 && details["e5f6a7b8"]?["plan"] != nil)
            // `--node` still shows the whole output.
            let detail = try NodeDetail.load(store, node: "a1b2")
            #expect(detail.output == long)
        }
    }

    /// The page's report is the run's aide.report/1 JSON, though written by the streaming encoder.
    @Test func pageDataIsTheJSONReport() async throws {
        try await Self.withTemporaryDirectory { directory in
            try Self.makeRun(in: directory, id: "html-data", count: 40)
            let store = try RunStore.openReadOnly(path: RunStore.fileURL(runsDirectory: directory, runID: "html-data"))
            defer { try? store.close() }
            let html = try HTMLReport.load(store)
            let dataJSON = try #require(Self.blob("aide-report", in: html))
            let data = try #require(try JSONSerialization.jsonObject(with: Data(dataJSON.utf8)) as? NSDictionary)
            let report = try #require(data["report"] as? NSDictionary)
            let json = try ReportRenderer.render(try RunReport.load(store), format: .json)
            let expected = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? NSDictionary)
            #expect(report == expected)
            #expect((report["nodes"] as? [Any])?.count == 40)
            let steps = try #require(data["steps"] as? [NSDictionary])
            let metrics = try store.metrics()
            #expect(steps.count == metrics.count)
            // Numbers are written as Swift prints them: the shortest text that reads back exactly.
            let last = try #require(metrics.last)
            #expect(dataJSON.contains("\"best_metric\":\(try #require(last.bestMetric))"))
            #expect(dataJSON.contains("\"cost_usd\":\(last.costUSD)"))
            #expect(steps.first?["buggy_nodes"] as? Int == 0 && steps.last?["nodes"] as? Int == 40)
        }
    }

    /// The page written out in parts (as `aide report --format html` writes its file) is the page.
    @Test func pageWrittenInPartsIsThePage() async throws {
        try await Self.withTemporaryDirectory { directory in
            _ = try Self.makeRun(in: directory, id: "html-parts", count: 12)
            let store = try RunStore.openReadOnly(path: RunStore.fileURL(runsDirectory: directory, runID: "html-parts"))
            defer { try? store.close() }
            var parts: [[UInt8]] = []
            try HTMLReport.write(store, part: 4_096) { parts.append(Array($0)) }
            #expect(parts.count > 2)
            #expect(parts.flatMap { $0 } == (try HTMLReport.page(store)))
            // The page reads each node once: whole for its details, kept in summary for the report.
            var whole: [Node] = []
            let snapshot = try store.eachNode(start: { #expect($0.nodes.isEmpty) }) { whole.append($0) }
            #expect(snapshot == (try store.summarySnapshot()))
            #expect(whole.map(\.summary) == snapshot.nodes && whole.allSatisfy { !$0.code.isEmpty })
        }
    }

    /// The page is read on one thread and written on another: an output that fails midway stops
    /// the reading and its error comes out as it is; a node that cannot be read midway stops the
    /// writing with a `ReportError`.
    @Test func aFailureMidwayOnEitherSideStopsThePage() async throws {
        try await Self.withTemporaryDirectory { directory in
            _ = try Self.makeRun(in: directory, id: "html-broken", count: 80)
            let path = RunStore.fileURL(runsDirectory: directory, runID: "html-broken")
            struct Full: Error {}
            var written = 0
            do {
                let store = try RunStore.openReadOnly(path: path)
                defer { try? store.close() }
                #expect(throws: Full.self) {
                    try HTMLReport.write(store, part: 1_024) { part in
                        guard written < 3 else { throw Full() }
                        written += 1
                    }
                }
                #expect(written == 3)
                // The store is free again: the page is whole on a second try.
                #expect(String(decoding: try HTMLReport.page(store), as: UTF8.self).hasSuffix("</html>\n"))
            }

            let steps = try DatabaseQueue(path: path.path)
            try steps.write { try $0.execute(sql: "UPDATE nodes SET created_at = 'not a time' WHERE step = 50") }
            try steps.close()
            let store = try RunStore.openReadOnly(path: path)
            defer { try? store.close() }
            var page: [UInt8] = []
            #expect(throws: ReportError.self) {
                try HTMLReport.write(store, part: 1_024) { page += $0 }
            }
            let text = String(decoding: page, as: UTF8.self)
            #expect(text.hasPrefix("<!DOCTYPE html>") && !text.contains("</html>"), "stopped midway")
        }
    }

    @Test func commandWritesThePage() async throws {
        try await Self.withTemporaryDirectory { directory in
            let ids = try Self.makeRun(in: directory, id: "html-cli", count: 6)
            let folder = directory.appendingPathComponent("html-cli").path
            let out = directory.appendingPathComponent("report.html")
            let result = try await CommandRunner.run(["report", folder, "--format", "html", "-o", out.path])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.isEmpty)
            let html = try String(contentsOf: out, encoding: .utf8)
            #expect(html.hasPrefix("<!DOCTYPE html>") && html.hasSuffix("</html>\n"))
            for id in ids { #expect(html.contains("\"\(id)\"")) }
            #expect(Self.count("</script", in: html) == 3)

            let byID = try await CommandRunner.run(["report", "html-cli", "--runs-dir", directory.path, "--format", "html"])
            #expect(byID.status == 0 && byID.stdout.hasPrefix("<!DOCTYPE html>"), "\(byID.stderr)")

            for arguments in [
                ["report", "--runs-dir", directory.path, "--format", "html"],
                ["report", folder, "--node", ids[0], "--format", "html"],
                ["report", "--compare", folder, folder, "--format", "html"],
            ] {
                let refused = try await CommandRunner.run(arguments)
                #expect(refused.status != 0 && refused.stderr.contains("--format html shows one run"), "\(refused.stderr)")
            }
        }
    }
}
