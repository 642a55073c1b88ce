@testable import AIDE
import AIDETesting
import Foundation
import Testing

/// `aide run` driven as a user drives it: a separate process, killed, interrupted, resumed.
/// Where a process is stopped is decided by its answers, not by timing: a few steps answered at
/// once, then an LLM call that stalls for an hour (or a script held at a `ScriptGate`), so what is
/// committed and what is in flight is known whatever the machine's load.
struct RunCommandTests {
    private typealias A = ScriptedAnswers

    /// Starts `aide` with `arguments` and returns the process (stdout and stderr to a log file).
    private func launch(_ arguments: [String], environment: [String: String] = [:], log: URL) throws -> Process {
        try CommandRunner.launch(arguments, environment: environment, log: log)
    }

    private func waitForExit(_ process: Process, timeout: Double = 600) async throws -> Int32 {
        guard let status = try await CommandRunner.waitForExit(process, timeout: timeout) else {
            Issue.record("aide did not finish within \(timeout) s")
            return -1
        }
        return status
    }

    /// The only run folder under `runs`, once it has a database.
    private func runFolder(in runs: URL) async throws -> URL {
        try await Poll.value("a run folder in \(runs.path)") {
            guard let name = try? FileManager.default.contentsOfDirectory(atPath: runs.path).first else { return nil }
            let folder = runs.appendingPathComponent(name)
            return FileManager.default.fileExists(atPath: folder.appendingPathComponent("run.sqlite").path) ? folder : nil
        }
    }

    /// Committed nodes, read without disturbing the writer.
    private func committed(_ folder: URL) -> [Node] {
        (try? RunStore.openReadOnly(path: folder.appendingPathComponent("run.sqlite")).nodes()) ?? []
    }

    private func waitForNodes(_ count: Int, in folder: URL, process: Process) async throws {
        try await Poll.until("\(count) nodes committed") {
            if committed(folder).count >= count { return true }
            if !process.isRunning { throw TestFailure("aide exited before \(count) nodes were committed") }
            return false
        }
    }

    /// Answers for one process (each reads the file from its start): `fast` steps answered at once,
    /// every one the same good script and verdict, then (with `then`) code answers that stall for an
    /// hour or whose scripts wait at a gate; without, plenty more fast ones.
    private func answers(fast: Int, then held: Held? = .stall) throws -> URL {
        var lines: [String] = []
        for index in 0..<60 {
            let script = A.goodScript(metric: 0.5)
            switch index < fast ? nil : held {
            case nil: lines.append(A.code(script))
            case .stall: lines.append(A.code(script, delay: 3600))
            case .gate(let gate): lines.append(A.code(gate.wrap(script, free: 0)))
            }
            lines.append(A.review(isBug: false, metric: 0.5))
        }
        return try A.file(lines)
    }

    /// What holds the steps after the fast ones.
    private enum Held {
        /// The code call stalls (the step is in flight in its LLM call).
        case stall
        /// The script waits at the gate (the step is in flight in its script).
        case gate(ScriptGate)
    }

    /// Kills the scripts held at `gate` (what kill -9 of aide leaves behind) and waits until they are gone.
    private func killHeld(_ gate: ScriptGate) async throws {
        for pid in gate.held { kill(pid, SIGKILL) }
        try await Poll.until("the held scripts are gone") { gate.held.allSatisfy { kill($0, 0) != 0 || isZombie($0) } }
    }

