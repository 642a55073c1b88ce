import AIDETesting
import Foundation
import Testing

@testable import AIDE

/// A run exported in the journal format of WecoAI's aideml, checked field by field in Swift and by a
/// Python re-implementation of what AIDE's `loads_json` needs.
struct AIDEJournalExportTests {
    private static let runID = "run-export-1"
    private static let start = Date(timeIntervalSince1970: 1_750_000_000.25)

    private static func spec(_ direction: MetricDirection) -> TaskSpec {
        TaskSpec(
            name: "toy", goal: "Predict y.", data: "data",
            metric: MetricSpec(name: "accuracy", direction: direction))
    }

    private static let traceback = """
        Traceback (most recent call last):
          File "/tmp/ws/runfile.py", line 7, in <module>
            main()
          File "/tmp/ws/runfile.py", line 4, in main
            raise ValueError("bad shape (3, 4)")
            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
        ValueError: bad shape (3, 4)
        """

    /// The tree: n0 draft (good) → n1 improve (raised, buggy) → n2 debug (good) → n4 improve (timed out);
    /// n3 a draft that got no code and never ran.
    private static func nodes() -> [Node] {
        func at(_ step: Int) -> Date { start.addingTimeInterval(Double(step) * 60 + 0.5) }
        return [
            Node(
                id: "n0", parentID: nil, step: 0, stage: .draft, plan: "Plan zero", code: "print('val: 0.8')\n",
                execution: ExecutionResult(output: "loading\nval: 0.8\n", outputBytes: 17, exitCode: 0, duration: 1.5),
                review: Review(isBug: false, summary: "Works, 0.8.", metric: 0.8), metric: 0.8, metricSource: .review,
                isBuggy: false, createdAt: at(0), finishedAt: at(0).addingTimeInterval(5)),
            Node(
                id: "n1", parentID: "n0", step: 1, stage: .improve, plan: "Plan one", code: "raise ValueError\n",
                execution: ExecutionResult(
                    output: "start\n" + traceback, outputBytes: 300, exitCode: 1, duration: 0.25,
                    exceptionType: "ValueError", traceback: traceback),
                review: Review(isBug: true, summary: "Raised ValueError.", metric: 0.9), metric: 0.9,
                isBuggy: true, bugReasons: ["raised ValueError"], createdAt: at(1), finishedAt: at(1)),
            Node(
                id: "n2", parentID: "n1", step: 2, stage: .debug, plan: "Plan two", code: "print('val: 0.85')\n",
                execution: ExecutionResult(output: "val: 0.85", outputBytes: 9, exitCode: 0, duration: 2),
                review: Review(isBug: false, summary: "Fixed.", metric: 0.85), metric: 0.85, isBuggy: false,
                debugDepth: 1, createdAt: at(2), finishedAt: at(2)),
            Node(
                id: "n3", parentID: nil, step: 3, stage: .draft, plan: "", code: "", isBuggy: true,
                bugReasons: ["no code"], error: "no code block in the reply", createdAt: at(3), finishedAt: at(3)),
            Node(
                id: "n4", parentID: "n2", step: 4, stage: .improve, plan: "Plan four", code: "while True: pass\n",
                execution: ExecutionResult(output: "", outputBytes: 0, exitCode: nil, signal: 9, timedOut: true, duration: 60),
                review: Review(isBug: true, summary: "Timed out.", metric: nil), isBuggy: true,
                bugReasons: ["timed out"], createdAt: at(4), finishedAt: at(4)),
        ]
    }

    /// A fresh directory, removed when `body` returns.
    private static func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("aide-export-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try body(directory)
    }

    /// The fixture run written through the real store and exported from a read-only reopening.
    private static func exported(_ direction: MetricDirection, in directory: URL) throws -> Data {
        let file = RunStore.fileURL(runsDirectory: directory, runID: runID)
        let store = try RunStore(path: file)
        try store.createRun(RunRecord(id: runID, taskFile: "tasks/toy/task.yaml", spec: spec(direction), startedAt: start))
        for node in nodes() {
            let metrics = MetricsRecord(
                runID: runID, step: node.step, bestMetric: nil, bestTestScore: nil, bestNodeID: nil, inputTokens: 0,
                outputTokens: 0, costUSD: 0, elapsed: Double(node.step), nodes: node.step + 1, buggyNodes: 0,
                recordedAt: node.finishedAt)
            try store.commit(node: node, calls: [], metrics: metrics, bestNodeID: nil)
        }
        try store.close()
        let reader = try RunStore.openReadOnly(path: file)
        defer { try? reader.close() }
        return try AIDEJournalExport.export(reader)
    }

