@testable import AIDE
import AIDETesting
import Foundation
import Synchronization
import Testing

/// Record and replay: a run recorded through `RecordingBackend` and replayed from its cassette
/// builds the same tree, bit for bit; misses, broken cassettes and fallthrough; keys stay out.
struct ReplayTests {
    private typealias A = ScriptedAnswers

    private func scratch(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("aide-replay-\(name)-\(UUID().uuidString)")
    }

    /// Every step kind, a failed review (recorded as an error), and one prompt asked three times:
    /// with num_drafts 2 and the first draft buggy, the second draft's prompt is the first's (no
    /// good node yet, so no memory), and its first answer has no code, so it is asked again.
    ///   0 draft   raises ValueError                         buggy
    ///   1 draft   no code, then good (0.5); review fails    good, metric from the output
    ///   2 debug   of 0: good (0.4)
    ///   3 improve of 2: exact (0.3)
    ///   4 improve of 3: 0.2
    private let answers = [
        A.code("raise ValueError('bad column')", plan: "Something broken."),
        A.review(isBug: true, metric: nil, summary: "It raised."),
        A.noCode(),
        A.code(A.goodScript(intercept: 1.5, metric: 0.5), plan: "Linear baseline."),
        A.failure(kind: "review", message: "reviewer unavailable"),
        A.code(A.goodScript(intercept: 1.25, metric: 0.4), plan: "Fixed."),
        A.review(isBug: false, metric: 0.4),
        A.code(A.goodScript(metric: 0.3), plan: "Exact fit."),
        A.review(isBug: false, metric: 0.3),
        A.code(A.goodScript(intercept: 1.1, metric: 0.2), plan: "Nearly exact."),
        A.review(isBug: false, metric: 0.2, summary: "Close."),
    ]

    private func run(_ task: LoadedTask, backend: any Backend, runs: URL) async throws -> RunSummary {
        let run = try SearchRun.start(
            task: task, runsDirectory: runs,
            dependencies: try RunAssembly.dependencies(for: task, backend: backend))
        return await run.run()
    }

    /// Records the scripted run into a new cassette; returns it and the run's fingerprint.
    private func record(_ task: SyntheticTask, runs: URL) async throws -> (cassette: URL, fingerprint: [String]) {
        let loaded = try TaskLoader.load(task.taskFile)
        let cassette = task.folder.appendingPathComponent("cassette.jsonl")
        let backend = RecordingBackend(
            try ScriptedBackend(file: try A.file(answers)), writer: try CassetteWriter(path: cassette.path),
            session: CassetteDeck.session(for: loaded.spec))
        let summary = try await run(loaded, backend: backend, runs: runs)
        #expect(summary.status == .finished)
        return (cassette, try Self.fingerprint(summary.folder))
    }

    /// Everything of a run that does not depend on the clock, doubles by their bits.
    static func fingerprint(_ folder: URL, callLatency: Bool = true) throws -> [String] {
        func bits(_ value: Double?) -> String { value.map { String($0.bitPattern, radix: 16) } ?? "nil" }
        let store = try RunStore.openReadOnly(path: folder.appendingPathComponent("run.sqlite"))
        var lines = try store.nodes().map { node in
            [
                "node", node.id, node.parentID ?? "-", "\(node.step)", node.stage.rawValue, node.plan, node.code,
                node.execution?.output ?? "-", "\(node.execution?.exitCode ?? -1)", node.execution?.exceptionType ?? "-",
                node.review.map { "\($0.isBug) \($0.summary) \(bits($0.metric))" } ?? "-", bits(node.metric),
                node.metricSource?.rawValue ?? "-", bits(node.testScore), "\(node.isBuggy)", node.bugReasons.joined(separator: ";"),
                "\(node.debugDepth)", node.error ?? "-",
            ].joined(separator: " | ")
        }
        lines += try store.calls(nodeID: nil).map { call in
            [
                "call", "\(call.step)", call.nodeID ?? "-", call.purpose.rawValue, call.model, call.provider.rawValue, "\(call.inputTokens)",
                "\(call.outputTokens)", bits(call.costUSD), call.stopReason ?? "-", call.finishReason ?? "-",
                "\(call.attempts)", call.error ?? "-",
                callLatency && call.error == nil ? bits(call.latency) + " " + bits(call.lastAttemptLatency) : "",
            ].joined(separator: " | ")
        }
        lines += try store.metrics().map { row in
            [
                "metrics", "\(row.step)", bits(row.bestMetric), bits(row.bestTestScore), row.bestNodeID ?? "-",
                "\(row.inputTokens)", "\(row.outputTokens)", bits(row.costUSD), "\(row.nodes)", "\(row.buggyNodes)",
            ].joined(separator: " | ")
        }
        if let record = try store.run() { lines.append("run | \(record.status) | \(record.bestNodeID ?? "-")") }
        return lines
    }

