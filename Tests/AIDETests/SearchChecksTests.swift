@testable import AIDE
import AIDETesting
import Foundation
import Testing

/// The harness's own checks, through the real loop (`aide run --scripted`): the submission's
/// content before grading, the metric read from the output, and which nodes may be debugged.
struct SearchChecksTests {
    private typealias A = ScriptedAnswers

    /// The synthetic task's test ids: 0, 4, …, 36.
    static let ids = Array(stride(from: 0, through: 36, by: 4))

    static func rows(_ ids: [Int] = ids, value: (Int) -> String = { "\(2 * Double($0) / 4 + 1)" }) -> String {
        ids.map { "\($0),\(value($0))" }.joined(separator: "\n")
    }

    /// A script that prints `metricLine` and writes `csv` as the submission.
    static func script(writing csv: String?, metricLine: String = "Validation metric: 0.5") -> String {
        var text = "print(\(pythonString(metricLine)))\n"
        if let csv { text += "open('./working/submission.csv', 'w').write(\(pythonString(csv + "\n")))\n" }
        return text
    }

    static func pythonString(_ text: String) -> String {
        String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
    }

    /// Each kind of malformed submission makes its node buggy with a precise reason, which the
    /// debug step of that node then reads in its prompt; the good submission is graded.
    @Test func eachMalformedSubmissionIsBuggyWithAPreciseReasonTheDebugStepSees() async throws {
        let cases: [(name: String, csv: String, reason: String)] = [
            ("missing row", "id,y\n" + Self.rows(Array(Self.ids.dropLast())), "10 rows expected, 9 found; id 36 missing"),
            ("repeated id", "id,y\n" + Self.rows(Self.ids + [8]), "10 rows expected, 11 found; id 8 given more than once"),
            ("unknown id", "id,y\n" + Self.rows(Array(Self.ids.dropFirst()) + [99]), "id 0 missing; id 99 not in the test set"),
            ("wrong columns", "id,pred\n" + Self.rows(), "submission.csv has columns \"id\", \"pred\", expected \"id\", \"y\" as in the grading spec; missing \"y\"; unexpected \"pred\""),
            ("extra column", "id,y,x\n" + Self.rows(value: { "\($0),1" }), "unexpected \"x\""),
            ("NaN prediction", "id,y\n" + Self.rows(value: { $0 == 12 ? "nan" : "1.5" }), "1 empty or NaN value(s) in y (id 12)"),
            ("empty prediction", "id,y\n" + Self.rows(value: { $0 == 16 ? "" : "1.5" }), "1 empty or NaN value(s) in y (id 16)"),
            ("not a number", "id,y\n" + Self.rows(value: { $0 == 20 ? "high" : "1.5" }), "1 value(s) in y not finite numbers (id 20 (\"high\"))"),
            ("ragged CSV", "id,y\n0,1\n4,2,3\n", "submission.csv is not a valid CSV file: line 3: 3 fields, expected 2 as in the header"),
        ]
        var answers: [String] = []
        for item in cases {
            answers.append(A.code(Self.script(writing: item.csv)))
            answers.append(A.review(isBug: false, metric: 0.5))
        }
        // One debug step per failed draft, then a good draft.
        for _ in cases {
            answers.append(A.code(Self.script(writing: "id,y\n" + Self.rows())))
            answers.append(A.review(isBug: false, metric: 0.5))
        }
        let run = try await ScriptedLoop.run(
            answers: answers, steps: 2 * cases.count,
            settings: ["search.num_drafts=\(cases.count)", "search.debug_prob=1"])
        defer { run.remove() }
        #expect(run.status == 0, "\(run.log.suffix(2000))")
        #expect(run.nodes.count == 2 * cases.count)
        for (index, item) in cases.enumerated() {
            let node = try #require(run.nodes.first { $0.step == index })
            #expect(node.isBuggy, "\(item.name)")
            #expect(node.metric == nil, "\(item.name)")
            #expect(node.testScore == nil, "\(item.name): graded although its check failed")
            #expect(node.bugReasons.contains { $0.contains(item.reason) }, "\(item.name): \(node.bugReasons)")
            // The debug step of this node was shown the reason.
            let debug = try #require(run.nodes.first { $0.parentID == node.id && $0.stage == .debug }, "\(item.name)")
            #expect(!debug.isBuggy && debug.testScore != nil, "\(item.name): \(debug.bugReasons)")
        }
        let debugPrompts = run.prompts(containing: "failed")
        for item in cases {
            #expect(debugPrompts.contains { $0.contains(item.reason) }, "\(item.name): no debug prompt shows the reason")
        }
    }

    /// A sample submission in the data sets the columns; a submission that follows it passes.
    @Test func theSampleSubmissionSetsTheColumns() async throws {
        let good = "id,y\n" + Self.rows()
        let answers = [
            A.code(Self.script(writing: good)), A.review(isBug: false, metric: 0.5),
            A.code(Self.script(writing: "id,y,note\n" + Self.rows(value: { "\($0),a" }))), A.review(isBug: false, metric: 0.5),
        ]
        let run = try await ScriptedLoop.run(
            answers: answers, steps: 2, settings: ["search.num_drafts=2"],
            prepare: { task in
                try Data(("id,y,note\n" + Self.rows(value: { _ in "0,x" })).utf8)
                    .write(to: task.folder.appendingPathComponent("data/sample_submission.csv"))
            })
        defer { run.remove() }
        #expect(run.status == 0, "\(run.log.suffix(2000))")
        #expect(run.nodes.count == 2)
        #expect(run.nodes[0].bugReasons.contains { $0.contains("missing \"note\"") && $0.contains("as in sample_submission.csv") })
        #expect(!run.nodes[1].isBuggy, "\(run.nodes[1].bugReasons)")
    }

