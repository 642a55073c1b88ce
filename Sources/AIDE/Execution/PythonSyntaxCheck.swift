import Foundation
import Subprocess
import SystemPackage

/// Compiles a script with the task's Python without running it, so an answer whose code does not
/// even parse is asked for again instead of costing an execution.
public struct PythonSyntaxCheck: Sendable {
    public var python: String

    public init(python: String) {
        self.python = python
    }

    /// Nil when the code compiles; otherwise Python's message (`SyntaxError: … line 3`).
    public func problem(in code: String) async throws -> String? {
        let executable: Executable = python.contains("/") ? .path(FilePath(python)) : .name(python)
        let checker = "import sys\ntry:\n    compile(sys.stdin.read(), 'runfile.py', 'exec')\nexcept SyntaxError as e:\n"
            + "    print(f'{type(e).__name__}: {e.msg} (line {e.lineno})'); sys.exit(1)\n"
        let result = try await run(
            executable, arguments: ["-c", checker], environment: .inherit,
            input: .string(code), output: .string(limit: 64 * 1024), error: .string(limit: 64 * 1024))
        if case .exited(0) = result.terminationStatus { return nil }
        let message = result.standardOutput + result.standardError
        return message.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
