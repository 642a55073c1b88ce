@testable import AIDE
import AIDETesting
import Foundation
import Testing

/// The metrics MLE-bench Lite grades with that the first set lacked (rmsle, quadratic_kappa,
/// multiclass_logloss, mean_column_roc_auc), and grading commands.
struct MLEBenchMetricsTests {
    typealias Generator = GraderTests.Generator

    func close(_ a: Double, _ b: Double, _ tolerance: Double = 1e-9) -> Bool { abs(a - b) <= tolerance * max(1, abs(b)) }

    static let sklearnCheck = """
        import json, sys
        import numpy as np, pandas as pd
        from sklearn import metrics
        folder = sys.argv[1]
        def frames(name):
            a = pd.read_csv(f"{folder}/{name}_answers.csv").sort_values("id").reset_index(drop=True)
            s = pd.read_csv(f"{folder}/{name}_submission.csv").sort_values("id").reset_index(drop=True)
            return a, s
        out = {}
        a, s = frames("positive")
        out["rmsle"] = float(np.sqrt(metrics.mean_squared_log_error(a["y"], s["y"])))
        a, s = frames("grades")
        out["quadratic_kappa"] = float(metrics.cohen_kappa_score(a["y"], s["y"], weights="quadratic"))
        a, s = frames("onehot")
        classes = [c for c in a.columns if c != "id"]
        probabilities = s[classes].to_numpy()
        probabilities = probabilities / probabilities.sum(axis=1, keepdims=True)
        out["multiclass_logloss"] = float(metrics.log_loss(a[classes].to_numpy(), probabilities))
        a, s = frames("columns")
        targets = [c for c in a.columns if c != "id"]
        out["mean_column_roc_auc"] = float(metrics.roc_auc_score(a[targets].to_numpy(), s[targets].to_numpy(), average="macro"))
        print(json.dumps(out))
        """

