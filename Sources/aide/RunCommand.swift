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
            Ctrl-C hands out no new step, lets the steps in flight finish, and marks the run interrupted \
            (Ctrl-C again quits at once); `aide run --resume <run>` continues it, after Ctrl-C or a crash.

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

    @OptionGroup var runOptions: RunOptionGroup

    @Option(help: "Where runs go.")
    var runsDir: String = "runs"

    func validate() throws {
        if (task == nil) == (resume == nil) {
            throw ValidationError("give a task file, or --resume <run>, but not both")
        }
        if resume != nil, runOptions.options.changesTask {
            throw ValidationError(RunOptionGroup.message(.resumeChangesTask))
        }
    }

    func run() async throws {
        let options = runOptions.options
        let printer = ProgressPrinter()
        let progress: @Sendable (RunProgress) -> Void = { printer.handle($0) }
        let runsDirectory = URL(fileURLWithPath: runsDir, isDirectory: true)
        let searchRun: SearchRun
        if let resume {
            let workspace = try RunWorkspace.locate(resume, runsDirectory: runsDirectory)
            searchRun = try SearchRun.resume(runFolder: workspace.root, options: options, progress: progress)
        } else {
            searchRun = try SearchRun.start(
                taskFile: URL(fileURLWithPath: task!), options: options, runsDirectory: runsDirectory, progress: progress)
        }
        FileHandle.standardError.write(Data("run \(searchRun.id) in \(searchRun.workspace.root.path)\n".utf8))

        let work = Task { await searchRun.run() }
        let interrupts = InterruptHandler {
            Task {
                let running = await searchRun.requestStop().inFlight
                FileHandle.standardError.write(Data(
                    "\ninterrupted: finishing \(running) step\(running == 1 ? "" : "s") in flight (Ctrl-C again to quit now)\n".utf8))
            }
        }
        let summary = await work.value
        interrupts.stop()
        print(summary.text)
        switch summary.status {
        case .finished: return
        case .interrupted: throw ExitCode(130)
        case .failed, .running: throw ExitCode.failure
        }
    }
}

/// Ctrl-C once: stop the run (steps in flight finish and are stored, then it is marked interrupted).
/// Ctrl-C twice: leave at once.
final class InterruptHandler {
    private let source: any DispatchSourceSignal

    convenience init(onFirst: @escaping @Sendable () -> Void) {
        self.init { count in
            if count == 1 {
                onFirst()
            } else {
                exit(130)
            }
        }
    }

    /// Calls `onSignal` with the number of SIGINTs so far (1 for the first).
    init(onSignal: @escaping @Sendable (Int) -> Void) {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        let count = Counter()
        source.setEventHandler { onSignal(count.increment()) }
        source.resume()
        self.source = source
    }

    func stop() {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}

/// Counts signals across the dispatch queue's threads.
final class Counter: Sendable {
    private let value = Atomic<Int>(0)

    func increment() -> Int { value.add(1, ordering: .relaxed).newValue }

    var current: Int { value.load(ordering: .relaxed) }
}
