import Foundation

/// A small regression task on disk whose solution scripts need only Python's standard library:
/// `data/train.csv` (id, x, y), `data/test.csv` (id, x), hidden `answers.csv` (id, y), graded by RMSE.
/// The truth is y = 2x + 1, so a script predicting `a*x + b` has a known test score.
public struct SyntheticTask: Sendable {
    public let folder: URL
    public var taskFile: URL { folder.appendingPathComponent("task.yaml") }

    /// Writes the task into a new temporary folder. `extraYAML` is appended to task.yaml.
    public init(name: String = "synthetic", steps: Int = 6, extraYAML: String = "") throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("aide-task-\(UUID().uuidString)")
        let data = folder.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        var train = "id,x,y\n"
        var test = "id,x\n"
        var answers = "id,y\n"
        for id in 0..<40 {
            let x = Double(id) / 4
            if id % 4 == 0 {
                test += "\(id),\(x)\n"
                answers += "\(id),\(2 * x + 1)\n"
            } else {
                train += "\(id),\(x),\(2 * x + 1)\n"
            }
        }
        try Data(train.utf8).write(to: data.appendingPathComponent("train.csv"))
        try Data(test.utf8).write(to: data.appendingPathComponent("test.csv"))
        try Data(answers.utf8).write(to: folder.appendingPathComponent("answers.csv"))
        let yaml = """
            name: \(name)
            goal: Predict y for every id in test.csv.
            description: train.csv has x and y; write id,y to ./working/submission.csv.
            data: data
            metric:
              name: validation RMSE
              direction: minimize
            grading:
              answers: answers.csv
              id_column: id
              target_column: y
              metric: rmse
            budget:
              steps: \(steps)
              script_timeout: 10m
            search:
              num_drafts: 2
              debug_prob: 1.0
              max_debug_depth: 3
              seed: 7
            exec:
              python: \(TestPython.path)

            """ + extraYAML
        try Data(yaml.utf8).write(to: taskFile)
    }

    public func remove() {
        try? FileManager.default.removeItem(at: folder)
    }
}

/// Scripted answers (the JSON lines `ScriptedBackend` reads) for the synthetic task.
public enum ScriptedAnswers {
    /// A working script predicting `slope * x + intercept`; it prints `metric` as its validation
    /// metric and writes the submission. Its test RMSE follows from the slope and intercept.
    public static func goodScript(slope: Double = 2, intercept: Double = 1, metric: Double, submission: Bool = true) -> String {
        var script = """
            import csv

            def predict(x):
                return \(slope) * x + \(intercept)

            if __name__ == "__main__":
                rows = list(csv.DictReader(open("./input/test.csv")))
                print("Validation metric: \(metric)")

            """
        if submission {
            script += """
                    with open("./working/submission.csv", "w") as out:
                        out.write("id,y\\n")
                        for row in rows:
                            out.write(f"{row['id']},{predict(float(row['x']))}\\n")

                """
        }
        return script
    }

    /// One code answer: a plan and the script in a python block; for search step `step` only, when given.
    public static func code(_ script: String, plan: String = "A plan.", delay: Double? = nil, step: Int? = nil) -> String {
        line([
            "kind": "code", "text": .string(plan + "\n```python\n" + script + "\n```"),
            "delay": delay.map(JSONLiteral.number) ?? .null, "step": step.map { .number(Double($0)) } ?? .null,
        ])
    }

    /// A code answer with no code block.
    public static func noCode(_ text: String = "I would fit a linear model.") -> String {
        line(["kind": "code", "text": .string(text)])
    }

    /// A review verdict.
    public static func review(
        isBug: Bool, metric: Double?, summary: String = "Reviewed.", delay: Double? = nil, step: Int? = nil
    ) -> String {
        line([
            "kind": "review",
            "arguments": .object(["is_bug": .bool(isBug), "summary": .string(summary), "metric": metric.map(JSONLiteral.number) ?? .null]),
            "delay": delay.map(JSONLiteral.number) ?? .null, "step": step.map { .number(Double($0)) } ?? .null,
        ])
    }

    /// A call that fails.
    public static func failure(kind: String, message: String) -> String {
        line(["kind": .string(kind), "error": .string(message)])
    }

    /// Writes answer lines to a new temporary file.
    public static func file(_ lines: [String]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("answers-\(UUID().uuidString).jsonl")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url)
        return url
    }

    private static func line(_ fields: [String: JSONLiteral]) -> String {
        JSONLiteral.object(fields.filter { $0.value != .null }).text
    }
}

/// Just enough JSON to write answer lines without depending on the library's types.
enum JSONLiteral: Equatable, ExpressibleByStringLiteral {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case object([String: JSONLiteral])

    init(stringLiteral value: String) { self = .string(value) }

    var text: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .number(let value): return value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : "\(value)"
        case .string(let value):
            let data = (try? JSONEncoder().encode(value)) ?? Data("\"\"".utf8)
            return String(decoding: data, as: UTF8.self)
        case .object(let fields):
            return "{" + fields.keys.sorted().map { JSONLiteral.string($0).text + ":" + fields[$0]!.text }.joined(separator: ",") + "}"
        }
    }
}
