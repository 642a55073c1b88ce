import Foundation

/// What every prompt is built from: the task, the tree's memory, the data, the rules of execution.
public struct PromptContext: Sendable, Hashable {
    public var taskName: String
    public var goal: String
    public var description: String
    public var metricName: String
    public var direction: MetricDirection
    public var dataPreview: String
    public var scriptTimeout: Double
    public var submissionFile: String
    public var packages: [String]

    public init(
        taskName: String, goal: String, description: String, metricName: String, direction: MetricDirection,
        dataPreview: String, scriptTimeout: Double, submissionFile: String,
        packages: [String] = Prompts.defaultPackages
    ) {
        self.taskName = taskName
        self.goal = goal
        self.description = description
        self.metricName = metricName
        self.direction = direction
        self.dataPreview = dataPreview
        self.scriptTimeout = scriptTimeout
        self.submissionFile = submissionFile
        self.packages = packages
    }
}

/// The prompts of the search, as data. Operators pick one, fill it from a `PromptContext`, and send
/// it as the system message.
public enum Prompts {
    public static let defaultPackages = ["numpy", "pandas", "scikit-learn", "scipy"]

    static let role = "You are an expert machine-learning engineer competing on a modelling task."

    static let responseFormat = """
        Answer with a short plan in plain prose (three to five sentences), then exactly one fenced \
        ```python code block holding the complete script. Write nothing after the code block.
        """

    static let draftGuidelines = [
        "Keep this first solution simple: a sound baseline, no ensembles and no hyper-parameter search.",
        "Read the Memory section and do not repeat a modelling approach already tried; keep the same validation scheme.",
        "Do not plan exploratory data analysis: the data preview below is all you need.",
    ]

    static let improveGuidelines = [
        "Propose exactly one concrete change to the previous solution, small enough that its effect on the metric can be measured.",
        "Read the Memory section: build on what worked and avoid what did not.",
        "Keep everything else in the script as it is.",
    ]

    static let crossoverGuidelines = [
        "Write one script that combines the strengths of both solutions (their features, models or preprocessing), so that it scores better than either.",
        "Keep the validation scheme the two share, so the metrics stay comparable.",
        "Say in the plan what you take from each solution.",
    ]

    static let debugGuidelines = [
        "Explain in a few sentences what went wrong and how you fix it.",
        "Fix the failure; do not change the modelling approach unless it caused the failure.",
    ]

    static func implementationRules(_ context: PromptContext) -> [String] {
        [
            "Print the \(context.metricName) on a held-out validation split (\(context.direction == .minimize ? "lower" : "higher") is better), on its own line as `Validation metric: <value>`.",
            "The script is one self-contained Python file, run as is; no part may be left for the reader to fill in.",
            "It must finish within \(formatDuration(context.scriptTimeout)), data loading and training included.",
            "The input data is in `./input` (read-only). Write the predictions for the test set to `./working/\(context.submissionFile)` in the format the task asks for: it is how the solution is graded.",
            "Use `./working` for any other file the script needs to write.",
        ]
    }

    static func environment(_ context: PromptContext) -> String {
        "Installed Python packages include " + context.packages.map { "`\($0)`" }.joined(separator: ", ")
            + ". Use only the standard library and these."
    }

    static func task(_ context: PromptContext) -> Prompt {
        var sections = [Prompt.Section("Goal", .text(context.goal))]
        if !context.description.isEmpty { sections.append(.init("Description", .text(context.description))) }
        sections.append(.init(
            "Metric", .text("\(context.metricName); \(context.direction == .minimize ? "lower" : "higher") is better.")))
        return .sections(sections)
    }

    /// A new solution from scratch.
    public static func draft(_ context: PromptContext, memory: String) -> Prompt {
        .sections([
            .init("Introduction", .text(role + " Write a first solution to the task below: a plan, then its code.")),
            .init("Task", task(context)),
            .init("Memory", .text(memory.isEmpty ? "No solution has been tried yet." : memory)),
            .init("Instructions", .sections([
                .init("Response format", .text(responseFormat)),
                .init("Solution guidelines", .bullets(draftGuidelines)),
                .init("Implementation rules", .bullets(implementationRules(context))),
                .init("Environment", .text(environment(context))),
            ])),
            .init("Data preview", .text(context.dataPreview)),
        ])
    }

    /// One improvement of a working solution.
    public static func improve(_ context: PromptContext, memory: String, parent: Node) -> Prompt {
        .sections([
            .init("Introduction", .text(role + " Improve the working solution below so that it scores better on unseen data.")),
            .init("Task", task(context)),
            .init("Memory", .text(memory)),
            .init("Previous solution", .code(parent.code, language: "python")),
            .init("Instructions", .sections([
                .init("Response format", .text(responseFormat)),
                .init("Improvement guidelines", .bullets(improveGuidelines)),
                .init("Implementation rules", .bullets(implementationRules(context))),
                .init("Environment", .text(environment(context))),
            ])),
        ])
    }

