@testable import AIDE
import AIDETesting
import Foundation
import Testing

// Settings that cannot work are refused when the task is loaded: one line, file:line:col, before any
// run folder exists. And every model option of task.yaml reaches the request body.

/// A task folder with `data/` and a task.yaml made of the base lines and `extra` (whole sections).
private struct TaskFolder {
    let folder: URL
    var file: URL { folder.appendingPathComponent("task.yaml") }

    init(_ extra: String, python: String = TestPython.path, execLines: String = "") throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("aide-validate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("data"), withIntermediateDirectories: true)
        let yaml = """
            name: check
            goal: Predict y.
            data: data
            metric:
              name: rmse
              direction: minimize
            exec:
              python: \(python)

            """ + execLines + extra
        try Data(yaml.utf8).write(to: file)
    }

    func remove() { try? FileManager.default.removeItem(at: folder) }
}

/// The error loading `extra` gives, as the user reads it (the file named as given: "task.yaml").
private func loadError(
    _ extra: String, python: String = TestPython.path, execLines: String = "", overrides: [String] = []
) throws -> String? {
    let task = try TaskFolder(extra, python: python, execLines: execLines)
    defer { task.remove() }
    do {
        _ = try TaskLoader.load(task.file, overrides: overrides)
        return nil
    } catch let error as TaskError {
        return error.description.replacingOccurrences(of: task.file.path, with: "task.yaml")
    }
}

@Suite(.serialized) struct TaskValidationTests {
    @Test(arguments: [
        ("search:\n  policy: gready\n", #"task.yaml:10:3: search.policy: expected one of greedy, mcts, evolutionary, found "gready""#),
        ("budget:\n  script_timeout: .inf\n", "task.yaml:10:3: budget.script_timeout: expected a positive, finite duration, found inf"),
        ("budget:\n  usd: .nan\n", "task.yaml:10:3: budget.usd: must be more than 0, found nan"),
        ("search:\n  policy: mcts\n  exploration: .inf\n", "task.yaml:11:3: search.exploration: must be a finite number, found inf"),
        ("", ""),
        ("agent:\n  code_model: gpt-4o\n  code:\n    thinking_budget: 2000\n",
         "task.yaml:11:3: agent.code: gpt-4o: a thinking budget is an Anthropic (or OpenRouter) option; OpenAI reasoning models take reasoning_effort instead"),
        ("agent:\n  code:\n    reasoning_effort: high\n",
         "task.yaml:10:3: agent.code: claude-sonnet-4-5: reasoning_effort is an OpenAI option; Claude models take a thinking budget instead"),
        ("agent:\n  code_model: gpt-4o\n  code:\n    reasoning_effort: high\n",
         "task.yaml:11:3: agent.code: gpt-4o: reasoning_effort needs a reasoning model; gpt-4o is not one"),
        ("agent:\n  code:\n    thinking_budget: 8000\n    max_tokens: 4000\n",
         "task.yaml:10:3: agent.code: claude-sonnet-4-5: thinking budget 8000 must be below max_tokens 4000; raise max_tokens or lower the budget"),
        ("agent:\n  feedback:\n    max_tokens: 1000000\n",
         "task.yaml:10:3: agent.feedback: claude-sonnet-4-5: max_tokens 1000000 is above the model's output limit of 64000"),
        ("agent:\n  feedback:\n    temperature: 3\n", "task.yaml:11:5: agent.feedback.temperature: must be in 0...2, found 3.0"),
        ("agent:\n  code:\n    reasoning_effort: hgih\n",
         #"task.yaml:11:5: agent.code.reasoning_effort: expected one of none, minimal, low, medium, high, xhigh, found "hgih""#),
        ("agent:\n  code:\n    top_k: 5\n",
         "task.yaml:11:5: unknown key \"top_k\" in agent.code; expected one of: max_tokens, temperature, top_p, thinking_budget, reasoning_effort, betas, extra, stream"),
        ("agent:\n  retry:\n    max_attempts: 0\n", "task.yaml:11:5: agent.retry.max_attempts: must be at least 1, found 0"),
        ("agent:\n  retry:\n    idle_timeout: never\n",
         #"task.yaml:11:5: agent.retry.idle_timeout: expected a duration such as 600, "90s", "10m" or "1h30m", found "never""#),
        ("agent:\n  max_failed_steps: 0\n", "task.yaml:10:3: agent.max_failed_steps: must be at least 1, found 0"),
    ])
    func aBadSettingIsOneLineAtItsKey(extra: String, expected: String) throws {
        let memory = extra.isEmpty
        let message = try #require(try loadError(extra, execLines: memory ? "  memory_limit_mb: 1\n" : ""))
        if memory {
            #expect(message.hasPrefix("task.yaml:9:3: exec.memory_limit_mb: 1 MiB is too little for "))
            #expect(message.hasSuffix(" to start; every script would fail. Give at least a few hundred MiB, or remove the limit"))
        } else {
            #expect(message == expected)
        }
        #expect(!message.contains("\n") && !message.contains("NSCocoaErrorDomain") && !message.contains("EncodingError"))
    }

    @Test func aPythonThatIsMissingADirectoryOrNotPythonIsRefused() throws {
        let directory = FileManager.default.temporaryDirectory.path
        #expect(try loadError("", python: "/nonexistent/python3")
            == "task.yaml:8:3: exec.python: /nonexistent/python3 is not an executable file (nor a command on PATH)")
        #expect(try loadError("", python: directory)
            == "task.yaml:8:3: exec.python: \(directory) is not an executable file (nor a command on PATH)")
        #expect(try loadError("", python: "/bin/true") == "task.yaml:8:3: exec.python: /bin/true is not a working Python 3")
        #expect(try loadError("", python: "no-such-python-anywhere")
            == "task.yaml:8:3: exec.python: no-such-python-anywhere is not an executable file (nor a command on PATH)")
    }

