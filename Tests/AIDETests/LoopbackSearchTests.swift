@testable import AIDE
import AIDETesting
import Foundation
import Synchronization
import Testing

// A whole search through the real HTTP stack (libcurl) against loopback servers speaking Anthropic's
// and OpenAI's wire formats, streamed and whole: answers written the way models write them (CRLF line
// endings, a tilde fence with an info string, prose around) become runnable code; the review comes
// back as a forced tool call; the metric is the one the script printed; every prompt reached the server.

private typealias A = AnthropicFixtures
private typealias O = OpenAIFixtures
private typealias S = ScriptedAnswers

/// A code answer as a model might write it: prose, a `~~~py title=…` fence, CRLF line endings.
private func codeAnswer(metric: Double) -> String {
    let script = S.goodScript(metric: metric)
    return "Fit a line to x.\r\n\r\n~~~py title=\"train.py\"\r\n"
        + script.replacingOccurrences(of: "\n", with: "\r\n") + "~~~\r\nThat is all.\r\n"
}

private let reviewArguments = #"{"is_bug":false,"summary":"It ran and wrote the submission.","metric":null}"#

/// Answers every request in `format`, streamed when the request asks for a stream. The k-th code
/// request gets a script whose metric is 0.5 / (k + 1).
private func provider(_ format: Provider, codeCalls: Counter) -> @Sendable (RecordedRequest) -> LoopbackResponse {
    { request in
        let streamed = request.bodyJSON?["stream"] as? Bool == true
        let review = request.bodyJSON?["tools"] != nil
        let text = review ? "" : codeAnswer(metric: 0.5 / Double(codeCalls.next() + 1))
        switch (format, review, streamed) {
        case (.anthropic, true, true):
            return A.sseResponse(A.toolUseStream(name: Prompts.reviewFunction.name, input: reviewArguments))
        case (.anthropic, true, false):
            return A.messageResponse(A.toolUseMessage(name: Prompts.reviewFunction.name, input: reviewArguments))
        case (.anthropic, false, true):
            return A.sseResponse(A.textStream(text: text))
        case (.anthropic, false, false):
            return A.messageResponse(A.textMessage(text: text))
        case (_, true, true):
            return .sse(
                O.toolCallStream([
                    .start(index: 0, id: "call_1", name: Prompts.reviewFunction.name),
                    .arguments(index: 0, fragment: reviewArguments),
                ]))
        case (_, true, false):
            return .json(200, O.toolCallCompletion(name: Prompts.reviewFunction.name, arguments: reviewArguments))
        case (_, false, true):
            return .sse(O.textStream(A.chunks(text, size: 40)))
        case (_, false, false):
            return .json(200, O.completion(text))
        }
    }
}

/// A thread-safe counter of code requests.
private final class Counter: Sendable {
    private let value = Mutex(0)
    func next() -> Int { value.withLock { count in defer { count += 1 }; return count } }
}

@Suite struct LoopbackSearchTests {
    @Test(arguments: [Provider.anthropic, .openai], [true, false])
    func aSearchRunsThroughARealProviderWireFormat(format: Provider, stream: Bool) async throws {
        let counter = Counter()
        let server = try LoopbackServer(handler: provider(format, codeCalls: counter))
        let model = format == .anthropic ? "claude-sonnet-4-5" : "gpt-4o"
        let task = try SyntheticTask(
            steps: 3,
            extraYAML: """
                agent:
                  code_model: \(model)
                  feedback_model: \(model)
                  stream: \(stream)
                """)
        defer { task.remove() }
        let loaded = try TaskLoader.load(task.taskFile)
        let endpoint = ProviderEndpoint(
            provider: format, baseURL: server.baseURL + (format == .anthropic ? "" : "/v1"), apiKey: "sk-loopback-test")
        let settings = loaded.spec.agent.backendSettings
        let backend: any Backend =
            format == .anthropic
            ? AnthropicBackend(endpoint: endpoint, http: HTTPClient(), settings: settings)
            : OpenAIBackend(endpoint: endpoint, http: HTTPClient(), settings: settings)
        let search = try await FinishedSearch.run(loaded, dependencies: .testPython(backend: backend))
        defer { search.remove() }

        #expect(search.summary.status == .finished)
        let nodes = try search.nodes()
        #expect(nodes.map(\.stage) == [.draft, .draft, .improve])
        for (index, node) in nodes.enumerated() {
            #expect(!node.isBuggy, "step \(index): \(node.bugReasons)")
            #expect(!node.code.contains("\r"), "CRLF answers become plain lines")
            // The review answered null: the metric is the one the script printed.
            #expect(node.metric == 0.5 / Double(index + 1))
            #expect(node.testScore != nil)
        }
        #expect(nodes[2].parentID == nodes[1].id, "improve starts from the best draft (lowest RMSE)")

        // Three code calls and three reviews, each asked as the task says, each with the task's goal.
        let requests = server.requests
        #expect(requests.count == 6)
        #expect(requests.filter { $0.bodyJSON?["tools"] != nil }.count == 3)
        for request in requests {
            #expect(request.bodyJSON?["model"] as? String == model)
            #expect((request.bodyJSON?["stream"] as? Bool ?? false) == stream)
            #expect(String(decoding: request.body, as: UTF8.self).contains("Predict y for every id in test.csv."))
        }
        let calls = try search.store.calls(nodeID: nil)
        #expect(calls.count == 6)
        #expect(calls.allSatisfy { $0.inputTokens > 0 && $0.outputTokens > 0 })
    }
}
