@testable import AIDE
import AIDETesting
import Foundation
import Testing

/// The sandbox's parts on their own: its argument list, its limits, the GPU sharing, the submission
/// file check, and output that could cut text or steer a terminal.
struct SandboxTests {
    private func inTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aide-sandbox-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try await body(directory)
    }

    // MARK: Arguments

    @Test func argumentsFollowTheSettings() {
        let folder = URL(fileURLWithPath: "/runs/r/nodes/0001-abc")
        let base = Sandbox(bwrap: "/usr/bin/bwrap", python: "/opt/py/bin/python3", readOnly: ["/usr", "/opt/py", "/"])
        let closed = base.arguments(command: ["python3", "runfile.py"], folder: folder,
                                    readOnlyFolders: [URL(fileURLWithPath: "/runs/r/input")])
        #expect(closed.contains("--unshare-net"))
        #expect(closed.contains("--unshare-pid") && closed.contains("--die-with-parent"))
        #expect(closed.contains("--unshare-user"), "not root: a user namespace")
        // "/" from Python's path is never bound: it would show the whole machine.
        #expect(!zip(closed, closed.dropFirst()).contains { $0 == ("--ro-bind", "/") })
        #expect(zip(closed, closed.dropFirst()).contains { $0 == ("--bind", folder.path) })
        #expect(zip(closed, closed.dropFirst()).contains { $0 == ("--ro-bind", "/runs/r/input") })
        #expect(!closed.contains("/runs/r") || closed.firstIndex(of: "/runs/r").map { closed[$0 - 1] == "--dir" } == true,
                "the run folder only appears as an empty mount point")
        #expect(Array(closed.suffix(2)) == ["python3", "runfile.py"])

        var open = base
        open.network = true
        open.devices = ["/dev/nvidia0", "/dev/nvidiactl"]
        open.user = .nobody
        let args = open.arguments(
            command: ["python3", "runfile.py"], folder: folder,
            limits: ScriptLimits(memoryBytes: 1 << 30, cpuSeconds: 60, processes: 64, fileBytes: 1 << 20))
        #expect(!args.contains("--unshare-net"))
        #expect(zip(args, args.dropFirst()).contains { $0 == ("--dev-bind", "/dev/nvidia0") })
        #expect(args.contains("--nproc=64") && args.contains("--fsize=1048576") && args.contains("--as=1073741824"))
        #expect(args.contains("--reuid=65534") && args.contains("--no-new-privs"))
    }

    @Test func autoWithoutAWorkingBubblewrapSaysSoAndBwrapRefuses() throws {
        var exec = ExecSpec(python: TestPython.path)
        let fallback = try ScriptIsolation.resolve(exec, python: TestPython.path, bwrap: "/nonexistent/bwrap")
        #expect(fallback.sandbox == nil)
        #expect(fallback.summary.hasPrefix("none (bubblewrap unavailable: "))
        #expect(fallback.warning?.contains("WITHOUT a sandbox") == true)
        exec.sandbox = .bwrap
        let required = #expect(throws: SandboxError.self) {
            try ScriptIsolation.resolve(exec, python: TestPython.path, bwrap: "/nonexistent/bwrap")
        }
        guard case .required(cause: .cannotStart(executable: "/nonexistent/bwrap", _))? = required else {
            Issue.record("expected exec.sandbox: bwrap to say bwrap cannot start, got \(String(describing: required))")
            return
        }
        #expect(required?.description.hasPrefix("exec.sandbox is bwrap, but cannot run /nonexistent/bwrap: ") == true)
        exec.sandbox = .none
        let none = try ScriptIsolation.resolve(exec, python: TestPython.path)
        #expect(none.sandbox == nil && none.warning == nil && none.summary == "none (exec.sandbox: none)")
    }

    // MARK: Limits that hold

    @Test(.enabled(if: SandboxAttackTests.sandboxWorks, "bubblewrap cannot run here"))
    func aForkBombStopsAtTheProcessCapAndLeavesNothing() async throws {
        try await inTemporaryDirectory { directory in
            let sandbox = try Sandbox.make(python: TestPython.path)
            let interpreter = PythonInterpreter(python: sandbox.python, sandbox: sandbox, processLimit: 16)
            let script = """
                import subprocess, sys
                children = []
                try:
                    for _ in range(64):
                        children.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"]))
                except OSError as e:
                    print("refused:", type(e).__name__)
                print("started", len(children))
                """
            let result = try await interpreter.run(script: script, in: directory, timeout: 600)
            #expect(result.output.contains("refused"), "\(result.output)")
            let started = result.output.split(separator: "\n").last { $0.hasPrefix("started") }
                .flatMap { Int($0.split(separator: " ").last ?? "") } ?? 99
            #expect(started < 16)
            #expect(try await StopSignalTests.survivors(under: directory).isEmpty, "the sleeping children died with the sandbox")
        }
    }

    // MARK: GPUs

    @Test func gpusAreSharedOutAmongScriptsRunningAtOnce() {
        let four = GPUPool(devices: [0, 1, 2, 3], scriptsAtOnce: 2)
        let first = four.lease()
        let second = four.lease()
        #expect(first == [0, 1] && second == [2, 3])
        four.release(first)
        #expect(four.lease() == [0, 1], "freed GPUs go to the next script")

        // More scripts than GPUs: they share, evenly, never all on one.
        let two = GPUPool(devices: [0, 1], scriptsAtOnce: 4)
        let leases = (0..<4).map { _ in two.lease() }
        #expect(leases == [[0], [1], [0], [1]])
        #expect(GPUPool.visibleDevices([2, 3]) == "2,3")
        #expect(GPUPool.visibleDevices([]) == "")
        #expect(GPUSetting.devices([1, 3]).indices(present: [0, 1, 2, 3]) == [1, 3])
        #expect(GPUSetting.none.indices(present: [0, 1]) == [])
        #expect(GPUSetting.auto.indices(present: [0, 1]) == [0, 1])
    }

    @Test func parallelScriptsSeeDifferentGPUs() async throws {
        try await inTemporaryDirectory { directory in
            let interpreter = PythonInterpreter(python: TestPython.path, gpus: GPUPool(devices: [0, 1], scriptsAtOnce: 2))
            // Each waits for the other to have started, so both hold their GPU at once.
            func script(_ me: String, _ other: String) -> String {
                """
                import os, time
                open("\(directory.path)/\(me)", "w").write(os.environ["CUDA_VISIBLE_DEVICES"])
                while not os.path.exists("\(directory.path)/\(other)"):
                    time.sleep(0.01)
                print(os.environ["CUDA_VISIBLE_DEVICES"])
                """
            }
            async let a = interpreter.run(script: script("a", "b"), in: directory.appendingPathComponent("a.d"), timeout: 600)
            async let b = interpreter.run(script: script("b", "a"), in: directory.appendingPathComponent("b.d"), timeout: 600)
            let seen = Set(try await [a.output, b.output])
            #expect(seen == ["0\n", "1\n"])
        }
    }

    @Test func theTaskFileSaysWhichGPUsAndSandbox() throws {
        let task = try SyntheticTask(extraYAML: "  gpus: [0, 2]\n  sandbox: none\n  network: true\n")
        defer { task.remove() }
        let loaded = try TaskLoader.load(task.taskFile)
        #expect(loaded.spec.exec.gpus == .devices([0, 2]))
        #expect(loaded.spec.exec.sandbox == SandboxMode.none)
        #expect(loaded.spec.exec.network)
        #expect(throws: TaskError.self) { try TaskLoader.load(task.taskFile, overrides: ["exec.sandbox=docker"]) }
        #expect(throws: TaskError.self) { try TaskLoader.load(task.taskFile, overrides: ["exec.gpus=many"]) }
    }

    // MARK: Output

    @Test func aNulByteIsShownAndCutsNothing() async throws {
        try await inTemporaryDirectory { directory in
            let script = #"import sys; sys.stdout.write("before\0after\nValidation metric: 0.25\n")"#
            let result = try await PythonInterpreter(python: TestPython.path).run(script: script, in: directory, timeout: 30)
            #expect(result.output == "before\u{2400}after\nValidation metric: 0.25\n")
            #expect(result.outputBytes == 37)
        }
    }

    @Test func terminalEscapesFromAScriptAreShownNotActedOn() {
        let hostile = "\u{1B}[2J\u{1B}]0;pwned\u{07}red\rover\u{9B}31m\ttab\nline"
        let harmless = TerminalText.harmless(hostile)
        #expect(!harmless.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" && $0 != "\t" })
        #expect(!harmless.unicodeScalars.contains { (0x80..<0xA0).contains($0.value) })
        #expect(harmless.contains("␛[2J") && harmless.contains("\ttab\nline"))
        #expect(TerminalText.harmless("plain\ntext") == "plain\ntext")
    }

    // MARK: Submission files

    @Test func onlyARegularFileOfBoundedSizeIsASubmission() async throws {
        try await inTemporaryDirectory { directory in
            let file = directory.appendingPathComponent("submission.csv")
            #expect(SubmissionFile.check(file, maxBytes: 100) == .missing)
            try Data("id,y\n1,2\n".utf8).write(to: file)
            #expect(SubmissionFile.check(file, maxBytes: 100) == .regular(bytes: 9))
            #expect(SubmissionFile.check(file, maxBytes: 5).refusal?.contains("more than the 5 allowed") == true)
            try FileManager.default.removeItem(at: file)

            try FileManager.default.createSymbolicLink(atPath: file.path, withDestinationPath: "/dev/zero")
            #expect(SubmissionFile.check(file, maxBytes: 100).refusal?.contains("symbolic link") == true)
            try FileManager.default.removeItem(at: file)

            try FileManager.default.createDirectory(at: file, withIntermediateDirectories: false)
            #expect(SubmissionFile.check(file, maxBytes: 100).refusal?.contains("directory") == true)
            try FileManager.default.removeItem(at: file)

            #expect(mkfifo(file.path, 0o644) == 0)
            #expect(SubmissionFile.check(file, maxBytes: 100).refusal?.contains("FIFO") == true)
            #expect(SubmissionFile.check(URL(fileURLWithPath: "/dev/null"), maxBytes: 100).refusal?.contains("device") == true)
        }
    }
}
