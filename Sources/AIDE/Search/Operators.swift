import Foundation

/// One LLM call made during a step, kept whether it succeeded or not.
public struct CallTrace: Sendable {
    public var purpose: String
    public var model: String
    public var result: QueryResult?
    public var error: String?
    /// Wall seconds, for a failed call (a successful one carries its own).
    public var latency: Double
    /// Who answered a failed call, when the error says.
    public var provider: String? = nil
    /// Attempts of a failed call and what each failed with.
    public var attempts: (count: Int, failures: [String]) = (1, [])
}

/// A step's LLM calls failed for good; the calls made so far are kept for the journal.
public struct OperatorFailure: Error, CustomStringConvertible {
    public var underlying: any Error
    public var calls: [CallTrace]

    public var description: String { "\(underlying)" }
}

/// What the operators need: the models, the prompt context, and the syntax check.
public struct OperatorContext: Sendable {
    public var backend: any Backend
    public var codeOptions: ModelOptions
    public var reviewOptions: ModelOptions
    public var prompt: PromptContext
    public var syntax: PythonSyntaxCheck
    /// Answers asked for before a step gives up on getting compilable code.
    public var maxCodeAttempts: Int

    public init(
        backend: any Backend, codeOptions: ModelOptions, reviewOptions: ModelOptions, prompt: PromptContext,
        syntax: PythonSyntaxCheck, maxCodeAttempts: Int = 3
    ) {
        self.backend = backend
        self.codeOptions = codeOptions
        self.reviewOptions = reviewOptions
        self.prompt = prompt
        self.syntax = syntax
        self.maxCodeAttempts = maxCodeAttempts
    }
}

/// The operators of the search, plain functions: each turns a node (or nothing) into a proposal,
/// or a run into a review. Which one runs when is the policy's business.
public enum Operators {
    /// The result of a code operator: a proposal, or why none could be had.
    public struct Outcome: Sendable {
        public var proposal: Proposal?
        public var failure: String?
        public var calls: [CallTrace]
    }

    public static func draft(_ context: OperatorContext, memory: String) async throws -> Outcome {
        try await propose(Prompts.draft(context.prompt, memory: memory), purpose: "draft", context)
    }

    public static func improve(_ context: OperatorContext, memory: String, parent: Node) async throws -> Outcome {
        try await propose(Prompts.improve(context.prompt, memory: memory, parent: parent), purpose: "improve", context)
    }

    public static func crossover(
        _ context: OperatorContext, memory: String, first: Node, second: Node
    ) async throws -> Outcome {
        try await propose(
            Prompts.crossover(context.prompt, memory: memory, first: first, second: second), purpose: "crossover", context)
    }

    public static func debug(_ context: OperatorContext, parent: Node) async throws -> Outcome {
        try await propose(Prompts.debug(context.prompt, parent: parent), purpose: "debug", context)
    }

    /// Asks for plan and code until an answer holds Python code that compiles (see `CodeExtraction`), at most
    /// `maxCodeAttempts` times. LLM errors (after the backend's own retries) end the step.
    static func propose(_ prompt: Prompt, purpose: String, _ context: OperatorContext) async throws -> Outcome {
        let system = prompt.rendered()
        var calls: [CallTrace] = []
        var problems: [String] = []
        for attempt in 1...max(1, context.maxCodeAttempts) {
            let start = ContinuousClock.now
            let result: QueryResult
            do {
                result = try await context.backend.query(system: system, user: nil, options: context.codeOptions)
            } catch {
                if error is CancellationError { throw error }
                calls.append(CallTrace(
                    purpose: purpose, model: context.codeOptions.model, result: nil, error: "\(error)",
                    latency: (ContinuousClock.now - start).seconds, provider: (error as? LLMError)?.provider ?? (error as? RecordedFailure)?.provider,
                    attempts: (error as? LLMError)?.attemptHistory ?? (1, ["\(error)"])))
                throw OperatorFailure(underlying: error, calls: calls)
            }
            calls.append(CallTrace(
                purpose: purpose, model: context.codeOptions.model, result: result, error: nil, latency: result.latency))
            let syntax = context.syntax
            switch try await CodeExtraction.proposal(from: result.output.text ?? "", problem: syntax.problem(in:)) {
            case .success(let proposal): return Outcome(proposal: proposal, failure: nil, calls: calls)
            case .failure(let failure): problems.append("answer \(attempt) \(failure)")
            }
        }
        return Outcome(proposal: nil, failure: problems.joined(separator: "; "), calls: calls)
    }

    /// The review of one run. Never throws for an LLM failure (but for a replay miss): it returns no
    /// review and says why; the node is then judged on the harness's checks alone.
    public static func review(
        _ context: OperatorContext, code: String, output: String
    ) async throws -> (review: Review?, failure: String?, call: CallTrace) {
        let system = Prompts.review(context.prompt, code: code, output: output).rendered()
        let start = ContinuousClock.now
        do {
            let result = try await context.backend.query(
                system: system, user: nil, funcSpec: Prompts.reviewFunction, options: context.reviewOptions)
            let call = CallTrace(
                purpose: "review", model: context.reviewOptions.model, result: result, error: nil, latency: result.latency)
            guard let arguments = result.output.arguments, let isBug = arguments["is_bug"]?.boolValue else {
                return (nil, "the review gave no is_bug verdict", call)
            }
            // Only a cross-check of the harness's metric: a number, or a string holding one.
            let metric = (arguments["metric"]?.doubleValue
                ?? arguments["metric"]?.stringValue.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) })
                .flatMap { $0.isFinite ? $0 : nil }
            let summary = arguments["summary"]?.stringValue ?? ""
            return (Review(isBug: isBug, summary: summary, metric: metric), nil, call)
        } catch {
            // A replay miss means the run has left its recording: going on without a review would
            // quietly build another tree.
            if error is CancellationError || error is ReplayMiss { throw error }
            let call = CallTrace(
                purpose: "review", model: context.reviewOptions.model, result: nil, error: "\(error)",
                latency: (ContinuousClock.now - start).seconds, provider: (error as? LLMError)?.provider ?? (error as? RecordedFailure)?.provider,
                attempts: (error as? LLMError)?.attemptHistory ?? (1, ["\(error)"]))
            return (nil, "review call failed: \(error)", call)
        }
    }
}