    // MARK: - Record, then replay

    @Test func aReplayedRunBuildsTheRecordedTreeBitForBit() async throws {
        let task = try SyntheticTask(steps: 5)
        let runs = scratch("runs")
        defer { task.remove(); try? FileManager.default.removeItem(at: runs) }
        let (cassette, recorded) = try await record(task, runs: runs)

        let text = try String(contentsOf: cassette, encoding: .utf8)
        #expect(text.components(separatedBy: #""request":"#).count - 1 == 10, "a request asked again is written as its key")
        let entries = try Cassette(files: [cassette]).entries
        #expect(entries.count == 11, "6 code calls and 5 reviews")
        #expect(entries.filter { $0.entry.error != nil }.map(\.entry.request.kind) == ["submit_review call"])
        #expect(entries.allSatisfy { $0.entry.session == "synthetic seed 7" })
        #expect(Set(entries.prefix(4).map(\.key)).count == 2, "the first draft prompt was asked three times")

        let loaded = try TaskLoader.load(task.taskFile)
        let replay = ReplayBackend(cassette: try Cassette(files: [cassette]), session: CassetteDeck.session(for: loaded.spec))
        let summary = try await run(loaded, backend: replay, runs: runs)
        #expect(summary.status == .finished)
        let replayed = try Self.fingerprint(summary.folder)
        #expect(recorded.count == 22, "5 nodes, 11 calls, 5 metrics rows, the run")
        #expect(replayed == recorded)
        #expect(recorded.first?.contains("raised ValueError") == true)
        #expect(recorded.contains { $0.contains("reviewer unavailable") })
    }

    @Test func aMissEndsTheRunNamingTheStepAndTheClosestRequest() async throws {
        let task = try SyntheticTask(steps: 5)
        let runs = scratch("runs")
        defer { task.remove(); try? FileManager.default.removeItem(at: runs) }
        let (cassette, _) = try await record(task, runs: runs)

        // A changed prompt: the first call misses, and the message shows the line that changed.
        var changed = try TaskLoader.load(task.taskFile)
        changed.spec.goal = "Predict y for each id."
        let summary = try await run(
            changed, backend: ReplayBackend(cassette: try Cassette(files: [cassette]), session: "synthetic seed 7"), runs: runs)
        #expect(summary.status == .failed)
        let reason = try #require(summary.stopReason)
        #expect(reason.hasPrefix("step 0 failed: replay: no recorded answer for this text call to claude-sonnet-4-5"))
        #expect(reason.contains("closest recorded request: \(cassette.path):1 (synthetic seed 7)"))
        #expect(reason.contains(#"recorded "Predict y for every id in test.csv.", asked "Predict y for each id.""#))
        #expect(!reason.contains("\n"))

        // A review that is not in the cassette ends the run too, instead of falling back on the output.
        let lines = try String(contentsOf: cassette, encoding: .utf8).split(separator: "\n")
        let shorter = task.folder.appendingPathComponent("shorter.jsonl")
        try Data((lines.dropLast().joined(separator: "\n") + "\n").utf8).write(to: shorter)
        let cut = try await run(
            try TaskLoader.load(task.taskFile),
            backend: ReplayBackend(cassette: try Cassette(files: [shorter]), session: "synthetic seed 7"), runs: runs)
        #expect(cut.status == .failed)
        #expect(cut.stopReason?.hasPrefix("step 4 failed: replay: no recorded answer for this submit_review call") == true)
        // The reviews differ only in numbers (run times): one request asked a fourth time.
        #expect(cut.stopReason?.contains("this run asks it 4 times") == true, "\(cut.stopReason ?? "")")
        #expect(cut.nodes == 4)
    }

