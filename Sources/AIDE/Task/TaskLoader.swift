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
                throw TaskError(file: name, problem: .notUTF8)
            }
            text = decoded
        } catch let error as TaskError {
            throw error
        } catch {
            throw TaskError(file: name, problem: .unreadable(reason: ErrorText.reason(error)))
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
        "\(TaskSpec.CodingKeys.exec.stringValue).\(ExecSpec.CodingKeys.data.stringValue)": DataSharing.allCases.map(\.rawValue),
        "\(TaskSpec.CodingKeys.search.stringValue).\(SearchSpec.CodingKeys.reasoning.stringValue)":
            ReasoningForm.allCases.map(\.rawValue),
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

    /// Checks a key path: nil when valid, else what is wrong.
    static func problem(with path: [String]) -> TaskProblem? {
        guard let first = path.first else { return .malformedOverride }
        guard topLevel.contains(first) else { return .unknownKey(first, section: [], known: topLevel) }
        guard path.count > 1 else { return nil }
        guard let keys = sections[first] else { return .notASection(key: [first], path: path) }
        guard keys.contains(path[1]) else { return .unknownKey(path[1], section: [first], known: keys) }
        guard path.count > 2 else { return nil }
        let section = Array(path[..<2])
        guard let inner = subsections[TaskProblem.dotted(section)] else { return .notASection(key: section, path: path) }
        guard inner.contains(path[2]) else { return .unknownKey(path[2], section: section, known: inner) }
        if path.count > 3, !freeMappings.contains(TaskProblem.dotted(Array(path[..<3]))) {
            return .notASection(key: Array(path[..<3]), path: path)
        }
        return nil
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
            throw TaskError(source: .override(text), problem: .malformedOverride)
        }
        let key = text[..<equals].trimmingCharacters(in: .whitespaces)
        path = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        value = String(text[text.index(after: equals)...])
        if key.isEmpty || path.contains(where: \.isEmpty) {
            throw TaskError(source: .override(text), problem: .malformedOverride)
        }
        if let problem = TaskSchema.problem(with: path) {
            throw TaskError(source: .override(text), problem: problem)
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
            throw TaskError(file: file, problem: .yaml(reason: "\(error)"))
        }
        guard let composed, !Self.isNull(composed) else {
            throw TaskError(file: file, line: 1, problem: .empty)
        }
        guard case .mapping = composed else {
            throw TaskError(
                file: file, line: composed.mark?.line ?? 1, column: composed.mark?.column,
                problem: .notAMapping(found: Self.describe(composed)))
        }
        root = composed
    }

    static func syntaxError(_ error: YamlError, file: String, text: String) -> TaskError {
        func syntax(_ problem: String, _ context: YamlError.Context?) -> TaskProblem {
            .syntax(
                problem: problem,
                context: context.map { TaskProblem.SyntaxContext(text: $0.text, line: $0.mark.line, column: $0.mark.column) })
        }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return TaskError(file: file, line: mark.line, column: mark.column, problem: syntax(problem, context))
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
                problem: .duplicateKeys(duplicates.sorted()))
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
            return TaskError(file: file, line: line, column: column, problem: .syntax(problem: problem, context: nil))
        default:
            return TaskError(file: file, problem: .yaml(reason: "\(error)"))
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
                throw error(at: key, .unknownKey(name, section: [], known: TaskSchema.topLevel))
            }
            guard let allowed = TaskSchema.sections[name], case .mapping(let section) = value else { continue }
            for (innerKey, innerValue) in section {
                let innerName = Self.keyName(innerKey)
                if innerName == "<<" { continue }
                guard allowed.contains(innerName) else {
                    throw error(at: innerKey, .unknownKey(innerName, section: [name], known: allowed))
                }
                guard let keys = TaskSchema.subsections["\(name).\(innerName)"], case .mapping(let subsection) = innerValue
                else { continue }
                for (subKey, _) in subsection where Self.keyName(subKey) != "<<" {
                    guard keys.contains(Self.keyName(subKey)) else {
                        throw error(at: subKey, .unknownKey(Self.keyName(subKey), section: [name, innerName], known: keys))
                    }
                }
            }
        }
    }

    private func error(at node: Yams.Node, _ problem: TaskProblem) -> TaskError {
        TaskError(file: file, line: node.mark?.line, column: node.mark?.column, problem: problem)
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
            return located(parent, .missingKey(key.stringValue, section: parent))
        case .typeMismatch(let type, let context):
            let path = context.codingPath.map(\.stringValue)
            var expected = expectation(at: path) ?? Self.expectation(type)
            if expected == .singleValue { expected = scalarExpectation(at: path) }
            return located(path, .expected(key: path, expected, found: found(at: path)))
        case .valueNotFound(let type, let context):
            let path = context.codingPath.map(\.stringValue)
            return located(path, .expected(key: path, Self.expectation(type), found: .nothing))
        case .dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue)
            if let unexpected = context.underlyingError as? UnexpectedValue {
                return located(path, .expected(key: path, unexpected.expected, found: unexpected.found ?? found(at: path)))
            }
            if let allowed = TaskSchema.enums[TaskProblem.dotted(path)] {
                return located(path, .expected(key: path, .oneOf(allowed), found: found(at: path)))
            }
            return located(path, .invalidValue(key: path, reason: context.debugDescription))
        @unknown default:
            return TaskError(file: file, problem: .invalidValue(key: [], reason: "\(error)"))
        }
    }

    /// What the schema says the value at `path` must be, when it says more than its type: a duration,
    /// one of an enum's values.
    private func expectation(at path: [String]) -> TaskProblem.Expectation? {
        let dotted = TaskProblem.dotted(path)
        if TaskSchema.durations.contains(dotted) { return .duration }
        return TaskSchema.enums[dotted].map(TaskProblem.Expectation.oneOf)
    }

    /// What the spec's type at `path` reads from a single value: Yams refuses a mapping or a list there
    /// before it asks for the type, so decode again with a text no number or boolean reads as.
    private func scalarExpectation(at path: [String]) -> TaskProblem.Expectation {
        var probe = root
        Self.set(&probe, path: path[...], to: Yams.Node("?", .implicit, .plain))
        do {
            _ = try YAMLDecoder().decode(TaskSpec.self, from: probe)
        } catch DecodingError.typeMismatch(let type, let context) where context.codingPath.map(\.stringValue) == path {
            return Self.expectation(type)
        } catch {}
        return .singleValue
    }

    private func found(at path: [String]) -> TaskProblem.Found {
        node(at: path).map(Self.describe) ?? .nothing
    }

    static func expectation(_ type: Any.Type) -> TaskProblem.Expectation {
        switch type {
        case is Int.Type, is Int64.Type, is Int32.Type: return .integer
        case is UInt64.Type, is UInt.Type, is UInt32.Type: return .nonNegativeInteger
        case is Double.Type, is Float.Type: return .number
        case is Bool.Type: return .boolean
        case is String.Type, is Yams.Node.Scalar.Type: return .singleValue
        case is Yams.Node.Mapping.Type: return .mapping
        case is Yams.Node.Sequence.Type: return .list
        default: return .type("\(type)")
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
    func located(_ path: [String], _ problem: TaskProblem) -> TaskError {
        if let override = overrides.last(where: { $0.path == path }) {
            return TaskError(source: override.origin, problem: problem)
        }
        if path.isEmpty { return TaskError(file: file, line: 1, problem: problem) }
        if let mark = entry(at: path)?.key.mark {
            return TaskError(file: file, line: mark.line, column: mark.column, problem: problem)
        }
        if let override = overrides.last(where: { $0.path.starts(with: path) }) {
            return TaskError(source: override.origin, problem: problem)
        }
        return located(Array(path.dropLast()), problem)
    }

    /// A TaskError located at the problem's own key.
    func located(_ problem: TaskProblem) -> TaskError {
        located(problem.key ?? [], problem)
    }

    // MARK: Node helpers

    static func keyName(_ node: Yams.Node) -> String {
        node.scalar?.string ?? describe(node).description
    }

    static func isMapping(_ node: Yams.Node) -> Bool {
        if case .mapping = node { return true }
        return false
    }

    static func isNull(_ node: Yams.Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    static func describe(_ node: Yams.Node) -> TaskProblem.Found {
        switch node {
        case .scalar(let scalar): return isNull(node) ? .emptyValue : .text(scalar.string)
        case .mapping: return .mapping
        case .sequence: return .list
        case .alias: return .alias
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
            let key = [K.data.stringValue]
            if fileManager.fileExists(atPath: dataDirectory.path) {
                throw located(.notADirectory(key: key, path: dataDirectory.path))
            }
            let hint: TaskProblem.MissingHint? = prepared ? .prepareDidNotCreate : spec.prepare == nil ? .noPrepare : nil
            throw located(.doesNotExist(key: key, path: dataDirectory.path, hint: hint))
        }

        if let answersFile, let grading = spec.grading {
            let path = [K.grading.stringValue, GradingSpec.CodingKeys.answers.stringValue]
            guard isFile(answersFile) else {
                throw located(.doesNotExist(key: path, path: answersFile.path, hint: prepared ? .prepareDidNotCreate : nil))
            }
            let realAnswers = answersFile.resolvingSymlinksInPath().path
            let realData = dataDirectory.resolvingSymlinksInPath().path
            if realAnswers.hasPrefix(realData.hasSuffix("/") ? realData : realData + "/") {
                throw located(path, .answersInsideData(answers: grading.answers, data: spec.data))
            }
        }
        if let sample = spec.grading?.sampleSubmission, !isFile(dataDirectory.appendingPathComponent(sample)) {
            throw located(
                .notInData(
                    key: [K.grading.stringValue, GradingSpec.CodingKeys.sampleSubmission.stringValue], file: sample, data: spec.data))
        }

        var parts: [String] = []
        if let description = spec.description, !description.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            parts.append(description.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        if let descriptionFile = spec.descriptionFile {
            let url = resolve(descriptionFile)
            guard isFile(url) else {
                throw located(.doesNotExist(key: [K.descriptionFile.stringValue], path: url.path, hint: nil))
            }
            guard let data = try? Data(contentsOf: url), let text = String(data: data, encoding: .utf8) else {
                throw located(.notUTF8Text(key: [K.descriptionFile.stringValue], path: url.path))
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
        let check = ValueCheck(document: self)
        try check.notBlank(spec.name, "name")
        try check.notBlank(spec.goal, "goal")
        try check.notBlank(spec.data, "data")
        if let grading = spec.grading {
            try check.notBlank(grading.answers, "grading.answers")
            try checkGrading(grading, check)
            try check.notBlank(grading.submission, "grading.submission")
            for (name, value) in (grading.thresholds ?? [:]).sorted(by: { $0.key < $1.key }) {
                try check(!ValueCheck.blank(name), .unnamed(key: ["grading", "thresholds"], .threshold))
                try check(value.isFinite, .outOfRange(key: ["grading", "thresholds", name], .real(value), allowed: .finite))
            }
        }
        let budget = spec.budget
        try check.atLeast(1, budget.steps, "budget.steps")
        if let usd = budget.usd { try check(usd > 0, .outOfRange(key: ["budget", "usd"], .real(usd), allowed: .moreThanZero)) }
        try check.atLeast(1, budget.tokens, "budget.tokens")
        let agent = spec.agent
        try check.notBlank(agent.codeModel, "agent.code_model")
        try check.within(0, 2, agent.codeTemperature, "agent.code_temperature")
        try check.within(0, 2, agent.feedbackTemperature, "agent.feedback_temperature")
        try check.atLeast(1, agent.maxTokens, "agent.max_tokens")
        let search = spec.search
        try check.atLeast(1, search.numDrafts, "search.num_drafts")
        try check.within(0, 1, search.debugProb, "search.debug_prob")
        try check.atLeast(0, search.maxDebugDepth, "search.max_debug_depth")
        try check.atLeast(1, search.workers, "search.workers")
        switch search.policy {
        case .greedy:
            break
        case .mcts(let mcts):
            try check(mcts.exploration >= 0, .outOfRange(key: ["search", "exploration"], .real(mcts.exploration), allowed: .atLeast(0)))
            try check.atLeast(1, mcts.maxChildren, "search.max_children")
        case .evolutionary(let evolution):
            try check.atLeast(1, evolution.islands, "search.islands")
            try check.atLeast(1, evolution.migrationInterval, "search.migration_interval")
            try check.within(0, 1, evolution.crossoverProb, "search.crossover_prob")
            try check.atLeast(1, evolution.tournamentSize, "search.tournament_size")
        }
        try check.atLeast(1, agent.parallelCalls, "agent.parallel_calls")
        let exec = spec.exec
        try check.notBlank(exec.python, "exec.python")
        try check(
            exec.outputLimit >= 1000, .outOfRange(key: ["exec", "output_limit"], .integer(exec.outputLimit), allowed: .atLeastBytes(1000)))
        try check.atLeast(1, exec.memoryLimitMB, "exec.memory_limit_mb")
        try check.atLeast(1, exec.parallel, "exec.parallel")
        try check.atLeast(1, exec.maxProcesses, "exec.max_processes")
        try check.atLeast(1, exec.maxFileMB, "exec.max_file_mb")
        try check.atLeast(1, exec.tmpMB, "exec.tmp_mb")
        try check.atLeast(1, exec.maxDiskMB, "exec.max_disk_mb")
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
            throw located(path, .prepareCannotStart(reason: ErrorText.reason(error)))
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
        let ending: TaskProblem.Ending =
            process.terminationReason == .uncaughtSignal ? .signal(process.terminationStatus) : .status(process.terminationStatus)
        let lines = String(decoding: tail, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .map(String.init)
        let last = lines.reversed().drop { $0.trimmingCharacters(in: .whitespaces).isEmpty }.prefix(15).reversed()
        throw located(path, .prepareFailed(command: command, ending, lastOutput: Array(last)))
    }
}

/// The checks of one value against the rule its key has, each failure a `TaskError` at that key.
struct ValueCheck {
    var document: TaskDocument

    static func blank(_ text: String) -> Bool { text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }

    /// `key` as its components (the dotted keys of the checks name no key with a dot in it).
    static func path(_ key: String) -> [String] { key.split(separator: ".").map(String.init) }

    func callAsFunction(_ ok: Bool, _ problem: @autoclosure () -> TaskProblem) throws {
        if !ok { throw document.located(problem()) }
    }

    func notBlank(_ text: String, _ key: String) throws {
        try self(!Self.blank(text), .blank(key: Self.path(key)))
    }

    /// When `value` is given, it is `minimum` or more.
    func atLeast(_ minimum: Int, _ value: Int?, _ key: String) throws {
        guard let value else { return }
        try self(value >= minimum, .outOfRange(key: Self.path(key), .integer(value), allowed: .atLeast(minimum)))
    }

    func within(_ lower: Int, _ upper: Int, _ value: Double, _ key: String) throws {
        try self(
            (Double(lower)...Double(upper)).contains(value),
            .outOfRange(key: Self.path(key), .real(value), allowed: .within(lower, upper)))
    }
}
