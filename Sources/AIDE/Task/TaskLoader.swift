import Foundation
import Yams

/// A task file read, checked, and resolved against its folder.
public struct LoadedTask: Sendable {
    public var spec: TaskSpec
    /// The task file, absolute.
    public var file: URL
    /// The folder of the task file; relative paths in the file resolve against it.
    public var folder: URL
    public var dataDirectory: URL
    /// The hidden answers, when the task has grading.
    public var answersFile: URL?
    /// `description` and the contents of `description_file`, joined; may be empty.
    public var descriptionText: String

    public init(
        spec: TaskSpec, file: URL, folder: URL, dataDirectory: URL, answersFile: URL?, descriptionText: String
    ) {
        self.spec = spec
        self.file = file
        self.folder = folder
        self.dataDirectory = dataDirectory
        self.answersFile = answersFile
        self.descriptionText = descriptionText
    }
}

/// Reads `task.yaml` files: YAML syntax, unknown keys, types, `key.path=value` overrides, and the checks that
/// need the file system (data, answers, description file), running `prepare` when the data is missing.
/// Every problem is a `TaskError` pointing at the line of the key at fault.
public enum TaskLoader {
    /// Loads `file` (or `file/task.yaml` when `file` is a folder), with `overrides` such as
    /// `budget.steps=3` applied before decoding. Blocking: it may run `prepare` and wait for it, so call
    /// it off the cooperative pool (from the command line's main, or a thread of its own). `adjust`
    /// changes the decoded spec (typed run options) before its values are checked.
    public static func load(
        _ file: URL, overrides: [String] = [], adjust: (inout TaskSpec) -> Void = { _ in }
    ) throws -> LoadedTask {
        var file = file
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory), isDirectory.boolValue {
            file = file.appendingPathComponent("task.yaml")
        }
        let name = file.relativePath
        let text: String
        do {
            let data = try Data(contentsOf: file)
            guard let decoded = String(data: data, encoding: .utf8) else {
                throw TaskError(file: name, message: "the task file is not valid UTF-8")
            }
            text = decoded
        } catch let error as TaskError {
            throw error
        } catch {
            throw TaskError(file: name, message: "cannot read the task file: \(ErrorText.reason(error))")
        }
        var document = try TaskDocument(text: text, file: name)
        let parsed = try overrides.map(TaskOverride.init)
        for override in parsed { document.apply(override) }
        try document.checkKeys()
        var spec = try document.decode()
        adjust(&spec)
        return try document.resolve(spec, file: URL(fileURLWithPath: file.path).standardizedFileURL)
    }
}

// MARK: - Schema

/// The keys a task file may have, from the CodingKeys of the spec types (the one source of truth),
/// listed in the order the fields are declared.
enum TaskSchema {
    static let topLevel: [String] = fieldOrder(
        TaskSpec.CodingKeys.self, of: TaskSpec(name: "", goal: "", data: "", metric: MetricSpec(direction: .minimize)))

    /// The sections (keys whose value is a mapping) and their keys.
    static let sections: [String: [String]] = [
        TaskSpec.CodingKeys.metric.stringValue: fieldOrder(MetricSpec.CodingKeys.self, of: MetricSpec(direction: .minimize)),
        TaskSpec.CodingKeys.grading.stringValue: fieldOrder(
            GradingSpec.CodingKeys.self, of: GradingSpec(answers: "", idColumn: "", targetColumn: "", metric: .rmse)),
        TaskSpec.CodingKeys.budget.stringValue: fieldOrder(BudgetSpec.CodingKeys.self, of: BudgetSpec()),
        TaskSpec.CodingKeys.agent.stringValue: fieldOrder(AgentSpec.CodingKeys.self, of: AgentSpec()),
        TaskSpec.CodingKeys.search.stringValue: fieldOrder(SearchSpec.CodingKeys.self, of: SearchSpec()),
        TaskSpec.CodingKeys.exec.stringValue: fieldOrder(ExecSpec.CodingKeys.self, of: ExecSpec()),
    ]

    /// Sections inside a section (`agent.code`), keyed by their dotted path, and their keys.
    static let subsections: [String: [String]] = [
        "agent.code": fieldOrder(ModelSettings.CodingKeys.self, of: ModelSettings()),
        "agent.feedback": fieldOrder(ModelSettings.CodingKeys.self, of: ModelSettings()),
        "agent.retry": fieldOrder(RetrySettings.CodingKeys.self, of: RetrySettings()),
        "exec.slurm": fieldOrder(SlurmSpec.CodingKeys.self, of: SlurmSpec()),
    ]

