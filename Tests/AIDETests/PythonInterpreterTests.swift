import AIDETesting
import Foundation
import Testing

@testable import AIDE

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `PythonInterpreter` against the real `python3` on PATH: every test runs in a directory of its own.
/// Nothing is timed (a loaded 2-core machine): a timeout is told from a normal end by the result, an
/// orphan that would hold the run by a timeout far shorter than the orphan's own sleep.
struct PythonInterpreterTests {
    // MARK: Running and results

    @Test func printsAndExitsZeroInTheGivenDirectory() async throws {
        try await inTemporaryDirectory { directory in
            let runDirectory = directory.appendingPathComponent("run")  // does not exist yet: run creates it
            let script = """
                import os, sys
                print("hello from stdout")
                print("and from stderr", file=sys.stderr)

                def main():
                    os.makedirs("working", exist_ok=True)
                    with open("./working/x", "w") as f:
                        f.write("written by the script")
                    print("main ran")

                if __name__ == "__main__":
                    main()
                """
            let result = try await PythonInterpreter(python: TestPython.path).run(script: script, in: runDirectory, timeout: 600)
            #expect(result.output == "hello from stdout\nand from stderr\nmain ran\n")
            #expect(result.outputBytes == result.output.utf8.count)
            #expect(result.exitCode == 0)
            #expect(result.signal == nil)
            #expect(!result.timedOut)
            #expect(result.exceptionType == nil)
            #expect(result.traceback == nil)
            #expect(result.succeeded)
            #expect(result.duration > 0)
            let written = try String(
                contentsOf: runDirectory.appendingPathComponent("working/x"), encoding: .utf8)
            #expect(written == "written by the script")
            let saved = try String(contentsOf: runDirectory.appendingPathComponent("runfile.py"), encoding: .utf8)
            #expect(saved == script)
        }
    }

    /// Python prints the script's absolute path in tracebacks; it names the run's folder, so it is
    /// cut, and the prompts that quote a traceback do not change from one run to the next.
    @Test func tracebacksNameTheScriptWithoutItsFolder() async throws {
        try await inTemporaryDirectory { directory in
            let run = directory.appendingPathComponent("nodes/0001-abcd")
            let script = "import os\nprint(os.getcwd() == os.path.dirname(os.path.abspath(__file__)))\nraise ValueError('x')\n"
            let result = try await PythonInterpreter(python: TestPython.path).run(script: script, in: run, timeout: 600)
            #expect(result.exceptionType == "ValueError")
            #expect(result.output.contains("  File \"runfile.py\", line 3, in <module>"), "\(result.output)")
            #expect(!result.output.contains("0001-abcd") && result.traceback?.contains("0001-abcd") == false)
        }
    }

    @Test func raisedExceptionIsReportedWithItsTraceback() async throws {
        try await inTemporaryDirectory { directory in
            let script = """
                print("before the error")
                def f():
                    raise ValueError("bad value 42")
                f()
                """
            let result = try await PythonInterpreter(python: TestPython.path).run(script: script, in: directory, timeout: 600)
            #expect(result.exitCode == 1)
            #expect(result.exceptionType == "ValueError")
            #expect(!result.succeeded)
            #expect(result.output.hasPrefix("before the error\n"))
            let traceback = try #require(result.traceback)
            #expect(traceback.hasPrefix("Traceback (most recent call last):"))
            #expect(traceback.contains("raise ValueError(\"bad value 42\")"))
            #expect(traceback.hasSuffix("ValueError: bad value 42"))
            #expect(!traceback.contains("before the error"))
        }
    }

    @Test func caughtAndPrintedTracebackIsNotAnException() async throws {
        try await inTemporaryDirectory { directory in
            let script = """
                import traceback
                try:
                    raise KeyError("caught")
                except KeyError:
                    traceback.print_exc()
                print("recovered")
                """
            let result = try await PythonInterpreter(python: TestPython.path).run(script: script, in: directory, timeout: 600)
            #expect(result.output.contains("KeyError: 'caught'"))
            #expect(result.output.hasSuffix("recovered\n"))
            #expect(result.exitCode == 0)
            #expect(result.exceptionType == nil)
            #expect(result.traceback == nil)
            #expect(result.succeeded)
        }
    }