    private func scratch() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("aide-cli-\(UUID().uuidString)")
    }

    @Test func killMinusNineAtSeveralPointsThenResumeCompletesWithoutLosingANode() async throws {
        let task = try SyntheticTask(steps: 8)
        let runs = scratch()
        let gate = try ScriptGate()
        defer { task.remove(); try? FileManager.default.removeItem(at: runs); try? gate.open(); gate.remove() }
        let log = runs.appendingPathExtension("log")

        // Killed after 1 node in an LLM call, after 3 in a script, after 6 in an LLM call.
        var process = try launch(
            ["run", task.taskFile.path, "--scripted", try answers(fast: 1).path, "--runs-dir", runs.path,
             "--set", "exec.sandbox=none"], log: log)
        let folder = try await runFolder(in: runs)
        var seen: [Node] = []
        let phases: [(target: Int, next: URL)] = try [(1, answers(fast: 2, then: .gate(gate))), (3, answers(fast: 3)), (6, answers(fast: 60))]
        for (target, next) in phases {
            try await waitForNodes(target, in: folder, process: process)
            if target == 3 { try await Poll.until("the next script at the gate") { !gate.held.isEmpty } }
            kill(process.processIdentifier, SIGKILL)
            _ = try await waitForExit(process)
            try await killHeld(gate)
            let now = committed(folder)
            #expect(now.count == target)
            // Nothing committed before is lost or changed.
            #expect(Array(now.prefix(seen.count)) == seen)
            seen = now
            process = try launch(["run", "--resume", folder.path, "--scripted", next.path], log: log)
        }
        let status = try await waitForExit(process)
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(status == 0, "\(output.suffix(2000))")
        let final = committed(folder)
        #expect(final.map(\.step) == Array(0..<8))
        #expect(Array(final.prefix(seen.count)) == seen)
        let store = try RunStore.openReadOnly(path: folder.appendingPathComponent("run.sqlite"))
        #expect(try store.run()?.status == .finished)
        #expect(try store.metrics().map(\.step) == Array(0..<8))
        // Folders of steps that never finished are gone; each node has its own.
        let folders = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("nodes").path)
        #expect(folders.count == 8)
    }

    @Test func killMinusNineWithFourWorkersInFlightThenResumeCompletesWithoutLosingANode() async throws {
        let task = try SyntheticTask(steps: 16)
        let runs = scratch()
        let gate = try ScriptGate()
        defer { task.remove(); try? FileManager.default.removeItem(at: runs); try? gate.open(); gate.remove() }
        let log = runs.appendingPathExtension("log")

        // Three steps go through; the next ones are in flight, their scripts held at the gate.
        let process = try launch(
            ["run", task.taskFile.path, "--scripted", try answers(fast: 3, then: .gate(gate)).path, "--runs-dir", runs.path,
             "--workers", "4", "--set", "search.num_drafts=16", "--set", "exec.sandbox=none"], log: log)
        let folder = try await runFolder(in: runs)
        try await waitForNodes(3, in: folder, process: process)
        try await Poll.until("a script at the gate") { !gate.held.isEmpty }
        kill(process.processIdentifier, SIGKILL)
        _ = try await waitForExit(process)
        try await killHeld(gate)
        let before = committed(folder)
        #expect(before.count == 3)

        let resumed = try launch(["run", "--resume", folder.path, "--scripted", try answers(fast: 60).path], log: log)
        let status = try await waitForExit(resumed)
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(status == 0, "\(output.suffix(2000))")
        let final = committed(folder)
        // The budget is met; every node committed before the kill is there, unchanged; the steps
        // that were in flight are gone, and their numbers are not reused.
        #expect(final.count == 16)
        #expect(Set(final.map(\.step)).count == 16)
        for node in before { #expect(final.first { $0.id == node.id } == node) }
        let store = try RunStore.openReadOnly(path: folder.appendingPathComponent("run.sqlite"))
        #expect(try store.run()?.status == .finished)
        let folders = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("nodes").path)
        #expect(folders.count == 16)
    }

    @Test func ctrlCWithWorkersCutsCallsShortAndKeepsWhatFinished() async throws {
        let task = try SyntheticTask(steps: 40)
        let runs = scratch()
        defer { task.remove(); try? FileManager.default.removeItem(at: runs) }
        let log = runs.appendingPathExtension("log")
        // One step goes through; the others wait in LLM calls that would stall for an hour.
        let process = try launch(
            ["run", task.taskFile.path, "--scripted", try answers(fast: 1).path, "--runs-dir", runs.path, "--workers", "3",
             "--set", "search.num_drafts=40"], log: log)
        let folder = try await runFolder(in: runs)
        try await waitForNodes(1, in: folder, process: process)
        kill(process.processIdentifier, SIGINT)
        #expect(try await waitForExit(process) == 130)
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(output.contains("interrupted: finishing"), "\(output.suffix(1000))")
        let store = try RunStore.openReadOnly(path: folder.appendingPathComponent("run.sqlite"))
        #expect(try store.run()?.status == .interrupted)
        // LLM calls in flight were cut short (their steps leave no node), scripts running were
        // finished and stored; no half-made node folder is left.
        let nodes = try store.nodes()
        #expect(Set(nodes.map(\.step)).count == nodes.count)
        #expect(nodes.count == 1)
        let folders = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("nodes").path)
        #expect(folders.count == nodes.count)
    }

    /// Starts a run of 40 steps whose second one stalls in its LLM call for an hour, and returns once
    /// its first node is committed; `answers` are fast ones for resuming it.
    private func startLongRun() async throws
        -> (task: SyntheticTask, runs: URL, answers: URL, log: URL, process: Process, folder: URL)
    {
        let task = try SyntheticTask(steps: 40)
        let runs = scratch()
        let fast = try answers(fast: 60)
        let log = runs.appendingPathExtension("log")
        let process = try launch(
            ["run", task.taskFile.path, "--scripted", try answers(fast: 1).path, "--runs-dir", runs.path], log: log)
        let folder = try await runFolder(in: runs)
        try await waitForNodes(1, in: folder, process: process)
        return (task, runs, fast, log, process, folder)
    }

    @Test func aRunBeingWrittenCannotBeResumedByAnotherProcess() async throws {
        // A stalled run, so it is surely still going when the second process tries.
        let (task, runs, answers, log, process, folder) = try await startLongRun()
        defer { task.remove(); try? FileManager.default.removeItem(at: runs) }

        let second = try await CommandRunner.run(["run", "--resume", folder.path, "--scripted", answers.path])
        #expect(second.status != 0)
        #expect(second.stderr.contains("is being written by process \(process.processIdentifier)"), "\(second.stderr)")

        // kill -9 releases the lock: the run resumes at once (here with a budget of one more step).
        kill(process.processIdentifier, SIGKILL)
        _ = try await waitForExit(process)
        let kept = committed(folder).count
        let resumed = try launch(
            ["run", "--resume", folder.path, "--scripted", answers.path, "--steps", "\(kept + 1)"], log: log)
        #expect(try await waitForExit(resumed) == 0)
        #expect(committed(folder).count == kept + 1)
    }

    @Test func ctrlCMarksTheRunInterruptedAndResumeFinishesIt() async throws {
        // A stalled run, so Ctrl-C surely comes before its end.
        let (task, runs, answers, log, process, folder) = try await startLongRun()
        defer { task.remove(); try? FileManager.default.removeItem(at: runs) }
        kill(process.processIdentifier, SIGINT)
        #expect(try await waitForExit(process) == 130)
        let store = try RunStore.openReadOnly(path: folder.appendingPathComponent("run.sqlite"))
        #expect(try store.run()?.status == .interrupted)
        #expect(try store.run()?.stopReason == "interrupted")
        let kept = try store.nodes()

        let resumed = try launch(
            ["run", "--resume", folder.path, "--scripted", answers.path, "--steps", "\(kept.count + 2)"], log: log)
        #expect(try await waitForExit(resumed) == 0)
        let final = committed(folder)
        #expect(final.count == kept.count + 2)
        #expect(Array(final.prefix(kept.count)) == kept)
        #expect(try store.run()?.status == .finished)
    }

    @Test func hostileScriptsAreContainedAndRecordedAsBuggy() async throws {
        let task = try SyntheticTask(
            steps: 5,
            extraYAML: "")
        let runs = scratch()
        defer { task.remove(); try? FileManager.default.removeItem(at: runs) }
        let secret = "hostile-test-secret-value-0123456789"
        let scripts = [
            "import time\nwhile True:\n    time.sleep(0.1)",
            "import subprocess, os\nchild = subprocess.Popen(['sleep', '300'])\nopen('working/child.pid', 'w').write(str(child.pid))\nprint('parent leaves', child.pid)",
            "import sys\nline = 'x' * 1023 + '\\n'\nfor _ in range(100 * 1024):\n    sys.stdout.write(line)\nprint('last line')",
            "big = bytearray(8 * 1024 ** 3)\nprint(len(big))",
            "import os\nfound = {k: v for k, v in os.environ.items() if 'KEY' in k or 'TOKEN' in k or k.startswith('AIDE')}\nprint('found:', found)\nopen('working/found.txt', 'w').write(repr(found))",
        ]
        var lines: [String] = []
        for script in scripts {
            lines.append(A.code(script, plan: "Hostile."))
            lines.append(A.review(isBug: true, metric: nil, summary: "Hostile."))
        }
        let answers = try A.file(lines)
        let log = runs.appendingPathExtension("log")
        let process = try launch(
            [
                "run", task.taskFile.path, "--scripted", answers.path, "--runs-dir", runs.path,
                "--set", "search.num_drafts=5", "--set", "budget.script_timeout=30s",
                "--set", "exec.memory_limit_mb=1024",
                // Without the sandbox: the harness's own clean-up of the script's process group (the
                // sandbox's is in SandboxAttackTests; its child pid would be one of its namespace).
                "--set", "exec.sandbox=none",
            ],
            environment: ["ANTHROPIC_API_KEY": secret, "OPENAI_API_KEY": secret, "AIDE_COMPATIBLE_API_KEY": secret],
            log: log)
        let status = try await waitForExit(process, timeout: 600)
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(status == 0, "\(output.suffix(2000))")
        let folder = try await runFolder(in: runs)
        let nodes = committed(folder)
        try #require(nodes.count == 5)
        #expect(nodes.allSatisfy { $0.isBuggy })

        #expect(nodes[0].execution?.timedOut == true)

        let childPID = try String(contentsOf: nodeFolder(folder, nodes[1]).appendingPathComponent("working/child.pid"), encoding: .utf8)
        #expect(kill(pid_t(childPID)!, 0) != 0 || isZombie(pid_t(childPID)!), "the orphaned child was killed")

        let flood = try #require(nodes[2].execution)
        #expect(flood.outputBytes >= 100 * 1024 * 1024)
        #expect(flood.output.utf8.count < ExecSpec().outputLimit + 200, "head and tail within the output limit")
        #expect(flood.output.hasSuffix("last line\n") || flood.output.contains("last line"))

        #expect(nodes[3].execution?.exceptionType == "MemoryError" || nodes[3].execution?.signal != nil)

        let found = try String(contentsOf: nodeFolder(folder, nodes[4]).appendingPathComponent("working/found.txt"), encoding: .utf8)
        #expect(found == "{}", "the script saw no key and no AIDE_ variable")
        // The secret is nowhere in the run: not in the database, not in any file.
        let database = try Data(contentsOf: folder.appendingPathComponent("run.sqlite"))
        #expect(database.range(of: Data(secret.utf8)) == nil)
        #expect(!output.contains(secret))
    }

    private func nodeFolder(_ run: URL, _ node: Node) -> URL {
        run.appendingPathComponent("nodes").appendingPathComponent(String(format: "%04d-%@", node.step, node.id))
    }

    /// A killed process nobody reaped (pid 1 in some containers does not) still answers kill(0).
    private func isZombie(_ pid: pid_t) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return true }
        return status.contains("State:\tZ")
    }

    @Test func aMalformedTaskFileIsAnErrorWithItsLineNumber() async throws {
        let task = try SyntheticTask(steps: 3)
        defer { task.remove() }
        var yaml = try String(contentsOf: task.taskFile, encoding: .utf8)
        yaml = yaml.replacingOccurrences(of: "  steps: 3\n", with: "  stpes: 3\n")
        try Data(yaml.utf8).write(to: task.taskFile)
        let line = yaml.components(separatedBy: "\n").firstIndex { $0.contains("stpes") }! + 1
        let result = try await CommandRunner.run(["run", task.taskFile.path, "--runs-dir", scratch().path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("task.yaml:\(line):"), "\(result.stderr)")
        #expect(result.stderr.contains("stpes"))

        let fixed = try SyntheticTask(steps: 3)
        defer { fixed.remove() }
        let badSet = try await CommandRunner.run(["run", fixed.taskFile.path, "--set", "budget.steps=many"])
        #expect(badSet.status != 0)
        // The library throws the override as a fact; the CLI names it by its flag.
        #expect(badSet.stderr == "Error: --set budget.steps=many: budget.steps: expected an integer, found \"many\"\n", "\(badSet.stderr)")
    }
}
