import AIDE
import ArgumentParser
import Dispatch
import Foundation
import Synchronization

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Search for a solution to a task: draft, run, debug and improve scripts.",
        discussion: """
            Every node (code, output, metric) and every LLM call goes into runs/<run-id>/run.sqlite. \
            Ctrl-C hands out no new step, cuts short the LLM calls in flight, lets running scripts finish, \
            and marks the run interrupted. Ctrl-C again, SIGTERM or SIGHUP (a batch system's time limit) stop \
            at once: the scripts in flight are killed and their steps redone on resume. \
            `aide run --resume <run>` continues a run after any of these, or a crash.

            Examples:
              aide run tasks/house-prices/task.yaml --model claude-sonnet-4-5 --steps 20
              aide run task.yaml --set search.num_drafts=3 --set budget.usd=2 --time-limit 1h
              aide run task.yaml --workers 4 --set search.policy=mcts
              aide run --resume runs/house-prices-20261121-101500-3f2a9c1b --steps 30
              aide run task.yaml --record calls.jsonl            # keep every exchange
              aide run task.yaml --replay calls.jsonl            # the same run again, offline
            """
    )

    @Argument(help: "The task file (task.yaml, or the folder holding it).")
    var task: String?

    @Option(help: "Continue a run: its id, its folder, or its run.sqlite.")
    var resume: String?

    @OptionGroup(title: "Without a task file (the task is inferred and saved as task.yaml in the run folder)")
    var inferred: InferredTaskOptions

    @OptionGroup var runOptions: RunOptionGroup

    @Option(help: "Where runs go.")
    var runsDir: String = "runs"

    func validate() throws {
        if [task != nil, resume != nil, inferred.data != nil].filter({ $0 }).count != 1 {
            throw ValidationError("give a task file, --data <folder> (with --goal and --eval), or --resume <run>: one of them")
        }
        try inferred.validate()
        if resume != nil, runOptions.options.changesTask {
            throw ValidationError(ErrorText.runOption(.resumeChangesTask))
        }
    }

    func run() async throws {
        do {
            try await search()
        } catch let error as InferredTaskError {
            throw error.exit(aidemlKeys: false)
        }
    }

    /// The search itself; `aide data_dir=…` calls it too, to word inference errors in its own keys.
    func search() async throws {
        let options = runOptions.options
        let printer = ProgressPrinter()
        let progress: @Sendable (RunProgress) -> Void = { printer.handle($0) }
        let runsDirectory = URL(fileURLWithPath: runsDir, isDirectory: true)
        let searchRun: SearchRun
        if let resume {
            let workspace = try RunWorkspace.locate(resume, runsDirectory: runsDirectory)
            searchRun = try SearchRun.resume(runFolder: workspace.root, options: options, progress: progress)
        } else {
            if inferred.data != nil {
                let inferredTask = try inferred.load(options: options, runsDirectory: runsDirectory)
                searchRun = try SearchRun.start(
                    task: inferredTask.task, runsDirectory: runsDirectory,
                    dependencies: try RunAssembly.dependencies(for: inferredTask.task, options: options, progress: progress))
                try inferredTask.keep(in: searchRun.workspace.root)
            } else {
                searchRun = try SearchRun.start(
                    taskFile: URL(fileURLWithPath: task!), options: options, runsDirectory: runsDirectory, progress: progress)
            }
        }
        FileHandle.standardError.write(Data("run \(searchRun.id) in \(searchRun.workspace.root.path)\n".utf8))

        let work = Task { await searchRun.run() }
        let stoppedBy = Atomic<Int32>(0)
        let interrupts = InterruptHandler { signal, count in
            if signal == SIGINT && count == 1 {
                Task {
                    let running = await searchRun.requestStop().inFlight
                    FileHandle.standardError.write(Data(
                        "\ninterrupted: finishing \(running) step\(running == 1 ? "" : "s") in flight (Ctrl-C again to stop now)\n".utf8))
                }
                return
            }
            // Stop now: the steps in flight are cancelled, which kills their scripts; the run is
            // marked interrupted and resumes from what was committed.
            guard stoppedBy.exchange(signal, ordering: .relaxed) == 0 else { return }
            FileHandle.standardError.write(Data(
                "\n\(InterruptHandler.name(signal)): stopping now; the steps in flight are redone on --resume\n".utf8))
            work.cancel()
        }
        let summary = await work.value
        interrupts.stop()
        print(summary.closingLines)
        switch summary.status {
        case .finished: return
        case .interrupted:
            let signal = stoppedBy.load(ordering: .relaxed)
            throw ExitCode(128 + (signal == 0 ? SIGINT : signal))
        case .failed, .running: throw ExitCode.failure
        }
    }
}

/// The signals that stop a run: SIGINT (Ctrl-C; the handler is told how many so far), SIGTERM and
/// SIGHUP (what Slurm and a closing terminal send). They are handled on a dispatch queue, never by
/// the default action, which would kill the harness and leave the run marked running.
final class InterruptHandler {
    private let signals: [Int32]
    private let sources: [any DispatchSourceSignal]

    /// Calls `onSignal` with the signal and the number of SIGINTs so far.
    init(signals: [Int32] = [SIGINT, SIGTERM, SIGHUP], onSignal: @escaping @Sendable (Int32, Int) -> Void) {
        let interrupts = Counter()
        self.signals = signals
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { onSignal(number, number == SIGINT ? interrupts.increment() : interrupts.current) }
            source.resume()
            return source
        }
    }

    func stop() {
        for source in sources { source.cancel() }
        for number in signals { signal(number, SIG_DFL) }
    }

    /// SIGINT only, with the number so far (1 for the first).
    convenience init(onSignal: @escaping @Sendable (Int) -> Void) {
        self.init(signals: [SIGINT]) { _, count in onSignal(count) }
    }

    static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGINT: return "interrupted again"
        case SIGTERM: return "SIGTERM"
        case SIGHUP: return "SIGHUP"
        default: return "signal \(signal)"
        }
    }
}

/// Counts signals across the dispatch queue's threads.
final class Counter: Sendable {
    private let value = Atomic<Int>(0)

    func increment() -> Int { value.add(1, ordering: .relaxed).newValue }

    var current: Int { value.load(ordering: .relaxed) }
}

extension RunSummary {
    /// The closing lines `aide run` prints: the summary, and how to continue a run that did not finish.
    var closingLines: String {
        text + (status == .finished ? "" : "\n  continue with: aide run --resume \(folder.path)")
    }
}