    private static func object(_ value: JSONValue?) -> [String: JSONValue] {
        if case .object(let object) = value { return object }
        Issue.record("not an object: \(String(describing: value))")
        return [:]
    }

    private static func array(_ value: JSONValue?) -> [JSONValue] {
        if case .array(let array) = value { return array }
        Issue.record("not an array: \(String(describing: value))")
        return []
    }

    @Test func writesAIDEsJournalLayout() throws {
        try Self.withTemporaryDirectory { directory in
            let data = try Self.exported(.maximize, in: directory)
            let text = String(decoding: data, as: UTF8.self)
            #expect(text.hasPrefix(#"{"__version":"2","node2parent":{"n1":"n0","n2":"n1","n4":"n2"},"nodes":[{"#))
            let top = Self.object(try JSONValue.parse(data))
            #expect(Set(top.keys) == ["__version", "node2parent", "nodes"])
            let nodes = Self.array(top["nodes"]).map { Self.object($0) }
            #expect(nodes.map { $0["id"] } == ["n0", "n1", "n2", "n3", "n4"].map(JSONValue.string))
            #expect(nodes.map { $0["step"] } == (0..<5).map(JSONValue.int))
            let keys: Set<String> = [
                "code", "plan", "step", "id", "ctime", "parent", "children", "_term_out", "exec_time", "exc_type",
                "exc_info", "exc_stack", "analysis", "metric", "is_buggy",
            ]
            for node in nodes {
                #expect(Set(node.keys) == keys)
                #expect(node["parent"] == .null)
                #expect(node["children"] == .array([]))
            }

            let good = nodes[0]
            #expect(good["code"] == .string("print('val: 0.8')\n"))
            #expect(good["plan"] == .string("Plan zero"))
            #expect(good["ctime"] == .double(1_750_000_000.75))
            #expect(good["_term_out"] == .array([.string("loading\n"), .string("val: 0.8\n")]))
            #expect(good["exec_time"] == .double(1.5))
            #expect(good["exc_type"] == .null)
            #expect(good["exc_info"] == .null)
            #expect(good["exc_stack"] == .null)
            #expect(good["analysis"] == .string("Works, 0.8."))
            #expect(good["metric"] == .object(["value": .double(0.8), "maximize": .bool(true)]))
            #expect(good["is_buggy"] == .bool(false))

            let raised = nodes[1]
            #expect(raised["exc_type"] == .string("ValueError"))
            #expect(raised["exc_info"] == .object(["args": .array([.string("bad shape (3, 4)")])]))
            #expect(raised["exc_stack"] == .array([
                .array([.string("runfile.py"), .int(7), .string("<module>"), .string("main()")]),
                .array([.string("runfile.py"), .int(4), .string("main"), .string(#"raise ValueError("bad shape (3, 4)")"#)]),
            ]))
            // AIDE's WorstMetricValue, though the review read a metric.
            #expect(raised["metric"] == .object(["value": .null, "maximize": .null]))
            #expect(raised["is_buggy"] == .bool(true))
            let termOut = Self.array(raised["_term_out"]).compactMap { value -> String? in
                if case .string(let s) = value { return s }
                return nil
            }
            #expect(termOut.joined() == "start\n" + Self.traceback)

            #expect(nodes[2]["_term_out"] == .array([.string("val: 0.85")]))
            #expect(nodes[2]["metric"] == .object(["value": .double(0.85), "maximize": .bool(true)]))

            let neverRan = nodes[3]
            #expect(neverRan["_term_out"] == .array([]))
            #expect(neverRan["exec_time"] == .null)
            #expect(neverRan["exc_type"] == .null)
            #expect(neverRan["analysis"] == .string("no code block in the reply"))
            #expect(neverRan["metric"] == .object(["value": .null, "maximize": .null]))

            let timedOut = nodes[4]
            #expect(timedOut["exc_type"] == .string("TimeoutError"))
            #expect(timedOut["exc_info"] == .object([:]))
            #expect(timedOut["exc_stack"] == .array([]))
            #expect(timedOut["exec_time"] == .double(60))
        }
    }

    @Test func minimizingTaskWritesMaximizeFalse() throws {
        try Self.withTemporaryDirectory { directory in
            let top = Self.object(try JSONValue.parse(try Self.exported(.minimize, in: directory)))
            let nodes = Self.array(top["nodes"]).map { Self.object($0) }
            #expect(nodes[0]["metric"] == .object(["value": .double(0.8), "maximize": .bool(false)]))
            #expect(nodes[1]["metric"] == .object(["value": .null, "maximize": .null]))
        }
    }