    @Test func fallthroughAnswersTheMissesFromTheBackendAndRecordsThem() async throws {
        let task = try SyntheticTask(steps: 5)
        let runs = scratch("runs")
        defer { task.remove(); try? FileManager.default.removeItem(at: runs) }
        let (cassette, recorded) = try await record(task, runs: runs)
        let lines = try String(contentsOf: cassette, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 11)
        let firstSteps = task.folder.appendingPathComponent("first.jsonl")
        try Data((lines.prefix(9).joined(separator: "\n") + "\n").utf8).write(to: firstSteps)

        // The backend behind the cassette has only the last step's answers: it is asked only the misses.
        let newExchanges = task.folder.appendingPathComponent("new.jsonl")
        let deck = try CassetteDeck(record: newExchanges, replay: [firstSteps], fallsThrough: true)
        let loaded = try TaskLoader.load(task.taskFile)
        let summary = try await run(
            loaded,
            backend: deck.backend(
                wrapping: try ScriptedBackend(file: try A.file(Array(answers.suffix(2)))),
                session: CassetteDeck.session(for: loaded.spec)),
            runs: runs)
        #expect(summary.status == .finished)
        // The fallback's latencies are its own; everything else is the recorded run's.
        let withoutLatency: [String] = recorded.map { line in
            guard line.hasPrefix("call") else { return line }
            let fields = line.components(separatedBy: " | ")
            return (fields.dropLast() + [""]).joined(separator: " | ")
        }
        let replayed = try Self.fingerprint(summary.folder, callLatency: false)
        #expect(replayed == withoutLatency)
        let added = try Cassette(files: [newExchanges]).entries
        let original = try Cassette(files: [cassette]).entries
        #expect(added.map(\.key) == original.suffix(2).map(\.key))
        #expect(added.map(\.entry.result?.output) == original.suffix(2).map(\.entry.result?.output))
        #expect(added.allSatisfy { $0.entry.session == "synthetic seed 7" })
    }

    // MARK: - Cassettes