    @Test func onlyTheLastTracebackCountsAndChainsAreKept() async throws {
        try await inTemporaryDirectory { directory in
            let script = """
                import traceback
                try:
                    int("not a number")
                except ValueError:
                    traceback.print_exc()
                try:
                    1 / 0
                except ZeroDivisionError as e:
                    raise RuntimeError("wrapped") from e
                """
            let result = try await PythonInterpreter(python: TestPython.path).run(script: script, in: directory, timeout: 600)
            #expect(result.exitCode == 1)
            #expect(result.exceptionType == "RuntimeError")
            let traceback = try #require(result.traceback)
            #expect(traceback.contains("ZeroDivisionError: division by zero"))
            #expect(traceback.contains("The above exception was the direct cause of the following exception:"))
            #expect(traceback.hasSuffix("RuntimeError: wrapped"))
            #expect(!traceback.contains("not a number"))  // the caught one is before the chain
        }
    }

    @Test(arguments: [
        ("import no_such_module_for_aide_tests", "ModuleNotFoundError"),
        ("import json\njson.loads('{')", "JSONDecodeError"),  // printed as json.decoder.JSONDecodeError
        ("def f(:\n    pass", "SyntaxError"),  // no Traceback header: the file never ran
        ("import sys\nsys.setrecursionlimit(100)\ndef f(): f()\nf()", "RecursionError"),
    ])
    func exceptionTypeIsTheBareClassName(script: String, type: String) async throws {
        try await inTemporaryDirectory { directory in
            let result = try await PythonInterpreter(python: TestPython.path).run(script: script, in: directory, timeout: 600)
            #expect(result.exceptionType == type, "\(result.output)")
            #expect(result.exitCode == 1)
            #expect(result.traceback?.contains(type) == true)
        }
    }

    @Test func keyboardInterruptEndsBySignalAndIsReported() async throws {
        try await inTemporaryDirectory { directory in
            let result = try await PythonInterpreter(python: TestPython.path).run(script: "raise KeyboardInterrupt", in: directory, timeout: 600)
            // Python re-raises SIGINT on itself so its parent sees how it ended.
            #expect(result.exitCode == nil)
            #expect(result.signal == SIGINT)
            #expect(result.exceptionType == "KeyboardInterrupt")
        }
    }

    @Test func exitStatusWithoutTracebackHasNoException() async throws {
        try await inTemporaryDirectory { directory in
            let result = try await PythonInterpreter(python: TestPython.path).run(
                script: "import sys\nprint('bye')\nsys.exit(3)", in: directory, timeout: 600)
            #expect(result.exitCode == 3)
            #expect(result.exceptionType == nil)
            #expect(!result.succeeded)
        }
    }

    @Test func standardInputIsEmpty() async throws {
        try await inTemporaryDirectory { directory in
            let script = "import sys\nprint(repr(sys.stdin.read()))"
            let result = try await PythonInterpreter(python: TestPython.path).run(script: script, in: directory, timeout: 600)
            #expect(result.output == "''\n")
            #expect(!result.timedOut)
        }
    }

    // MARK: Timeouts and leftovers

    @Test func infiniteLoopTimesOutAndIsKilled() async throws {
        try await inTemporaryDirectory { directory in
            let script = "import os\nprint(os.getpid(), flush=True)\nwhile True:\n    pass"
            // On a loaded machine Python (behind a pyenv shim, say) may not reach its first print within
            // 1 s; the timeout still has to work then, and a longer one is tried to learn the pid.
            var pid: pid_t?
            for timeout in [1.0, 3.0, 10.0] where pid == nil {
                let result = try await PythonInterpreter(python: TestPython.path).run(script: script, in: directory, timeout: timeout)
                #expect(result.timedOut)
                #expect(result.exceptionType == "TimeoutError")
                #expect(result.exitCode == nil)
                #expect(result.signal == SIGKILL)
                #expect(result.duration >= timeout)
                #expect(!result.succeeded)
                pid = pid_t(result.output.split(separator: "\n").first ?? "")
            }
            #expect(try await waitUntilGone(try #require(pid)))
        }
    }

