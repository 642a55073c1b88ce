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

    /// Runs `executable` with exactly `environment` (nothing inherited), killing it after `timeout` seconds.
    public static func run(
        _ arguments: [String], executable: URL = aideExecutable, environment: [String: String] = [:],
        stdin: String? = nil, timeout: Double = 60
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