    /// Keys whose value is a mapping passed on as given (provider parameters): any key goes below them.
    static let freeMappings: Set<String> = ["agent.code.extra", "agent.feedback.extra"]

    /// Keys whose value is an enum, with the values allowed.
    static let enums: [String: [String]] = [
        "\(TaskSpec.CodingKeys.metric.stringValue).\(MetricSpec.CodingKeys.direction.stringValue)":
            MetricDirection.allCases.map(\.rawValue),
        "\(TaskSpec.CodingKeys.grading.stringValue).\(GradingSpec.CodingKeys.metric.stringValue)":
            GradingMetric.allCases.map(\.rawValue),
        "\(TaskSpec.CodingKeys.grading.stringValue).\(GradingSpec.CodingKeys.direction.stringValue)":
            MetricDirection.allCases.map(\.rawValue),
        "\(TaskSpec.CodingKeys.search.stringValue).\(SearchSpec.CodingKeys.policy.stringValue)": PolicyName.allCases.map(\.rawValue),
        "\(TaskSpec.CodingKeys.exec.stringValue).\(ExecSpec.CodingKeys.sandbox.stringValue)": SandboxMode.allCases.map(\.rawValue),
        "\(TaskSpec.CodingKeys.exec.stringValue).\(ExecSpec.CodingKeys.backend.stringValue)": ExecBackend.allCases.map(\.rawValue),
        "\(TaskSpec.CodingKeys.agent.stringValue).\(AgentSpec.CodingKeys.editFormat.stringValue)": EditFormat.allCases.map(\.rawValue),
        "\(TaskSpec.CodingKeys.agent.stringValue).\(AgentSpec.CodingKeys.promptCache.stringValue)":
            PromptCacheSetting.allCases.map(\.rawValue),
    ]

    /// Keys whose value is a duration (`Seconds`).
    static let durations: Set<String> = [
        "\(TaskSpec.CodingKeys.budget.stringValue).\(BudgetSpec.CodingKeys.timeLimit.stringValue)",
        "\(TaskSpec.CodingKeys.budget.stringValue).\(BudgetSpec.CodingKeys.scriptTimeout.stringValue)",
        "\(TaskSpec.CodingKeys.exec.stringValue).\(ExecSpec.CodingKeys.cpuLimit.stringValue)",
        "agent.retry.max_elapsed", "agent.retry.initial_delay", "agent.retry.max_delay", "agent.retry.idle_timeout",
        "agent.retry.timeout", "agent.retry.connect_timeout", "exec.slurm.time",
    ]

    /// `K.allCases` as key strings, ordered like the stored properties of `sample` (a key `time_limit`
    /// matches the property `timeLimit`); keys matching no property keep their place at the end.
    static func fieldOrder<K: CodingKey & CaseIterable>(_ keys: K.Type, of sample: Any) -> [String] {
        let labels = Mirror(reflecting: sample).children.compactMap { $0.label?.lowercased() }
        let all = K.allCases.map(\.stringValue)
        func rank(_ key: String) -> Int {
            labels.firstIndex(of: key.replacingOccurrences(of: "_", with: "").lowercased()) ?? labels.count
        }
        return all.enumerated().sorted { a, b in
            let ra = rank(a.element), rb = rank(b.element)
            return ra != rb ? ra < rb : a.offset < b.offset
        }.map(\.element)
    }

    /// Checks a dotted key path: nil when valid, else what is wrong.
    static func problem(with path: [String]) -> String? {
        guard let first = path.first else { return "empty key path" }
        guard topLevel.contains(first) else { return unknownKey(first, in: nil, allowed: topLevel) }
        guard path.count > 1 else { return nil }
        guard let keys = sections[first] else { return "\"\(first)\" takes a value, not keys (\"\(path.joined(separator: "."))\")" }
        guard keys.contains(path[1]) else { return unknownKey(path[1], in: first, allowed: keys) }
        guard path.count > 2 else { return nil }
        let section = "\(first).\(path[1])"
        guard let inner = subsections[section] else {
            return "\"\(section)\" takes a value, not keys (\"\(path.joined(separator: "."))\")"
        }
        guard inner.contains(path[2]) else { return unknownKey(path[2], in: section, allowed: inner) }
        if path.count > 3, !freeMappings.contains("\(section).\(path[2])") {
            return "\"\(section).\(path[2])\" takes a value, not keys (\"\(path.joined(separator: "."))\")"
        }
        return nil
    }

