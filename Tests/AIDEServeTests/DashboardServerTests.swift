import AIDE
import AIDETesting
import Foundation
import XCTest

@testable import AIDEServe

/// `aide serve` over real sockets: a run written through `RunStore`, read back through the API, a
/// node committed while a page's event stream is open, and the requests the server must refuse.
final class DashboardServerTests: XCTestCase {
    static let runID = "house-prices-20261201-120000-0a1b2c3d"

    static let spec = TaskSpec(
        name: "house-prices", goal: "Predict SalePrice.", data: "data",
        metric: MetricSpec(name: "RMSE", direction: .minimize),
        budget: BudgetSpec(steps: 30, timeLimit: 3600, usd: 2.5),
        search: SearchSpec(seed: 7))

    /// A fresh runs folder with one run of `nodes` nodes, written through the real store.
    static func makeRuns(nodes: Int, code: (Int) -> String = { "print('step \($0)')\n" }) throws -> (URL, RunStore) {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("aide-serve-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let store = try RunStore(path: RunStore.fileURL(runsDirectory: folder, runID: runID))
        try store.createRun(RunRecord(id: runID, taskFile: "tasks/house-prices/task.yaml", spec: spec, startedAt: Date()))
        for step in 0..<nodes { try commit(store, step: step, code: code(step)) }
        return (folder, store)
    }

    static func commit(_ store: RunStore, step: Int, code: String? = nil) throws {
        let now = Date()
        let node = Node(
            id: "node-\(step)", parentID: step == 0 ? nil : "node-0", step: step, stage: step == 0 ? .draft : .improve,
            plan: "Plan \(step)", code: code ?? "print('step \(step)')\n",
            execution: ExecutionResult(
                output: "Validation RMSE: 0.\(step + 1)\n", outputBytes: 20, exitCode: 0, signal: nil, timedOut: false,
                duration: 1.5, exceptionType: nil, traceback: nil),
            review: Review(isBug: false, summary: "Fine.", metric: 1.0 / Double(step + 1)),
            metric: 1.0 / Double(step + 1), isBuggy: false, createdAt: now, finishedAt: now)
        try store.commit(
            node: node, calls: [],
            metrics: MetricsRecord(
                runID: runID, step: step, bestMetric: 1.0 / Double(step + 1), bestTestScore: nil, bestNodeID: node.id,
                inputTokens: 100 * (step + 1), outputTokens: 10 * (step + 1), costUSD: 0.01 * Double(step + 1),
                elapsed: Double(step), nodes: step + 1, buggyNodes: 0, recordedAt: now),
            bestNodeID: node.id)
    }

    /// Runs the server on a free port for `body`, then stops it.
    func withServer(
        _ folder: URL, token: String? = nil, _ body: (Int) async throws -> Void
    ) async throws {
        let server = try DashboardServer(
            options: ServeOptions(runsDirectory: folder, port: 0, token: token), pollInterval: .milliseconds(50))
        let (ports, ready) = AsyncStream.makeStream(of: Int.self)
        let application = server.application { port in ready.yield(port) }
        let serving = Task { try await application.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { return XCTFail("the server did not start") }
        do {
            try await body(port)
        } catch {
            serving.cancel()
            throw error
        }
        serving.cancel()
        _ = await serving.result
    }

    func json(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
    }

    func testTheAPIServesARunWrittenThroughTheStore() async throws {
        let (folder, store) = try Self.makeRuns(nodes: 3)
        defer { try? FileManager.default.removeItem(at: folder) }
        try await withServer(folder) { port in
            let listing = try await RawHTTP.request(port: port, "/api/runs")
            XCTAssertEqual(listing.status, 200, listing.body)
            XCTAssertEqual(listing.headers["content-type"], "application/json; charset=utf-8")
            let runs = try XCTUnwrap(try json(listing.body)["runs"] as? [[String: Any]])
            XCTAssertEqual(runs.count, 1)
            XCTAssertEqual(runs.first?["key"] as? String, Self.runID)
            XCTAssertEqual(runs.first?["state"] as? String, "live")
            XCTAssertEqual(runs.first?["steps"] as? Int, 3)
            XCTAssertEqual(runs.first?["task"] as? String, "house-prices")

            let summary = try await RawHTTP.request(port: port, "/api/runs/\(Self.runID)")
            XCTAssertEqual(summary.status, 200, summary.body)
            let report = try ReportSchema.decoder.decode(RunReport.self, from: Data(summary.body.utf8))
            let direct = try RunReport.load(store)
            XCTAssertEqual(report.nodes, direct.nodes)
            XCTAssertEqual(report.counts, direct.counts)
            XCTAssertEqual(report.bestPath, direct.bestPath)
            XCTAssertEqual(report.best?.id, "node-2")

            let since = try await RawHTTP.request(port: port, "/api/runs/\(Self.runID)/nodes?since=1")
            XCTAssertEqual(since.status, 200, since.body)
            let update = try json(since.body)
            XCTAssertEqual(update["commits"] as? Int, 3)
            let nodes = try XCTUnwrap((update["data"] as? [String: Any])?["report"] as? [String: Any])["nodes"] as? [[String: Any]]
            XCTAssertEqual(nodes?.compactMap { $0["id"] as? String }, ["node-1", "node-2"])
            let details = try XCTUnwrap(update["details"] as? [String: [String: Any]])
            XCTAssertEqual(details["node-2"]?["code"] as? String, "print('step 2')\n")

            let node = try await RawHTTP.request(port: port, "/api/runs/\(Self.runID)/nodes/node-1")
            XCTAssertEqual(node.status, 200, node.body)
            let detail = try ReportSchema.decoder.decode(NodeDetail.self, from: Data(node.body.utf8))
            XCTAssertEqual(detail.plan, "Plan 1")
            XCTAssertEqual(detail.parentID, "node-0")
            let missing = try await RawHTTP.request(port: port, "/api/runs/\(Self.runID)/nodes/zzz")
            XCTAssertEqual(missing.status, 404)

            let page = try await RawHTTP.request(port: port, "/runs/\(Self.runID)")
            XCTAssertEqual(page.status, 200)
            XCTAssertTrue(page.body.contains("window.aideViewer"), "the run page is the report viewer")
            XCTAssertTrue(page.body.contains("/events?after="), "the run page follows the event stream")
            do {
                let answer = try await RawHTTP.request(port: port, "/")
                XCTAssertEqual(answer.status, 200)
            }
        }
    }

    func testANodeCommittedDuringTheTestReachesAnOpenEventStream() async throws {
        let (folder, store) = try Self.makeRuns(nodes: 2)
        defer { try? FileManager.default.removeItem(at: folder) }
        try await withServer(folder) { port in
            let stream = try RawHTTP.Stream(port: port, path: "/api/runs/\(Self.runID)/events?after=2")
            defer { stream.close() }
            let opened = await stream.wait { $0.contains("event: status") }
            XCTAssertTrue(opened, stream.text)
            XCTAssertTrue(stream.text.contains("text/event-stream"))
            XCTAssertFalse(stream.text.contains("node-1"), "the page already has the first two nodes")

            try Self.commit(store, step: 2)
            let arrived = await stream.wait { $0.contains("event: nodes") && $0.contains("\"node-2\"") }
            XCTAssertTrue(arrived, stream.text)
            let line = try XCTUnwrap(
                stream.text.components(separatedBy: "\n").first { $0.hasPrefix("data: ") && $0.contains("\"node-2\"") })
            let update = try json(String(line.dropFirst("data: ".count)))
            XCTAssertEqual(update["commits"] as? Int, 3)
            XCTAssertNotNil((update["details"] as? [String: Any])?["node-2"])
        }
    }

    func testTraversalForeignHostsWritesAndSymlinksOutAreRefused() async throws {
        let (folder, _) = try Self.makeRuns(nodes: 1)
        let (outside, _) = try Self.makeRuns(nodes: 1)
        defer {
            try? FileManager.default.removeItem(at: folder)
            try? FileManager.default.removeItem(at: outside)
        }
        // A link inside the folder to a run outside it.
        try FileManager.default.createSymbolicLink(
            at: folder.appendingPathComponent("elsewhere"), withDestinationURL: outside.appendingPathComponent(Self.runID))
        try await withServer(folder) { port in
            do {
                let answer = try await RawHTTP.request(port: port, "/api/runs/\(Self.runID)")
                XCTAssertEqual(answer.status, 200)
            }
            for path in [
                "/api/runs/../\(outside.lastPathComponent)/\(Self.runID)", "/api/runs/..%2F..%2Fetc",
                "/runs/%2E%2E/%2E%2E/etc/passwd", "/api/runs/elsewhere", "/runs/elsewhere", "/api/runs/.",
                "/api/benches/..", "/api/runs/\(Self.runID)/..%2F..%2F..%2Fetc%2Fpasswd",
            ] {
                let response = try await RawHTTP.request(port: port, path)
                XCTAssertEqual(response.status, 404, "\(path): \(response.body)")
                XCTAssertFalse(response.body.contains("root:"), path)
            }
            let rebound = try await RawHTTP.request(port: port, "/api/runs", host: "attacker.example:\(port)")
            XCTAssertEqual(rebound.status, 421, rebound.body)
            let otherPort = try await RawHTTP.request(port: port, "/api/runs", host: "127.0.0.1:1")
            XCTAssertEqual(otherPort.status, 421)
            do {
                let answer = try await RawHTTP.request(port: port, "/api/runs", host: nil)
                XCTAssertEqual(answer.status, 421)
            }
            do {
                let answer = try await RawHTTP.request(port: port, "/api/runs", host: "localhost:\(port)")
                XCTAssertEqual(answer.status, 200)
            }
            let write = try await RawHTTP.request(port: port, "/api/runs/\(Self.runID)", method: "DELETE")
            XCTAssertEqual(write.status, 405)
        }
    }

    func testATokenIsRequiredOfEveryRequestWhenSet() async throws {
        let (folder, _) = try Self.makeRuns(nodes: 1)
        defer { try? FileManager.default.removeItem(at: folder) }
        let token = "s3cret-token-123"
        try await withServer(folder, token: token) { port in
            for path in ["/", "/api/runs", "/runs/\(Self.runID)", "/api/runs/\(Self.runID)/events"] {
                do {
                    let answer = try await RawHTTP.request(port: port, path)
                    XCTAssertEqual(answer.status, 401, path)
                }
            }
            do {
                let answer = try await RawHTTP.request(port: port, "/api/runs", headers: ["Authorization: Bearer wrong-token-000"])
                XCTAssertEqual(answer.status, 401)
            }
            do {
                let answer = try await RawHTTP.request(port: port, "/api/runs", headers: ["Authorization: Bearer \(token)"])
                XCTAssertEqual(answer.status, 200)
            }
            let opened = try await RawHTTP.request(port: port, "/?token=\(token)")
            XCTAssertEqual(opened.status, 200)
            XCTAssertEqual(opened.headers["set-cookie"], "aide_token=\(token); Path=/; HttpOnly; SameSite=Strict")
            do {
                let answer = try await RawHTTP.request(port: port, "/api/runs", headers: ["Cookie: aide_token=\(token)"])
                XCTAssertEqual(answer.status, 200)
            }
        }
    }

    func testANonLoopbackAddressGetsATokenAndOnlyItsOwnHost() throws {
        let (open, generated) = try ServeOptions(runsDirectory: URL(fileURLWithPath: "/tmp"), host: "0.0.0.0").validated()
        XCTAssertTrue(generated)
        XCTAssertEqual(open.token?.count, 32)
        let (local, none) = try ServeOptions(runsDirectory: URL(fileURLWithPath: "/tmp")).validated()
        XCTAssertFalse(none)
        XCTAssertNil(local.token)
        XCTAssertThrowsError(try ServeOptions(runsDirectory: URL(fileURLWithPath: "/tmp"), port: 70_000).validated())
        XCTAssertEqual(AccessRule(boundTo: "192.168.1.20", token: "x").hosts(port: 80), ["192.168.1.20:80"])
        XCTAssertEqual(AccessRule(boundTo: "127.0.0.1", token: nil).hosts(port: 5), ["127.0.0.1:5", "localhost:5", "[::1]:5"])
    }

    func testCodeFromARunIsTextOnThePage() async throws {
        let hostile = "print('x')\n# </script><script>document.title='pwned'</script><img src=x onerror=alert(1)>\n"
        let (folder, _) = try Self.makeRuns(nodes: 1, code: { _ in hostile })
        defer { try? FileManager.default.removeItem(at: folder) }
        try await withServer(folder) { port in
            let page = try await RawHTTP.request(port: port, "/runs/\(Self.runID)")
            XCTAssertEqual(page.status, 200)
            XCTAssertFalse(page.body.contains("</script><script>document.title"))
            XCTAssertFalse(page.body.contains("<img src=x"))
            XCTAssertTrue(page.body.contains("\\u003c/script>\\u003cscript>document.title"))
            XCTAssertNotNil(page.headers["content-security-policy"])
        }
    }
}
