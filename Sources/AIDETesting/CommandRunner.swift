import Foundation

/// What a finished command printed and how it exited.
public struct CommandOutput: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Runs the built `aide` executable (or any program) as a user would, for end-to-end tests.
public enum CommandRunner {
    /// The `aide` executable built beside the running test bundle.
    public static var aideExecutable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("aide")
    }

    /// Starts `aide` in the background with exactly `environment` (PATH and HOME added when missing),
    /// its stdout and stderr going to `log`; for tests that kill, interrupt or watch a running command.
    public static func launch(
        _ arguments: [String], executable: URL = aideExecutable, environment: [String: String] = [:], log: URL
    ) throws -> Process {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var env = environment
        env["PATH"] = env["PATH"] ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        env["HOME"] = env["HOME"] ?? NSTemporaryDirectory()
        process.environment = env
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    /// Waits for a launched process to exit and returns its status; nil (after terminating it) when it
    /// is still running after `timeout` seconds.
    public static func waitForExit(_ process: Process, timeout: Double) async throws -> Int32? {
        let deadline = ContinuousClock.now + .seconds(timeout)
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                process.terminate()
                return nil
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return process.terminationStatus
    }

    /// Runs `executable` with exactly `environment` (nothing inherited), killing it after `timeout` seconds
    /// (a guard against a hung command, long enough that no load reaches it).
    public static func run(
        _ arguments: [String], executable: URL = aideExecutable, environment: [String: String] = [:],
        stdin: String? = nil, timeout: Double = 600
    ) async throws -> CommandOutput {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var env = environment
        env["PATH"] = env["PATH"] ?? "/usr/bin:/bin"
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        // Both pipes are read at once, each on its own thread, so a chatty child never blocks on a
        // full pipe and the caller never blocks the cooperative pool.
        let outHandle = out.fileHandleForReading
        let errHandle = err.fileHandleForReading
        async let stdoutData = offPool { outHandle.readDataToEndOfFile() }
        async let stderrData = offPool { errHandle.readDataToEndOfFile() }
        let deadline = ContinuousClock.now + .seconds(timeout)
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        if process.isRunning { process.terminate() }
        let exited = process
        await offPool { exited.waitUntilExit() }
        return CommandOutput(
            status: process.terminationStatus, stdout: String(decoding: await stdoutData, as: UTF8.self),
            stderr: String(decoding: await stderrData, as: UTF8.self))
    }
}
