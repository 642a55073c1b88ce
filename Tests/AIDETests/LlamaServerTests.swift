import AIDE
import Foundation
import Synchronization
import Testing

/// Both wire formats against a real third-party server: llama.cpp's llama-server with SmolLM2-135M,
/// started by scripts/test.sh, which exports AIDE_LLAMA_URL. Skipped when it is not set.
private let llamaBaseURL = ProcessInfo.processInfo.environment["AIDE_LLAMA_URL"]

/// One llama-server answers every test: they take turns (a busy server queues requests, and the
/// timeout is generous for the same reason).
@Suite(.serialized, .enabled(if: llamaBaseURL != nil, "needs AIDE_LLAMA_URL (scripts/test.sh starts llama-server)"))
struct LlamaServerTests {
    /// The router as a user configures it: a compatible base URL, and ANTHROPIC_BASE_URL for the other format.
    private func router() throws -> ModelRouter {
        let base = try #require(llamaBaseURL)
        return ModelRouter(
            http: HTTPClient(),
            environment: ["ANTHROPIC_BASE_URL": base, "ANTHROPIC_API_KEY": "unused-by-llama-server"],
            compatibleBaseURL: base + "/v1",
            settings: BackendSettings(timeouts: HTTPTimeouts(total: 600), retry: RetryPolicy(maxAttempts: 2)))
    }

    private let system = "You are a terse assistant."
    private let user = "Say hello in five words."

    @Test(arguments: ["compatible/smollm2", "anthropic/smollm2"])
    func plainCall(model: String) async throws {
        let result = try await router().query(
            system: system, user: user, options: ModelOptions(model: model, temperature: 0, maxTokens: 24))
        let text = try #require(result.output.text)
        #expect(!text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
        #expect(result.usage.input > 5, "the prompt has more than five tokens")
        #expect(result.usage.output > 0 && result.usage.output <= 24)
        #expect(result.info.finishReason == .stop || result.info.finishReason == .length)
        #expect(result.info.provider == (model.hasPrefix("anthropic") ? .anthropic : .compatible))
        #expect(result.info.streamed == false)
        #expect(result.latency > 0)
    }

    @Test(arguments: ["compatible/smollm2", "anthropic/smollm2"])
    func streamedCallWithUsage(model: String) async throws {
        let deltas = DeltaLog()
        let result = try await router().query(
            system: system, user: user, funcSpec: nil,
            options: ModelOptions(model: model, temperature: 0, maxTokens: 24),
            observer: { deltas.append($0) })
        let text = try #require(result.output.text)
        #expect(!text.isEmpty)
        #expect(deltas.text == text, "the live deltas add up to the folded output")
        #expect(deltas.count > 1, "a streamed answer arrives in several deltas")
        #expect(result.usage.input > 5)
        #expect(result.usage.output > 0 && result.usage.output <= 24)
        #expect(result.info.streamed)
        #expect(result.info.finishReason != nil)
    }

    /// The same prompt counts the same input tokens whole or streamed. (The outputs may differ even
    /// at temperature 0: llama-server's prompt cache changes the numerics between calls.)
    @Test func streamedAndWholeCountTheSamePrompt() async throws {
        let router = try router()
        let options = ModelOptions(model: "compatible/smollm2", temperature: 0, maxTokens: 16)
        let whole = try await router.query(system: system, user: user, options: options)
        var streamedOptions = options
        streamedOptions.stream = true
        let streamed = try await router.query(system: system, user: user, options: streamedOptions)
        #expect(whole.usage.input == streamed.usage.input)
        #expect(streamed.info.streamed && !whole.info.streamed)
    }
}

/// Collects stream deltas from the observer's thread.
final class DeltaLog: Sendable {
    private let entries = Mutex<[StreamDelta]>([])

    func append(_ delta: StreamDelta) { entries.withLock { $0.append(delta) } }

    var count: Int { entries.withLock { $0.count } }

    var text: String {
        entries.withLock { list in
            list.compactMap { if case .text(let text) = $0 { return text } else { return nil } }.joined()
        }
    }
}
