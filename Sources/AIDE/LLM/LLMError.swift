import Foundation

/// An error answered by a provider's API, with its own words.
public struct ProviderAPIError: Sendable, Hashable, Codable {
    public var provider: CallProvider
    public var status: Int
    /// The provider's error type (`rate_limit_error`, `invalid_request_error`, …) when it gives one.
    public var type: String?
    public var message: String
    public var requestID: String?
    /// Seconds the provider asked us to wait (`retry-after-ms` / `retry-after`).
    public var retryAfter: Double?
}

/// What a provider would refuse about a query's options (or the scripted answers standing in for
/// one), found before any request is sent.
public enum ModelOptionsProblem: Sendable, Hashable, CustomStringConvertible {
    case noMessage
    /// A `provider/` prefix with nothing after it.
    case noModelName(String)
    case thinkingBudgetTooSmall(budget: Int, minimum: Int)
    case thinkingBudgetNotBelowMaxTokens(budget: Int, maxTokens: Int)
    /// A thinking budget for OpenAI's models, which take a reasoning effort.
    case thinkingBudgetOnOpenAI
    /// A reasoning effort for Claude, which takes a thinking budget.
    case reasoningEffortOnClaude
    case reasoningEffortNeedsReasoningModel(String)
    /// Betas and server tools for a provider other than Anthropic.
    case anthropicOnly(Provider)
    case maxTokensAboveLimit(maxTokens: Int, limit: Int)
    /// An extra parameter that is not `key=value`.
    case extraNotKeyValue(String)
    /// The scripted answers file cannot be read, or a line of it is no answer.
    case scriptedAnswersUnreadable(path: String, reason: String)
    case scriptedAnswerNotJSON(file: String, line: Int, reason: String)
    case scriptedAnswerKind(file: String, line: Int, kind: String)
    case scriptedAnswerStep(file: String, line: Int, step: Int)
    /// Every scripted answer of a kind (for a step, when they are per step) is given; `count` of them.
    case scriptedAnswersUsedUp(review: Bool, step: Int?, count: Int)

    public var description: String {
        switch self {
        case .noMessage: return "a query needs a system or a user message"
        case .noModelName(let model): return "model '\(model)' names a provider but no model"
        case .thinkingBudgetTooSmall(let budget, let minimum):
            return "thinking budget \(budget) is below the API's minimum of \(minimum) tokens"
        case .thinkingBudgetNotBelowMaxTokens(let budget, let maxTokens):
            return "thinking budget \(budget) must be below max_tokens \(maxTokens); raise max_tokens or lower the budget"
        case .thinkingBudgetOnOpenAI:
            return "a thinking budget is an Anthropic (or OpenRouter) option; OpenAI reasoning models take reasoning_effort instead"
        case .reasoningEffortOnClaude: return "reasoning_effort is an OpenAI option; Claude models take a thinking budget instead"
        case .reasoningEffortNeedsReasoningModel(let model): return "reasoning_effort needs a reasoning model; \(model) is not one"
        case .anthropicOnly(let provider): return "betas and server tools are Anthropic options; \(provider.rawValue) cannot take them"
        case .maxTokensAboveLimit(let maxTokens, let limit): return "max_tokens \(maxTokens) is above the model's output limit of \(limit)"
        case .extraNotKeyValue(let assignment): return "extra parameter '\(assignment)' must look like key=value"
        case .scriptedAnswersUnreadable(let path, let reason): return "cannot read scripted answers \(path): \(reason)"
        case .scriptedAnswerNotJSON(let file, let line, let reason): return "\(file):\(line): not a scripted answer: \(reason)"
        case .scriptedAnswerKind(let file, let line, let kind):
            return "\(file):\(line): not a scripted answer: kind must be \"code\" or \"review\", not \"\(kind)\""
        case .scriptedAnswerStep(let file, let line, let step):
            return "\(file):\(line): not a scripted answer: step must be 0 or more, not \(step)"
        case .scriptedAnswersUsedUp(let review, let step, let count):
            return "the scripted backend has no more \(review ? "review" : "code") answers"
                + (step.map { " for step \($0)" } ?? "") + " (it had \(count))"
        }
    }
}

