import AIDE
import ArgumentParser
import Foundation

struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Ask a model once and print its answer, then one line with latency, tokens and cost.",
        discussion: """
            Keys come from ANTHROPIC_API_KEY, OPENAI_API_KEY or OPENROUTER_API_KEY. The answer goes to \
            standard output and the summary line to standard error, so `aide query … > answer.txt` keeps \
            only the answer.

            Examples:
              aide query "Name three loss functions." --model claude-sonnet-4-5
              aide query "Rate this plan" --function review.json --model gpt-4o
              aide query "Hello" --model compatible/smollm2 --base-url http://127.0.0.1:8080/v1 --stream
            """
    )

    @Argument(help: "The user message; '-' reads it from standard input.")
    var prompt: String

    @Option(help: "A system message.")
    var system: String?

    @Option(help: "Model name, or provider/model (anthropic/, openai/, openrouter/, compatible/).")
    var model: String = ProcessInfo.processInfo.environment["AIDE_MODEL"] ?? "claude-sonnet-4-5"

    @Flag(help: "Stream the answer and print it as it arrives.")
    var stream = false

    @Option(name: .customLong("function"), help: "A JSON file {name, description, parameters}: force this function call.")
    var functionFile: String?

    @Option(help: "Sampling temperature.")
    var temperature: Double?

    @Option(help: "Nucleus sampling probability.")
    var topP: Double?

    @Option(help: "Maximum output tokens.")
    var maxTokens: Int?

    @Option(help: "A stop sequence (repeatable).")
    var stop: [String] = []

    @Option(help: "Extended-thinking budget in tokens (Anthropic, OpenRouter).")
    var thinkingBudget: Int?

    @Option(help: "An Anthropic beta feature to enable (repeatable).")
    var beta: [String] = []

    @Option(help: "A provider parameter key=value added to the request body; value read as JSON if it parses (repeatable).")
    var extra: [String] = []

    @Option(help: "Base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1.")
    var baseURL: String?

    @Option(help: "Give up on a call after this many seconds, retries included.")
    var timeout: Double = 600

    @Flag(help: "Print the whole result (output, usage, cost, info) as JSON instead.")
    var json = false

    func run() async throws {
        let user = prompt == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : prompt
        var options = ModelOptions(
            model: model, temperature: temperature, topP: topP, maxTokens: maxTokens,
            stop: stop.isEmpty ? nil : stop, thinkingBudget: thinkingBudget, stream: stream, betas: beta)
        for assignment in extra { try options.addExtra(assignment) }
        let spec = try functionFile.map { try FunctionSpec.load(from: URL(fileURLWithPath: $0)) }

        let settings = BackendSettings(
            timeouts: HTTPTimeouts(total: timeout), retry: RetryPolicy(maxElapsed: timeout))
        let router = ModelRouter(http: HTTPClient(), compatibleBaseURL: baseURL, settings: settings)
        let live = stream && !json && spec == nil
        var observer: StreamObserver?
        if live {
            observer = { delta in
                if case .text(let text) = delta { FileHandle.standardOutput.write(Data(text.utf8)) }
            }
        }
        let result = try await router.query(
            system: system, user: user, funcSpec: spec, options: options, observer: observer)

        // Written unbuffered, like the live deltas, so the answer always precedes the summary line.
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            FileHandle.standardOutput.write(try encoder.encode(result) + Data("\n".utf8))
        } else {
            FileHandle.standardOutput.write(Data(((live ? "" : result.outputText) + "\n").utf8))
        }
        FileHandle.standardError.write(Data((result.summaryLine + "\n").utf8))
    }
}