    /// The facts behind the words: the model and the provider's refusal, the Python, the limit as a number.
    @Test func runSettingProblemsAreTypedFacts() throws {
        func problem(_ extra: String, python: String = TestPython.path, execLines: String = "") throws -> TaskProblem? {
            let task = try TaskFolder(extra, python: python, execLines: execLines)
            defer { task.remove() }
            do {
                _ = try TaskLoader.load(task.file)
                return nil
            } catch let error as TaskError {
                return error.problem
            }
        }
        #expect(
            try problem("agent:\n  code_model: gpt-4o\n  code:\n    thinking_budget: 2000\n")
                == .modelOptions(key: ["agent", "code"], model: "gpt-4o", problem: .thinkingBudgetOnOpenAI))
        #expect(
            try problem("agent:\n  feedback:\n    max_tokens: 1000000\n")
                == .modelOptions(
                    key: ["agent", "feedback"], model: "claude-sonnet-4-5", problem: .maxTokensAboveLimit(maxTokens: 1_000_000, limit: 64000)))
        #expect(try problem("", python: "/nonexistent/python3") == .noPython("/nonexistent/python3"))
        #expect(try problem("", python: "/bin/true") == .notPython3("/bin/true", said: nil))
        let memory = try problem("", execLines: "  memory_limit_mb: 1\n")
        #expect(memory?.key == ["exec", "memory_limit_mb"])
        if case .memoryTooSmall(let megabytes, _)? = memory { #expect(megabytes == 1) } else { Issue.record("\(String(describing: memory))") }
        #expect(
            try problem("agent:\n  retry:\n    max_attempts: 0\n")
                == .outOfRange(key: ["agent", "retry", "max_attempts"], .integer(0), allowed: .atLeast(1)))
    }

    @Test func thePythonMustImportTheTasksPackages() throws {
        #expect(try loadError("", execLines: "  packages: [json, no_such_module_xyz]\n")
            == "task.yaml:9:3: exec.packages: \(TestPython.path) cannot import no_such_module_xyz: ModuleNotFoundError: No module named 'no_such_module_xyz'")
        #expect(try loadError("", execLines: "  packages: [json, csv]\n") == nil)
    }

    @Test func overridesReachNestedModelOptionsAndAreCheckedToo() throws {
        #expect(try loadError("", overrides: ["agent.code.top_p=2"])
            == "override agent.code.top_p=2: agent.code.top_p: must be in (0, 1], found 2.0")
        #expect(try loadError("", overrides: ["agent.retry.bogus=1"])
            == "override agent.retry.bogus=1: unknown key \"bogus\" in agent.retry; expected one of: max_attempts, max_elapsed, initial_delay, max_delay, malformed_attempts, idle_timeout, timeout, connect_timeout")
        let task = try TaskFolder("")
        defer { task.remove() }
        let loaded = try TaskLoader.load(task.file, overrides: [
            "agent.code.betas=[context-1m-2025-08-07, interleaved-thinking-2025-05-14]", "agent.code.extra.top_k=40",
            "agent.feedback.stream=false", "agent.retry.max_elapsed=5m",
        ])
        #expect(loaded.spec.agent.code?.betas == ["context-1m-2025-08-07", "interleaved-thinking-2025-05-14"])
        #expect(loaded.spec.agent.code?.extra == ["top_k": 40])
        #expect(loaded.spec.agent.reviewOptions.stream == false)
        #expect(loaded.spec.agent.codeOptions.stream == true, "runs stream by default")
        #expect(loaded.spec.agent.backendSettings.retry.maxElapsed == 300)
    }

    @Test func noRunFolderIsMadeUnderARunsDirectoryThatIsAFile() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("aide-runs-file-\(UUID().uuidString)")
        try Data("x".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let error = #expect(throws: WorkspaceError.self) { try RunWorkspace.checkRunsDirectory(file) }
        #expect(error?.description == "runs directory \(file.path): \(file.path) is a file, not a folder")
        let below = file.appendingPathComponent("runs")
        let deeper = #expect(throws: WorkspaceError.self) { try RunWorkspace.checkRunsDirectory(below) }
        #expect(deeper?.description
            == "runs directory \(below.path): \(file.path) (the nearest existing folder on its path) is a file, not a folder")
    }

    @Test(arguments: ["/", "---", "", "-x"])
    func runIDsNeverStartWithADash(name: String) {
        let id = RunWorkspace.newRunID(taskName: name)
        #expect(!id.hasPrefix("-"))
        #expect(id.hasPrefix(name == "-x" ? "x-" : "run-"))
    }

    @Test func theCLISaysInOneLineThatTheRunsDirectoryIsAFile() async throws {
        let task = try TaskFolder("")
        defer { task.remove() }
        let runs = task.folder.appendingPathComponent("runs-file")
        try Data("not a folder".utf8).write(to: runs)
        let answers = try ScriptedAnswers.file([ScriptedAnswers.noCode()])
        defer { try? FileManager.default.removeItem(at: answers) }
        let result = try await CommandRunner.run(["run", task.file.path, "--runs-dir", runs.path, "--scripted", answers.path])
        #expect(result.status != 0)
        #expect(result.stderr.hasSuffix("Error: runs directory \(runs.path): \(runs.path) is a file, not a folder\n"))
        #expect(result.stderr.split(separator: "\n").count <= 2, "at most a sandbox warning before it: \(result.stderr)")
    }

    @Test func theCLIRefusesABadSettingWithoutMakingARunFolder() async throws {
        let task = try TaskFolder("search:\n  policy: gready\n")
        defer { task.remove() }
        let runs = task.folder.appendingPathComponent("runs")
        let result = try await CommandRunner.run(["run", task.file.path, "--runs-dir", runs.path])
        #expect(result.status != 0)
        #expect(result.stderr == "Error: " + task.file.path + #":10:3: search.policy: expected one of greedy, mcts, evolutionary, found "gready""# + "\n")
        #expect(!FileManager.default.fileExists(atPath: runs.path))
    }
}