    /// A submission that passes the check but that the grader cannot score (rmse_log of a negative
    /// prediction) makes its node buggy: it is never best, and best_submission.csv is never it.
    @Test func aNodeWhoseGradingFailsIsNeverBest() async throws {
        let answers = [
            A.code(Self.script(writing: "id,y\n" + Self.rows(value: { _ in "-1" }), metricLine: "Validation metric: 0.01")),
            A.review(isBug: false, metric: 0.01),
            A.code(Self.script(writing: "id,y\n" + Self.rows(), metricLine: "Validation metric: 0.9")),
            A.review(isBug: false, metric: 0.9),
        ]
        let run = try await ScriptedLoop.run(
            answers: answers, steps: 2, settings: ["search.num_drafts=2", "grading.metric=rmse_log"])
        defer { run.remove() }
        #expect(run.status == 0, "\(run.log.suffix(2000))")
        #expect(run.nodes.count == 2)
        #expect(run.nodes[0].isBuggy)
        #expect(run.nodes[0].bugReasons.contains { $0.contains("could not be graded") })
        let store = try RunStore.openReadOnly(path: run.folder.appendingPathComponent("run.sqlite"))
        #expect(try store.run()?.bestNodeID == run.nodes[1].id)
    }

    /// The metric is the harness's reading of the last `Validation metric:` line, whatever the
    /// review says; a review that disagrees is kept as a cross-check and shown in the report.
    @Test func theMetricIsReadByTheHarnessAndTheReviewOnlyCrossChecks() async throws {
        func reviewLine(_ metric: String) -> String {
            #"{"kind":"review","arguments":{"is_bug":false,"summary":"ok","metric":\#(metric)}}"#
        }
        let good = "id,y\n" + Self.rows()
        let answers = [
            // 0: the review gives null.
            A.code(Self.script(writing: good, metricLine: "fold 1: 0.1\nValidation metric: 0.31")), reviewLine("null"),
            // 1: the review gives a string holding a number.
            A.code(Self.script(writing: good, metricLine: "Validation metric: 0.32")), reviewLine("\"0.32\""),
            // 2: the review gives a string that is not a number.
            A.code(Self.script(writing: good, metricLine: "Validation metric: 0.33")), reviewLine("\"about a third\""),
            // 3: the review disagrees with the output.
            A.code(Self.script(writing: good, metricLine: "Validation metric: 0.34")), reviewLine("0.9"),
            // 4: no metric line, though the review read a number elsewhere.
            A.code(Self.script(writing: good, metricLine: "RMSE 0.35")), reviewLine("0.35"),
            // 5: the last of several lines counts.
            A.code(Self.script(writing: good, metricLine: "Validation metric: 0.9\nValidation metric: 0.36")), reviewLine("0.36"),
            // 6: the review calls it a bug although the line is there.
            A.code(Self.script(writing: good, metricLine: "Validation metric: 0.37")),
            #"{"kind":"review","arguments":{"is_bug":true,"summary":"leak","metric":0.37}}"#,
            // 7: the review call fails.
            A.code(Self.script(writing: good, metricLine: "Validation metric: 0.38")), A.failure(kind: "review", message: "overloaded"),
        ]
        let run = try await ScriptedLoop.run(answers: answers, steps: 8, settings: ["search.num_drafts=8"])
        defer { run.remove() }
        #expect(run.status == 0, "\(run.log.suffix(2000))")
        let nodes = run.nodes
        #expect(nodes.count == 8)
        guard nodes.count == 8 else { return }
        #expect(nodes[0].metric == 0.31 && !nodes[0].isBuggy && nodes[0].metricSource == .output)
        #expect(nodes[1].metric == 0.32 && !nodes[1].isBuggy && nodes[1].metricDisagreement == nil)
        #expect(nodes[2].metric == 0.33 && !nodes[2].isBuggy)
        #expect(nodes[3].metric == 0.34 && !nodes[3].isBuggy)
        #expect(nodes[3].metricDisagreement == MetricDisagreement(harness: 0.34, review: 0.9))
        #expect(nodes[4].isBuggy && nodes[4].metric == nil)
        #expect(nodes[4].bugReasons.contains { $0.contains("Validation metric") })
        #expect(nodes[5].metric == 0.36)
        #expect(nodes[6].isBuggy && nodes[6].bugReasons.contains("the review found a bug"))
        #expect(nodes[7].metric == 0.38 && !nodes[7].isBuggy && nodes[7].review == nil)

        let report = try await CommandRunner.run(["report", run.folder.path, "--node", nodes[3].id], timeout: 60)
        #expect(report.stdout.contains("the review read 0.9, the output says 0.34"), "\(report.stdout.prefix(3000))")
    }

    /// A node whose answers held no code is never debugged: with nothing else to do, greedy drafts.
    @Test func aNodeWithoutCodeIsNeverDebugged() async throws {
        var answers = Array(repeating: A.noCode(), count: 6)
        answers.append(A.code(Self.script(writing: "id,y\n" + Self.rows())))
        answers.append(A.review(isBug: false, metric: 0.5))
        let run = try await ScriptedLoop.run(
            answers: answers, steps: 3, settings: ["search.num_drafts=2", "search.debug_prob=1"])
        defer { run.remove() }
        #expect(run.status == 0, "\(run.log.suffix(2000))")
        #expect(run.nodes.map(\.stage) == [.draft, .draft, .draft])
        #expect(run.nodes.prefix(2).allSatisfy { $0.code.isEmpty && $0.isBuggy })
        #expect(run.nodes.last?.isBuggy == false)
    }
}
