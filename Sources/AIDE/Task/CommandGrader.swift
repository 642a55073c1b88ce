import Dispatch
import Foundation

/// Something that scores a submission file (higher or lower is better as the task's grading says).
public protocol SubmissionGrader: Sendable {
    func score(submission: URL) async throws -> Double
}

extension Grader: SubmissionGrader {}

/// Grades with an external command (`grading.command`), for metrics not built in: a task's own
/// grade.py, or `mlebench grade-sample`. `{submission}` and `{answers}` in the command become the
/// paths (shell-quoted) of copies of the two files in a grading folder of their own; it runs with
/// `/bin/sh -c` in the task's folder, with the environment scripts get (an allow-list: no keys), and
/// its score is the last line of its output, a number or JSON with a numeric `score` field (a JSON
/// report spread over several lines counts too).
///
/// With a sandbox (the scripts' `exec.sandbox`), it runs in the same bubblewrap sandbox as the
/// scripts: the grading folder writable, the task's folder read-only, no network; the run and its
/// other nodes out of sight. The command is the task author's, but it reads the model's submission.
public struct CommandGrader: SubmissionGrader {
    public let command: String
    public let answersFile: URL
    /// The task's folder: where the command runs, so `python3 grade.py` finds the task's grade.py.
    public let folder: URL
    public let timeout: Double
    public let environment: [String: String]
    public let sandbox: Sandbox?

    public init(
        command: String, answersFile: URL, folder: URL, timeout: Double = 600, sandbox: Sandbox? = nil,
        environment: [String: String] = ScriptEnvironment.allowed(ProcessInfo.processInfo.environment)
    ) {
        self.command = command
        self.answersFile = answersFile
        self.folder = folder
        self.timeout = timeout
        self.sandbox = sandbox
        self.environment = environment
    }

    /// The command with `{submission}` and `{answers}` replaced by the quoted paths.
    public func commandLine(submission: URL, answers: URL) -> String {
        command.replacingOccurrences(of: "{submission}", with: Self.quoted(submission.path))
            .replacingOccurrences(of: "{answers}", with: Self.quoted(answers.path))
    }

    public func score(submission: URL) async throws -> Double {
        // Copies, so the command can change neither the node's submission nor the task's answers.
        let files = FileManager.default
        let grading = files.temporaryDirectory.appendingPathComponent("aide-grading-\(UUID().uuidString)")
        defer { try? files.removeItem(at: grading) }
        let submissionCopy = grading.appendingPathComponent(submission.lastPathComponent)
        let answersCopy = grading.appendingPathComponent("answers-" + answersFile.lastPathComponent)
        do {
            try files.createDirectory(at: grading, withIntermediateDirectories: true)
            try files.copyItem(at: submission, to: submissionCopy)
            try files.copyItem(at: answersFile, to: answersCopy)
        } catch {
            throw GradingError.cannotPrepare(reason: ErrorText.reason(error))
        }
        let line = "cd \(Self.quoted(folder.path)) && " + commandLine(submission: submissionCopy, answers: answersCopy)
        let executable: String
        let arguments: [String]
        var variables = environment
        if let sandbox {
            do { try sandbox.prepare(folder: grading) } catch { throw GradingError.sandbox(error) }
            executable = sandbox.bwrap
            arguments = sandbox.arguments(command: ["/bin/sh", "-c", line], folder: grading, readOnlyFolders: [folder])
            variables = sandbox.environment(variables)
        } else {
            executable = "/bin/sh"
            arguments = ["-c", line]
        }
        let (status, stdout, stderr) = try await Self.run(
            executable, arguments, in: grading, environment: variables, timeout: timeout)
        guard status == 0 else {
            throw GradingError.commandFailed(
                status: status < 0 ? nil : status, lastOutput: Self.lastLines(stderr.isEmpty ? stdout : stderr, 5))
        }
        if let score = Self.parseScore(stdout) ?? Self.parseScore(stderr) { return score }
        throw GradingError.noScore(lastOutput: Self.lastLines(stdout.isEmpty ? stderr : stdout, 3))
    }

    /// A number on the last non-blank line, or a JSON object with a numeric `score` ending the text.
    public static func parseScore(_ output: String) -> Double? {
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard let last = lines.lastIndex(where: { !$0.isEmpty }) else { return nil }
        if let number = Double(lines[last]), number.isFinite { return number }
        for start in stride(from: last, through: 0, by: -1) where lines[start].hasPrefix("{") || lines[start].contains("{") {
            var first = lines[start]
            if !first.hasPrefix("{"), let brace = first.firstIndex(of: "{") { first = String(first[brace...]) }
            let text = ([first] + lines[(start + 1)..<(last + 1)]).joined(separator: "\n")
            guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { continue }
            if let score = (object["score"] as? NSNumber)?.doubleValue, score.isFinite { return score }
            return nil
        }
        return nil
    }

    static func quoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    static func lastLines(_ text: String, _ count: Int) -> String {
        text.split(separator: "\n").suffix(count).joined(separator: " | ")
    }

    /// Runs `executable` off the cooperative pool; status -1 when it outlived `timeout`.
    static func run(
        _ executable: String, _ arguments: [String], in folder: URL, environment: [String: String], timeout: Double
    ) async throws -> (Int32, String, String) {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: executable)
                process.arguments = arguments
                process.currentDirectoryURL = folder
                process.environment = environment
                process.standardInput = FileHandle.nullDevice
                let out = Pipe()
                let err = Pipe()
                process.standardOutput = out
                process.standardError = err
                do {
                    try process.run()
                } catch {
                    continuation.resume(throwing: GradingError.cannotStartCommand(reason: ErrorText.reason(error)))
                    return
                }
                let deadline = Date().addingTimeInterval(timeout)
                let timer = DispatchWorkItem { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
                DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: timer)
                let group = DispatchGroup()
                nonisolated(unsafe) var stderrData = Data()
                group.enter()
                DispatchQueue.global().async {
                    stderrData = err.fileHandleForReading.readDataToEndOfFile()
                    group.leave()
                }
                let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
                group.wait()
                process.waitUntilExit()
                let timedOut = Date() >= deadline && process.terminationReason == .uncaughtSignal
                timer.cancel()
                continuation.resume(returning: (
                    timedOut ? -1 : process.terminationStatus, String(decoding: stdoutData, as: UTF8.self),
                    String(decoding: stderrData, as: UTF8.self)
                ))
            }
        }
    }
}

extension LoadedTask {
    /// The task's grader: the built-in metric's, or its grading command; nil when it has no grading.
    public func makeGrader() throws -> (any SubmissionGrader)? {
        guard let grading = spec.grading, let answersFile else { return nil }
        if let command = grading.command {
            let isolation = try ScriptIsolation.resolve(spec.exec, python: pythonExecutable)
            return CommandGrader(
                command: command, answersFile: answersFile, folder: folder, timeout: spec.budget.scriptTimeout,
                sandbox: isolation.sandbox)
        }
        return try Grader(spec: grading, answersFile: answersFile)
    }
}
