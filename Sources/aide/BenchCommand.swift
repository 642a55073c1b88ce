import AIDE
import ArgumentParser
import Foundation

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run tasks × seeds as separate runs and summarize them (markdown, JSON, JUnit) for CI.",
        discussion: """
            Each task × seed is a normal run in its own folder under runs/bench-<name>/cases/, \
            in a process of its own (`aide bench run-case`), N at a time; the bench's index (bench.sqlite) lets an interrupted bench resume where it stopped.

            Examples:
              aide bench tasks/*/task.yaml --seeds 3 --model claude-sonnet-4-5 --steps 10 --jobs 2 --name nightly
              aide bench --resume runs/bench-nightly              # after Ctrl-C or a crash
              aide bench tasks/*/task.yaml --seeds 3 --baseline main-summary.json --tolerance 0.005
              aide bench tasks/*/task.yaml --seeds 3 --slurm --partition cpu --time 1:00:00 --mem 4G
              aide bench collect runs/bench-nightly --out results/
            """,
        subcommands: [BenchRunCommand.self, BenchRunCaseCommand.self, BenchCollectCommand.self],
        defaultSubcommand: BenchRunCommand.self
    )
}

/// Where the summary goes and what it is compared with; shared by `aide bench` and `aide bench collect`.
struct BenchOutputOptions: ParsableArguments {
    @Option(help: "Write summary.md, summary.json and junit.xml here (default: the bench's folder).")
    var out: String?

    @Option(help: "Compare each task's mean score with an earlier bench's summary.json; exit 3 when one regresses.")
    var baseline: String?

    @Option(help: "Allowed regression: in the metric's units (0.005) or relative to the baseline (2%). Default 0.")
    var tolerance: String = "0"

    func validate() throws {
        _ = try BaselineTolerance(parsing: tolerance)
    }

    /// Summarizes the bench, compares with the baseline, writes the files; returns the exit code
    /// the summary calls for (0, 1 when a run failed, 3 on a regression).
    func report(_ index: BenchIndex) throws -> Int32 {
        var summary = try BenchSummary.load(index)
        if let baseline {
            summary.baseline = try BaselineComparison.compare(
                summary, baselineFile: baseline, tolerance: try BaselineTolerance(parsing: tolerance))
        }
        let directory = out.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? index.folder
        let files = try summary.write(to: directory)
        print(summary.markdown(), terminator: "")
        let stderr = FileHandle.standardError
        stderr.write(Data("[bench] wrote \(files.map(\.path).joined(separator: ", "))\n".utf8))
        if summary.totals.incomplete > 0 {
            stderr.write(Data("[bench] \(summary.totals.incomplete) of \(summary.totals.cases) runs not done yet\n".utf8))
        }
        for row in summary.baseline?.regressions ?? [] {
            stderr.write(Data("regression: \(row.message)\n".utf8))
        }
        if summary.totals.failed > 0 { return 1 }
        if !(summary.baseline?.regressions.isEmpty ?? true) { return BenchExit.regression }
        return 0
    }
}

enum BenchExit {
    static let regression: Int32 = 3
}