    @Test func aideReportExportsTheJournalFile() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aide-export-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let expected = try Self.exported(.minimize, in: directory)
        let target = directory.appendingPathComponent("journal.json")
        let result = try await CommandRunner.run([
            "report", Self.runID, "--runs-dir", directory.path, "--export-aide", target.path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try Data(contentsOf: target) == expected)

        let bad = try await CommandRunner.run(["report", "no-such-run", "--runs-dir", directory.path, "--export-aide", target.path])
        #expect(bad.status != 0)
        #expect(bad.stderr.split(separator: "\n").count == 1)
    }

    @Test func danglingParentThrows() {
        let orphan = Node(
            id: "x", parentID: "missing", step: 0, stage: .improve, plan: "", code: "", isBuggy: true,
            createdAt: Self.start, finishedAt: Self.start)
        #expect(throws: AIDEJournalExportError.danglingParent(nodeID: "x", parentID: "missing")) {
            try AIDEJournalExport.export(nodes: [orphan], direction: .maximize)
        }
    }

    /// What AIDE's `loads_json(s, Journal)` relies on, re-implemented with the standard library only.
    private static let loaderCheck = #"""
        import json, sys
        path, maximize = sys.argv[1], sys.argv[2] == "true"
        with open(path) as f:
            d = json.loads(f.read())
        assert d["__version"] == "2", d.get("__version")
        assert isinstance(d["nodes"], list) and isinstance(d["node2parent"], dict)
        def opt(v, *types):
            return v is None or (isinstance(v, types) and (bool in types or not isinstance(v, bool)))
        types = {
            "code": (str,), "plan": (str,), "step": (int,), "id": (str,), "ctime": (float, int),
            "exec_time": (float, int), "exc_type": (str,), "exc_info": (dict,), "exc_stack": (list,),
            "analysis": (str,), "is_buggy": (bool,),
        }
        ids = {}
        for i, n in enumerate(d["nodes"]):
            for key in list(types) + ["parent", "children", "_term_out", "metric"]:
                assert key in n, (n.get("id"), key)
            for key, ts in types.items():
                assert opt(n[key], *ts), (n["id"], key, n[key])
            for key in ("code", "plan", "id", "step", "ctime", "is_buggy"):
                assert n[key] is not None, (n["id"], key)
            assert n["step"] == i, (n["id"], n["step"], i)
            assert n["parent"] is None and n["children"] == [], n["id"]
            assert isinstance(n["_term_out"], list) and all(isinstance(s, str) for s in n["_term_out"]), n["id"]
            "".join(n["_term_out"])
            if n["exc_stack"] is not None:
                for fr in n["exc_stack"]:
                    assert isinstance(fr, list) and len(fr) == 4, fr
                    assert isinstance(fr[0], str) and isinstance(fr[1], int) and isinstance(fr[2], str), fr
            if n["exc_info"] is not None:
                assert all(isinstance(a, str) for a in n["exc_info"].get("args", [])), n["exc_info"]
            m = n["metric"]
            assert isinstance(m, dict) and set(m) == {"value", "maximize"}, m
            if n["is_buggy"]:
                assert m["value"] is None and m["maximize"] is None, (n["id"], m)
            else:
                assert m["maximize"] is maximize, (n["id"], m)
                assert isinstance(m["value"], (float, int)) and not isinstance(m["value"], bool), (n["id"], m)
            assert n["id"] not in ids, n["id"]
            ids[n["id"]] = n
        children = {i: set() for i in ids}
        for child, parent in d["node2parent"].items():
            assert child in ids and parent in ids, (child, parent)
            children[parent].add(child)
        for start in ids:
            seen, cur = set(), start
            while cur in d["node2parent"]:
                assert cur not in seen, "cycle at " + start
                seen.add(cur)
                cur = d["node2parent"][cur]
        good = [n for n in d["nodes"] if not n["is_buggy"]]
        best = (max if maximize else min)(good, key=lambda n: n["metric"]["value"])
        print("ok")
        """#

    @Test(arguments: [MetricDirection.maximize, .minimize])
    func pythonReimplementationOfAIDEsLoaderAccepts(_ direction: MetricDirection) throws {
        try Self.withTemporaryDirectory { directory in
            let data = try Self.exported(direction, in: directory)
            let file = directory.appendingPathComponent("journal.json")
            try data.write(to: file)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [
                TestPython.path, "-c", Self.loaderCheck, file.path, direction == .maximize ? "true" : "false",
            ]
            let out = Pipe()
            let err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "\(errors)")
            #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "ok", "\(errors)")
        }
    }
}
