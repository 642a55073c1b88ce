import Foundation

/// A problem with a task file or an override of one of its keys, located like a compiler diagnostic:
/// `task.yaml:12:3: budget.steps: expected an integer, found "ten"`, or
/// `override budget.stpes=3: unknown key "stpes" in budget; expected one of: …` (the CLI names the
/// override by its flag).
public struct TaskError: Error, CustomStringConvertible, LocalizedError, Sendable, Hashable {
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
    public var problem: TaskProblem

    public init(file: String, line: Int? = nil, column: Int? = nil, problem: TaskProblem) {
        self.init(source: .file(file), line: line, column: column, problem: problem)
    }

    public init(source: Source, line: Int? = nil, column: Int? = nil, problem: TaskProblem) {
        self.source = source
        self.line = line
        self.column = column
        self.problem = problem
    }

    /// The problem in words, without its place.
    public var message: String { problem.description }

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

/// What is wrong with a task file or an override, as facts: key paths as their components, numbers as
/// numbers, the keys and values allowed. `description` is the one place they are put in words, most
/// of them led by the key at fault (`budget.steps: must be at least 1, found 0`).
public enum TaskProblem: Sendable, Hashable, CustomStringConvertible {
    // The file and its YAML.
    /// The file cannot be read; `reason` is the file system's, in a few words (`ErrorText.reason`).
    case unreadable(reason: String)
    case notUTF8
    /// Nothing but comments, or nothing at all.
    case empty
    /// The top level is not a mapping of keys.
    case notAMapping(found: Found)
    /// libyaml's problem text (it cannot be typed), with what it was reading and where that began.
    case syntax(problem: String, context: SyntaxContext?)
    /// An error of the YAML library that has no place in the file, in its own words.
    case yaml(reason: String)
    case duplicateKeys([String])

    // Keys.
    /// An override that is not `key.path=value`.
    case malformedOverride
    /// `key` in `section` (empty: the top level) is not one of `known`.
    case unknownKey(String, section: [String], known: [String])
    /// A key path goes below `key`, which takes a value.
    case notASection(key: [String], path: [String])
    case missingKey(String, section: [String])

    // Values.
    /// The value at `key` is not of the kind expected (a type, one of some values, a format).
    case expected(key: [String], Expectation, found: Found)
    /// A value type's own decoder refused the value at `key`; its words (a `DecodingError`'s description).
    case invalidValue(key: [String], reason: String)
    /// Text that must not be blank.
    case blank(key: [String])
    /// A list or mapping at `key` holding an entry without a name.
    case unnamed(key: [String], Entry)
    /// `grading.target_columns` as an empty list.
    case noColumns(key: [String])
    case outOfRange(key: [String], Number, allowed: Limit)
    /// `grading` with both a metric and a command.
    case metricAndCommand
    /// `grading.command` without `grading.direction`.
    case commandWithoutDirection
    /// Model options the provider would refuse, for the model at `key` (`agent.code`).
    case modelOptions(key: [String], model: String, problem: ModelOptionsProblem)
    /// An `exec.slurm` name (partition, account, QoS) sbatch would refuse.
    case notASlurmName(key: [String], String, SlurmName)
    /// An `exec.slurm.extra_args` entry that is not one sbatch option.
    case notAnSbatchOption(key: [String], String)
    /// An sbatch option aide sets for each script's job itself.
    case setByAide(key: [String], option: String)

