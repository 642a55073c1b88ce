@testable import AIDE
import AIDETesting
import Foundation
import Testing

struct ProgressPrinterTests {
    private func node(step: Int, stage: Stage, buggy: Bool, metric: Double?, test: Double?, reasons: [String] = []) -> Node {
        Node(
            id: "abcd1234", parentID: nil, step: step, stage: stage, plan: "p", code: "c",
            execution: ExecutionResult(output: "", outputBytes: 0, exitCode: 0, duration: 4.25), metric: metric,
            testScore: test, isBuggy: buggy, bugReasons: reasons, createdAt: Date(), finishedAt: Date())
    }

    @Test func theStatusLineShowsStepStageBestTokensCostAndTime() {
        let progress = RunProgress(
            runID: "r", step: 2, stage: "improve: executing", nodes: 2, budgetSteps: 20, bestMetric: 0.12345,
            bestTestScore: 0.13, inputTokens: 11_000, outputTokens: 1_300, costUSD: 0.0421, elapsed: 65, node: nil)
        #expect(
            ProgressPrinter.statusLine(progress)
                == "step 3/20 · improve: executing · best 0.12345 (test 0.13) · 12.3k tokens · $0.042 · 1m05s")
        var empty = progress
        empty.bestMetric = nil
        empty.step = nil
        #expect(ProgressPrinter.statusLine(empty).hasPrefix("2/20 steps · improve: executing · no good node yet"))
        var busy = progress
        busy.inFlight = 3
        #expect(ProgressPrinter.statusLine(busy).hasPrefix("step 3/20 · improve: executing · 3 in flight · best"))
    }

    @Test func nodeLinesSayMetricOrWhyBuggy() {
        #expect(
            ProgressPrinter.nodeLine(node(step: 3, stage: .improve, buggy: false, metric: 0.5, test: 0.25))
                == "   3 improve   metric 0.5  test 0.25  4.2 s")
        #expect(
            ProgressPrinter.nodeLine(
                node(step: 12, stage: .debug, buggy: true, metric: nil, test: nil, reasons: ["raised ValueError", "wrote no ./working/submission.csv"]))
                == "  12 debug     buggy: raised ValueError, wrote no ./working/submission.csv  4.2 s")
        // The longest stage name still leaves a space.
        #expect(
            ProgressPrinter.nodeLine(node(step: 7, stage: .crossover, buggy: false, metric: 0.5, test: nil))
                == "   7 crossover metric 0.5  4.2 s")
    }

    @Test func aBadScriptedAnswerLineIsNamedByNumber() throws {
        let file = try ScriptedAnswers.file([ScriptedAnswers.noCode(), "{\"kind\": \"essay\"}"])
        #expect {
            _ = try ScriptedBackend(file: file)
        } throws: { error in
            guard case .invalidOptions(.scriptedAnswerKind(file.path, 2, "essay"))? = error as? LLMError else { return false }
            return "\(error)" == "invalid model options: \(file.path):2: not a scripted answer: kind must be \"code\" or \"review\", not \"essay\""
        }
    }

    @Test func scriptedAnswersKeyedByStepGoToThatStepOnly() async throws {
        let backend = ScriptedBackend(answers: [
            .init(kind: "code", text: "any 1"), .init(kind: "code", text: "step 2", step: 2),
            .init(kind: "code", text: "any 2"), .init(kind: "code", text: "step 0", step: 0),
        ])
        func ask(_ step: Int?) async throws -> String? {
            try await CallStep.$current.withValue(step) {
                try await backend.query(system: "s", user: nil, options: ModelOptions(model: "m")).output.text
            }
        }
        #expect(try await ask(2) == "step 2")
        #expect(try await ask(1) == "any 1")  // step 1 has no answers of its own
        #expect(try await ask(nil) == "any 2")
        #expect(try await ask(0) == "step 0")
        await #expect {
            _ = try await ask(2)  // its one answer is used: it takes no other
        } throws: { error in
            "\(error)".contains("no more code answers for step 2 (it had 1)")
        }
        #expect(backend.consumed.code == 4)
    }

    @Test func theScriptedBackendSaysWhenItRunsOut() async throws {
        let backend = ScriptedBackend(answers: [.init(kind: "code", text: "only one")])
        _ = try await backend.query(system: "s", user: nil, options: ModelOptions(model: "m"))
        await #expect {
            _ = try await backend.query(system: "s", user: nil, options: ModelOptions(model: "m"))
        } throws: { error in
            "\(error)".contains("no more code answers")
        }
    }
}