    @Test(arguments: [
        // A child that holds the output pipe and outlives its parent (by far more than the timeout,
        // so a run held by it would end timed out).
        "import subprocess\nchild = subprocess.Popen(['sleep', '3600'])\nprint(child.pid, flush=True)",
        "import os, time\npid = os.fork()\nif pid == 0:\n    time.sleep(3600)\n    os._exit(0)\nprint(pid, flush=True)",
    ])
    func orphanedChildDoesNotHoldTheRunAndIsKilled(script: String) async throws {
        try await inTemporaryDirectory { directory in
            let result = try await PythonInterpreter(python: TestPython.path).run(script: script, in: directory, timeout: 600)
            #expect(result.exitCode == 0)
            #expect(!result.timedOut)
            #expect(result.succeeded)
            let child = try #require(pid_t(result.output.split(separator: "\n").first ?? ""), "\(result.output)")
            #expect(try await waitUntilGone(child))
        }
    }

    @Test func orphanThatKeepsWritingDoesNotHoldTheRun() async throws {
        try await inTemporaryDirectory { directory in
            let script = """
                import subprocess
                child = subprocess.Popen(["yes"])
                with open("child.pid", "w") as f:
                    f.write(str(child.pid))
                print("parent done")
                """
            let result = try await PythonInterpreter(python: TestPython.path).run(script: script, in: directory, timeout: 600)
            #expect(!result.timedOut)  // the orphan writes forever: a run held by it would time out
            #expect(result.exitCode == 0)
            #expect(result.output.utf8.count <= 32_000 + 100)
            let child = try #require(pid_t(try String(contentsOf: directory.appendingPathComponent("child.pid"), encoding: .utf8)))
            #expect(try await waitUntilGone(child))
        }
    }

