import AIDETesting
import Foundation
import Testing

/// The `aide` executable driven as a user drives it.
struct CLITests {
    private static let completion = """
        {"id":"chatcmpl-cli","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini-2024-07-18",\
        "system_fingerprint":"fp_cli","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the proxy."},\
        "logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}
        """

    @Test func missingKeyNamesTheVariable() async throws {
        let result = try await CommandRunner.run(["query", "hello", "--model", "claude-sonnet-4-5"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("ANTHROPIC_API_KEY"))
        let openAI = try await CommandRunner.run(["query", "hello", "--model", "gpt-4o"])
        #expect(openAI.stderr.contains("OPENAI_API_KEY"))
    }

    @Test func queryPrintsOutputAndOneSummaryLine() async throws {
        let server = try LoopbackServer(script: [.json(200, Self.completion)])
        let result = try await CommandRunner.run(
            ["query", "hi", "--model", "gpt-4o-mini"],
            environment: ["OPENAI_API_KEY": "sk-cli", "OPENAI_BASE_URL": server.baseURL + "/v1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "Hello from the proxy.\n")
        let summary = result.stderr.split(separator: "\n")
        #expect(summary.count == 1)
        #expect(summary.first?.contains("12 in / 5 out tokens") == true)
        #expect(summary.first?.contains("$0.00000") == true)  // gpt-4o-mini is in the table: a price, not "unknown"
        #expect(server.requests.first?.header("authorization") == "Bearer sk-cli")
    }

    @Test func standardProxyVariablesAreHonoured() async throws {
        let proxy = try LoopbackServer(script: [.json(200, Self.completion)])
        let result = try await CommandRunner.run(
            ["query", "hi", "--model", "gpt-4o-mini"],
            environment: [
                "OPENAI_API_KEY": "sk-cli", "OPENAI_BASE_URL": "http://api.example.invalid/v1",
                "http_proxy": proxy.baseURL,
            ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Hello from the proxy."))
        let request = try #require(proxy.requests.first)
        #expect(request.target == "http://api.example.invalid/v1/chat/completions")
    }

    @Test func invalidFunctionSpecFailsBeforeAnyCall() async throws {
        let server = try LoopbackServer(script: [.json(200, Self.completion)])
        let spec = FileManager.default.temporaryDirectory.appendingPathComponent("spec-\(UUID().uuidString).json")
        try Data(#"{"name": "review", "description": "d", "parameters": {"type": "array"}}"#.utf8).write(to: spec)
        defer { try? FileManager.default.removeItem(at: spec) }
        let result = try await CommandRunner.run(
            ["query", "hi", "--model", "gpt-4o", "--function", spec.path],
            environment: ["OPENAI_API_KEY": "sk-cli", "OPENAI_BASE_URL": server.baseURL + "/v1"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("invalid function spec"))
        #expect(server.requests.isEmpty)
    }

    @Test func modelsListsTheTable() async throws {
        let result = try await CommandRunner.run(["models"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("claude-sonnet-4-5"))
        #expect(result.stdout.contains("gpt-4o"))
    }
}
