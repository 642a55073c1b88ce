import Foundation

/// A task file written by inference (`aide init`, aideml's command line, an MLE-bench import): the
/// spec, a note on where each inferred value came from, and a TODO where a value could not be inferred.
public struct TaskDraft: Sendable {
    public var spec: TaskSpec
    /// False when nothing said which way the metric improves: the file then leaves
    /// `metric.direction` commented out, so it cannot load until someone sets it.
    public var directionKnown: Bool
    /// Where a value came from, by dotted key ("metric.direction": "from the eval text").
    public var notes: [String: String]
    /// What to check or fill in, by dotted key.
    public var todos: [String: String]
    /// Comment lines at the top of the file.
    public var header: [String]

    public init(
        spec: TaskSpec, directionKnown: Bool = true, notes: [String: String] = [:], todos: [String: String] = [:],
        header: [String] = []
    ) {
        self.spec = spec
        self.directionKnown = directionKnown
        self.notes = notes
        self.todos = todos
        self.header = header
    }

    /// The TODO texts, in key order, for printing after the file.
    public var todoList: [String] { todos.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" } }

    /// The task file: every value set, each with its note or TODO as a comment; defaults left out.
    public func yaml() -> String {
        var lines = header.map { "# " + $0 }
        func comment(_ key: String) -> String {
            if let todo = todos[key] { return "  # TODO: " + todo }
            if let note = notes[key] { return "  # " + note }
            return ""
        }
        func line(_ indent: String, _ key: String, _ value: String, path: String) {
            lines.append("\(indent)\(key): \(value)\(comment(path))")
        }
        let spec = self.spec
        line("", "name", Self.scalar(spec.name), path: "name")
        line("", "goal", Self.scalar(spec.goal), path: "goal")
        if let description = spec.description {
            lines.append("description: |" + comment("description"))
            for part in description.split(separator: "\n", omittingEmptySubsequences: false) {
                lines.append(part.isEmpty ? "" : "  " + part)
            }
        }
        if let file = spec.descriptionFile { line("", "description_file", Self.scalar(file), path: "description_file") }
        line("", "data", Self.scalar(spec.data), path: "data")
        if let prepare = spec.prepare { line("", "prepare", Self.scalar(prepare), path: "prepare") }

        lines.append("metric:" + comment("metric"))
        line("  ", "name", Self.scalar(spec.metric.name), path: "metric.name")
        if directionKnown {
            line("  ", "direction", spec.metric.direction.rawValue, path: "metric.direction")
        } else {
            lines.append("  # direction: minimize\(comment("metric.direction"))")
        }

        if let grading = spec.grading {
            lines.append("grading:" + comment("grading"))
            line("  ", "answers", Self.scalar(grading.answers), path: "grading.answers")
            if !grading.idColumn.isEmpty { line("  ", "id_column", Self.scalar(grading.idColumn), path: "grading.id_column") }
            if !grading.targetColumn.isEmpty {
                line("  ", "target_column", Self.scalar(grading.targetColumn), path: "grading.target_column")
            }
            if let columns = grading.targetColumns {
                line("  ", "target_columns", "[" + columns.map(Self.scalar).joined(separator: ", ") + "]", path: "grading.target_columns")
            }
            if let metric = grading.metric { line("  ", "metric", metric.rawValue, path: "grading.metric") }
            if let command = grading.command { line("  ", "command", Self.scalar(command), path: "grading.command") }
            if grading.command != nil {
                if let direction = grading.direction {
                    line("  ", "direction", direction.rawValue, path: "grading.direction")
                } else {
                    lines.append("  # direction: maximize\(comment("grading.direction"))")
                }
            }
            if grading.submission != "submission.csv" {
                line("  ", "submission", Self.scalar(grading.submission), path: "grading.submission")
            }
        } else if let todo = todos["grading"] {
            lines.append("# grading:  # TODO: \(todo)")
            lines.append("#   answers: answers.csv")
            lines.append("#   id_column: id")
            lines.append("#   target_column: target")
            lines.append("#   metric: rmse")
        }

        let budget = spec.budget, defaults = BudgetSpec()
        var budgetLines: [String] = []
        if budget.steps != defaults.steps || notes["budget.steps"] != nil { budgetLines.append("  steps: \(budget.steps)" + comment("budget.steps")) }
        if let limit = budget.timeLimit { budgetLines.append("  time_limit: \(Self.number(limit))" + comment("budget.time_limit")) }
        if budget.scriptTimeout != defaults.scriptTimeout {
            budgetLines.append("  script_timeout: \(Self.number(budget.scriptTimeout))" + comment("budget.script_timeout"))
        }
        if !budgetLines.isEmpty { lines.append("budget:"); lines += budgetLines }

        let agent = spec.agent, agentDefaults = AgentSpec()
        var agentLines: [String] = []
        if agent.codeModel != agentDefaults.codeModel { agentLines.append("  code_model: \(Self.scalar(agent.codeModel))") }
        if let feedback = agent.feedbackModel { agentLines.append("  feedback_model: \(Self.scalar(feedback))") }
        if agent.codeTemperature != agentDefaults.codeTemperature {
            agentLines.append("  code_temperature: \(Self.number(agent.codeTemperature))")
        }
        if agent.feedbackTemperature != agentDefaults.feedbackTemperature {
            agentLines.append("  feedback_temperature: \(Self.number(agent.feedbackTemperature))")
        }
        if !agentLines.isEmpty { lines.append("agent:"); lines += agentLines }

        let search = spec.search, searchDefaults = SearchSpec()
        var searchLines: [String] = []
        if search.numDrafts != searchDefaults.numDrafts { searchLines.append("  num_drafts: \(search.numDrafts)") }
        if search.debugProb != searchDefaults.debugProb { searchLines.append("  debug_prob: \(Self.number(search.debugProb))") }
        if search.maxDebugDepth != searchDefaults.maxDebugDepth { searchLines.append("  max_debug_depth: \(search.maxDebugDepth)") }
        if !searchLines.isEmpty { lines.append("search:"); lines += searchLines }

        lines.append("exec:")
        line("  ", "python", Self.scalar(spec.exec.python), path: "exec.python")
        return lines.joined(separator: "\n") + "\n"
    }

    /// A YAML scalar: plain when that reads back as the same text, else double-quoted.
    static func scalar(_ text: String) -> String {
        let plainSafe = text.allSatisfy { $0.isLetter || $0.isNumber || " _./-()'".contains($0) }
            && !text.isEmpty && text.first != " " && text.last != " " && text.first != "-" && text.first != "."
            && Double(text) == nil && !["true", "false", "yes", "no", "null", "on", "off", "~"].contains(text.lowercased())
            && text.first != "'"
        if plainSafe { return text }
        let encoded = (try? JSONEncoder().encode(text)).map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
        return encoded.replacingOccurrences(of: "\\/", with: "/")
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    /// `target` written relative to `base` (a folder) when it lies below the same root, else absolute.
    public static func relativePath(of target: URL, from base: URL) -> String {
        let to = target.standardizedFileURL.pathComponents
        let from = base.standardizedFileURL.pathComponents
        var common = 0
        while common < to.count, common < from.count, to[common] == from[common] { common += 1 }
        guard common > 1 else { return target.standardizedFileURL.path }
        let ups = Array(repeating: "..", count: from.count - common)
        let rest = Array(to[common...])
        let parts = ups + rest
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }
}
