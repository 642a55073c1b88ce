import AIDE
import ArgumentParser
import Foundation

/// The options of a run, shared by `aide run` and `aide bench` (every case of a bench gets them);
/// parsed into the library's `RunOptions`. A new run option is a field of `RunOptions` and its flag here.
struct RunOptionGroup: ParsableArguments {
    @Option(help: "The code model (agent.code_model); also reviews unless --feedback-model or the task says otherwise.")
    var model: String?

    @Option(help: "The review model (agent.feedback_model).")
    var feedbackModel: String?

    @Option(help: "Step budget (budget.steps).")
    var steps: Int?

    @Option(
        help: "Wall-time budget: seconds or a duration such as 30m, 2h (budget.time_limit).",
        transform: RunOptionGroup.seconds)
    var timeLimit: Double?

    @Option(help: "Steps in flight at once (search.workers); scripts still run at most exec.parallel at a time.")
    var workers: Int?

    @Option(name: .customLong("set"), help: "Override any task field: key.path=value (repeatable), e.g. search.debug_prob=0.3.")
    var overrides: [String] = []

    @Option(help: "How scripts are isolated: auto, bwrap or none (exec.sandbox).")
    var sandbox: SandboxMode?

    @Option(help: "Base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1.")
    var baseURL: String?

    @Option(help: "Answer from a JSON-lines file of scripted answers instead of a model (for tests and demos).")
    var scripted: String?

    @Option(help: "Append every LLM exchange (request and answer, never a key) to this JSON-lines cassette.")
    var record: String?

    @Option(help: "Answer LLM calls from a cassette made with --record; no model, no key (repeatable: merged).")
    var replay: [String] = []

    @Flag(help: "With --replay: send calls the cassette cannot answer to the model, and record them.")
    var replayFallthrough = false

    /// The typed options, files made absolute (a bench's child runs elsewhere).
    var options: RunOptions {
        RunOptions(
            codeModel: model, feedbackModel: feedbackModel, steps: steps, timeLimit: timeLimit, workers: workers,
            overrides: overrides,
            source: scripted.map { .scripted(file: Self.absolute($0)) } ?? .live(baseURL: baseURL),
            replay: replay.map(Self.absolute), replayFallthrough: replayFallthrough, record: record.map(Self.absolute),
            sandbox: sandbox)
    }

    func validate() throws {
        do {
            try options.validate()
        } catch {
            throw ValidationError(ErrorText.runOption(error))
        }
    }

    static func seconds(_ text: String) throws -> Double {
        guard let value = DurationText.seconds(text), value > 0 else {
            throw ValidationError("--time-limit takes seconds or a duration such as 30m or 2h, not \"\(text)\"")
        }
        return value
    }

    static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path).standardized.path
    }
}

extension SandboxMode: ExpressibleByArgument {}