    /// One solution that combines two working ones (the evolutionary policy's crossover).
    public static func crossover(_ context: PromptContext, memory: String, first: Node, second: Node) -> Prompt {
        func solution(_ node: Node) -> Prompt {
            .sections([
                .init("Validation metric", .text(node.metric.map(formatMetric) ?? "none")),
                .init("Code", .code(node.code, language: "python")),
            ])
        }
        return .sections([
            .init("Introduction", .text(role + " Combine the two working solutions below into one that scores better on unseen data.")),
            .init("Task", task(context)),
            .init("Memory", .text(memory)),
            .init("Solution A", solution(first)),
            .init("Solution B", solution(second)),
            .init("Instructions", .sections([
                .init("Response format", .text(responseFormat)),
                .init("Combination guidelines", .bullets(crossoverGuidelines)),
                .init("Implementation rules", .bullets(implementationRules(context))),
                .init("Environment", .text(environment(context))),
            ])),
        ])
    }

    /// A fix for a failed solution, from its code and what running it printed.
    public static func debug(_ context: PromptContext, parent: Node) -> Prompt {
        var failure = parent.execution?.output ?? ""
        if failure.isEmpty { failure = parent.error ?? "(no output)" }
        if !parent.bugReasons.isEmpty { failure += "\n\n[harness: " + parent.bugReasons.joined(separator: "; ") + "]" }
        return .sections([
            .init("Introduction", .text(role + " The solution below failed. Fix it.")),
            .init("Task", task(context)),
            .init("Failed solution", .code(parent.code, language: "python")),
            .init("What running it printed", .code(failure, language: "")),
            .init("Instructions", .sections([
                .init("Response format", .text(responseFormat)),
                .init("Debugging guidelines", .bullets(debugGuidelines)),
                .init("Implementation rules", .bullets(implementationRules(context))),
                .init("Environment", .text(environment(context))),
            ])),
            .init("Data preview", .text(context.dataPreview)),
        ])
    }

    /// The review of one run: was it a bug, what did it show, what metric did it print.
    public static func review(_ context: PromptContext, code: String, output: String) -> Prompt {
        .sections([
            .init("Introduction", .text(
                role + " You wrote and ran the script below. Judge the run: did it fail or misbehave, "
                    + "what did it show, and what validation metric did it print?")),
            .init("Task", task(context)),
            .init("Script", .code(code, language: "python")),
            .init("What running it printed", .code(output.isEmpty ? "(no output)" : output, language: "")),
        ])
    }

    /// The review's function: AIDE's `submit_review`. The metric's direction comes from the task.
    public static let reviewFunction = FunctionSpec(
        name: "submit_review", description: "Submit your judgement of one run of the solution script.",
        parameters: [
            "type": "object",
            "properties": [
                "is_bug": [
                    "type": "boolean",
                    "description": "true if the run failed, crashed, or its output shows a bug; false otherwise.",
                ],
                "summary": [
                    "type": "string",
                    "description": "If there is a bug, how to fix it; otherwise two or three sentences on what the run showed.",
                ],
                "metric": [
                    "type": ["number", "null"],
                    "description": "The validation metric the run printed, or null if it printed none.",
                ],
            ],
            "required": ["is_bug", "summary", "metric"],
        ])

    /// What the search has learnt: one entry per good node (plan, metric, findings), the most recent
    /// last, within `limit` characters.
    public static func memory(of journal: Journal, limit: Int = 6000) -> String {
        var entries: [String] = []
        var length = 0
        for node in journal.goodNodes.reversed() {
            var entry = "Design: \(node.plan)"
            if let review = node.review { entry += "\nResults: \(review.summary)" }
            if let metric = node.metric { entry += "\nValidation metric: \(formatMetric(metric))" }
            guard length + entry.count <= limit else { break }
            entries.append(entry)
            length += entry.count + 8
        }
        return entries.reversed().joined(separator: "\n-------------------------------\n")
    }

    static func formatMetric(_ value: Double) -> String {
        String(format: "%.6g", value)
    }

    static func formatDuration(_ seconds: Double) -> String {
        if seconds >= 3600 { return String(format: "%.1f hours", seconds / 3600) }
        if seconds >= 60 { return String(format: "%.0f minutes", seconds / 60) }
        return String(format: "%.0f seconds", seconds)
    }
}
