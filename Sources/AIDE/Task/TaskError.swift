import Foundation

/// A problem with a task file or an override of one of its keys, located like a compiler diagnostic:
/// `task.yaml:12:3: budget.steps: expected an integer, found "ten"`, or
/// `override budget.stpes=3: unknown key "stpes" in budget; expected one of: …` (the CLI names the
/// override by its flag).
public struct TaskError: Error, CustomStringConvertible, LocalizedError, Sendable, Equatable {
    /// Where the problem came from.
    public enum Source: Sendable, Hashable {
        /// The task file as the caller named it.
        case file(String)
        /// An override `key.path=value`, as given.
        case override(String)
    }

    public var source: Source
    /// 1-based line, when the problem has a place in the file.
    public var line: Int?
    /// 1-based column (in Unicode scalars, as libyaml counts), when known.
    public var column: Int?
    public var message: String

    public init(file: String, line: Int? = nil, column: Int? = nil, message: String) {
        self.init(source: .file(file), line: line, column: column, message: message)
    }

    public init(source: Source, line: Int? = nil, column: Int? = nil, message: String) {
        self.source = source
        self.line = line
        self.column = column
        self.message = message
    }

    /// `file:line:column`, without the source's own words (the file, or how an override was given).
    public func location(source name: String) -> String {
        var location = name
        if let line {
            location += ":\(line)"
            if let column { location += ":\(column)" }
        }
        return location
    }

    public var description: String {
        switch source {
        case .file(let file): return "\(location(source: file)): \(message)"
        case .override(let text): return "override \(text): \(message)"
        }
    }

    public var errorDescription: String? { description }
}
