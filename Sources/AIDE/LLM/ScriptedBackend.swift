import Foundation
import Synchronization

/// A backend that answers from a file instead of a model: for tests, demos and debugging prompts.
///
/// The file is JSON lines; each line one answer, taken in order by kind:
/// `{"kind": "code", "text": "plan\n```python\n...\n```"}` answers a call without a function;
/// `{"kind": "review", "arguments": {"is_bug": false, "summary": "...", "metric": 0.9}}` answers a
/// forced function call; either kind may instead carry `"error": "message"` (the call fails) and
/// `"delay": seconds`.
public final class ScriptedBackend: Backend {
    /// One scripted answer.
    public struct Answer: Sendable, Codable, Hashable {
        public var kind: String
        public var text: String?
        public var arguments: JSONValue?
        public var error: String?
        public var delay: Double?

        public init(kind: String, text: String? = nil, arguments: JSONValue? = nil, error: String? = nil, delay: Double? = nil) {
            self.kind = kind
            self.text = text
            self.arguments = arguments
            self.error = error
            self.delay = delay
        }
    }

    private let code: [Answer]
    private let reviews: [Answer]
    private let used = Mutex<(code: Int, review: Int)>((0, 0))

    public init(answers: [Answer]) {
        code = answers.filter { $0.kind == "code" }
        reviews = answers.filter { $0.kind == "review" }
    }

    /// Reads a JSON-lines answer file; a bad line is an error naming its number.
    public convenience init(file: URL) throws {
        let text: String
        do {
            text = try String(contentsOf: file, encoding: .utf8)
        } catch {
            throw LLMError.invalidOptions("cannot read scripted answers \(file.path): \(ErrorText.reason(error))")
        }
        var answers: [Answer] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            do {
                let answer = try JSONDecoder().decode(Answer.self, from: Data(trimmed.utf8))
                guard answer.kind == "code" || answer.kind == "review" else {
                    throw LLMError.invalidOptions("kind must be \"code\" or \"review\", not \"\(answer.kind)\"")
                }
                answers.append(answer)
            } catch {
                throw LLMError.invalidOptions("\(file.path):\(number + 1): not a scripted answer: \(error)")
            }
        }
        self.init(answers: answers)
    }

    /// How many answers of each kind have been given.
    public var consumed: (code: Int, review: Int) { used.withLock { $0 } }

    public func query(
        system: String?, user: String?, funcSpec: FunctionSpec?, options: ModelOptions, observer: StreamObserver?
    ) async throws -> QueryResult {
        let start = ContinuousClock.now
        let isReview = funcSpec != nil
        let answer: Answer? = used.withLock { counts in
            if isReview {
                guard counts.review < reviews.count else { return nil }
                counts.review += 1
                return reviews[counts.review - 1]
            }
            guard counts.code < code.count else { return nil }
            counts.code += 1
            return code[counts.code - 1]
        }
        guard let answer else {
            throw LLMError.invalidOptions(
                "the scripted backend has no more \(isReview ? "review" : "code") answers "
                    + "(it had \(isReview ? reviews.count : code.count))")
        }
        if let delay = answer.delay, delay > 0 { try await Task.sleep(for: .seconds(delay)) }
        if let message = answer.error {
            throw LLMError.api(ProviderAPIError(
                provider: .scripted, status: 500, type: "scripted_error", message: message, requestID: nil,
                retryAfter: nil))
        }
        let output: QueryOutput
        if let funcSpec {
            output = .functionCall(name: funcSpec.name, arguments: answer.arguments ?? [:])
        } else {
            let text = answer.text ?? ""
            observer?(.text(text))
            output = .text(text)
        }
        // Token counts are estimates (four characters a token), so budgets behave as with a model.
        let promptLength = (system?.count ?? 0) + (user?.count ?? 0)
        let answerLength = answer.text?.count ?? answer.arguments?.jsonText.count ?? 0
        let latency = (ContinuousClock.now - start).seconds
        return QueryResult(
            output: output, latency: latency, lastAttemptLatency: latency,
            usage: TokenUsage(input: promptLength / 4 + 1, output: answerLength / 4 + 1), costUSD: 0,
            info: QueryInfo(
                provider: .scripted, model: options.model, stopReason: isReview ? "tool_use" : "end_turn",
                finishReason: isReview ? .functionCall : .stop, streamed: observer != nil))
    }
}
