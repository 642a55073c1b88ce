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

/// Everything a query can fail with. Each case says what went wrong in words a user can act on.
public indirect enum LLMError: Error, Sendable, CustomStringConvertible, LocalizedError {
    case missingAPIKey(provider: Provider, variable: String)
    /// A compatible/… model without a server: `variable` names one.
    case missingBaseURL(variable: String)
    case invalidFunctionSpec(FunctionSpecProblem)
    case invalidOptions(String)
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
        case .invalidOptions(let message):
            return "invalid model options: \(message)"
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