    // Files, `prepare`, and the Python that runs the scripts.
    case doesNotExist(key: [String], path: String, hint: MissingHint?)
    case notADirectory(key: [String], path: String)
    case notUTF8Text(key: [String], path: String)
    /// The answers (as written in the task) inside the data directory the scripts read.
    case answersInsideData(answers: String, data: String)
    /// `file` is not a file in the data directory `data` (both as written in the task).
    case notInData(key: [String], file: String, data: String)
    /// `/bin/sh` cannot start to run `prepare`; the reason in a few words (`ErrorText.reason`).
    case prepareCannotStart(reason: String)
    /// `prepare` failed; the last lines of its output (at most 15).
    case prepareFailed(command: String, Ending, lastOutput: [String])
    /// `exec.python` is neither an executable file nor a command on PATH.
    case noPython(String)
    /// The executable found for `exec.python` does not run Python 3; the last line it printed, if any.
    case notPython3(String, said: String?)
    /// A package of `exec.packages` does not import; Python's words (`module: ErrorType: text`).
    case cannotImport(python: String, failure: String)
    /// Python cannot start under `exec.memory_limit_mb`.
    case memoryTooSmall(megabytes: Int, python: String)

    /// What a value should have been.
    public enum Expectation: Sendable, Hashable, CustomStringConvertible {
        case integer, nonNegativeInteger, number, boolean, singleValue, mapping, list
        /// Seconds, or text such as "90s".
        case duration
        /// A duration given as a number must be positive and finite.
        case positiveDuration
        case oneOf([String])
        /// Slurm's memory format (4G, 500M).
        case slurmMemory
        /// Slurm's generic resource format (gpu:1).
        case slurmResource
        /// `exec.gpus`: auto, none, or GPU indices.
        case gpus
        /// A type the task's decoders do not name otherwise, by its Swift name.
        case type(String)

        public var description: String {
            switch self {
            case .integer: return "an integer"
            case .nonNegativeInteger: return "a non-negative integer"
            case .number: return "a number"
            case .boolean: return "true or false"
            case .singleValue: return "a single value (text or a number)"
            case .mapping: return "a mapping of keys"
            case .list: return "a list"
            case .duration: return "a duration such as 600, \"90s\", \"10m\" or \"1h30m\""
            case .positiveDuration: return "a positive, finite duration"
            case .oneOf(let values): return "one of \(values.joined(separator: ", "))"
            case .slurmMemory: return "Slurm's memory format such as 4G, 500M or 2048 (MiB)"
            case .slurmResource: return "a generic resource such as gpu:1 or gpu:a100:2"
            case .gpus: return "auto, none or a list of GPU indices such as [0, 1]"
            case .type(let name): return "a \(name)"
            }
        }
    }

    /// What a value was: the YAML node found, or the number a decoder read from it.
    public enum Found: Sendable, Hashable, CustomStringConvertible {
        case nothing
        /// `~`, `null` or no value at all.
        case emptyValue
        case text(String)
        case number(Double)
        case mapping, list, alias

        public var description: String {
            switch self {
            case .nothing: return "nothing"
            case .emptyValue: return "an empty value"
            case .text(let text): return "\"\(text.count > 60 ? String(text.prefix(60)) + "…" : text)\""
            case .number(let number): return "\(number)"
            case .mapping: return "a mapping"
            case .list: return "a list"
            case .alias: return "an alias"
            }
        }
    }

    /// What libyaml was reading when it met the problem, and where that began.
    public struct SyntaxContext: Sendable, Hashable {
        public var text: String
        public var line: Int
        public var column: Int
    }

    public enum Number: Sendable, Hashable, CustomStringConvertible {
        case integer(Int)
        case real(Double)

        public var description: String {
            switch self {
            case .integer(let value): return "\(value)"
            case .real(let value): return "\(value)"
            }
        }
    }

    /// The values a number may take.
    public enum Limit: Sendable, Hashable, CustomStringConvertible {
        case atLeast(Int)
        case atLeastBytes(Int)
        case atLeastSeconds(Int)
        case moreThanZero
        /// `lower...upper`.
        case within(Int, Int)
        /// `(0, upper]`.
        case aboveZeroAtMost(Int)
        case finite

