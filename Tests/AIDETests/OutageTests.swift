@testable import AIDE
import AIDETesting
import Foundation
import Synchronization
import Testing

// Whole runs against a loopback Anthropic server that misbehaves: an outage costs steps, not the run;
// a run ends only after agent.max_failed_steps failed steps in a row; a stop request cuts a hanging
// call short. Real HTTP, real Python, real SQLite; retries wait on a virtual clock.

private typealias A = AnthropicFixtures
private typealias S = ScriptedAnswers

/// A provider that answers code requests with a good script and review requests with a verdict.
private func goodAnswer(_ request: RecordedRequest) -> LoopbackResponse {
    if request.asksForFunction {
        return A.messageResponse(
            A.toolUseMessage(name: Prompts.reviewFunction.name, input: #"{"is_bug":false,"summary":"Fine.","metric":0.5}"#))
    }
    return A.messageResponse(A.textMessage(text: "A linear fit.\n```python\n\(S.goodScript(metric: 0.5))\n```"))
}

private func dependencies(_ task: LoadedTask, server: LoopbackServer, clock: VirtualClock) -> RunDependencies {
    var settings = task.spec.agent.backendSettings
    settings.clock = clock.retryClock
    settings.retry.jitter = 0
    let backend = AnthropicBackend(
        endpoint: ProviderEndpoint(provider: .anthropic, baseURL: server.baseURL, apiKey: "sk-ant-test"),
        http: HTTPClient(), settings: settings)
    return .testPython(backend: backend)
}

/// Runs a synthetic task with `agent` settings (task.yaml lines under `agent:`) against `server` to its
/// end, `whileRunning` alongside, then hands the summary and the run's store to `check`.
private func runTask(
    steps: Int, agent: String, server: LoopbackServer, clock: VirtualClock = VirtualClock(),
    whileRunning: @Sendable (SearchRun) async -> Void = { _ in },
    check: (RunSummary, RunStore) throws -> Void
) async throws {
    let task = try SyntheticTask(steps: steps, extraYAML: "agent:\n  code_model: claude-sonnet-4-5\n" + agent)
    defer { task.remove() }
    let loaded = try TaskLoader.load(task.taskFile)
    let runs = ScriptedRun.newRunsFolder()
    defer { try? FileManager.default.removeItem(at: runs) }
    let run = try SearchRun.start(
        task: loaded, runsDirectory: runs, dependencies: dependencies(loaded, server: server, clock: clock))
    async let summary = run.run()
    await whileRunning(run)
    let result = await summary
    try check(result, try RunStore.openReadOnly(path: result.folder.appendingPathComponent("run.sqlite")))
}

@Suite struct OutageTests {
    /// A 15-minute overload: with agent.retry.max_elapsed 8m, each code call gives up after 6 minutes
    /// of (virtual) retrying, so two steps are lost; the third call outlasts the outage.
    @Test func aFifteenMinuteOutageCostsStepsButNotTheRun() async throws {
        let clock = VirtualClock()
        let server = try LoopbackServer { request in
            clock.now < 15 * 60 ? A.errorResponse(status: 529) : goodAnswer(request)
        }
        try await runTask(steps: 4, agent: "  retry:\n    max_elapsed: 8m\n", server: server, clock: clock) { summary, store throws in
            #expect(summary.status == .finished)
            let nodes = try store.nodes()
            #expect(nodes.count == 4)
            #expect(nodes.map { SearchRun.isFailedStep($0) } == [true, true, false, false])
            #expect(nodes[0].error?.contains("gave up after 9 attempts") == true)
            #expect(nodes.last?.isBuggy == false)
            let failedCall = try #require(try store.calls(nodeID: nodes[0].id).first)
            #expect(failedCall.attempts == 9)
            #expect(LLMCallRecord.list(failedCall.attemptFailures).count == 9)
            #expect(LLMCallRecord.list(failedCall.attemptFailures).allSatisfy { $0.contains("529") })
            let answered = try #require(try store.calls(nodeID: nodes[2].id).first)
            #expect(answered.attempts == 8, "the third step's call waited out the rest of the outage")
            #expect(answered.answeredModel == A.defaultModel)
            #expect(answered.responseID == A.defaultID)
            #expect(answered.stopReason == "end_turn")
            #expect(answered.finishReason == "stop")
        }
    }

    @Test func threeFailedStepsInARowEndTheRunAsFailed() async throws {
        let server = try LoopbackServer { _ in A.errorResponse(status: 529) }
        try await runTask(steps: 10, agent: "  retry:\n    max_attempts: 2\n", server: server) { summary, store throws in
            #expect(summary.status == .failed)
            #expect(summary.nodes == 3)
            #expect(
                summary.stopReason?.hasPrefix("3 steps in a row failed on their LLM calls (agent.max_failed_steps is 3)")
                    == true)
            #expect(server.requests.count == 6)
            #expect(try store.run()?.status == .failed)
        }
    }

    @Test func aCutOffAnswerIsAskedAgainWithMoreRoomAndTheNodeSaysSo() async throws {
        let codeRequests = Mutex(0)
        let server = try LoopbackServer { request in
            guard !request.asksForFunction, codeRequests.withLock({ $0 += 1; return $0 }) == 1 else {
                return goodAnswer(request)
            }
            return A.messageResponse(A.textMessage(text: "A plan.\n```python\nimport pan", outputTokens: 4096, stopReason: "max_tokens"))
        }
        try await runTask(steps: 1, agent: "", server: server) { summary, store throws in
            #expect(summary.status == .finished)
            let node = try #require(try store.nodes().first)
            #expect(node.isBuggy == false)
            #expect(node.error == "the answer was cut off at max_tokens and asked again with more room (1×)")
            let code = try #require(try store.calls(nodeID: node.id).first)
            #expect(code.cutOffRetries == 1)
            #expect(server.requests.prefix(2).map { $0.bodyJSON?["max_tokens"] as? Int } == [4096, 8192])
        }
    }

    @Test(.timeLimit(.minutes(10)))  // a guard against a hang, far from any load
    func aStopRequestCutsAHangingCallShortAndMarksTheRunInterrupted() async throws {
        let (arrivals, arrived) = AsyncStream.makeStream(of: Void.self)
        let server = try LoopbackServer { _ in
            arrived.yield()
            return .neverAnswers
        }
        try await runTask(
            steps: 3, agent: "", server: server,
            whileRunning: { run in
                var iterator = arrivals.makeAsyncIterator()
                _ = await iterator.next()  // the code call is waiting on a provider that will never answer
                await run.requestStop()
            }
        ) { summary, store throws in
            #expect(summary.status == .interrupted)
            #expect(summary.nodes == 0)
            #expect(try store.run()?.status == .interrupted)
        }
    }
}