    static func unknownKey(_ key: String, in section: String?, allowed: [String]) -> String {
        let place = section.map { " in \($0)" } ?? ""
        return "unknown key \"\(key)\"\(place); expected one of: \(allowed.joined(separator: ", "))"
    }
}

// MARK: - Overrides

/// One override, `key.path=value`.
struct TaskOverride {
    var path: [String]
    var value: String
    /// As given, for error locations.
    var text: String

    var origin: TaskError.Source { .override(text) }

    init(_ text: String) throws {
        self.text = text
        guard let equals = text.firstIndex(of: "=") else {
            throw TaskError(source: .override(text), message: "expected key.path=value, such as budget.steps=3")
        }
        let key = text[..<equals].trimmingCharacters(in: .whitespaces)
        path = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        value = String(text[text.index(after: equals)...])
        if key.isEmpty || path.contains(where: \.isEmpty) {
            throw TaskError(source: .override(text), message: "expected key.path=value, such as budget.steps=3")
        }
        if let problem = TaskSchema.problem(with: path) {
            throw TaskError(source: .override(text), message: problem)
        }
    }
}

// MARK: - The composed document

/// The composed YAML tree of one task file, with the overrides applied to it, and how to locate a
/// key path in the file (or in an override) for error messages.
struct TaskDocument {
    var root: Yams.Node
    var file: String
    var overrides: [TaskOverride] = []

    init(text: String, file: String) throws {
        self.file = file
        let composed: Yams.Node?
        do {
            composed = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw Self.syntaxError(error, file: file, text: text)
        } catch {
            throw TaskError(file: file, message: "YAML error: \(error)")
        }
        guard let composed, !Self.isNull(composed) else {
            throw TaskError(file: file, line: 1, message: "the task file is empty")
        }
        guard case .mapping = composed else {
            throw TaskError(
                file: file, line: composed.mark?.line ?? 1, column: composed.mark?.column,
                message: "expected a mapping of keys (name: …, goal: …) at the top level, found \(Self.describe(composed))")
        }
        root = composed
    }

