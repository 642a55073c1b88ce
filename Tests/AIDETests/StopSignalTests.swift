@testable import AIDE
import AIDETesting
import Foundation
import Testing

/// SIGTERM and SIGHUP (a batch system's time limit, a closed terminal) and a second Ctrl-C stop
/// `aide run` at once: the script in flight and everything it started are killed, the run is marked
/// interrupted, and `--resume` finishes it.
@Suite(.serialized)
struct StopSignalTests {
    private typealias A = ScriptedAnswers

    enum Stop: String, CaseIterable {
        case sigterm, sighup, doubleCtrlC
    }

    /// Signals the script in flight as started (a file), starts a child, and sleeps far past the test.
    static let sleeper = #"""
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
        open("working/started", "w").write(str(child.pid))
        time.sleep(3600)
        """#

    static let modes: [SandboxMode] = SandboxAttackTests.sandboxWorks ? [.bwrap, .none] : [.none]

    @Test(arguments: Stop.allCases, modes)
    func stopsAtOnceMarksTheRunInterruptedAndResumes(stop: Stop, mode: SandboxMode) async throws {
        let task = try SyntheticTask(steps: 2)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("aide-stop-\(UUID().uuidString)")
        let runs = scratch.appendingPathComponent("runs")
        defer { task.remove(); try? FileManager.default.removeItem(at: scratch) }
        try FileManager.default.createDirectory(at: runs, withIntermediateDirectories: true)
        let sleeping = try A.file([A.code(Self.sleeper), A.review(isBug: false, metric: 0.5)])
        let log = scratch.appendingPathComponent("aide.log")
        let process = try CommandRunner.launch(
            [
                "run", task.taskFile.path, "--scripted", sleeping.path, "--runs-dir", runs.path,
                "--set", "exec.sandbox=\(mode.rawValue)", "--set", "budget.script_timeout=10m",
            ],
            log: log)
        let started = try await waitForStartedScript(in: runs, process: process)
        let folder = started.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        #expect(!Self.processes(under: folder).isEmpty, "the script runs in its node folder")

        switch stop {
        case .sigterm: kill(process.processIdentifier, SIGTERM)
        case .sighup: kill(process.processIdentifier, SIGHUP)
        case .doubleCtrlC:
            kill(process.processIdentifier, SIGINT)
            try await waitForLog(log, containing: "interrupted: finishing")
            kill(process.processIdentifier, SIGINT)
        }
        // Stopped by the signal, not by the script's end an hour later (the exit status says which;
        // the wait's limit only keeps a broken aide from hanging the test).
        let status = try await CommandRunner.waitForExit(process, timeout: 600)
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        let expected: Int32 = switch stop {
        case .sigterm: 128 + SIGTERM
        case .sighup: 128 + SIGHUP
        case .doubleCtrlC: 128 + SIGINT
        }
        #expect(status == expected, "\(output.suffix(2000))")
        let store = try RunStore.openReadOnly(path: folder.appendingPathComponent("run.sqlite"))
        #expect(try store.run()?.status == .interrupted)
        #expect(try store.nodes().isEmpty, "the step in flight is not committed; resume redoes it")
        let survivors = try await Self.survivors(under: folder)
        for pid in survivors { kill(pid, SIGKILL) }
        #expect(survivors.isEmpty, "no script process survives: \(survivors)")

        let good = try A.file((0..<2).flatMap { _ in [A.code(A.goodScript(metric: 0.5)), A.review(isBug: false, metric: 0.5)] })
        let resumed = try await CommandRunner.run(
            ["run", "--resume", folder.path, "--scripted", good.path], environment: ["HOME": scratch.path])
        #expect(resumed.status == 0, "\(resumed.stderr.suffix(2000))")
        let after = try RunStore.openReadOnly(path: folder.appendingPathComponent("run.sqlite"))
        #expect(try after.run()?.status == .finished)
        #expect(try after.nodes().map(\.step) == [0, 1])
    }

    /// The `working/started` file of the script in flight, once it exists.
    private func waitForStartedScript(in runs: URL, process: Process) async throws -> URL {
        try await Poll.value("the script started") {
            if let run = try? FileManager.default.contentsOfDirectory(atPath: runs.path).first {
                let nodes = runs.appendingPathComponent(run).appendingPathComponent("nodes")
                for node in (try? FileManager.default.contentsOfDirectory(atPath: nodes.path)) ?? [] {
                    let started = nodes.appendingPathComponent(node).appendingPathComponent("working/started")
                    if FileManager.default.fileExists(atPath: started.path) { return started }
                }
            }
            guard process.isRunning else { throw TestFailure("aide exited before the script started") }
            return nil
        }
    }

    private func waitForLog(_ log: URL, containing text: String) async throws {
        try await Poll.until("\"\(text)\" in \(log.path)") {
            ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains(text)
        }
    }

    /// Processes under `folder` still alive once the others are gone: a killed process is gone
    /// within moments (the kernel kills a PID namespace's processes as its init exits, but they
    /// finish dying on their own time), a survivor stays (for two minutes).
    static func survivors(under folder: URL) async throws -> [pid_t] {
        (try? await Poll.until("no process under \(folder.path)", timeout: .seconds(120)) { processes(under: folder).isEmpty }) != nil
            ? [] : processes(under: folder)
    }

    /// Live host processes whose working directory is inside `folder`.
    static func processes(under folder: URL) -> [pid_t] {
        let prefix = folder.resolvingSymlinksInPath().path + "/"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap { name in
            guard let pid = pid_t(name), let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(name)/cwd")
            else { return nil }
            let state = (try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8)) ?? ""
            if state.contains(") Z ") { return nil }
            return (cwd + "/").hasPrefix(prefix) ? pid : nil
        }
    }
}
