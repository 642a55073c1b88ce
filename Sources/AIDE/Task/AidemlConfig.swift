import Foundation

/// aideml's command line (`aide data_dir=… goal=… eval=… agent.steps=20 …`, OmegaConf's dotted
/// `key=value` list), read into what it means here: the data, goal and eval to infer a task from, and
/// task-file overrides for the settings that have a counterpart.
public struct AidemlConfig: Sendable, Equatable {
    public var dataDirectory: String?
    public var goal: String?
    public var eval: String?
    public var descriptionFile: String?
    /// `exp_name`: the task's name, and so the start of the run's id.
    public var name: String?
    /// Task-file overrides (`budget.steps=20`), from aideml keys and from this tool's own task keys.
    public var overrides: [String] = []
    /// aideml keys accepted but without a meaning here, as given.
    public var ignored: [String] = []

    /// aideml keys and the task key each sets.
    public static let mapped: [String: String] = [
        "agent.steps": "budget.steps",
        "agent.time_limit": "budget.time_limit",
        "exec.timeout": "budget.script_timeout",
        "agent.code.model": "agent.code_model",
        "agent.code.temp": "agent.code_temperature",
        "agent.feedback.model": "agent.feedback_model",
        "agent.feedback.temp": "agent.feedback_temperature",
        "agent.search.num_drafts": "search.num_drafts",
        "agent.search.debug_prob": "search.debug_prob",
        "agent.search.max_debug_depth": "search.max_debug_depth",
    ]

    /// aideml keys that have no counterpart (each run has its own folder, data is copied read-only,
    /// the report is `aide report`): accepted, and reported as ignored.
    public static let ignoredKeys: Set<String> = [
        "log_dir", "workspace_dir", "preprocess_data", "copy_data", "generate_report", "report.model", "report.temp",
        "agent.k_fold_validation", "agent.expose_prediction", "agent.data_preview", "agent.convert_system_to_user",
        "agent.obfuscate", "exec.agent_file_name", "exec.format_tb_ipython",
    ]

    /// Reads `key=value` items; an unknown key is an error naming the keys that work.
    public init(_ items: [String]) throws {
        for item in items {
            guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
                throw TaskInferenceError.notKeyValue(item: item)
            }
            let key = String(item[..<equals]).trimmingCharacters(in: .whitespaces)
            var value = String(item[item.index(after: equals)...])
            if value.count >= 2, let first = value.first, first == value.last, first == "\"" || first == "'" {
                value = String(value.dropFirst().dropLast())
            }
            switch key {
            case "data_dir": dataDirectory = value
            case "goal": goal = value
            case "eval": eval = value
            case "desc_file": descriptionFile = value
            case "exp_name": name = value
            default:
                if let taskKey = Self.mapped[key] {
                    overrides.append("\(taskKey)=\(value)")
                } else if Self.ignoredKeys.contains(key) {
                    ignored.append(item)
                } else if TaskSchema.problem(with: key.split(separator: ".").map(String.init)) == nil {
                    overrides.append("\(key)=\(value)")
                } else {
                    let known = ["data_dir", "goal", "eval", "desc_file", "exp_name"] + Self.mapped.keys.sorted()
                    throw TaskInferenceError.unknownKey(key: key, known: known)
                }
            }
        }
        guard dataDirectory != nil else { throw TaskInferenceError.missingDataDirectory }
        guard goal != nil || descriptionFile != nil else {
            throw TaskInferenceError.missingGoal
        }
    }
}