/// Every model option of task.yaml, for the code and the review model, in the body (and headers)
/// the loopback provider received.
@Suite struct ModelOptionsRoundTripTests {
    @Test func anthropicOptionsReachTheRequest() async throws {
        let task = try TaskFolder("""
            agent:
              code_model: claude-sonnet-4-5
              code:
                max_tokens: 9000
                top_p: 0.9
                thinking_budget: 4000
                betas: [interleaved-thinking-2025-05-14]
                extra:
                  metadata: {user_id: u-1}
                stream: false
              feedback:
                temperature: 0.2
                max_tokens: 700
                top_p: 0.5
            """)
        defer { task.remove() }
        let spec = try TaskLoader.load(task.file).spec
        let server = try LoopbackServer { _ in AnthropicFixtures.messageResponse(AnthropicFixtures.textMessage()) }
        let backend = AnthropicBackend(
            endpoint: ProviderEndpoint(provider: .anthropic, baseURL: server.baseURL, apiKey: "k"), http: HTTPClient())
        _ = try await backend.query(system: "s", user: nil, options: spec.agent.codeOptions)
        _ = try await backend.query(system: "s", user: nil, options: spec.agent.reviewOptions)
        let code = try #require(server.requests.first?.bodyJSON)
        #expect(code["max_tokens"] as? Int == 9000)
        #expect(code["top_p"] as? Double == 0.9)
        #expect((code["thinking"] as? [String: Any])?["budget_tokens"] as? Int == 4000)
        #expect((code["metadata"] as? [String: Any])?["user_id"] as? String == "u-1")
        #expect(code["stream"] == nil)
        #expect(server.requests.first?.header("anthropic-beta") == "interleaved-thinking-2025-05-14")
        let review = try #require(server.requests.last?.bodyJSON)
        #expect(review["temperature"] as? Double == 0.2)
        #expect(review["max_tokens"] as? Int == 700)
        #expect(review["top_p"] as? Double == 0.5)
        #expect(review["stream"] as? Bool == true, "runs stream by default")
    }

