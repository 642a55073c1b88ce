import Foundation

/// One LLM call made during a step, kept whether it succeeded or not.
public struct CallTrace: Sendable {
    public var purpose: CallPurpose
    public var model: String
    public var result: QueryResult?
    public var error: String?
    /// Wall seconds, for a failed call (a successful one carries its own).
    public var latency: Double
    /// Who answered a failed call, when the error says.
    public var provider: CallProvider? = nil
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
    /// Whether improve and debug steps ask for the whole script or a patch (`agent.edit_format`).
    public var editFormat: EditFormat = .full

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

    public static func draft(_ context: OperatorContext, memory: Memory) async throws -> Outcome {
        try await propose(purpose: .draft, context) { _ in Prompts.draft(context.prompt, memory: memory) }
    }

    public static func improve(
        _ context: OperatorContext, memory: Memory, parent: Node, siblings: [Node] = []
    ) async throws -> Outcome {
        try await propose(purpose: .improve, context, editing: parent.code) {
            Prompts.improve(context.prompt, memory: memory, parent: parent, siblings: siblings, edit: $0)
        }
    }

    public static func crossover(
        _ context: OperatorContext, memory: Memory, first: Node, second: Node
    ) async throws -> Outcome {
        try await propose(purpose: .crossover, context) { _ in
            Prompts.crossover(context.prompt, memory: memory, first: first, second: second)
        }
    }

    public static func debug(_ context: OperatorContext, parent: Node, earlierAttempts: [Node] = []) async throws -> Outcome {
        try await propose(purpose: .debug, context, editing: parent.code) {
            Prompts.debug(context.prompt, parent: parent, earlierAttempts: earlierAttempts, edit: $0)
        }
    }

    /// Asks for plan and code until an answer holds Python code that compiles (see `CodeExtraction`), at most
    /// `maxCodeAttempts` times. LLM errors (after the backend's own retries) end the step.
    ///
    /// A step that edits a script (`editing`) asks for SEARCH/REPLACE blocks when the run's
    /// `editFormat` says so. An answer whose patch does not apply, or whose patched script does not
    /// compile, gets one more call asking for the whole script, and the step goes on in full form.
    static func propose(
        purpose: CallPurpose, _ context: OperatorContext, editing parent: String? = nil,
        prompt: (EditForm) -> StepPrompt
    ) async throws -> Outcome {
        var calls: [CallTrace] = []
        var problems: [String] = []
        var attempts = max(1, context.maxCodeAttempts)
        var full = prompt(.full)
        if let parent, context.editFormat.form(editing: parent) == .diff {
            let result = try await ask(prompt(.diff), purpose: purpose, context, calls: &calls)
            switch try await patched(result.output.text ?? "", parent: parent, syntax: context.syntax) {
            case .success(let proposal): return Outcome(proposal: proposal, failure: nil, calls: calls)
            case .failure(let problem):
                problems.append("answer 1 in diff form: \(problem)")
                full = Prompts.wholeScript(after: problem.description, full)
                attempts = max(1, attempts - 1)
            }
        }
        for _ in 1...attempts {
            let result = try await ask(full, purpose: purpose, context, calls: &calls)
            let syntax = context.syntax
            switch try await CodeExtraction.proposal(from: result.output.text ?? "", problem: syntax.problem(in:)) {
            case .success(let proposal): return Outcome(proposal: proposal, failure: nil, calls: calls)
            case .failure(let failure): problems.append("answer \(calls.count) \(failure)")
            }
        }
        return Outcome(proposal: nil, failure: problems.joined(separator: "; "), calls: calls)
    }

    /// One code call, recorded in `calls` whether it answered or not.
    private static func ask(
        _ prompt: StepPrompt, purpose: CallPurpose, _ context: OperatorContext, calls: inout [CallTrace]
    ) async throws -> QueryResult {
        let start = ContinuousClock.now
        do {
            var options = context.codeOptions
            options.systemBlocks = prompt.systemBlocks
            let result = try await context.backend.query(system: prompt.system, user: prompt.user, options: options)
            calls.append(CallTrace(
                purpose: purpose, model: context.codeOptions.model, result: result, error: nil, latency: result.latency))
            return result
        } catch {
            if error is CancellationError { throw error }
            calls.append(CallTrace(
                purpose: purpose, model: context.codeOptions.model, result: nil, error: "\(error)",
                latency: (ContinuousClock.now - start).seconds, provider: (error as? LLMError)?.provider ?? (error as? RecordedFailure)?.provider,
                attempts: (error as? LLMError)?.attemptHistory ?? (1, ["\(error)"])))
            throw OperatorFailure(underlying: error, calls: calls)
        }
    }

    /// The proposal an answer in diff form makes: the parent's script with the answer's blocks
    /// applied, compiling. An answer that holds no block but a whole script that compiles is taken
    /// as it is (the model answered in full form).
    static func patched(
        _ answer: String, parent: String, syntax: PythonSyntaxCheck
    ) async throws -> Result<Proposal, PatchError> {
        guard Patch.looksLikePatch(answer) else {
            switch try await CodeExtraction.proposal(from: answer, problem: syntax.problem(in:)) {
            case .success(let proposal): return .success(proposal)
            case .failure: return .failure(.noBlocks)
            }
        }
        let blocks: [PatchBlock]
        let code: String
        do {
            blocks = try Patch.blocks(in: answer)
            code = try Patch.apply(blocks, to: parent)
        } catch {
            return .failure(error)
        }
        if let problem = try await syntax.problem(in: code) {
            return .failure(.doesNotCompile(problem: problem))
        }
        return .success(Proposal(plan: Patch.plan(of: answer), code: code, patch: Patch.text(of: blocks)))
    }

    /// The review of one run. Never throws for an LLM failure (but for a replay miss): it returns no
    /// review and says why; the node is then judged on the harness's checks alone.
    public static func review(
        _ context: OperatorContext, code: String, output: String, parent: Node? = nil, patch: String? = nil
    ) async throws -> (review: Review?, failure: String?, call: CallTrace) {
        let prompt = Prompts.review(context.prompt, code: code, output: output, parent: parent, patch: patch)
        var options = context.reviewOptions
        options.systemBlocks = prompt.systemBlocks
        let start = ContinuousClock.now
        do {
            let result = try await context.backend.query(
                system: prompt.system, user: prompt.user, funcSpec: Prompts.reviewFunction, options: options)
            let call = CallTrace(
                purpose: .review, model: context.reviewOptions.model, result: result, error: nil, latency: result.latency)
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
                purpose: .review, model: context.reviewOptions.model, result: nil, error: "\(error)",
                latency: (ContinuousClock.now - start).seconds, provider: (error as? LLMError)?.provider ?? (error as? RecordedFailure)?.provider,
                attempts: (error as? LLMError)?.attemptHistory ?? (1, ["\(error)"]))
            return (nil, "review call failed: \(error)", call)
        }
    }
}