    @Test func cancellingTheRunKillsTheProcessGroup() async throws {
        try await inTemporaryDirectory { directory in
            let script = """
                import os, subprocess, time
                child = subprocess.Popen(['sleep', '3600'])
                with open("pids.tmp", "w") as f:
                    f.write(f"{os.getpid()} {child.pid}")
                os.rename("pids.tmp", "pids")
                time.sleep(3600)
                """
            let run = Task { try await PythonInterpreter(python: TestPython.path).run(script: script, in: directory, timeout: 600) }
            let pidsFile = directory.appendingPathComponent("pids")
            try await Poll.until("the script wrote its pids") { FileManager.default.fileExists(atPath: pidsFile.path) }
            let pids = try String(contentsOf: pidsFile, encoding: .utf8).split(separator: " ").compactMap { pid_t($0) }
            #expect(pids.count == 2)
            run.cancel()
            // A result or CancellationError: either way it must come back, and not by the timeout.
            if case .success(let result) = await run.result { #expect(!result.timedOut) }
            for pid in pids { #expect(try await waitUntilGone(pid)) }
        }
    }

    // MARK: Output

    @Test func hundredMegabytesKeepHeadAndTailWithinTheLimit() async throws {
        try await inTemporaryDirectory { directory in
            let script = """
                import sys
                sys.stdout.write("FIRST LINE\\n")
                line = "x" * 999 + "\\n"
                for _ in range(100_000):
                    sys.stdout.write(line)
                sys.stdout.write("LAST LINE\\n")
                """
            let limit = 32_000
            let result = try await PythonInterpreter(python: TestPython.path, outputLimit: limit).run(script: script, in: directory, timeout: 600)
            let total = 11 + 100_000_000 + 10
            #expect(result.exitCode == 0)
            #expect(result.outputBytes >= 100_000_000)
            #expect(result.outputBytes == total)
            let marker = OutputBuffer.marker(omitted: total - limit)
            #expect(marker == "\n[… 99,968,021 bytes of output omitted …]\n")
            #expect(result.output.utf8.count <= limit + marker.utf8.count)
            #expect(result.output.contains(marker))
            #expect(result.output.hasPrefix("FIRST LINE\n" + String(repeating: "x", count: 999) + "\n"))
            #expect(result.output.hasSuffix(String(repeating: "x", count: 999) + "\nLAST LINE\n"))
        }
    }

    @Test func unicodeAndInvalidUTF8AreDecodedLeniently() async throws {
        try await inTemporaryDirectory { directory in
            let script = """
                import sys
                print("héllo ✓ 日本語 🚀", flush=True)
                sys.stdout.buffer.write(b"bad bytes: \\xff\\xfe\\xc3( end\\n")
                sys.stdout.buffer.flush()
                print("after")
                """
            let result = try await PythonInterpreter(python: TestPython.path).run(script: script, in: directory, timeout: 600)
            #expect(result.exitCode == 0, "\(result.output)")
            #expect(result.output.hasPrefix("héllo ✓ 日本語 🚀\n"))
            #expect(result.output.contains("\u{FFFD}"))
            #expect(result.output.hasSuffix(" end\nafter\n"))
            #expect(result.outputBytes == "héllo ✓ 日本語 🚀\n".utf8.count + 20 + "after\n".utf8.count)
        }
    }

    @Test func outputBufferKeepsEverythingWithinTheLimit() {
        var buffer = OutputBuffer(limit: 10)
        for piece in ["abc", "defg", "hij"] { Array(piece.utf8).withUnsafeBytes { buffer.append($0) } }
        #expect(buffer.text == "abcdefghij")
        #expect(buffer.totalBytes == 10)
    }

    @Test func outputBufferRingKeepsTheNewestBytesAcrossChunkSizes() {
        let stream = Array((0..<5_000).map { "line \($0)\n" }.joined().utf8)
        for chunkSize in [1, 7, 50, 51, 64, 4_096] {
            var buffer = OutputBuffer(limit: 100)
            var offset = 0
            while offset < stream.count {
                let end = min(offset + chunkSize, stream.count)
                stream[offset..<end].withUnsafeBytes { buffer.append($0) }
                offset = end
            }
            let expected = String(decoding: stream.prefix(50), as: UTF8.self)
                + OutputBuffer.marker(omitted: stream.count - 100) + String(decoding: stream.suffix(50), as: UTF8.self)
            #expect(buffer.text == expected, "chunk size \(chunkSize)")
            #expect(buffer.totalBytes == stream.count)
        }
    }

    @Test func outputBufferNeverSplitsACharacter() {
        var buffer = OutputBuffer(limit: 101)
        let bytes = Array(String(repeating: "é", count: 10_000).utf8)  // two bytes each
        bytes.withUnsafeBytes { buffer.append($0) }
        let text = buffer.text
        #expect(!text.contains("\u{FFFD}"))
        #expect(text.hasPrefix(String(repeating: "é", count: 25) + "\n[… "))
        #expect(text.hasSuffix("…]\n" + String(repeating: "é", count: 25)))
        #expect(text.contains("19,900 bytes"))  // 20,000 - 50 head - 50 tail, the odd byte counted as omitted
    }

    @Test func thousandsAreGroupedWithoutALocale() {
        #expect(OutputBuffer.groupedThousands(0) == "0")
        #expect(OutputBuffer.groupedThousands(999) == "999")
        #expect(OutputBuffer.groupedThousands(1_000) == "1,000")
        #expect(OutputBuffer.groupedThousands(99_876_543) == "99,876,543")
    }

    // MARK: Limits

    @Test func allocationBeyondTheMemoryLimitFailsAndTheHarnessSurvives() async throws {
        try await inTemporaryDirectory { directory in
            let interpreter = PythonInterpreter(python: TestPython.path, memoryLimitMB: 256)
            let result = try await interpreter.run(
                script: "b = bytearray(2 * 1024**3)\nprint('allocated')", in: directory, timeout: 600)
            #expect(!result.succeeded)
            #expect(result.exceptionType == "MemoryError" || result.signal != nil, "\(result)")
            #expect(!result.output.contains("allocated"))
            // Within the limit the same interpreter works as before.
            let small = try await interpreter.run(
                script: "b = bytearray(16 * 1024**2)\nprint(len(b))", in: directory, timeout: 600)
            #expect(small.output == "16777216\n")
            #expect(small.succeeded)
        }
    }

    @Test func cpuLimitStopsABusyLoop() async throws {
        try await inTemporaryDirectory { directory in
            let result = try await PythonInterpreter(python: TestPython.path, cpuLimit: 1).run(
                script: "while True:\n    pass", in: directory, timeout: 600)
            #expect(!result.timedOut)
            #expect(result.exitCode == nil)
            // SIGXCPU at the soft limit, SIGKILL at the hard one; ulimit sets both to the same value.
            #expect(result.signal == SIGXCPU || result.signal == SIGKILL)
            #expect(!result.succeeded)
        }
    }

    @Test func nonPositiveSettingsAreRejected() async throws {
        try await inTemporaryDirectory { directory in
            await #expect(throws: PythonInterpreterError.self) {
                try await PythonInterpreter(python: TestPython.path).run(script: "pass", in: directory, timeout: 0)
            }
            await #expect(throws: PythonInterpreterError.self) {
                try await PythonInterpreter(python: TestPython.path, memoryLimitMB: 0).run(script: "pass", in: directory, timeout: 10)
            }
        }
    }

