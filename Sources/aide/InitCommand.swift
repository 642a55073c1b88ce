import AIDE
import ArgumentParser
import Foundation

/// `aide init`: writes a task.yaml inferred from a data folder or an MLE-bench competition, or
/// shows what an existing task file resolves to.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a task.yaml from a data folder or an MLE-bench competition, or check one.",
        discussion: """
            Examples:
              aide init data/                          # looks at train/test/sample_submission; writes ./task.yaml
              aide init data/ --eval "RMSE of log prices" --goal "Predict SalePrice" -o tasks/mine/task.yaml
              aide init --mlebench ~/.cache/mle-bench/data/spaceship-titanic/prepared
              aide init --check tasks/house-prices/task.yaml
            """
    )

    @Argument(help: "The data folder (or, with --check, the task file).")
    var path: String?

    @Option(help: "An mle-bench prepared competition (<competition>/prepared, with public/ and private/).")
    var mlebench: String?

    @Flag(help: "Load an existing task file and print what it resolves to: data files, answers, grader, Python.")
    var check = false

    @Option(name: [.short, .customLong("output")], help: "Where to write the task file.")
    var output: String = "task.yaml"

    @Flag(help: "Overwrite the output file if it exists.")
    var force = false

    @Option(help: "What to achieve, in one line.")
    var goal: String?

    @Option(help: "How solutions are judged, in words; its metric sets the direction.")
    var eval: String?

    @Option(help: "The task's name (default: the data folder's, or its parent's for data/ or public/).")
    var name: String?

    @Option(help: "The Python scripts run with (exec.python).")
    var python: String = "python3"

    func validate() throws {
        if check {
            guard path != nil, mlebench == nil else { throw ValidationError("--check takes a task file: aide init --check task.yaml") }
        } else if (path == nil) == (mlebench == nil) {
            throw ValidationError("give a data folder, or --mlebench <prepared folder>: one of them")
        }
    }

    func run() throws {
        if check {
            print(try TaskCheck.describe(TaskLoader.load(URL(fileURLWithPath: path!))))
            return
        }
        let outputURL = URL(fileURLWithPath: output).standardizedFileURL
        if FileManager.default.fileExists(atPath: outputURL.path), !force {
            throw ValidationError("\(output) exists; choose another --output or add --force")
        }
        let folder = outputURL.deletingLastPathComponent()
        var draft: TaskDraft
        if let mlebench {
            draft = try TaskInference.mlebenchDraft(prepared: URL(fileURLWithPath: mlebench), taskFolder: folder, python: python)
            if let name { draft.spec.name = name }
        } else {
            draft = try TaskInference.draft(
                dataDirectory: URL(fileURLWithPath: path!), taskFolder: folder, name: name, goal: goal, eval: eval,
                python: python)
        }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let yaml = draft.yaml()
        try Data(yaml.utf8).write(to: outputURL)
        print(yaml, terminator: "")
        FileHandle.standardError.write(Data("wrote \(output)\n".utf8))
        for todo in draft.todoList { FileHandle.standardError.write(Data("TODO \(todo)\n".utf8)) }
    }
}
