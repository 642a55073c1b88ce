import AIDETesting
import Foundation
import Testing

@testable import AIDE

/// CSVTable and Grader: hand-computed metrics, scikit-learn agreement, and every grading error.
struct GraderTests {
    // MARK: CSV

    @Test func csvQuotedFieldsAndLineEndings() throws {
        let text = "\u{FEFF}id,text,n\r\n1,\"a, b\",2\r\n2,\"say \"\"hi\"\"\",3\n3,\"two\nlines\",4\n\n4,,5"
        let table = try CSVTable(text: text)
        #expect(table.header == ["id", "text", "n"])
        #expect(table.rows == [["1", "a, b", "2"], ["2", "say \"hi\"", "3"], ["3", "two\nlines", "4"], ["4", "", "5"]])
        #expect(table.column("text") == ["a, b", "say \"hi\"", "two\nlines", ""])
        #expect(table.columnIndex("n") == 2)
        #expect(table.column("missing") == nil)
    }

    @Test func csvEdgeCases() throws {
        #expect(try CSVTable(text: "a,b\n1,\n").rows == [["1", ""]])
        #expect(try CSVTable(text: "a,b\r1,2\r").rows == [["1", "2"]])
        #expect(try CSVTable(text: "a\n\"\"\n").rows == [[""]])  // a quoted empty field is a record, a blank line is not
        #expect(try CSVTable(text: " a , b \n1,2\n").columnIndex("b") == 1)
        #expect(throws: CSVError.fieldCount(line: 3, found: 3, expected: 2)) {
            try CSVTable(text: "a,b\n1,2\n1,2,3\n")
        }
        #expect(throws: CSVError.unclosedQuote(line: 2)) {
            try CSVTable(text: "a,b\n1,\"open\n2,3\n")
        }
        #expect(throws: CSVError.empty) { try CSVTable(text: "") }
        // Lines are counted through quoted newlines.
        #expect(throws: CSVError.fieldCount(line: 4, found: 1, expected: 2)) {
            try CSVTable(text: "a,b\n\"x\ny\",1\nonly\n")
        }
        #expect(CSVError.fieldCount(line: 4, found: 1, expected: 2).description == "line 4: 1 field, expected 2 as in the header")
        #expect(CSVError.fieldCount(line: 3, found: 3, expected: 2).description == "line 3: 3 fields, expected 2 as in the header")
        #expect(CSVError.empty.description == "the file is empty (no header row)")
    }

    // MARK: Hand-computed metrics

    func grade(_ metric: GradingMetric, truth: [String], predicted: [String]) throws -> Double {
        let spec = GradingSpec(answers: "answers.csv", idColumn: "id", targetColumn: "y", metric: metric)
        let answers = CSVTable(header: ["id", "y"], rows: truth.enumerated().map { ["\($0.offset)", $0.element] })
        // The submission lists ids in reverse order and with its columns swapped: joined by id and name.
        let submission = CSVTable(
            header: ["y", "id"], rows: predicted.enumerated().reversed().map { [$0.element, "\($0.offset)"] })
        return try Grader(spec: spec, answers: answers).score(submission)
    }

    func close(_ a: Double, _ b: Double, _ tolerance: Double = 1e-12) -> Bool { abs(a - b) <= tolerance * max(1, abs(b)) }

    @Test func regressionMetrics() throws {
        #expect(close(try grade(.rmse, truth: ["1", "2", "3"], predicted: ["1", "2", "5"]), (4.0 / 3).squareRoot()))
        #expect(close(try grade(.mae, truth: ["1", "2", "3"], predicted: ["1", "2.5", "5"]), 2.5 / 3))
        let e = M_E
        #expect(close(try grade(.rmseLog, truth: ["1", "\(e)"], predicted: ["\(e)", "\(e)"]), 0.5.squareRoot()))
        #expect(try grade(.rmse, truth: ["10"], predicted: [" 10.0 "]) == 0)
    }

    @Test func accuracyComparesLabelsByValue() throws {
        #expect(try grade(.accuracy, truth: ["1", "0", "1.0", "cat", "True"], predicted: ["1.0", " 0 ", "1", "dog", "true"]) == 0.8)
        #expect(try grade(.accuracy, truth: ["a", "b"], predicted: ["A", "b"]) == 0.5)  // text is case-sensitive
    }

    @Test func f1BinaryAndMacro() throws {
        // tp 2, fp 1, fn 1 for the class 1.
        #expect(close(try grade(.f1, truth: ["1", "1", "0", "0", "1"], predicted: ["1", "0", "1", "0", "1"]), 4.0 / 6))
        #expect(close(try grade(.f1, truth: ["True", "True", "False"], predicted: ["true", "false", "false"]), 2.0 / 3))
        // The larger of two numeric labels is positive: tp 1, fp 0, fn 1.
        #expect(close(try grade(.f1, truth: ["2", "4", "4"], predicted: ["2", "4", "2"]), 2.0 / 3))
        // Macro: a 2/3, b 2/3, c 1.
        #expect(close(try grade(.f1, truth: ["a", "a", "b", "c"], predicted: ["a", "b", "b", "c"]), 7.0 / 9))
        // A label only predicted counts (F1 0), as in scikit-learn.
        #expect(close(try grade(.f1, truth: ["a", "b", "c"], predicted: ["a", "b", "d"]), 2.0 / 4))
        // Two text labels with no obvious positive: macro.
        #expect(close(try grade(.f1, truth: ["yes", "no"], predicted: ["yes", "yes"]), (2.0 / 3 + 0) / 2))
    }

    @Test func rocAUCWithTies() throws {
        #expect(close(try grade(.rocAUC, truth: ["0", "0", "1", "1"], predicted: ["0.1", "0.4", "0.35", "0.8"]), 0.75))
        // Ties count half: (0.5 + 1 + 1 + 1) / 4.
        #expect(close(try grade(.rocAUC, truth: ["0", "1", "0", "1"], predicted: ["0.5", "0.5", "0.2", "0.9"]), 0.875))
        #expect(try grade(.rocAUC, truth: ["0", "1", "0", "1"], predicted: ["3", "3", "3", "3"]) == 0.5)
        #expect(try grade(.rocAUC, truth: ["false", "true"], predicted: ["-2", "7"]) == 1)
        #expect(try grade(.rocAUC, truth: ["1", "2"], predicted: ["0.9", "0.1"]) == 1)  // 1 is the positive class
    }

    @Test func loglossClipsAndAverages() throws {
        #expect(close(try grade(.logloss, truth: ["1", "0"], predicted: ["0.8", "0.3"]), -(log(0.8) + log(0.7)) / 2))
        let clipped = try grade(.logloss, truth: ["0", "1"], predicted: ["1", "1"])
        #expect(clipped.isFinite)
        #expect(abs(clipped - (-log(1e-15) / 2)) < 0.1)
    }

    @Test func idsMatchByValue() throws {
        let spec = GradingSpec(answers: "a.csv", idColumn: "Id", targetColumn: "SalePrice", metric: .rmse)
        let answers = try CSVTable(text: "Id,SalePrice\n7,100\n8,200\n")
        let grader = try Grader(spec: spec, answers: answers)
        #expect(try grader.score(CSVTable(text: "Id,SalePrice\n 8.0 ,200\n7,100\n")) == 0)
    }

    // MARK: Errors

    func gradingError(_ body: () throws -> Double) -> String? {
        do {
            let score = try body()
            Issue.record("expected a GradingError, got the score \(score)")
        } catch let error as GradingError {
            return error.description
        } catch {
            Issue.record("expected a GradingError, got \(error)")
        }
        return nil
    }

    @Test func submissionThatDoesNotMatchTheAnswers() throws {
        let spec = GradingSpec(answers: "answers.csv", idColumn: "id", targetColumn: "y", metric: .rmse)
        let answers = CSVTable(header: ["id", "y"], rows: (1...10).map { ["\($0)", "1"] })
        let grader = try Grader(spec: spec, answers: answers)
        // 1 and 2 twice, 3…9 missing, 11 and 12 extra, "x" not a number.
        let submission = CSVTable(
            header: ["id", "y"],
            rows: [["1", "1"], ["1", "2"], ["2", "x"], ["2", "1"], ["10", "1"], ["11", "1"], ["12", "nan"]])
        let message = gradingError { try grader.score(submission, name: "submission.csv") }
        #expect(
            message
                == "the submission submission.csv does not match the answers (10 ids, submission has 7 rows): "
                + "7 id(s) missing (first: 3, 4, 5, 6, 7, … 2 more); 2 id(s) given more than once (first: 1, 2); "
                + "2 id(s) not in the answers (first: 11, 12); 1 prediction(s) not finite numbers (first: 2 (\"x\"))")
    }

    @Test func submissionColumnsAndFile() throws {
        let spec = GradingSpec(answers: "answers.csv", idColumn: "id", targetColumn: "y", metric: .rmse)
        let grader = try Grader(spec: spec, answers: CSVTable(header: ["id", "y"], rows: [["1", "1"]]))
        #expect(
            gradingError { try grader.score(CSVTable(header: ["id", "pred"], rows: [["1", "1"]]), name: "s.csv") }
                == "the submission s.csv has no column \"y\" (columns: id, pred)")
        #expect(throws: GradingError.missingColumn(.submission, name: "s.csv", column: "y", columns: ["id", "pred"])) {
            try grader.score(CSVTable(header: ["id", "pred"], rows: [["1", "1"]]), name: "s.csv")
        }
        #expect(
            gradingError { try grader.score(CSVTable(header: ["key", "y"], rows: [["1", "1"]]), name: "s.csv") }
                == "the submission s.csv has no column \"id\" (columns: key, y)")
        let folder = TaskTestSupport.temporaryDirectory("grader")
        let missing = folder.appendingPathComponent("submission.csv")
        #expect(gradingError { try grader.score(submission: missing) }?.hasPrefix("cannot read the submission submission.csv") == true)
        try TaskTestSupport.write("id,y\n1,\"2\n", to: missing)
        #expect(throws: GradingError.unreadable(.submission, name: "submission.csv", cause: .unclosedQuote(line: 2))) {
            try grader.score(submission: missing)
        }
        #expect(
            gradingError { try grader.score(submission: missing) }
                == "cannot read the submission submission.csv: line 2: a quoted field is never closed")
        try TaskTestSupport.write("id,y\n1,1.5\n", to: missing)
        #expect(try grader.score(submission: missing) == 0.5)
    }

    @Test func predictionsTheMetricCannotTake() throws {
        let rmseLog = GradingSpec(answers: "a", idColumn: "id", targetColumn: "y", metric: .rmseLog)
        let answers = CSVTable(header: ["id", "y"], rows: [["1", "10"], ["2", "20"], ["3", "30"]])
        let grader = try Grader(spec: rmseLog, answers: answers)
        let negative = CSVTable(header: ["id", "y"], rows: [["1", "0"], ["2", "-5"], ["3", "30"]])
        #expect(
            gradingError { try grader.score(negative, name: "s.csv") }?.hasSuffix(
                "2 prediction(s) not positive, which rmse_log cannot take the log of (first: 1 (0), 2 (-5))") == true)

        let logloss = GradingSpec(answers: "a", idColumn: "id", targetColumn: "y", metric: .logloss)
        let binary = try Grader(spec: logloss, answers: CSVTable(header: ["id", "y"], rows: [["1", "0"], ["2", "1"]]))
        let outside = CSVTable(header: ["id", "y"], rows: [["1", "1.5"], ["2", "0.5"]])
        #expect(
            gradingError { try binary.score(outside, name: "s.csv") }?.hasSuffix(
                "1 prediction(s) not probabilities in [0, 1] (first: 1 (1.5))") == true)
        let labels = CSVTable(header: ["id", "y"], rows: [["1", "yes"], ["2", "0.5"]])
        #expect(gradingError { try binary.score(labels, name: "s.csv") }?.hasSuffix("1 prediction(s) not finite numbers (first: 1 (\"yes\"))") == true)
    }

    @Test func answersTheMetricCannotTake() throws {
        func answersError(_ metric: GradingMetric, _ rows: [[String]], header: [String] = ["id", "y"]) -> String? {
            let spec = GradingSpec(answers: "a", idColumn: "id", targetColumn: "y", metric: metric)
            do {
                _ = try Grader(spec: spec, answers: CSVTable(header: header, rows: rows), name: "answers.csv")
                Issue.record("expected a GradingError")
            } catch {
                return (error as? GradingError)?.description
            }
            return nil
        }
        #expect(answersError(.rocAUC, [["1", "1"], ["2", "1"]]) == "roc_auc needs exactly two classes in the answers, found 1: 1")
        #expect(answersError(.logloss, [["1", "0"], ["2", "1"], ["3", "2"]]) == "logloss needs exactly two classes in the answers, found 3: 0, 1, 2")
        #expect(
            answersError(.rocAUC, [["1", "cat"], ["2", "dog"]])
                == "roc_auc: cannot tell which class is positive among cat, dog; use 0/1 or false/true labels")
        #expect(answersError(.rmse, [["1", "1"], ["2", "many"]]) == "1 answer(s) in answers.csv are not finite numbers (first: 2 (\"many\"))")
        #expect(
            answersError(.rmseLog, [["1", "0"], ["2", "3"]])
                == "1 answer(s) in answers.csv are not positive numbers (rmse_log takes their log) (first: 1 (\"0\"))")
        #expect(answersError(.rmse, [["1", "1"], ["1.0", "2"]]) == "the answers answers.csv repeat 1 id(s) (first: 1)")
        #expect(answersError(.rmse, [["1", "1"]], header: ["id", "z"]) == "the answers answers.csv have no column \"y\" (columns: id, z)")
        #expect(answersError(.rmse, []) == "the answers answers.csv have no rows")
        let missingFile = TaskTestSupport.temporaryDirectory("grader").appendingPathComponent("answers.csv")
        let spec = GradingSpec(answers: "answers.csv", idColumn: "id", targetColumn: "y", metric: .rmse)
        #expect(throws: GradingError.self) { try Grader(spec: spec, answersFile: missingFile) }
    }

    // MARK: scikit-learn

    /// Deterministic pseudo-random numbers in [0, 1).
    struct Generator {
        var state: UInt64
        mutating func next() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) / Double(1 << 53)
        }
    }

    static let sklearnCheck = """
        import json, sys
        import numpy as np, pandas as pd
        from sklearn import metrics
        folder = sys.argv[1]
        def pair(name, dtype=None):
            a = pd.read_csv(f"{folder}/{name}_answers.csv", dtype=dtype)
            s = pd.read_csv(f"{folder}/{name}_submission.csv", dtype=dtype)
            m = a.merge(s, on="id", suffixes=("_true", "_pred"))
            return m["y_true"], m["y_pred"]
        out = {}
        t, p = pair("regression")
        out["rmse"] = float(np.sqrt(metrics.mean_squared_error(t, p)))
        out["mae"] = float(metrics.mean_absolute_error(t, p))
        out["rmse_log"] = float(np.sqrt(metrics.mean_squared_error(np.log(t), np.log(p))))
        t, p = pair("scores")
        out["roc_auc"] = float(metrics.roc_auc_score(t, p))
        out["logloss"] = float(metrics.log_loss(t, p))
        t, p = pair("binary")
        out["f1"] = float(metrics.f1_score(t, p))
        out["accuracy"] = float(metrics.accuracy_score(t, p))
        t, p = pair("multiclass", dtype=str)
        out["f1_macro"] = float(metrics.f1_score(t, p, average="macro"))
        out["accuracy_multiclass"] = float(metrics.accuracy_score(t, p))
        print(json.dumps(out))
        """

    @Test(.enabled(Comment(rawValue: TaskTestSupport.noPython)) { await TaskTestSupport.pythonAvailable() })
    func metricsAgreeWithScikitLearn() async throws {
        let python = try #require(await offPool { TaskTestSupport.python })
        let folder = TaskTestSupport.temporaryDirectory("sklearn")
        defer { try? FileManager.default.removeItem(at: folder) }
        var random = Generator(state: 42)
        let n = 300
        func write(_ name: String, truth: [String], predicted: [String]) throws {
            // Answers in order, the submission shuffled (reversed and rotated).
            let answers = "id,y\n" + truth.enumerated().map { "\($0.offset + 100),\($0.element)\n" }.joined()
            let order = Array((0..<n).reversed()).rotated(by: 37)
            let submission = "id,y\n" + order.map { "\($0 + 100),\(predicted[$0])\n" }.joined()
            try TaskTestSupport.write(answers, to: folder.appendingPathComponent("\(name)_answers.csv"))
            try TaskTestSupport.write(submission, to: folder.appendingPathComponent("\(name)_submission.csv"))
        }
        let truth = (0..<n).map { _ in 50 + 200 * random.next() }
        try write(
            "regression", truth: truth.map { "\($0)" }, predicted: truth.map { "\($0 * (0.7 + 0.6 * random.next()))" })
        let classes = (0..<n).map { _ in random.next() < 0.4 ? 1 : 0 }
        // Scores rounded to one decimal, so many tie (across classes too).
        let scores = classes.map { min(0.95, max(0.05, ((0.3 * Double($0) + 0.6 * random.next()) * 10).rounded() / 10)) }
        try write("scores", truth: classes.map(String.init), predicted: scores.map { "\($0)" })
        let predictedClasses = classes.map { random.next() < 0.8 ? $0 : 1 - $0 }
        try write("binary", truth: classes.map(String.init), predicted: predictedClasses.map(String.init))
        let labels = ["red", "green", "blue", "cyan"]
        let trueLabels = (0..<n).map { _ in labels[Int(random.next() * 3)] }  // cyan is never true
        let predictedLabels = trueLabels.map { random.next() < 0.6 ? $0 : labels[Int(random.next() * 4)] }
        try write("multiclass", truth: trueLabels, predicted: predictedLabels)

        let script = folder.appendingPathComponent("check.py")
        try TaskTestSupport.write(Self.sklearnCheck, to: script)
        let result = try await offPool { Result { try TaskTestSupport.run(python, [script.path, folder.path]) } }.get()
        #expect(result.status == 0, "\(result.output)")
        let line = try #require(result.output.split(separator: "\n").last)
        let expected = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Double])

        func ours(_ name: String, _ metric: GradingMetric) throws -> Double {
            let spec = GradingSpec(answers: "a", idColumn: "id", targetColumn: "y", metric: metric)
            let grader = try Grader(spec: spec, answersFile: folder.appendingPathComponent("\(name)_answers.csv"))
            return try grader.score(submission: folder.appendingPathComponent("\(name)_submission.csv"))
        }
        let cases: [(String, String, GradingMetric)] = [
            ("rmse", "regression", .rmse), ("mae", "regression", .mae), ("rmse_log", "regression", .rmseLog),
            ("roc_auc", "scores", .rocAUC), ("logloss", "scores", .logloss), ("f1", "binary", .f1),
            ("accuracy", "binary", .accuracy), ("f1_macro", "multiclass", .f1), ("accuracy_multiclass", "multiclass", .accuracy),
        ]
        for (key, file, metric) in cases {
            let theirs = try #require(expected[key], "scikit-learn gave no \(key)")
            let mine = try ours(file, metric)
            #expect(close(mine, theirs, 1e-9), "\(key): ours \(mine), scikit-learn \(theirs)")
        }
        // The data really has ties and more than two labels.
        #expect(Set(scores).count < 12)
        #expect(expected["roc_auc"].map { $0 > 0.6 && $0 < 1 } == true)
    }
}

extension Array {
    fileprivate func rotated(by k: Int) -> [Element] {
        guard !isEmpty else { return self }
        let shift = k % count
        return Array(self[shift...] + self[..<shift])
    }
}