    // MARK: Environment

    @Test func scriptSeesNoSecretsButKeepsPath() async throws {
        try await inTemporaryDirectory { directory in
            let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
            let secrets = [
                "ANTHROPIC_API_KEY": "sk-ant-hidden", "OPENAI_API_KEY": "sk-openai-hidden",
                "OPENROUTER_API_KEY": "sk-or-hidden", "MY_SERVICE_TOKEN": "token-hidden", "AIDE_RUN_ID": "run-hidden",
            ]
            let kept = ["PATH": path, "HOME": directory.path, "TOKENIZERS_PARALLELISM": "false"]
            let interpreter = PythonInterpreter(python: TestPython.path, baseEnvironment: secrets.merging(kept) { a, _ in a })
            let result = try await interpreter.run(
                script: "import json, os\nprint(json.dumps(dict(os.environ)))", in: directory, timeout: 600)
            #expect(result.exitCode == 0, "\(result.output)")
            let environment = try #require(
                try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: String])
            for name in secrets.keys { #expect(environment[name] == nil, "\(name) reached the script") }
            #expect(!result.output.contains("hidden"))
            // The script's PATH is ours; a pyenv shim in front of python may prepend its own directories.
            #expect(environment["PATH"]?.hasSuffix(path) == true)
            #expect(environment["HOME"] == directory.path)
            #expect(environment["TOKENIZERS_PARALLELISM"] == "false")
            #expect(environment["PYTHONUNBUFFERED"] == "1")
        }
    }

    @Test func threadsPerScriptCapsNumericLibrariesUnlessTheEnvironmentSetsThem() async throws {
        try await inTemporaryDirectory { directory in
            let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
            let script = "import os\nprint(os.environ.get('OMP_NUM_THREADS'), os.environ.get('OPENBLAS_NUM_THREADS'), os.environ.get('MKL_NUM_THREADS'))"
            let capped = PythonInterpreter(python: TestPython.path, baseEnvironment: ["PATH": path], threadsPerScript: 1)
            let cappedOutput = try await capped.run(script: script, in: directory, timeout: 600).output
            #expect(cappedOutput == "1 1 1\n")
            let chosen = PythonInterpreter(
                python: TestPython.path, baseEnvironment: ["PATH": path, "OMP_NUM_THREADS": "3"], threadsPerScript: 1)
            let chosenOutput = try await chosen.run(script: script, in: directory, timeout: 600).output
            #expect(chosenOutput == "3 1 1\n")
            let free = PythonInterpreter(python: TestPython.path, baseEnvironment: ["PATH": path])
            let freeOutput = try await free.run(script: script, in: directory, timeout: 600).output
            #expect(freeOutput == "None None None\n")
        }
        // Shared out over the scripts that can run at once: one worker gets every core.
        let cores = ProcessInfo.processInfo.activeProcessorCount
        #expect(ExecSpec(parallel: 2).threadsPerScript(running: 1) == cores)
        #expect(ExecSpec(parallel: 2).threadsPerScript(running: 4) == max(1, cores / 2))
        #expect(ExecSpec(parallel: 64).threadsPerScript(running: 64) == 1)
    }

    @Test func onlyAllowedVariablesPass() {
        var environment: [String: String] = [:]
        for name in ModelRouter.Variable.secrets { environment[name] = "x" }
        // Secrets under names no deny-list would guess, and the harness's own variables.
        let removed = [
            "MY_SERVICE_TOKEN", "HF_TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "KAGGLE_KEY", "OPENAI_KEY",
            "AZURE_OPENAI_KEY", "DATABASE_URL", "MYSQL_PWD", "GH_PAT", "SSH_AUTH_SOCK", "AIDE_RUN_ID", "PYTHONPATH",
            "LD_PRELOAD", "KEYBOARD",
        ]
        let kept = ["PATH", "HOME", "TOKENIZERS_PARALLELISM", "OMP_NUM_THREADS", "LANG", "LC_ALL", "TZ"]
        for name in removed + kept { environment[name] = "x" }
        #expect(Set(ScriptEnvironment.allowed(environment).keys) == Set(kept))
        #expect(!ScriptEnvironment.isAllowed("OPENAI_API_KEY"))
        #expect(ScriptEnvironment.isAllowed("PATH"))
    }

    // MARK: Failing to start

    @Test(arguments: ["python-that-does-not-exist-aide", "/nonexistent/bin/python3"])
    func missingPythonIsAClearError(python: String) async throws {
        try await inTemporaryDirectory { directory in
            let error = await #expect(throws: PythonInterpreterError.self) {
                try await PythonInterpreter(python: python).run(script: "print(1)", in: directory, timeout: 10)
            }
            #expect(error?.description.contains(python) == true)
            #expect(error == .pythonNotFound(
                executable: python,
                searchPath: python.contains("/") ? nil : ProcessInfo.processInfo.environment["PATH"]))
        }
    }

    // MARK: Traceback parsing

    @Test func parserFindsTheLastTracebackAndBareName() throws {
        let output = """
            noise
            Traceback (most recent call last):
              File "runfile.py", line 3, in <module>
            ValueError: first

            Traceback (most recent call last):
              File "runfile.py", line 9, in <module>
                thing()
              File "/lib/pkg/mod.py", line 2, in thing
                raise Oops("a\\nb")
            pkg.mod.OopsError: line one
            line two

            """
        let found = try #require(TracebackParser.lastException(in: output))
        #expect(found.type == "OopsError")
        #expect(found.traceback.hasPrefix("Traceback (most recent call last):\n  File \"runfile.py\", line 9"))
        #expect(found.traceback.hasSuffix("pkg.mod.OopsError: line one\nline two"))
        #expect(TracebackParser.lastException(in: "all fine\n") == nil)
        #expect(TracebackParser.lastException(in: "Traceback (most recent call last):\n  File \"x\"\nKeyboardInterrupt")?.type
            == "KeyboardInterrupt")
    }

    @Test func parserReadsExceptionGroups() throws {
        let output = """
            + Exception Group Traceback (most recent call last):
              |   File "runfile.py", line 1, in <module>
              |     raise ExceptionGroup("several", [ValueError("v")])
              | ExceptionGroup: several (1 sub-exception)
              +-+---------------- 1 ----------------
                | ValueError: v
                +------------------------------------
            """
        let found = try #require(TracebackParser.lastException(in: "  " + output))
        #expect(found.type == "ExceptionGroup")
    }

    // MARK: Helpers

    /// Runs `body` in a fresh directory under the temporary directory, removed afterwards.
    private func inTemporaryDirectory(_ body: (URL) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("aide-python-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try await body(directory)
    }

    /// Whether `pid` is still running. A killed orphan stays a zombie until its new parent reaps it
    /// (and pid 1 in a container may never do so), so a zombie counts as gone.
    private func isRunning(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return true }
        let state = stat[stat.index(after: close)...].first { $0 != " " }
        return state != "Z" && state != "X"
    }

    /// Whether `pid` goes away (polled, without holding a thread of the cooperative pool); false only
    /// if it is still running after `Poll`'s minutes-long patience.
    private func waitUntilGone(_ pid: pid_t) async throws -> Bool {
        (try? await Poll.until("process \(pid) gone") { !isRunning(pid) }) != nil
    }
}