        public var description: String {
            switch self {
            case .atLeast(let minimum): return "at least \(minimum)"
            case .atLeastBytes(let minimum): return "at least \(minimum) bytes"
            case .atLeastSeconds(let minimum): return "at least \(minimum) second\(minimum == 1 ? "" : "s")"
            case .moreThanZero: return "more than 0"
            case .within(let lower, let upper): return "in \(lower)...\(upper)"
            case .aboveZeroAtMost(let upper): return "in (0, \(upper)]"
            case .finite: return "a finite number"
            }
        }
    }

    /// The entries of a list or mapping that need a name.
    public enum Entry: Sendable, Hashable {
        case threshold, column, beta
    }

    public enum SlurmName: Sendable, Hashable {
        case partition, account, qos
    }

    /// Why a path the task needs is missing, when `prepare` tells.
    public enum MissingHint: Sendable, Hashable {
        /// `prepare` ran and did not create it.
        case prepareDidNotCreate
        /// There is no `prepare` command that could create it.
        case noPrepare
    }

    /// How a process ended when it failed.
    public enum Ending: Sendable, Hashable {
        case status(Int32)
        case signal(Int32)
    }

    /// The key at fault, when the problem has one (and the task file's key that words it).
    public var key: [String]? {
        switch self {
        case .expected(let key, _, _), .invalidValue(let key, _), .blank(let key), .unnamed(let key, _),
            .noColumns(let key), .outOfRange(let key, _, _), .modelOptions(let key, _, _), .notASlurmName(let key, _, _),
            .notAnSbatchOption(let key, _), .setByAide(let key, _), .doesNotExist(let key, _, _),
            .notADirectory(let key, _), .notUTF8Text(let key, _), .notInData(let key, _, _):
            return key
        case .metricAndCommand: return ["grading", "command"]
        case .commandWithoutDirection: return ["grading", "direction"]
        case .answersInsideData: return ["grading", "answers"]
        case .prepareCannotStart, .prepareFailed: return ["prepare"]
        case .noPython, .notPython3: return ["exec", "python"]
        case .cannotImport: return ["exec", "packages"]
        case .memoryTooSmall: return ["exec", "memory_limit_mb"]
        case .unreadable, .notUTF8, .empty, .notAMapping, .syntax, .yaml, .duplicateKeys, .malformedOverride,
            .unknownKey, .notASection, .missingKey:
            return nil
        }
    }