    @Test(.enabled(Comment(rawValue: TaskTestSupport.noPython)) { await TaskTestSupport.pythonAvailable() })
    func newMetricsAgreeWithScikitLearn() async throws {
        let python = try #require(await offPool { TaskTestSupport.python })
        let folder = TaskTestSupport.temporaryDirectory("sklearn-mlebench")
        defer { try? FileManager.default.removeItem(at: folder) }
        var random = Generator(state: 7)
        let n = 240
        /// Answers in id order; the submission in another order (reversed).
        func write(_ name: String, header: [String], truth: [[String]], predicted: [[String]]) throws {
            let head = (["id"] + header).joined(separator: ",") + "\n"
            let answers = head + truth.enumerated().map { "\($0.offset + 10),\($0.element.joined(separator: ","))\n" }.joined()
            let submission = head + predicted.enumerated().reversed().map { "\($0.offset + 10),\($0.element.joined(separator: ","))\n" }.joined()
            try TaskTestSupport.write(answers, to: folder.appendingPathComponent("\(name)_answers.csv"))
            try TaskTestSupport.write(submission, to: folder.appendingPathComponent("\(name)_submission.csv"))
        }
        // rmsle: values from 0 (log1p takes it) to 50.
        let positive = (0..<n).map { _ in (random.next() < 0.1 ? 0 : 50 * random.next()) }
        try write("positive", header: ["y"], truth: positive.map { ["\($0)"] }, predicted: positive.map { ["\($0 * (0.5 + random.next()))"] })
        // quadratic kappa: grades 0...4, predictions near them; grade 4 never predicted.
        let grades = (0..<n).map { _ in Int(random.next() * 5) }
        let guesses = grades.map { g in random.next() < 0.6 ? min(g, 3) : Int(random.next() * 4) }
        try write("grades", header: ["y"], truth: grades.map { ["\($0)"] }, predicted: guesses.map { ["\($0)"] })
        // multi-class log loss: 4 classes one-hot; probabilities not summing to 1, some 0 (clipped).
        let classes = ["c_a", "c_b", "c_c", "c_d"]
        let labels = (0..<n).map { _ in Int(random.next() * 4) }
        let onehot = labels.map { k in (0..<4).map { $0 == k ? "1" : "0" } }
        let probabilities = labels.map { k in
            (0..<4).map { j -> String in
                let base = j == k ? 0.5 + random.next() : random.next() * 0.6
                return "\(random.next() < 0.05 ? 0 : base)"
            }
        }
        try write("onehot", header: classes, truth: onehot, predicted: probabilities)
        // mean column-wise ROC AUC: 3 targets, scores with ties.
        let targets = ["toxic", "insult", "threat"]
        let flags = (0..<n).map { _ in (0..<3).map { t in random.next() < 0.2 + 0.15 * Double(t) } }
        let scores = flags.map { row in row.map { f in "\((((f ? 0.3 : 0) + 0.7 * random.next()) * 10).rounded() / 10)" } }
        try write("columns", header: targets, truth: flags.map { $0.map { $0 ? "1" : "0" } }, predicted: scores)

        let script = folder.appendingPathComponent("check.py")
        try TaskTestSupport.write(Self.sklearnCheck, to: script)
        let result = try await offPool { Result { try TaskTestSupport.run(python, [script.path, folder.path]) } }.get()
        #expect(result.status == 0, "\(result.output)")
        let line = try #require(result.output.split(separator: "\n").last)
        let expected = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Double])

        func ours(_ name: String, _ metric: GradingMetric) throws -> Double {
            let spec = GradingSpec(answers: "a", idColumn: "id", targetColumn: metric.isWide ? "" : "y", metric: metric)
            let grader = try Grader(spec: spec, answersFile: folder.appendingPathComponent("\(name)_answers.csv"))
            return try grader.score(submission: folder.appendingPathComponent("\(name)_submission.csv"))
        }
        let cases: [(String, GradingMetric)] = [
            ("positive", .rmsle), ("grades", .quadraticKappa), ("onehot", .multiclassLogloss), ("columns", .meanColumnROCAUC),
        ]
        for (file, metric) in cases {
            let theirs = try #require(expected[metric.rawValue], "scikit-learn gave no \(metric.rawValue)")
            let mine = try ours(file, metric)
            #expect(close(mine, theirs), "\(metric.rawValue): ours \(mine), scikit-learn \(theirs)")
        }
        #expect(expected["quadratic_kappa"].map { $0 > 0.2 && $0 < 1 } == true)
    }

    @Test func wideSubmissionsAreCheckedLikeOthers() throws {
        let folder = TaskTestSupport.temporaryDirectory("wide")
        defer { try? FileManager.default.removeItem(at: folder) }
        let answers = folder.appendingPathComponent("answers.csv")
        try TaskTestSupport.write("id,a,b\n1,1,0\n2,0,1\n", to: answers)
        let grader = try Grader(
            spec: GradingSpec(answers: "a", idColumn: "id", targetColumn: "", metric: .multiclassLogloss), answersFile: answers)
        func error(_ submission: String) throws -> String {
            let file = folder.appendingPathComponent("s.csv")
            try TaskTestSupport.write(submission, to: file)
            do {
                _ = try grader.score(submission: file)
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(try error("id,a\n1,0.5\n2,0.5\n").contains("lacks column(s) b"))
        #expect(try error("id,a,b\n1,0.9,0.1\n").contains("1 id(s) missing (first: 2)"))
        #expect(try error("id,a,b\n1,0.9,0.1\n2,x,0.2\n").contains("not non-negative probabilities (first: 2)"))
        let perfect = folder.appendingPathComponent("p.csv")
        try TaskTestSupport.write("id,b,a\n2,0.8,0.2\n1,0.1,0.9\n", to: perfect)
        #expect(close(try grader.score(submission: perfect), -(log(0.9) + log(0.8)) / 2))
        // Answers that are not one-hot are refused when the grader is made.
        try TaskTestSupport.write("id,a,b\n1,1,1\n", to: answers)
        #expect(throws: GradingError.self) {
            try Grader(spec: GradingSpec(answers: "a", idColumn: "id", targetColumn: "", metric: .multiclassLogloss), answersFile: answers)
        }
    }

    @Test func kappaNeedsIntegerLabels() throws {
        let folder = TaskTestSupport.temporaryDirectory("kappa")
        defer { try? FileManager.default.removeItem(at: folder) }
        let answers = folder.appendingPathComponent("answers.csv")
        try TaskTestSupport.write("id,y\n1,0\n2,1\n3,2\n", to: answers)
        let grader = try Grader(
            spec: GradingSpec(answers: "a", idColumn: "id", targetColumn: "y", metric: .quadraticKappa), answersFile: answers)
        let submission = folder.appendingPathComponent("s.csv")
        try TaskTestSupport.write("id,y\n1,0\n2,1.5\n3,2\n", to: submission)
        #expect(throws: GradingError.self) { try grader.score(submission: submission) }
        try TaskTestSupport.write("id,y\n1,0\n2,1.0\n3,2\n", to: submission)
        #expect(try grader.score(submission: submission) == 1)
    }

    // MARK: Grading commands

    @Test func scoreIsReadFromTheLastLineOrAJSONReport() {
        #expect(CommandGrader.parseScore("loading\n0.8125\n\n") == 0.8125)
        #expect(CommandGrader.parseScore("{\"score\": 0.5, \"gold_medal\": false}") == 0.5)
        // mle-bench's grade-sample logs an indented report after a log prefix.
        let report = "[2026-12-01 10:00:00,000] [cli.py:190] Competition report:\n[2026-12-01 10:00:00,001] [cli.py:191] {\n    \"competition_id\": \"x\",\n    \"score\": 0.91,\n    \"any_medal\": true\n}"
        #expect(CommandGrader.parseScore(report) == 0.91)
        #expect(CommandGrader.parseScore("score: high") == nil)
        #expect(CommandGrader.parseScore("{\"score\": null}") == nil)
    }

    @Test func commandGetsBothPathsQuotedAndFailuresAreWords() async throws {
        let folder = TaskTestSupport.temporaryDirectory("command grader")
        defer { try? FileManager.default.removeItem(at: folder) }
        let answers = folder.appendingPathComponent("it's answers.csv")
        let submission = folder.appendingPathComponent("sub mission.csv")
        try TaskTestSupport.write("id,y\n1,3\n", to: answers)
        try TaskTestSupport.write("id,y\n1,5\n", to: submission)
        // The score is the difference of the two files' last values, so both paths must arrive intact.
        try TaskTestSupport.write(
            "import sys\ns = float(open(sys.argv[1]).read().split(',')[-1])\na = float(open(sys.argv[2]).read().split(',')[-1])\nprint('grading…')\nprint(s - a)\n",
            to: folder.appendingPathComponent("grade.py"))
        let grader = CommandGrader(command: "python3 grade.py {submission} {answers}", answersFile: answers, folder: folder)
        #expect(try await grader.score(submission: submission) == 2)

        let failing = CommandGrader(command: "echo 'bad column' >&2; exit 3", answersFile: answers, folder: folder)
        await #expect(throws: GradingError.self) { try await failing.score(submission: submission) }
        do {
            _ = try await failing.score(submission: submission)
        } catch {
            #expect("\(error)".contains("exit status 3") && "\(error)".contains("bad column"))
        }
        let silent = CommandGrader(command: "echo done", answersFile: answers, folder: folder)
        do {
            _ = try await silent.score(submission: submission)
            Issue.record("a command printing no score must fail")
        } catch {
            #expect("\(error)".contains("printed no score"))
        }
    }

    @Test(.enabled(if: SandboxAttackTests.sandboxWorks, "bubblewrap cannot run here"))
    func commandRunsInTheScriptsSandbox() async throws {
        let folder = TaskTestSupport.temporaryDirectory("sandboxed grader")
        defer { try? FileManager.default.removeItem(at: folder) }
        let answers = folder.appendingPathComponent("answers.csv")
        let submission = folder.appendingPathComponent("node/working/submission.csv")
        try TaskTestSupport.write("id,y\n1,3\n", to: answers)
        try TaskTestSupport.write("id,y\n1,7\n", to: submission)
        // The task's grade.py reads both copies, and tries to write into the task folder and reach the network.
        try TaskTestSupport.write(
            """
            import sys, socket
            s = float(open(sys.argv[1]).read().split(',')[-1])
            a = float(open(sys.argv[2]).read().split(',')[-1])
            try:
                open("tampered.txt", "w").write("x")
                print("wrote into the task folder")
            except OSError:
                pass
            try:
                socket.create_connection(("1.1.1.1", 53), timeout=2)
                print("reached the network")
            except OSError:
                pass
            print(s - a)
            """, to: folder.appendingPathComponent("grade.py"))
        let sandbox = try Sandbox.make(python: TestPython.path)
        let grader = CommandGrader(
            command: "\(sandbox.python) grade.py {submission} {answers}", answersFile: answers, folder: folder, sandbox: sandbox)
        #expect(try await grader.score(submission: submission) == 4)
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("tampered.txt").path))
    }
}