    static func syntaxError(_ error: YamlError, file: String, text: String) -> TaskError {
        func message(_ problem: String, _ context: YamlError.Context?) -> String {
            var message = "YAML syntax error: \(problem)"
            if let context { message += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))" }
            return message
        }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return TaskError(file: file, line: mark.line, column: mark.column, message: message(problem, context))
        case .duplicatedKeysInMapping(let duplicates, let context):
            // Yams marks the mapping; point at the second `key:` at the mapping's indentation when the
            // text shows it (block style), else at the mapping.
            var line = context.mark.line
            var column = context.mark.column
            if let key = duplicates.sorted().first {
                let indent = String(repeating: " ", count: max(0, context.mark.column - 1))
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                let hits = lines.indices.dropFirst(max(0, context.mark.line - 1)).filter { index in
                    let text = lines[index]
                    guard text.hasPrefix(indent) else { return false }
                    let rest = text.dropFirst(indent.count)
                    return rest.hasPrefix(key + ":") || rest.hasPrefix("\"\(key)\":") || rest.hasPrefix("'\(key)':")
                }
                if hits.count >= 2 {
                    line = hits[1] + 1
                    column = indent.count + 1
                }
            }
            return TaskError(
                file: file, line: line, column: column,
                message: "duplicate key(s) \(duplicates.sorted().map { "\"\($0)\"" }.joined(separator: ", ")) in one mapping")
        case .reader(let problem, let offset, _, _):
            var line = 1
            var column = 1
            if let offset {
                for character in text.prefix(offset) {
                    if character == "\n" {
                        line += 1
                        column = 1
                    } else {
                        column += 1
                    }
                }
            }
            return TaskError(file: file, line: line, column: column, message: "YAML syntax error: \(problem)")
        default:
            return TaskError(file: file, message: "YAML error: \(error)")
        }
    }

    // MARK: Overrides

    /// Sets the override's value (a plain YAML scalar) at its path, creating mappings on the way.
    mutating func apply(_ override: TaskOverride) {
        overrides.append(override)
        // `[a, b]` and `{k: v}` are YAML flow collections (agent.code.betas, agent.code.extra); the rest a scalar.
        let flow = override.value.hasPrefix("[") || override.value.hasPrefix("{")
        let value = (flow ? (try? Yams.compose(yaml: override.value)) ?? nil : nil)
            ?? Yams.Node(override.value, .implicit, .plain)
        Self.set(&root, path: override.path[...], to: value)
    }

    private static func set(_ node: inout Yams.Node, path: ArraySlice<String>, to value: Yams.Node) {
        guard let key = path.first else {
            node = value
            return
        }
        var mapping: Yams.Node.Mapping
        if case .mapping(let existing) = node { mapping = existing } else { mapping = Yams.Node.Mapping([]) }
        var child = mapping[key] ?? Yams.Node([(Yams.Node, Yams.Node)]())
        if path.count > 1, mapping[key].map({ !isMapping($0) }) ?? false { child = Yams.Node([(Yams.Node, Yams.Node)]()) }
        set(&child, path: path.dropFirst(), to: value)
        mapping[key] = child
        node = .mapping(mapping)
    }

    // MARK: Keys

    /// Every key must be one the spec knows, at the top level and in each section.
    func checkKeys() throws {
        guard case .mapping(let top) = root else { return }
        for (key, value) in top {
            let name = Self.keyName(key)
            if name == "<<" { continue }  // a YAML merge key
            guard TaskSchema.topLevel.contains(name) else {
                throw error(at: key, TaskSchema.unknownKey(name, in: nil, allowed: TaskSchema.topLevel))
            }
            guard let allowed = TaskSchema.sections[name], case .mapping(let section) = value else { continue }
            for (innerKey, innerValue) in section {
                let innerName = Self.keyName(innerKey)
                if innerName == "<<" { continue }
                guard allowed.contains(innerName) else {
                    throw error(at: innerKey, TaskSchema.unknownKey(innerName, in: name, allowed: allowed))
                }
                let dotted = "\(name).\(innerName)"
                guard let keys = TaskSchema.subsections[dotted], case .mapping(let subsection) = innerValue else { continue }
                for (subKey, _) in subsection where Self.keyName(subKey) != "<<" {
                    guard keys.contains(Self.keyName(subKey)) else {
                        throw error(at: subKey, TaskSchema.unknownKey(Self.keyName(subKey), in: dotted, allowed: keys))
                    }
                }
            }
        }
    }

    private func error(at node: Yams.Node, _ message: String) -> TaskError {
        TaskError(file: file, line: node.mark?.line, column: node.mark?.column, message: message)
    }

    // MARK: Decoding

    func decode() throws -> TaskSpec {
        do {
            return try YAMLDecoder().decode(TaskSpec.self, from: root)
        } catch let error as DecodingError {
            throw taskError(for: error)
        }
    }

    func taskError(for error: DecodingError) -> TaskError {
        switch error {
        case .keyNotFound(let key, let context):
            let parent = context.codingPath.map(\.stringValue)
            let place = parent.isEmpty ? "" : " in \(parent.joined(separator: "."))"
            return located(parent, "missing required key \"\(key.stringValue)\"\(place)")
        case .typeMismatch(let type, let context):
            let path = context.codingPath.map(\.stringValue)
            let dotted = path.joined(separator: ".")
            let found = node(at: path).map(Self.describe) ?? "nothing"
            let expected: String
            if TaskSchema.durations.contains(dotted) {
                expected = "a duration such as 600, \"90s\", \"10m\" or \"1h30m\""
            } else if let allowed = TaskSchema.enums[dotted] {
                expected = "one of \(allowed.joined(separator: ", "))"
            } else {
                expected = Self.expectation(type)
            }
            return located(path, "\(dotted.isEmpty ? "task file" : dotted): expected \(expected), found \(found)")
        case .valueNotFound(let type, let context):
            let path = context.codingPath.map(\.stringValue)
            return located(path, "\(path.joined(separator: ".")): expected \(Self.expectation(type)), found nothing")
        case .dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue)
            let dotted = path.joined(separator: ".")
            if let allowed = TaskSchema.enums[dotted] {
                let found = node(at: path).map(Self.describe) ?? "nothing"
                return located(path, "\(dotted): expected one of \(allowed.joined(separator: ", ")), found \(found)")
            }
            return located(path, "\(dotted): \(context.debugDescription)")
        @unknown default:
            return TaskError(file: file, message: "\(error)")
        }
    }

    static func expectation(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int64.Type, is Int32.Type: return "an integer"
        case is UInt64.Type, is UInt.Type, is UInt32.Type: return "a non-negative integer"
        case is Double.Type, is Float.Type: return "a number"
        case is Bool.Type: return "true or false"
        case is String.Type, is Yams.Node.Scalar.Type: return "a single value (text or a number)"
        case is Yams.Node.Mapping.Type: return "a mapping of keys"
        case is Yams.Node.Sequence.Type: return "a list"
        default: return "a \(type)"
        }
    }

    // MARK: Locating

    /// The key node and value node at `path`, if the tree has them.
    func entry(at path: [String]) -> (key: Yams.Node, value: Yams.Node)? {
        var current = root
        var found: (Yams.Node, Yams.Node)?
        for component in path {
            guard case .mapping(let mapping) = current,
                let pair = mapping.reversed().first(where: { Self.keyName($0.key) == component })
            else { return nil }
            found = (pair.key, pair.value)
            current = pair.value
        }
        return found
    }

    func node(at path: [String]) -> Yams.Node? {
        path.isEmpty ? root : entry(at: path)?.value
    }

    /// A TaskError located at the key at `path`: the override that set it, else its line in the file,
    /// else (a key the file lacks) the override that created its mapping or the nearest enclosing key.
    func located(_ path: [String], _ message: String) -> TaskError {
        if let override = overrides.last(where: { $0.path == path }) {
            return TaskError(source: override.origin, message: message)
        }
        if path.isEmpty { return TaskError(file: file, line: 1, message: message) }
        if let mark = entry(at: path)?.key.mark {
            return TaskError(file: file, line: mark.line, column: mark.column, message: message)
        }
        if let override = overrides.last(where: { $0.path.starts(with: path) }) {
            return TaskError(source: override.origin, message: message)
        }
        return located(Array(path.dropLast()), message)
    }

    // MARK: Node helpers

    static func keyName(_ node: Yams.Node) -> String {
        node.scalar?.string ?? describe(node)
    }

    static func isMapping(_ node: Yams.Node) -> Bool {
        if case .mapping = node { return true }
        return false
    }

    static func isNull(_ node: Yams.Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    static func describe(_ node: Yams.Node) -> String {
        switch node {
        case .scalar(let scalar):
            if isNull(node) { return "an empty value" }
            let text = scalar.string.count > 60 ? String(scalar.string.prefix(60)) + "…" : scalar.string
            return "\"\(text)\""
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    // MARK: Semantic checks

    /// Checks values and the file system, runs `prepare` when the data or answers are missing, and
    /// resolves paths against the task's folder.
    func resolve(_ spec: TaskSpec, file: URL) throws -> LoadedTask {
        try checkValues(spec)
        let folder = file.deletingLastPathComponent()
        let python = LoadedTask(
            spec: spec, file: file, folder: folder, dataDirectory: folder, answersFile: nil, descriptionText: ""
        ).pythonExecutable
        try checkRunSettings(spec, python: python)
        func resolve(_ path: String) -> URL {
            let expanded = (path as NSString).expandingTildeInPath
            if expanded.hasPrefix("/") { return URL(fileURLWithPath: expanded).standardizedFileURL }
            return folder.appendingPathComponent(expanded).standardizedFileURL
        }
        let fileManager = FileManager.default
        func isDirectory(_ url: URL) -> Bool {
            var directory: ObjCBool = false
            return fileManager.fileExists(atPath: url.path, isDirectory: &directory) && directory.boolValue
        }
        func isFile(_ url: URL) -> Bool {
            var directory: ObjCBool = false
            return fileManager.fileExists(atPath: url.path, isDirectory: &directory) && !directory.boolValue
        }

        let K = TaskSpec.CodingKeys.self
        let dataDirectory = resolve(spec.data)
        let answersFile = spec.grading.map { resolve($0.answers) }
        var prepared = false
        if !isDirectory(dataDirectory) || answersFile.map({ !isFile($0) }) == true, let prepare = spec.prepare {
            try runPrepare(prepare, in: folder)
            prepared = true
        }
        guard isDirectory(dataDirectory) else {
            let what: String
            if fileManager.fileExists(atPath: dataDirectory.path) {
                what = "is not a directory"
            } else if prepared {
                what = "does not exist (prepare ran but did not create it)"
            } else {
                what = spec.prepare == nil ? "does not exist; add a prepare command that creates it" : "does not exist"
            }
            throw located([K.data.stringValue], "data: \(dataDirectory.path) \(what)")
        }

        if let answersFile, let grading = spec.grading {
            let path = [K.grading.stringValue, GradingSpec.CodingKeys.answers.stringValue]
            guard isFile(answersFile) else {
                let what = prepared ? "does not exist (prepare ran but did not create it)" : "does not exist"
                throw located(path, "grading.answers: \(answersFile.path) \(what)")
            }
            let realAnswers = answersFile.resolvingSymlinksInPath().path
            let realData = dataDirectory.resolvingSymlinksInPath().path
            if realAnswers.hasPrefix(realData.hasSuffix("/") ? realData : realData + "/") {
                throw located(
                    path,
                    "grading.answers: \(grading.answers) is inside the data directory \(spec.data), where solution "
                        + "scripts can read it; keep the answers outside it")
            }
        }
        if let sample = spec.grading?.sampleSubmission, !isFile(dataDirectory.appendingPathComponent(sample)) {
            throw located(
                [K.grading.stringValue, GradingSpec.CodingKeys.sampleSubmission.stringValue],
                "grading.sample_submission: \(sample) is not a file in the data directory \(spec.data)")
        }

        var parts: [String] = []
        if let description = spec.description, !description.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            parts.append(description.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        if let descriptionFile = spec.descriptionFile {
            let url = resolve(descriptionFile)
            guard isFile(url) else {
                throw located([K.descriptionFile.stringValue], "description_file: \(url.path) does not exist")
            }
            guard let data = try? Data(contentsOf: url), let text = String(data: data, encoding: .utf8) else {
                throw located([K.descriptionFile.stringValue], "description_file: \(url.path) cannot be read as UTF-8 text")
            }
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !trimmed.isEmpty { parts.append(trimmed) }
        }
        return LoadedTask(
            spec: spec, file: file, folder: folder, dataDirectory: dataDirectory, answersFile: answersFile,
            descriptionText: parts.joined(separator: "\n\n"))
    }

    /// Checks of values that have a type but not every value of it makes sense.
    func checkValues(_ spec: TaskSpec) throws {
        func check(_ ok: Bool, _ path: String, _ message: String) throws {
            if !ok { throw located(path.split(separator: ".").map(String.init), "\(path): \(message)") }
        }
        func blank(_ text: String) -> Bool { text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
        try check(!blank(spec.name), "name", "must not be empty")
        try check(!blank(spec.goal), "goal", "must not be empty")
        try check(!blank(spec.data), "data", "must not be empty")
        if let grading = spec.grading {
            try check(!blank(grading.answers), "grading.answers", "must not be empty")
            try checkGrading(grading, check)
            try check(!blank(grading.submission), "grading.submission", "must not be empty")
            for (name, value) in (grading.thresholds ?? [:]).sorted(by: { $0.key < $1.key }) {
                try check(!blank(name), "grading.thresholds", "a threshold needs a name")
                try check(value.isFinite, "grading.thresholds.\(name)", "must be a finite number, found \(value)")
            }
        }
        let budget = spec.budget
        try check(budget.steps >= 1, "budget.steps", "must be at least 1, found \(budget.steps)")
        if let usd = budget.usd { try check(usd > 0, "budget.usd", "must be more than 0, found \(usd)") }
        if let tokens = budget.tokens { try check(tokens >= 1, "budget.tokens", "must be at least 1, found \(tokens)") }
        let agent = spec.agent
        try check(!blank(agent.codeModel), "agent.code_model", "must not be empty")
        try check((0...2).contains(agent.codeTemperature), "agent.code_temperature", "must be in 0...2, found \(agent.codeTemperature)")
        try check(
            (0...2).contains(agent.feedbackTemperature), "agent.feedback_temperature",
            "must be in 0...2, found \(agent.feedbackTemperature)")
        if let maxTokens = agent.maxTokens { try check(maxTokens >= 1, "agent.max_tokens", "must be at least 1, found \(maxTokens)") }
        let search = spec.search
        try check(search.numDrafts >= 1, "search.num_drafts", "must be at least 1, found \(search.numDrafts)")
        try check((0...1).contains(search.debugProb), "search.debug_prob", "must be in 0...1, found \(search.debugProb)")
        try check(search.maxDebugDepth >= 0, "search.max_debug_depth", "must be at least 0, found \(search.maxDebugDepth)")
        try check(search.workers >= 1, "search.workers", "must be at least 1, found \(search.workers)")
        switch search.policy {
        case .greedy:
            break
        case .mcts(let mcts):
            try check(mcts.exploration >= 0, "search.exploration", "must be at least 0, found \(mcts.exploration)")
            try check(mcts.maxChildren >= 1, "search.max_children", "must be at least 1, found \(mcts.maxChildren)")
        case .evolutionary(let evolution):
            try check(evolution.islands >= 1, "search.islands", "must be at least 1, found \(evolution.islands)")
            try check(
                evolution.migrationInterval >= 1, "search.migration_interval",
                "must be at least 1, found \(evolution.migrationInterval)")
            try check(
                (0...1).contains(evolution.crossoverProb), "search.crossover_prob",
                "must be in 0...1, found \(evolution.crossoverProb)")
            try check(
                evolution.tournamentSize >= 1, "search.tournament_size", "must be at least 1, found \(evolution.tournamentSize)")
        }
        if let calls = agent.parallelCalls { try check(calls >= 1, "agent.parallel_calls", "must be at least 1, found \(calls)") }
        let exec = spec.exec
        try check(!blank(exec.python), "exec.python", "must not be empty")
        try check(exec.outputLimit >= 1000, "exec.output_limit", "must be at least 1000 bytes, found \(exec.outputLimit)")
        if let memory = exec.memoryLimitMB { try check(memory >= 1, "exec.memory_limit_mb", "must be at least 1, found \(memory)") }
        if let parallel = exec.parallel { try check(parallel >= 1, "exec.parallel", "must be at least 1, found \(parallel)") }
        try check(exec.maxProcesses >= 1, "exec.max_processes", "must be at least 1, found \(exec.maxProcesses)")
        try check(exec.maxFileMB >= 1, "exec.max_file_mb", "must be at least 1, found \(exec.maxFileMB)")
        try check(exec.tmpMB >= 1, "exec.tmp_mb", "must be at least 1, found \(exec.tmpMB)")
        try check(exec.maxDiskMB >= 1, "exec.max_disk_mb", "must be at least 1, found \(exec.maxDiskMB)")
        try checkSlurm(exec)
    }

    /// Runs `command` with `/bin/sh -c` in `folder`, its output streamed to standard error; a failure is
    /// a TaskError at the `prepare` key quoting the last lines of the output.
    func runPrepare(_ command: String, in folder: URL) throws {
        let path = [TaskSpec.CodingKeys.prepare.stringValue]
        let stderr = FileHandle.standardError
        stderr.write(Data("[task] data missing; running prepare in \(folder.path): \(command)\n".utf8))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.currentDirectoryURL = folder
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw located(path, "prepare: cannot start /bin/sh: \(ErrorText.reason(error))")
        }
        let reader = pipe.fileHandleForReading
        var tail = Data()
        while true {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            stderr.write(chunk)
            tail.append(chunk)
            if tail.count > 64 * 1024 { tail = Data(tail.suffix(16 * 1024)) }
        }
        process.waitUntilExit()
        guard process.terminationReason != .exit || process.terminationStatus != 0 else { return }
        let how =
            process.terminationReason == .uncaughtSignal
            ? "was killed by signal \(process.terminationStatus)" : "failed with exit status \(process.terminationStatus)"
        let lines = String(decoding: tail, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .map(String.init)
        let last = lines.reversed().drop { $0.trimmingCharacters(in: .whitespaces).isEmpty }.prefix(15).reversed()
        var message = "prepare (\(command)) \(how)"
        message += last.isEmpty ? " and printed nothing" : "; its last output:\n" + last.map { "  " + $0 }.joined(separator: "\n")
        throw located(path, message)
    }
}