    public var description: String {
        switch self {
        case .unreadable(let reason): return "cannot read the task file: \(reason)"
        case .notUTF8: return "the task file is not valid UTF-8"
        case .empty: return "the task file is empty"
        case .notAMapping(let found): return "expected a mapping of keys (name: …, goal: …) at the top level, found \(found)"
        case .syntax(let problem, let context):
            let place = context.map { " (\($0.text) at line \($0.line), column \($0.column))" } ?? ""
            return "YAML syntax error: \(problem)\(place)"
        case .yaml(let reason): return "YAML error: \(reason)"
        case .duplicateKeys(let keys): return "duplicate key(s) \(keys.map { "\"\($0)\"" }.joined(separator: ", ")) in one mapping"
        case .malformedOverride: return "expected key.path=value, such as budget.steps=3"
        case .unknownKey(let key, let section, let known):
            let place = section.isEmpty ? "" : " in \(Self.dotted(section))"
            return "unknown key \"\(key)\"\(place); expected one of: \(known.joined(separator: ", "))"
        case .notASection(let key, let path): return "\"\(Self.dotted(key))\" takes a value, not keys (\"\(Self.dotted(path))\")"
        case .missingKey(let key, let section):
            return "missing required key \"\(key)\"" + (section.isEmpty ? "" : " in \(Self.dotted(section))")
        case .expected(let key, let expected, let found):
            return "\(key.isEmpty ? "task file" : Self.dotted(key)): expected \(expected), found \(found)"
        case .invalidValue(let key, let reason): return key.isEmpty ? reason : "\(Self.dotted(key)): \(reason)"
        case .prepareFailed(let command, let ending, let lastOutput):
            let how = switch ending {
            case .status(let status): "failed with exit status \(status)"
            case .signal(let signal): "was killed by signal \(signal)"
            }
            return "prepare (\(command)) \(how)"
                + (lastOutput.isEmpty ? " and printed nothing" : "; its last output:\n" + lastOutput.map { "  " + $0 }.joined(separator: "\n"))
        case .blank: return lead + "must not be empty"
        case .unnamed(_, .threshold): return lead + "a threshold needs a name"
        case .unnamed(_, .column): return lead + "must not hold an empty name"
        case .unnamed(_, .beta): return lead + "a beta name is empty"
        case .noColumns: return lead + "must name at least one column"
        case .outOfRange(_, let value, let allowed): return lead + "must be \(allowed), found \(value)"
        case .metricAndCommand: return lead + "give a metric or a command, not both"
        case .commandWithoutDirection:
            return lead + "a grading command needs direction: minimize or maximize (which way its score is better)"
        case .modelOptions(_, let model, let problem): return lead + "\(model): \(problem)"
        case .notASlurmName(_, let name, .partition): return lead + "\"\(name)\" is not a partition name"
        case .notASlurmName(_, let name, .account): return lead + "\"\(name)\" is not an account name"
        case .notASlurmName(_, let name, .qos): return lead + "\"\(name)\" is not a QoS name"
        case .notAnSbatchOption(_, let argument):
            return lead + "each entry is one sbatch option such as --constraint=a100, found \"\(argument)\""
        case .setByAide(_, let option): return lead + "\(option) is set by aide for each script's job; remove it"
        case .doesNotExist(_, let path, nil): return lead + "\(path) does not exist"
        case .doesNotExist(_, let path, .prepareDidNotCreate?): return lead + "\(path) does not exist (prepare ran but did not create it)"
        case .doesNotExist(_, let path, .noPrepare?): return lead + "\(path) does not exist; add a prepare command that creates it"
        case .notADirectory(_, let path): return lead + "\(path) is not a directory"
        case .notUTF8Text(_, let path): return lead + "\(path) cannot be read as UTF-8 text"
        case .answersInsideData(let answers, let data):
            return lead + "\(answers) is inside the data directory \(data), where solution scripts can read it; keep the answers outside it"
        case .notInData(_, let file, let data): return lead + "\(file) is not a file in the data directory \(data)"
        case .prepareCannotStart(let reason): return lead + "cannot start /bin/sh: \(reason)"
        case .noPython(let python): return lead + "\(python) is not an executable file (nor a command on PATH)"
        case .notPython3(let python, let said): return lead + "\(python) is not a working Python 3" + (said.map { ": \($0)" } ?? "")
        case .cannotImport(let python, let failure): return lead + "\(python) cannot import \(failure)"
        case .memoryTooSmall(let megabytes, let python):
            return lead + "\(megabytes) MiB is too little for \(python) to start; every script would fail. "
                + "Give at least a few hundred MiB, or remove the limit"
        }
    }

    /// `key: `, the lead of the problems worded at their key.
    private var lead: String { "\(Self.dotted(key ?? [])): " }

    static func dotted(_ path: [String]) -> String { path.joined(separator: ".") }
}

/// A value a task type's decoder refuses, as facts: thrown as the underlying error of a
/// `DecodingError.dataCorrupted` (any decoder can report that), which the task loader turns into
/// `TaskProblem.expected` at the value's key. Without `found`, the loader describes the YAML node.
struct UnexpectedValue: Error, CustomStringConvertible {
    var expected: TaskProblem.Expectation
    var found: TaskProblem.Found?

    var description: String { "expected \(expected)" + (found.map { ", found \($0)" } ?? "") }

    func decodingError(_ container: any SingleValueDecodingContainer) -> DecodingError {
        .dataCorrupted(.init(codingPath: container.codingPath, debugDescription: description, underlyingError: self))
    }
}
