@testable import AIDE
import AIDETesting
import Foundation
import Testing

/// Code extraction over the corpus of answer shapes, alone and through the real loop.
struct ExtractionTests {
    @Test func theCorpusHasAtLeastFortyShapesWithDistinctNames() {
        #expect(ExtractionCorpus.all.count >= 40)
        #expect(Set(ExtractionCorpus.all.map(\.name)).count == ExtractionCorpus.all.count)
    }

    @Test(arguments: ExtractionCorpus.all.map(\.name))
    func eachShapeYieldsItsExpectedCode(name: String) async throws {
        let shape = ExtractionCorpus.all.first { $0.name == name }!
        let syntax = PythonSyntaxCheck(python: TestPython.path)
        let result = try await CodeExtraction.proposal(from: shape.answer, problem: syntax.problem(in:))
        switch result {
        case .success(let proposal):
            #expect(proposal.code == shape.code, "\(name)")
        case .failure(let failure):
            #expect(shape.code == nil, "\(name): \(failure)")
        }
    }

    @Test func thePlanIsTheProseBeforeTheChosenBlock() async throws {
        let answer = "Fit a line.\r\n\r\n```python\r\nprint(1)\r\n```\r\nDone."
        let proposal = try #require(CodeExtraction.proposal(from: answer))
        #expect(proposal.plan == "Fit a line.")
        #expect(proposal.code == "print(1)")
    }

    @Test func blocksReportLanguageAndWhetherTheyWereClosed() {
        let blocks = CodeExtraction.blocks(in: "~~~~ Python3 extra\nx = 1\n~~~~\n```bash\nls\n```\n```py\ny = 2")
        #expect(blocks.map(\.language) == ["python3", "bash", "py"])
        #expect(blocks.map(\.closed) == [true, true, false])
        #expect(blocks.map(\.isPython) == [true, false, true])
    }

    /// Every runnable shape as one draft of a real `aide run --scripted`: each node's code is the
    /// shape's script, and each node is good with the metric its script printed.
    @Test func everyRunnableShapeBecomesAGoodNodeThroughTheRealLoop() async throws {
        let shapes = ExtractionCorpus.runnable
        var lines: [String] = []
        for (index, shape) in shapes.enumerated() {
            lines.append(ScriptedLoop.codeAnswer(shape.answer))
            lines.append(ScriptedAnswers.review(isBug: false, metric: Double(index)))
        }
        let run = try await ScriptedLoop.run(
            answers: lines, steps: shapes.count, settings: ["search.num_drafts=\(shapes.count)"])
        defer { run.remove() }
        #expect(run.status == 0, "\(run.log.suffix(2000))")
        #expect(run.nodes.count == shapes.count)
        for node in run.nodes {
            let shape = shapes[node.step]
            #expect(node.code == shape.code, "\(shape.name)")
            #expect(!node.isBuggy, "\(shape.name): \(node.bugReasons) \(node.error ?? "")")
            #expect(node.metric == Double(node.step), "\(shape.name)")
        }
    }
}
