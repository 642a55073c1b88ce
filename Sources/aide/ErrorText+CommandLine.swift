import AIDE
import ArgumentParser
import Foundation

/// The one line `aide` prints for any error: the library's words (`ErrorText.line`), except for the
/// facts that came from the command line, named here by their flags. The library never spells a
/// flag (scripts/check-flags.sh): it throws the fact (an override, the runs folder, a missing server
/// URL) and this is the one place that words it for the person who typed the command.
extension ErrorText {
    static func commandLine(_ error: any Error) -> String {
        switch error {
        case let error as TaskError:
            guard case .override(let text) = error.source else { return line(error) }
            return line(TaskError(file: "--set \(text)", line: error.line, column: error.column, problem: error.problem))
        case let error as RunOptionsError:
            return runOption(error)
        case let error as ReportError:
            switch error {
            case .noRunsFolder(let path): return "no runs folder \(path) (choose one with --runs-dir)"
            case .workspace(let cause): return commandLine(cause)
            default: break
            }
        case let error as WorkspaceError:
            if case .runsInsideData = error { return line(error) + " (--runs-dir)" }
        case let error as SlurmError:
            if case .localRunFolder(let path, let filesystem) = error {
                return "the run folder \(path) is on a local filesystem (\(filesystem)) the compute nodes cannot see; "
                    + "put the runs on a shared filesystem (--runs-dir), or set exec.slurm.shared_filesystem: true if the nodes do see it"
            }
        case let error as LLMError:
            if case .missingBaseURL = error { return line(error) + " or pass --base-url" }
        case let error as BenchError:
            if let text = benchSlurmOption(error) { return text }
        default:
            break
        }
        return line(error)
    }

    /// A `RunOptionsError` in the words of `RunOptionGroup`'s flags.
    static func runOption(_ error: RunOptionsError) -> String {
        switch error {
        case .notPositive(.steps, let value): return "--steps must be at least 1, found \(Int(value))"
        case .notPositive(.workers, let value): return "--workers must be at least 1, found \(Int(value))"
        case .notPositive(_, _): return "--time-limit must be more than 0"
        case .empty(.feedbackModel): return "--feedback-model must not be empty"
        case .empty(_): return "--model must not be empty"
        case .fallthroughWithoutReplay: return "--replay-fallthrough needs --replay FILE"
        case .recordWhileReplaying: return "--record with --replay records only what the cassette cannot answer: add --replay-fallthrough"
        case .scriptedUnderReplay: return "--scripted with --replay answers only what the cassette cannot: add --replay-fallthrough"
        case .fallthroughNeedsRecord: return "--replay-fallthrough with several --replay files needs --record FILE for the new exchanges"
        case .resumeChangesTask: return "a resumed run keeps its task settings; only --steps, --time-limit and --workers may change"
        }
    }

    /// `aide bench`'s facts that came from its flags (`--slurm`'s job settings, `--set`, `--name`).
    static func benchSlurmOption(_ error: BenchError) -> String? {
        switch error {
        case .slurmPartition(let partition): return "--partition \"\(partition)\" is not a partition name"
        case .slurmTime(let time): return "--time takes Slurm's format, such as 30, 1:00:00 or 1-00:00:00; not \"\(time)\""
        case .slurmCPUs: return "--cpus-per-task must be at least 1"
        case .slurmMemory(let memory): return "--mem takes Slurm's format, such as 4G or 500M; not \"\(memory)\""
        case .slurmParallel(let parallel): return "--jobs must be at least 1, found \(parallel)"
        case .seedOverride(let text): return "--set \(text): the bench sets search.seed for each case; use --seeds"
        case .recordsCassette: return "--record is for one run; a bench's runs would write one cassette at once"
        case .otherBench(let folder):
            return "\(folder) holds a bench with other tasks, seeds or options; resume it with "
                + "`aide bench --resume \(folder)`, or choose another --name"
        default: return nil
        }
    }
}

/// An error `aide` has already put in words; printed by ArgumentParser as `Error: <text>`.
struct CommandLineError: Error, CustomStringConvertible {
    var description: String
}

extension Aide {
    /// Parses and runs the command; every error a command throws is worded by `ErrorText.commandLine`
    /// (ArgumentParser's own — usage, help, exit codes — pass through as they are).
    static func main() async {
        let command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error)
        }
        do {
            var command = command
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            // ArgumentParser's own (exit codes, help: its built-in help command throws from `run`)
            // go to it as they are.
            let isParsers = String(reflecting: type(of: error)).hasPrefix("ArgumentParser.")
            exit(withError: isParsers ? error : CommandLineError(description: ErrorText.commandLine(error)))
        }
    }
}
