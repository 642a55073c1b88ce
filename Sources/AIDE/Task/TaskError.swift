import Foundation

/// A problem with a task file or a `--set` override, located like a compiler diagnostic:
/// `task.yaml:12:3: budget.steps: expected an integer, found "ten"`, or
/// `--set budget.stpes=3: unknown key "stpes" in budget; expected one of: …` for an override.
public struct TaskError: Error, CustomStringConvertible, LocalizedError, Sendable, Equatable {
    /// The task file as the caller named it, or `--set key=value` for an override.
    public var file: String
    /// 1-based line, when the problem has a place in the file.
    public var line: Int?
    /// 1-based column (in Unicode scalars, as libyaml counts), when known.
    public var column: Int?
    public var message: String

    public init(file: String, line: Int? = nil, column: Int? = nil, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        var location = file
        if let line {
            location += ":\(line)"
            if let column { location += ":\(column)" }
        }
        return "\(location): \(message)"
    }

    public var errorDescription: String? { description }
}