/// Everything a query can fail with. Each case says what went wrong in words a user can act on.
public indirect enum LLMError: Error, Sendable, CustomStringConvertible, LocalizedError {
    case missingAPIKey(provider: Provider, variable: String)
    /// A compatible/… model without a server: `variable` names one.
    case missingBaseURL(variable: String)
    case invalidFunctionSpec(FunctionSpecProblem)
    case invalidOptions(ModelOptionsProblem)
    case api(ProviderAPIError)
    case transport(CurlError)
    case malformedResponse(provider: CallProvider, reason: String, excerpt: String)
    case missingFunctionCall(expected: String, found: String)
    case wrongFunctionCalled(expected: String, called: String)
    case invalidFunctionArguments(function: String, reason: String, raw: String)
    /// An `error` event inside a stream.
    case streamError(provider: CallProvider, type: String, message: String, afterOutput: Bool)
    /// The stream broke off; `received` says how much had arrived.
    case streamInterrupted(provider: CallProvider, received: String, cause: String, beforeOutput: Bool)
    /// Retries ran out; `failures` says what each attempt failed with, in order.
    case gaveUp(attempts: Int, seconds: Double, last: LLMError, failures: [String])

    public var description: String {
        switch self {
        case .missingAPIKey(let provider, let variable):
            return "no API key for \(provider.rawValue): set the environment variable \(variable)"
        case .missingBaseURL(let variable):
            return "compatible/… models need a server: set \(variable)"
        case .invalidFunctionSpec(let problem):
            return "invalid function spec: \(problem)"
        case .invalidOptions(let problem):
            return "invalid model options: \(problem)"
        case .api(let error):
            var text = "\(error.provider) API error \(error.status)"
            if let type = error.type { text += " (\(type))" }
            text += ": \(error.message)"
            if let id = error.requestID { text += " [request \(id)]" }
            return text
        case .transport(let error):
            return "network error: \(error)"
        case .malformedResponse(let provider, let reason, let excerpt):
            return "malformed \(provider) response: \(reason); body starts: \(excerpt)"
        case .missingFunctionCall(let expected, let found):
            return "the model did not call the function '\(expected)'; it answered: \(found)"
        case .wrongFunctionCalled(let expected, let called):
            return "the model called '\(called)' instead of the forced function '\(expected)'"
        case .invalidFunctionArguments(let function, let reason, let raw):
            return "arguments of '\(function)' are not valid JSON (\(reason)): \(raw)"
        case .streamError(let provider, let type, let message, _):
            return "\(provider) stream error (\(type)): \(message)"
        case .streamInterrupted(let provider, let received, let cause, _):
            return "\(provider) stream broke off after \(received): \(cause)"
        case .gaveUp(let attempts, let seconds, let last, _):
            return "gave up after \(attempts) attempts in \(String(format: "%.1f", seconds)) s; last error: \(last)"
        }
    }

    public var errorDescription: String? { description }

    /// The provider that answered with this error, when one did.
    public var provider: CallProvider? {
        switch self {
        case .api(let error): return error.provider
        case .malformedResponse(let provider, _, _), .streamError(let provider, _, _, _),
            .streamInterrupted(let provider, _, _, _):
            return provider
        case .gaveUp(_, _, let last, _): return last.provider
        default: return nil
        }
    }

    /// Whether the same request may succeed if sent again, and how long the provider asked us to wait.
    var retry: (retryable: Bool, after: Double?) {
        switch self {
        case .api(let error):
            // OpenAI answers an exhausted quota with 429 too; waiting does not refill it.
            if error.type == "insufficient_quota" { return (false, nil) }
            return (Self.isRetryable(status: error.status), error.retryAfter)
        case .transport(let error):
            return (error.isTransient, nil)
        case .streamError(_, let type, _, let afterOutput):
            let transient: Set<String> = ["overloaded_error", "api_error", "rate_limit_error", "server_error"]
            return (!afterOutput && transient.contains(type), nil)
        case .streamInterrupted(_, _, _, let beforeOutput):
            return (beforeOutput, nil)
        default:
            return (false, nil)
        }
    }

    /// Statuses worth retrying: timeouts, conflicts, rate limits, and every server-side status (overload
    /// 529, and the 52x a CDN in front of a provider answers).
    static func isRetryable(status: Int) -> Bool {
        status >= 500 || [408, 409, 429].contains(status)
    }

    /// Attempts made and what each failed with, for the call record.
    public var attemptHistory: (attempts: Int, failures: [String]) {
        if case .gaveUp(let attempts, _, _, let failures) = self { return (attempts, failures) }
        return (1, [description])
    }

    /// The first `limit` characters of a body, for error messages.
    static func excerpt(_ data: Data, limit: Int = 300) -> String {
        let text = String(decoding: data.prefix(limit * 4), as: UTF8.self)
        return text.count > limit ? String(text.prefix(limit)) + "…" : text
    }
}