    @Test func aBrokenLineIsAnErrorNamingFileAndLine() throws {
        let folder = scratch("broken")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = String(decoding: try CassetteEntry(
            session: nil, request: CassetteRequest(system: "s", user: nil, funcSpec: nil, options: ModelOptions(model: "m")),
            result: Self.result("ok")).line(), as: UTF8.self)
        let cases: [(String, String)] = [
            ("# a comment\n\n\(good)\n{\"request\": {\"model\": \"m\"\n\(good)\n", ":4: not JSON"),
            ("\(good)\n{\"session\": \"x\"}\n", #":2: not a cassette entry: missing "request""#),
            ("\(good)\n\(good.replacingOccurrences(of: #""result":"#, with: #""error":{"message":"e"},"result":"#))\n",
             #":2: not a cassette entry: it needs exactly one of "result" and "error""#),
            ("\(good)\n{\"key\": \"abc\", \"error\": {\"message\": \"e\"}}\n", ":2: refers to request abc, which no earlier line of the file holds"),
        ]
        for (index, (text, expected)) in cases.enumerated() {
            let file = folder.appendingPathComponent("c\(index).jsonl")
            try Data(text.utf8).write(to: file)
            let error = try #require(throws: CassetteError.self) { try Cassette(files: [file]) }
            #expect(error.description.hasPrefix(file.path + expected), "\(error)")
        }
        let missing = folder.appendingPathComponent("none.jsonl")
        #expect(throws: CassetteError.missing(path: missing.path)) { try Cassette(files: [missing]) }
        let unknown = folder.appendingPathComponent("c3.jsonl")
        #expect(throws: CassetteError.unknownRequest(file: unknown.path, line: 2, key: "abc")) { try Cassette(files: [unknown]) }
    }

    @Test func theKeyIgnoresStreamingAndNumberSpellingButNotTheRequest() {
        func key(_ options: ModelOptions, system: String = "s") -> String {
            CassetteRequest(system: system, user: "u", funcSpec: nil, options: options).key
        }
        let base = ModelOptions(model: "m", temperature: 0.5, extra: ["top_k": .int(1)])
        var streamed = base
        streamed.stream = true
        var spelled = base
        spelled.extra = ["top_k": .double(1.0)]
        var warmer = base
        warmer.temperature = 0.7
        #expect(key(base).count == 64)
        #expect(key(base) == key(streamed))
        #expect(key(base) == key(spelled))
        #expect(key(base) != key(warmer))
        #expect(key(base) != key(base, system: "s "))
        #expect(key(base) != CassetteRequest(system: "s", user: "u", funcSpec: Prompts.reviewFunction, options: base).key)
    }

    @Test func answersGoOutInOrderPerSessionAndNotPastTheEnd() async throws {
        let options = ModelOptions(model: "m")
        let request = CassetteRequest(system: "same prompt", user: nil, funcSpec: nil, options: options)
        let cassette = Cassette(entries: [
            CassetteEntry(session: "t seed 1", request: request, result: Self.result("one-a")),
            CassetteEntry(session: "t seed 2", request: request, result: Self.result("two-a")),
            CassetteEntry(session: "t seed 1", request: request, result: Self.result("one-b")),
        ])
        func ask(_ backend: ReplayBackend) async throws -> String? {
            try await backend.query(system: "same prompt", user: nil, options: options).output.text
        }
        let seed1 = ReplayBackend(cassette: cassette, session: "t seed 1")
        #expect(try await ask(seed1) == "one-a")
        #expect(try await ask(seed1) == "one-b")
        let error = await #expect(throws: ReplayMiss.self) { try await ask(seed1) }
        #expect(error?.nearest == .askedMoreOften(recorded: 2, place: "(memory):1"))
        #expect(error?.description.contains("answers it 2 times ((memory):1) and this run asks it 3 times") == true)

        let seed2 = ReplayBackend(cassette: cassette, session: "t seed 2")
        #expect(try await ask(seed2) == "two-a")
        // A session the cassette does not know takes the request's answers in file order.
        let other = ReplayBackend(cassette: cassette, session: "t seed 9")
        #expect(try await ask(other) == "one-a")
        #expect(try await ask(other) == "two-a")

        // Streamed: the observer sees the text, and the result is the recorded one.
        let texts = Mutex<[String]>([])
        let streamed = try await ReplayBackend(cassette: cassette, session: "t seed 2").query(
            system: "same prompt", user: nil, funcSpec: nil, options: options,
            observer: { delta in if case .text(let text) = delta { texts.withLock { $0.append(text) } } })
        #expect(texts.withLock { $0 } == ["two-a"])
        #expect(streamed == Self.result("two-a"))
    }

    // MARK: - Keys

    @Test func aRecordingAgainstAProviderHoldsNoKey() async throws {
        let secret = "test-secret-value-for-a-recording-0123456789"
        let server = try LoopbackServer(script: [
            .json(200, OpenAIFixtures.completion("Hi there!")),
            .sse(OpenAIFixtures.textStream(["Hi ", "again!"])),
        ])
        defer { server.stop() }
        let router = ModelRouter(
            http: HTTPClient(),
            environment: [ModelRouter.Variable.openAIKey: secret, ModelRouter.Variable.openAIBaseURL: server.baseURL + "/v1"])
        let folder = scratch("keys")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("cassette.jsonl")
        let recording = RecordingBackend(router, writer: try CassetteWriter(path: file.path), session: "keys")

        let plain = try await recording.query(system: "Be brief.", user: "Say hi.", options: ModelOptions(model: "gpt-4o"))
        let streamed = try await recording.query(
            system: "Be brief.", user: "Say hi again.", funcSpec: nil, options: ModelOptions(model: "gpt-4o", stream: true),
            observer: { _ in })
        #expect(server.requests.first?.header("Authorization") == "Bearer \(secret)", "the key was sent")

        let text = try String(contentsOf: file, encoding: .utf8)
        #expect(!text.contains(secret))
        #expect(!text.lowercased().contains("authorization") && !text.lowercased().contains("bearer"))
        let entries = try Cassette(files: [file]).entries
        #expect(entries.map(\.entry.result) == [plain, streamed])
        #expect(entries.map(\.entry.request.options.stream) == [false, false])

        // And it replays without the server.
        let replay = ReplayBackend(cassette: try Cassette(files: [file]), session: "keys")
        let again = try await replay.query(
            system: "Be brief.", user: "Say hi again.", options: ModelOptions(model: "gpt-4o"))
        #expect(again == streamed && again.output.text == "Hi again!")
    }

    // MARK: - SHA-256

    @Test func sha256MatchesTheStandardVectors() {
        #expect(SHA256.hex(Array("".utf8)) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(
            SHA256.hex(Array(
                "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu".utf8))
                == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
        #expect(
            SHA256.hex([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    static func result(_ text: String) -> QueryResult {
        QueryResult(
            output: .text(text), latency: 0.25, lastAttemptLatency: 0.25, usage: TokenUsage(input: 10, output: 2),
            costUSD: 0.001, info: QueryInfo(provider: .compatible))
    }
}

/// `aide run --record` and `--replay` as a user types them.
struct ReplayCommandTests {
    @Test func recordThenReplayFromTheCommandLine() async throws {
        let task = try SyntheticTask(steps: 3)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("aide-replay-cli-\(UUID().uuidString)")
        defer { task.remove(); try? FileManager.default.removeItem(at: folder) }
        let answers = try ScriptedAnswers.file([
            ScriptedAnswers.code(ScriptedAnswers.goodScript(intercept: 1.5, metric: 0.5)),
            ScriptedAnswers.review(isBug: false, metric: 0.5),
            ScriptedAnswers.code("raise ValueError('bad column')"),
            ScriptedAnswers.review(isBug: true, metric: nil),
            ScriptedAnswers.code(ScriptedAnswers.goodScript(metric: 0.3)),
            ScriptedAnswers.review(isBug: false, metric: 0.3),
        ])
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let cassette = folder.appendingPathComponent("run.jsonl").path
        let runs = folder.appendingPathComponent("runs").path
        let env = ["HOME": NSTemporaryDirectory()]

        let recorded = try await CommandRunner.run(
            ["run", task.taskFile.path, "--scripted", answers.path, "--record", cassette, "--runs-dir", runs], environment: env)
        #expect(recorded.status == 0, "\(recorded.stderr)")
        let replayed = try await CommandRunner.run(
            ["run", task.taskFile.path, "--replay", cassette, "--runs-dir", runs], environment: env)
        #expect(replayed.status == 0, "\(replayed.stderr)")
        let folders = try FileManager.default.contentsOfDirectory(atPath: runs).sorted().map {
            URL(fileURLWithPath: runs).appendingPathComponent($0)
        }
        try #require(folders.count == 2)
        let trees = try folders.map { try ReplayTests.fingerprint($0) }
        #expect(trees[0] == trees[1] && trees[0].count > 3)

        // A changed task asks different questions: the miss is the run's failure, on one line,
        // naming the step and where the prompt changed.
        let miss = try await CommandRunner.run(
            ["run", task.taskFile.path, "--replay", cassette, "--runs-dir", runs, "--set", "goal=Predict y."],
            environment: env)
        #expect(miss.status == 1)
        #expect(miss.stdout.contains(": failed (step 0 failed: replay: no recorded answer for this text call to claude-sonnet-4-5; closest recorded request: \(cassette):1 (synthetic seed 7), whose system prompt first differs at line"), "\(miss.stdout)")

        // A broken cassette is refused before any run starts, with file and line.
        try Data("# header\n{not json\n".utf8).write(to: URL(fileURLWithPath: cassette))
        let broken = try await CommandRunner.run(["run", task.taskFile.path, "--replay", cassette, "--runs-dir", runs], environment: env)
        #expect(broken.status != 0)
        #expect(broken.stderr.contains("\(cassette):2: not JSON"), "\(broken.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: runs).count == 3)

        let refused = try await CommandRunner.run(
            ["run", task.taskFile.path, "--replay", cassette, "--record", cassette], environment: env)
        #expect(refused.status != 0 && refused.stderr.contains("--replay-fallthrough"), "\(refused.stderr)")
    }
}
