import AIDE
import ArgumentParser
import Foundation

/// `aide run --data DIR --goal "…" --eval "…"`: a search without a task file; also what aideml's
/// command line turns into.
struct InferredTaskOptions: ParsableArguments {
    @Option(help: "The data folder (train/test/sample_submission files); the task is inferred from it.")
    var data: String?

    @Option(help: "With --data: what to achieve, in one line (aideml's goal).")
    var goal: String?

    @Option(help: "With --data: how solutions are judged, in words (aideml's eval); its metric sets the direction.")
    var eval: String?

    @Option(help: "With --data: a longer description of the task, from a file (aideml's desc_file).")
    var descFile: String?

    @Option(help: "With --data: the task's name, which starts the run's id (aideml's exp_name).")
    var name: String?

    func validate() throws {
        if data == nil, goal != nil || eval != nil || descFile != nil || name != nil {
            throw ValidationError("--goal, --eval, --desc-file and --name describe a task inferred from --data; add --data <folder>")
        }
        if data != nil, goal == nil, descFile == nil {
            throw ValidationError("--data needs --goal \"…\" (or --desc-file): what the search should achieve")
        }
    }

    /// The inferred task, checked and loaded as any task file is, with the run's options applied.
    func load(options: RunOptions, runsDirectory: URL) throws -> InferredTask {
        let overrides = options.overrides
        guard let data else { throw ValidationError("no --data folder") }
        let dataURL = URL(fileURLWithPath: data)
        var draft = try TaskInference.draft(
            dataDirectory: dataURL, taskFolder: runsDirectory, name: name, goal: goal, eval: eval,
            descriptionFile: descFile.map { URL(fileURLWithPath: $0) }, absolutePaths: true)
        // Only a metric the text names settles the direction; a default for the task kind is a guess.
        let named = draft.todos["metric.direction"] == nil
        if !named, !overrides.contains(where: { $0.hasPrefix("metric.direction=") }) {
            throw InferredTaskError.directionUnknown(eval: eval)
        }
        draft.directionKnown = true  // named, or an override sets it
        draft.todos["metric.direction"] = nil
        draft.todos["grading"] = nil
        try FileManager.default.createDirectory(at: runsDirectory, withIntermediateDirectories: true)
        let pending = runsDirectory.appendingPathComponent(".inferred-\(UUID().uuidString).task.yaml")
        try Data(draft.yaml().utf8).write(to: pending)
        defer { try? FileManager.default.removeItem(at: pending) }
        let task = try options.loadTask(pending)
        draft.spec = task.spec
        draft.header = ["Inferred by aide from \(dataURL.standardizedFileURL.path); keep it and run it with: aide run task.yaml"]
        let yaml = draft.yaml()
        FileHandle.standardError.write(Data("inferred task.yaml:\n\(yaml)\n".utf8))
        return InferredTask(task: task, yaml: yaml)
    }
}

/// Why a task cannot be inferred from the command line; worded in the terms of the line it came from.
enum InferredTaskError: Error {
    /// Neither the eval text nor a description names a metric whose direction is known.
    case directionUnknown(eval: String?)

    /// The one line a user reads: with aideml's keys (`eval=`, `metric.direction=`) or `aide run`'s flags.
    func message(aidemlKeys: Bool) -> String {
        switch self {
        case .directionUnknown(let eval):
            let evalKey = aidemlKeys ? "eval=" : "--eval "
            let directionKey = aidemlKeys ? "metric.direction=" : "--set metric.direction="
            let why = eval.map { "the eval text \"\($0)\" names no metric aide knows" }
                ?? "nothing names the metric (no \(aidemlKeys ? "eval=" : "--eval"), and no description names one)"
            return "\(why), so aide cannot tell whether a lower or a higher score is better: add \(evalKey)\"…\" naming it "
                + "(e.g. RMSE, MAE, log loss, accuracy, AUC, F1) or \(directionKey)minimize (or \(directionKey)maximize)"
        }
    }

    /// Prints the error as `aide` prints its own and fails the command.
    func exit(aidemlKeys: Bool) -> ExitCode {
        FileHandle.standardError.write(Data("Error: \(message(aidemlKeys: aidemlKeys))\n".utf8))
        return ExitCode.failure
    }
}

/// A task inferred from a data folder, and its task file's text.
struct InferredTask {
    var task: LoadedTask
    var yaml: String

    /// Saves the task file in the run's folder.
    func keep(in runFolder: URL) throws {
        let file = runFolder.appendingPathComponent("task.yaml")
        try Data(yaml.utf8).write(to: file)
        FileHandle.standardError.write(Data("task file: \(file.path)\n".utf8))
    }
}