    @Test func openAIOptionsReachTheRequest() async throws {
        let task = try TaskFolder("""
            agent:
              code_model: o3
              feedback_model: gpt-4o
              stream: false
              code:
                max_tokens: 20000
                reasoning_effort: high
                extra: {service_tier: flex}
              feedback:
                temperature: 0.1
                top_p: 0.3
                max_tokens: 500
                stream: true
            """)
        defer { task.remove() }
        let spec = try TaskLoader.load(task.file).spec
        let server = try LoopbackServer { request in
            request.bodyJSON?["stream"] as? Bool == true
                ? .sse(OpenAIFixtures.textStream(["ok"])) : .json(200, OpenAIFixtures.completion("ok"))
        }
        let backend = OpenAIBackend(
            endpoint: ProviderEndpoint(provider: .openai, baseURL: server.baseURL + "/v1", apiKey: "k"), http: HTTPClient())
        _ = try await backend.query(system: "s", user: nil, options: spec.agent.codeOptions)
        _ = try await backend.query(system: "s", user: nil, options: spec.agent.reviewOptions)
        let code = try #require(server.requests.first?.bodyJSON)
        #expect(code["max_completion_tokens"] as? Int == 20000)
        #expect(code["reasoning_effort"] as? String == "high")
        #expect(code["service_tier"] as? String == "flex")
        #expect(code["stream"] == nil)
        #expect(code["temperature"] == nil, "o3 takes no temperature: code_temperature's default is dropped")
        let review = try #require(server.requests.last?.bodyJSON)
        #expect(review["temperature"] as? Double == 0.1)
        #expect(review["top_p"] as? Double == 0.3)
        #expect(review["max_tokens"] as? Int == 500)
        #expect(review["stream"] as? Bool == true)
    }
}
