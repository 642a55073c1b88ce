import Foundation
import Synchronization

/// A backend that answers from a file instead of a model: for tests, demos and debugging prompts.
///
/// The file is JSON lines; each line one answer, taken in order by kind:
/// `{"kind": "code", "text": "plan\n```python\n...\n```"}` answers a call without a function;
/// `{"kind": "review", "arguments": {"is_bug": false, "summary": "...", "metric": 0.9}}` answers a
/// forced function call; either kind may instead carry `"error": "message"` (the call fails) and
/// `"delay": seconds`.
///
/// An answer with `"step": N` is given only to a call of search step N (`CallStep`), in order among
/// that step's answers of its kind; a step that has such answers of a kind takes no other. With
/// parallel workers, calls come in whatever order their steps get to them, so answers keyed by step
/// are what makes the tree the same from one run to the next. Answers without a step go, in order,
/// to every other call.
public final class ScriptedBackend: Backend {
    /// One scripted answer.
    public struct Answer: Sendable, Codable, Hashable {
        public var kind: String
        public var text: String?
        public var arguments: JSONValue?
        public var error: String?
        public var delay: Double?
        /// The search step this answer is for; nil for any call in turn.
        public var step: Int?

        public init(
            kind: String, text: String? = nil, arguments: JSONValue? = nil, error: String? = nil, delay: Double? = nil,
            step: Int? = nil
        ) {
            self.kind = kind
            self.text = text
            self.arguments = arguments
            self.error = error
            self.delay = delay
            self.step = step
        }
    }

    /// Where the next answer of one kind (code or review) for one step, or for any call, comes from.
    private struct Queue: Hashable {
        var review: Bool
        var step: Int?
    }

    private let queues: [Queue: [Answer]]
    private let used = Mutex<[Queue: Int]>([:])

    public init(answers: [Answer]) {
        queues = Dictionary(grouping: answers) { Queue(review: $0.kind == "review", step: $0.step) }
    }

    /// Reads a JSON-lines answer file; a bad line is an error naming its number.
    public convenience init(file: URL) throws {
        let text: String
        do {
            text = try String(contentsOf: file, encoding: .utf8)
        } catch {
            throw LLMError.invalidOptions(.scriptedAnswersUnreadable(path: file.path, reason: ErrorText.reason(error)))
        }
        var answers: [Answer] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let answer: Answer
            do {
                answer = try JSONDecoder().decode(Answer.self, from: Data(trimmed.utf8))
            } catch {
                throw LLMError.invalidOptions(.scriptedAnswerNotJSON(file: file.path, line: number + 1, reason: "\(error)"))
            }
            guard answer.kind == "code" || answer.kind == "review" else {
                throw LLMError.invalidOptions(.scriptedAnswerKind(file: file.path, line: number + 1, kind: answer.kind))
            }
            if let step = answer.step, step < 0 {
                throw LLMError.invalidOptions(.scriptedAnswerStep(file: file.path, line: number + 1, step: step))
            }
            answers.append(answer)
        }
        self.init(answers: answers)
    }

    /// How many answers of each kind have been given.
    public var consumed: (code: Int, review: Int) {
        used.withLock { used in
            used.reduce(into: (code: 0, review: 0)) { counts, entry in
                if entry.key.review { counts.review += entry.value } else { counts.code += entry.value }
            }
        }
    }

    public func query(
        system: String?, user: String?, funcSpec: FunctionSpec?, options: ModelOptions, observer: StreamObserver?
    ) async throws -> QueryResult {
        let start = ContinuousClock.now
        let isReview = funcSpec != nil
        let step = CallStep.current
        let keyed = Queue(review: isReview, step: step)
        let queue = step != nil && queues[keyed] != nil ? keyed : Queue(review: isReview, step: nil)
        let answers = queues[queue] ?? []
        let answer: Answer? = used.withLock { counts in
            let index = counts[queue, default: 0]
            guard index < answers.count else { return nil }
            counts[queue] = index + 1
            return answers[index]
        }
        guard let answer else {
            throw LLMError.invalidOptions(.scriptedAnswersUsedUp(review: isReview, step: queue.step, count: answers.count))
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