struct BenchRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run every task × seed (the default subcommand: `aide bench TASKS …`).",
        discussion: """
            --seeds 3 runs seeds 1, 2 and 3 (search.seed); --seeds 4,7 runs seeds 4 and 7. \
            The run options (the same as `aide run`'s) apply to every run. Running the same command \
            again (same --name) or `aide bench --resume <bench>` skips finished runs and resumes the others. \
            Ctrl-C stops starting runs and interrupts the running ones (they can be resumed).

            Exit status: 0 when every run finished (with or without a valid submission: see junit.xml), \
            1 when a run failed, 3 when a task regressed against --baseline, 130 when interrupted.
            """
    )

    @Argument(help: "Task files (task.yaml, or folders holding one).")
    var tasks: [String] = []

    @Option(help: "How many seeds per task: 3 means seeds 1, 2, 3; or a list such as 4,7.")
    var seeds: String = "1"

    @Option(help: "Runs at once.")
    var jobs: Int = 1

    @Option(help: "The bench's name; its folder is <runs-dir>/bench-<name> (default: the time).")
    var name: String?

    @Option(help: "Where the bench folder goes.")
    var runsDir: String = "runs"

    @Option(help: "Continue a bench: its folder, its bench.sqlite, or its name under --runs-dir.")
    var resume: String?

    @OptionGroup var output: BenchOutputOptions

    @OptionGroup(title: "Options of every run")
    var runOptions: RunOptionGroup

    @Flag(help: "Do not run: write an sbatch job array (one element per task × seed) and say how to submit it.")
    var slurm = false

    @Option(help: "Slurm partition (with --slurm).")
    var partition: String?

    @Option(help: "Slurm time limit per run, e.g. 1:00:00 (with --slurm).")
    var time: String?

    @Option(help: "Slurm CPUs per run (with --slurm).")
    var cpusPerTask: Int?

    @Option(help: "Slurm memory per run, e.g. 4G (with --slurm).")
    var mem: String?

    func validate() throws {
        if resume != nil {
            let planned = !tasks.isEmpty || runOptions.options != RunOptions() || name != nil
            if planned { throw ValidationError("a resumed bench keeps its tasks and options; give only --jobs, --out, --baseline and --tolerance") }
            if slurm { throw ValidationError("--slurm plans a new bench; give task files, not --resume") }
        } else if tasks.isEmpty {
            throw ValidationError("give task files (tasks/*/task.yaml), or --resume <bench>")
        }
        if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if !slurm, partition != nil || time != nil || cpusPerTask != nil || mem != nil {
            throw ValidationError("--partition, --time, --cpus-per-task and --mem go with --slurm")
        }
        if let seed = runOptions.overrides.first(where: { $0.split(separator: "=").first?.trimmingCharacters(in: .whitespaces) == "search.seed" }) {
            // Thrown from `validate`, an error reaches ArgumentParser wrapped, not `Aide.main`: worded here.
            throw CommandLineError(description: ErrorText.commandLine(BenchError.seedOverride(seed)))
        }
        if runOptions.record != nil { throw ValidationError("--record is for one run; a bench's runs would write one cassette at once") }
        if let name { try BenchPlan.checkName(name) }
    }

    func run() async throws {
        do {
            let runsDirectory = URL(fileURLWithPath: runsDir, isDirectory: true)
            let index = try openOrCreate(runsDirectory: runsDirectory)
            if slurm {
                try writeSlurmJob(index)
                return
            }
            let runner = try BenchRunner(index: index, child: BenchRunCaseCommand.child)
            let total = runner.config.cases.count
            let done = try index.cases().filter { $0.status == .finished }.count
            let stderr = FileHandle.standardError
            stderr.write(Data("[bench] \(runner.config.name): \(total) runs in \(index.folder.path)\(done > 0 ? " (\(done) already finished)" : ""), \(jobs) at a time\n".utf8))
            let progress = BenchProgress(total: total, done: done)
            let interrupts = InterruptHandler(onSignal: { count in
                if count == 1 {
                    stderr.write(Data("\n[bench] interrupted: starting no more runs; the running ones stop after their current write (Ctrl-C again to stop them now)\n".utf8))
                } else if count > 2 {
                    Foundation.exit(130)
                }
                runner.interrupt()
            })
            let completed = try await runner.run(jobs: jobs) { progress.print($0) }
            interrupts.stop()
            let code = try output.report(index)
            if !completed {
                stderr.write(Data("[bench] interrupted; resume with: aide bench --resume \(index.folder.path)\n".utf8))
                throw ExitCode(130)
            }
            if code != 0 { throw ExitCode(code) }
        }
    }

    /// The bench to run: the one --resume names, the one this command already started (same name
    /// and plan), or a new one.
    private func openOrCreate(runsDirectory: URL) throws -> BenchIndex {
        if let resume {
            return try BenchIndex.open(try BenchFolder.locate(resume, runsDirectory: runsDirectory).root)
        }
        let options = runOptions.options
        let benchName = name ?? BenchPlan.defaultName()
        let config = try BenchPlan.make(
            name: benchName, taskFiles: tasks, seeds: try BenchPlan.seeds(seeds), options: options)
        let folder = BenchFolder(root: runsDirectory.appendingPathComponent("bench-\(benchName)", isDirectory: true))
        if FileManager.default.fileExists(atPath: folder.index.path) {
            let index = try BenchIndex.open(folder.root)
            guard try index.config() == config else {
                throw BenchError.otherBench(folder: folder.root.path)
            }
            return index
        }
        return try BenchIndex.create(folder: folder.root, config: config, status: slurm ? .planned : .running)
    }

    private func writeSlurmJob(_ index: BenchIndex) throws {
        let job = SlurmJob(partition: partition, time: time, cpusPerTask: cpusPerTask, memory: mem, parallel: jobs > 1 ? jobs : nil)
        try job.validate()
        let config = try index.config()
        let folder = BenchFolder(root: index.folder)
        let script = job.script(
            folder: folder, name: config.name, count: config.cases.count,
            command: [BenchRunner.ownExecutable().path, "bench", "run-case", folder.root.path, "--index"],
            workingDirectory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        do {
            try FileManager.default.createDirectory(at: folder.slurmLogs, withIntermediateDirectories: true)
            try OutputFile.write(Data(script.utf8), to: folder.sbatchScript.path)
        } catch {
            throw BenchError.cannotWrite(path: folder.sbatchScript.path, reason: ErrorText.reason(error))
        }
        print("""
            wrote \(folder.sbatchScript.path): \(config.cases.count) array elements (one per task × seed)
            submit:  sbatch \(folder.sbatchScript.path)
            collect: aide bench collect \(folder.root.path)
            """)
    }

}

/// One line per run started and ended, on standard error.
final class BenchProgress: Sendable {
    private let total: Int
    private let done: Counter

    init(total: Int, done: Int) {
        self.total = total
        self.done = Counter()
        for _ in 0..<done { _ = self.done.increment() }
    }

    func print(_ event: BenchCaseEvent) {
        let name = "\(event.benchCase.task) seed \(event.benchCase.seed)"
        let line: String
        switch event.kind {
        case .started:
            line = "[bench] start  \(name)\(event.resumed ? " (resuming)" : "")"
        case .ended:
            let count = event.status == .finished ? done.increment() : done.current
            var text = "[bench] \(event.status.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0))\(name) in \(String(format: "%.1f", event.seconds)) s (\(count)/\(total) finished)"
            if let message = event.message, event.status != .finished { text += ": \(message)" }
            line = text
        }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

struct BenchRunCaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run-case",
        abstract: "Run one case of a bench by its index (what each Slurm array element runs).",
        discussion: "Example: aide bench run-case runs/bench-nightly --index \"$SLURM_ARRAY_TASK_ID\""
    )

    @Argument(help: "The bench: its folder or its bench.sqlite.")
    var bench: String

    @Option(help: "The case's index (0 for the first task's first seed; task by task, seed by seed).")
    var index: Int

    @Option(help: "Where benches are, for a bench named by its name.")
    var runsDir: String = "runs"

    /// How `aide bench` starts a case: this command, in a process of its own.
    static let child = BenchChild(executable: BenchRunner.ownExecutable()) { folder, benchCase in
        ["bench", "run-case", folder.root.path, "--index", String(benchCase.index)]
    }

    func run() async throws {
        do {
            let folder = try BenchFolder.locate(bench, runsDirectory: URL(fileURLWithPath: runsDir, isDirectory: true))
            let runner = try BenchRunner(index: try BenchIndex.open(folder.root))
            let printer = ProgressPrinter()
            let stderr = FileHandle.standardError
            let work = Task {
                try await runner.runHere(caseIndex: index, progress: { printer.handle($0) }) { run, resumed in
                    stderr.write(Data("\(resumed ? "resuming" : "run") \(run.id) in \(run.workspace.root.path)\n".utf8))
                }
            }
            // As `aide run`: the first Ctrl-C lets the steps in flight finish; a second, SIGTERM
            // (a Slurm time limit) or SIGHUP stops at once, the run marked interrupted.
            let interrupts = InterruptHandler { signal, count in
                if signal == SIGINT && count == 1 {
                    runner.interrupt()
                } else {
                    work.cancel()
                }
            }
            let (status, summary) = try await work.value
            interrupts.stop()
            if let summary { print(summary.closingLines) }
            switch status {
            case .finished: return
            case .interrupted: throw ExitCode(130)
            default:
                if summary == nil, let message = try BenchIndex.open(folder.root, readOnly: true).benchCase(index)?.message {
                    stderr.write(Data("Error: \(message)\n".utf8))
                }
                throw ExitCode.failure
            }
        }
    }
}

struct BenchCollectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collect",
        abstract: "Summarize a bench from whatever runs have finished (after a Slurm job array, or any time).",
        discussion: """
            Examples:
              aide bench collect runs/bench-nightly
              aide bench collect runs/bench-nightly --out results/ --baseline main-summary.json --tolerance 2%

            Exit status: 0, 1 when a run failed, 3 when a task regressed against --baseline.
            """
    )

    @Argument(help: "The bench: its folder, its bench.sqlite, or its name under --runs-dir.")
    var bench: String

    @Option(help: "Where benches are, for a bench named by its name.")
    var runsDir: String = "runs"

    @OptionGroup var output: BenchOutputOptions

    func run() async throws {
        do {
            let folder = try BenchFolder.locate(bench, runsDirectory: URL(fileURLWithPath: runsDir, isDirectory: true))
            let code = try output.report(try BenchIndex.open(folder.root, readOnly: true))
            if code != 0 { throw ExitCode(code) }
        }
    }
}
