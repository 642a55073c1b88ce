import Foundation

/// What every prompt is built from: the task, the tree's memory, the data, the rules of execution.
public struct PromptContext: Sendable, Hashable {
    public var taskName: String
    public var goal: String
    public var description: String
    public var metricName: String
    public var direction: MetricDirection
    public var dataPreview: String
    /// The script timeout the task sets; `step.timeout` is what this step's script really gets.
    public var scriptTimeout: Double
    public var submissionFile: String
    /// Packages the task's Python can import (probed once per run).
    public var packages: [String]
    /// Cores, memory, GPUs and network as a script has them, one line each.
    public var resources: [String] = []
    public var validation: ValidationScheme = .kfold(5)
    public var reasoning: ReasoningForm = .plain
    /// Files of the data the description mentions (`data_description.txt`, …).
    public var descriptionFiles: [DescriptionFile] = []
    /// Where the run stands when this step's prompt is written.
    public var step: StepFacts? = nil

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

    /// The timeout this step's script gets: the task's, cut to the time the run has left.
    public var effectiveTimeout: Double { step?.timeout ?? scriptTimeout }
}

/// How scripts estimate the metric (`search.validation`).
public enum ValidationScheme: Sendable, Hashable, Codable {
    /// K-fold cross-validation; the metric line is the mean over the folds.
    case kfold(Int)
    /// One held-out split.
    case holdout

    /// Written `kfold` (5 folds) or `holdout` in task.yaml.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        switch try container.decode(String.self) {
        case "kfold": self = .kfold(5)
        case "holdout": self = .holdout
        case let other:
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected kfold or holdout, found \"\(other)\"")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .kfold: try container.encode("kfold")
        case .holdout: try container.encode("holdout")
        }
    }
}

/// The form of the plan (`search.reasoning`): prose, or AIRA's structured form (brainstorm, one
/// idea, why it should work).
public enum ReasoningForm: String, Sendable, Hashable, Codable, CaseIterable {
    case plain
    case structured
}

/// A file of the data the task description mentions, inlined when small.
public struct DescriptionFile: Sendable, Hashable {
    public var name: String
    public var bytes: Int
    /// The text, when small enough to show whole.
    public var text: String?

    /// Files at the top of `directory` whose names `description` mentions and that hold text;
    /// those of at most `inlineLimit` bytes carry their text.
    public static func mentioned(in description: String, directory: URL, inlineLimit: Int = 16_000) -> [DescriptionFile] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
        return names.compactMap { name in
            let lower = name.lowercased()
            guard [".txt", ".md"].contains(where: lower.hasSuffix), description.contains(name) else { return nil }
            let url = directory.appendingPathComponent(name)
            guard let data = try? Data(contentsOf: url), let text = String(data: data, encoding: .utf8) else { return nil }
            return DescriptionFile(name: name, bytes: data.count, text: data.count <= inlineLimit ? text : nil)
        }
    }
}

/// Where the run stands when a step's prompt is written.
public struct StepFacts: Sendable, Hashable {
    /// Seconds this step's script may run.
    public var timeout: Double
    /// Steps the run may still start, this one included.
    public var stepsLeft: Int
    /// Seconds of the run's time budget left; nil when it has none.
    public var timeLeft: Double?

    public init(timeout: Double, stepsLeft: Int, timeLeft: Double?) {
        self.timeout = timeout
        self.stepsLeft = stepsLeft
        self.timeLeft = timeLeft
    }
}

/// The prompts of the search, as data. Operators pick one, fill it from a `PromptContext`, and send
/// it as the system message.
public enum Prompts {
    public static let defaultPackages = ["numpy", "pandas", "scikit-learn", "scipy"]

    static let role = "You are an expert machine-learning engineer competing on a modelling task."

    /// What the stable prefix says about the messages that follow it.
    static let stepsIntroduction =
        "Each request after this one asks for one step of a search over solutions to the task below: a first solution, an improvement, a fix, a combination, or the review of a run."

    static func plan(_ context: PromptContext) -> String {
        switch context.reasoning {
        case .plain:
            return "Answer with a short plan in plain prose (three to five sentences), then"
        case .structured:
            return """
                Answer in three short parts first. **Brainstorm**: three to five different ideas, one line each. \
                **Chosen idea**: the one you implement. **Why it should work**: two or three sentences. Then
                """
        }
    }

    /// The two forms of a code answer, in the stable prefix; each step names the one it wants.
    static func answerForms(_ context: PromptContext) -> Prompt {
        .sections([
            .init(EditForm.full.title, .text(plan(context) + " exactly one fenced ```python code block holding the complete script. Write nothing after the code block.")),
            .init(EditForm.diff.title, .sections([
                .init("Form", .text(plan(context) + " the change to the current script as one or more SEARCH/REPLACE blocks, each exactly in this form:")),
                .init("Block", .code(
                    [Patch.searchMarker, "lines copied exactly from the current script", Patch.dividerMarker,
                     "the lines that replace them", Patch.replaceMarker].joined(separator: "\n"), language: "")),
                .init("Rules for blocks", .bullets(diffRules)),
            ])),
        ])
    }

    /// The guidelines of each kind of step, in the stable prefix; each step names its own.
    static let stepGuidelines: [Prompt.Section] = [
        .init(StepKind.draft.guidelinesTitle, .bullets(draftGuidelines)),
        .init(StepKind.improve.guidelinesTitle, .bullets(improveGuidelines)),
        .init(StepKind.debug.guidelinesTitle, .bullets(debugGuidelines)),
        .init(StepKind.crossover.guidelinesTitle, .bullets(crossoverGuidelines)),
    ]

    /// The kinds of code step, as their instructions name them.
    enum StepKind {
        case draft, improve, debug, crossover

        var guidelinesTitle: String {
            switch self {
            case .draft: "First solution"
            case .improve: "Improvement"
            case .debug: "Fix"
            case .crossover: "Combination"
            }
        }
    }

    static let diffRules = [
        "The SEARCH lines are whole lines of the current script, copied exactly (indentation and comments included), and must occur there only once: take enough lines to make them unique, and no more.",
        "Blocks are applied one after another, each to the script as the blocks before it left it.",
        "To delete lines, leave the part between `=======` and `>>>>>>> REPLACE` empty; to add lines, SEARCH the lines next to them and repeat them in the replacement.",
        "Write nothing but the plan and the blocks; do not repeat the unchanged script.",
    ]

    static let draftGuidelines = [
        "Keep this first solution simple: a sound baseline, no ensembles and no hyper-parameter search.",
        "Read the Memory section and do not repeat a modelling approach already tried; keep the same validation scheme.",
        "Do not plan exploratory data analysis: the data preview summarizes the files (it may be cut; read a file yourself for what it leaves out).",
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

    /// The rules every script follows. Only run-wide facts: what changes from step to step (the time
    /// left) is in the step's Budget section, so the prefix stays byte-identical.
    static func implementationRules(_ context: PromptContext) -> [String] {
        let better = context.direction == .minimize ? "lower" : "higher"
        let metric: String
        switch context.validation {
        case .kfold(let folds):
            metric = "Estimate the \(context.metricName) with \(folds)-fold cross-validation on the training data (stratified for classification; time-ordered folds when the data is ordered in time; a single held-out split only when the data is too small or too large for folds). Print the mean over the folds on its own line as `Validation metric: <value>` (\(better) is better): the harness reads the last such line."
        case .holdout:
            metric = "Estimate the \(context.metricName) on a held-out validation split of the training data. Print it on its own line as `Validation metric: <value>` (\(better) is better): the harness reads the last such line."
        }
        return [
            metric,
            "The script is one self-contained Python file, run as is; no part may be left for the reader to fill in.",
            "The harness stops a script after \(formatSeconds(context.scriptTimeout)), data loading and training included (less when the run has less time left; each step says).",
            "The input data is in `./input` (read-only). Write the predictions for the test set to `./working/\(context.submissionFile)` in the format the task asks for: one row per test id, the columns of the sample submission if there is one, no empty or NaN value. The harness checks it before grading.",
            "Use `./working` for any other file the script needs to write.",
        ]
    }

    static func environment(_ context: PromptContext) -> Prompt {
        var lines = context.resources
        lines.append(
            "Python packages the harness found importable: " + context.packages.map { "`\($0)`" }.joined(separator: ", ")
                + ", and the standard library. Others may be missing, and nothing can be installed.")
        return .bullets(lines)
    }

    /// This step's script time, and the steps and time the run has left, when known.
    static func budget(_ context: PromptContext) -> Prompt? {
        guard let step = context.step else { return nil }
        var lines: [String] = []
        if step.timeout < context.scriptTimeout {
            lines.append("This step's script is stopped after \(formatSeconds(step.timeout)) (the task allows \(formatSeconds(context.scriptTimeout)), but that is all the time the run has left).")
        }
        var text = "This run can take \(step.stepsLeft) more step\(step.stepsLeft == 1 ? "" : "s") (this one included)"
        if let left = step.timeLeft { text += " and has \(formatSeconds(left)) left" }
        lines.append(text + ".")
        return .text(lines.joined(separator: " "))
    }

    /// What a code step asks for: its answer form and guidelines (both in the stable prefix), and the
    /// budget.
    static func instructions(_ context: PromptContext, edit: EditForm, _ kind: StepKind) -> Prompt {
        var sections: [Prompt.Section] = [
            .init("Answer", .text(
                "Follow the \(kind.guidelinesTitle) guidelines (under Step guidelines above) and answer in the \(edit.title) form (\(edit.summary); under Answer forms above).")),
        ]
        if let budget = budget(context) { sections.append(.init("Budget", budget)) }
        return .sections(sections)
    }

    static func data(_ context: PromptContext) -> Prompt {
        var sections = [Prompt.Section("Preview", .text(context.dataPreview))]
        for file in context.descriptionFiles {
            if let text = file.text {
                sections.append(.init("`./input/\(file.name)`", .code(text, language: "")))
            } else {
                sections.append(.init(
                    "`./input/\(file.name)`",
                    .text("\(file.bytes) bytes, too long to show here: the description refers to it, so read it from the script if you need it.")))
            }
        }
        return .sections(sections)
    }

    /// At most `limit` characters of a script's output: its head and, mostly, its tail (where the
    /// traceback and the metric are), with how much was left out between them.
    public static func clip(_ output: String, limit: Int = 5_000) -> String {
        guard output.count > limit else { return output }
        let head = output.prefix(limit / 4)
        let tail = output.suffix(limit - limit / 4)
        return head + "\n[… \(output.count - head.count - tail.count) characters left out …]\n" + tail
    }

    /// How a node turned out, in one line: its metric and run time, or why it is buggy.
    static func outcome(_ node: Node, timeout: Double) -> String {
        let time = node.execution.map { "ran \(formatSeconds($0.duration)) of \(formatSeconds(timeout)) allowed" }
        if !node.isBuggy, let metric = node.metric {
            return (["validation metric \(formatMetric(metric))"] + [time].compactMap { $0 }).joined(separator: ", ")
        }
        var parts = ["failed: " + (node.bugReasons.isEmpty ? (node.error ?? "unknown") : node.bugReasons.joined(separator: "; "))]
        if let time { parts.append(time) }
        if let summary = node.review?.summary, !summary.isEmpty { parts.append("review: " + summary) }
        return parts.joined(separator: "; ")
    }

    static func attempts(_ nodes: [Node], _ context: PromptContext) -> Prompt {
        .bullets(nodes.map { node in
            let plan = node.plan.isEmpty ? "(no plan)" : node.plan.replacingOccurrences(of: "\n", with: " ")
            return "Plan: \(plan.count > 600 ? plan.prefix(600) + "…" : plan) — Outcome: \(outcome(node, timeout: context.scriptTimeout))"
        })
    }

    static func task(_ context: PromptContext) -> Prompt {
        var sections = [Prompt.Section("Goal", .text(context.goal))]
        if !context.description.isEmpty { sections.append(.init("Description", .text(context.description))) }
        sections.append(.init(
            "Metric", .text("\(context.metricName); \(context.direction == .minimize ? "lower" : "higher") is better.")))
        return .sections(sections)
    }

    /// The stable prefix: role, task, data, rules and environment. It holds nothing that changes
    /// from one step of a run to the next (no step number, time or memory), so every call of a run
    /// (draft, improve, debug, crossover, review) starts with the same bytes and a provider's
    /// prompt cache serves them.
    public static func prefix(_ context: PromptContext) -> Prompt {
        .sections([
            .init("Introduction", .text(role + " " + stepsIntroduction)),
            .init("Task", task(context)),
            .init("Data", data(context)),
            .init("Implementation rules", .bullets(implementationRules(context))),
            .init("Answer forms", answerForms(context)),
            .init("Step guidelines", .sections(stepGuidelines)),
            .init("Environment", environment(context)),
        ])
    }

    /// A step's prompt: the stable prefix, then `shared`, groups of blocks other calls of the run send
    /// too (a blank line before each group), in the system message; the request and this step's
    /// sections in the user message.
    static func step(
        _ context: PromptContext, shared: [[StepPrompt.Block]] = [], _ request: String, _ sections: [Prompt.Section]
    ) -> StepPrompt {
        var blocks: [StepPrompt.Block] = []
        for group in shared where !group.isEmpty {
            var group = group
            group[0].text = "\n\n" + group[0].text
            blocks += group
        }
        return StepPrompt(prefix: prefix(context), shared: blocks, step: .sections([.init("This step", .text(request))] + sections))
    }

    /// A script and what running it printed, as the first shared block of every call about it: its
    /// review (when it was not a patch), and its children's code calls and reviews, which so read
    /// it from a provider's cache.
    static func solution(code: String, output: String) -> [StepPrompt.Block] {
        let body = Prompt.sections([.init("Solution", .sections([
            .init("Code", .code(code, language: "python")),
            .init("What running it printed", .code(output.isEmpty ? "(no output)" : clip(output), language: "")),
        ]))])
        return [.init(body.rendered(), breakpoint: true)]
    }

    static func solution(_ node: Node) -> [StepPrompt.Block] {
        solution(code: node.code, output: node.execution?.output ?? "")
    }

    static func memoryBlocks(_ memory: Memory) -> [StepPrompt.Block] {
        memory.blocks(title: "Memory", empty: "No solution has been tried yet.")
    }

    /// A new solution from scratch.
    public static func draft(_ context: PromptContext, memory: Memory) -> StepPrompt {
        step(context, shared: [memoryBlocks(memory)], "Write a first solution to the task: a plan, then its code.", [
            .init("Instructions", instructions(context, edit: .full, .draft)),
        ])
    }

    /// One improvement of a working solution, knowing how it ran and what was already tried from it.
    /// In `.diff` form the answer is SEARCH/REPLACE blocks against the parent's code.
    public static func improve(
        _ context: PromptContext, memory: Memory, parent: Node, siblings: [Node] = [], edit: EditForm = .full
    ) -> StepPrompt {
        var sections: [Prompt.Section] = [
            .init("Its result", .text(outcome(parent, timeout: context.scriptTimeout))),
        ]
        if let tried = tried(siblings, memory: memory, context) {
            sections.append(.init("Changes already tried on this solution (do not repeat them)", tried))
        }
        sections.append(.init("Instructions", instructions(context, edit: edit, .improve)))
        return step(
            context, shared: [solution(parent), memoryBlocks(memory)],
            "Improve the working solution above (under Solution) so that it scores better on unseen data.", sections)
    }

    /// The changes tried on a solution: those the memory shows by their step (their plans are there),
    /// the others (failed, or left out of the memory) in full.
    static func tried(_ siblings: [Node], memory: Memory, _ context: PromptContext) -> Prompt? {
        guard !siblings.isEmpty else { return nil }
        let shown = memory.steps
        let inMemory = siblings.filter { shown.contains($0.step) }.map { String($0.step) }
        let others = siblings.filter { !shown.contains($0.step) }
        var parts: [Prompt.Section] = []
        if !inMemory.isEmpty {
            let which = inMemory.count == 1
                ? "Step \(inMemory[0]) (see its entry in the Memory above)."
                : "Steps \(inMemory.joined(separator: ", ")) (see their entries in the Memory above)."
            parts.append(.init("In the Memory", .text(which)))
        }
        if !others.isEmpty { parts.append(.init("Not in the Memory", attempts(others, context))) }
        return .sections(parts)
    }

    /// One solution that combines two working ones (the evolutionary policy's crossover).
    public static func crossover(_ context: PromptContext, memory: Memory, first: Node, second: Node) -> StepPrompt {
        func solution(_ node: Node) -> Prompt {
            .sections([
                .init("Validation metric", .text(node.metric.map(formatMetric) ?? "none")),
                .init("Code", .code(node.code, language: "python")),
            ])
        }
        return step(context, shared: [memoryBlocks(memory)], "Combine the two working solutions below into one that scores better on unseen data.", [
            .init("Solution A", solution(first)),
            .init("Solution B", solution(second)),
            .init("Instructions", instructions(context, edit: .full, .crossover)),
        ])
    }

    /// A fix for a failed solution: its code, what running it printed, why the harness and the
    /// reviewer call it buggy, and the fixes of the same lineage already tried.
    public static func debug(
        _ context: PromptContext, parent: Node, earlierAttempts: [Node] = [], edit: EditForm = .full
    ) -> StepPrompt {
        var why: [String] = parent.bugReasons.map { "Harness: \($0)" }
        if (parent.execution?.output ?? "").isEmpty, let error = parent.error { why.append("Harness: \(error)") }
        if let review = parent.review, !review.summary.isEmpty { why.append("Reviewer: \(review.summary)") }
        var sections: [Prompt.Section] = [
            .init("Why it failed", .bullets(why.isEmpty ? ["(no reason recorded)"] : why)),
        ]
        if !earlierAttempts.isEmpty {
            sections.append(.init("Earlier attempts in this lineage, oldest first", attempts(earlierAttempts, context)))
        }
        sections.append(.init("Instructions", instructions(context, edit: edit, .debug)))
        return step(context, shared: [solution(parent)], "The solution above (under Solution) failed. Fix it.", sections)
    }

    /// The same step asked again for the whole script, after its answer in diff form could not be
    /// applied (`problem` says why).
    public static func wholeScript(after problem: String, _ prompt: StepPrompt) -> StepPrompt {
        guard case .sections(var sections) = prompt.step else { return prompt }
        sections.insert(.init(
            "Why the whole script is asked for",
            .text("An answer in SEARCH/REPLACE form for this step could not be applied: \(problem). Answer with the complete script instead, in the \(EditForm.full.title) form.")),
            at: min(1, sections.count))
        return StepPrompt(prefix: prompt.prefix, shared: prompt.shared, step: .sections(sections))
    }

    /// The review of one run: was it a bug, what did it show, what metric did it print. A script with
    /// a `parent` is shown as the parent and the change, as SEARCH/REPLACE blocks (`patch`, the
    /// model's, or blocks derived from the two scripts) when that is shorter than the script: the
    /// parent's block is then read from the cache its children's calls share. Any other script is
    /// shown whole.
    public static func review(
        _ context: PromptContext, code: String, output: String, parent: Node? = nil, patch: String? = nil
    ) -> StepPrompt {
        let ask = "did it fail or misbehave, what did it show, and what validation metric did it print?"
        if let parent,
            let change = patch ?? Patch.derived(from: parent.code, to: code).map(Patch.text(of:)),
            change.utf8.count < code.utf8.count {
            return step(context, shared: [solution(parent)],
                "The new script is the solution above (under Solution) changed by the SEARCH/REPLACE blocks below. You ran it: judge that run: \(ask)", [
                .init("The change", .code(change, language: "")),
                .init("What running the new script printed", .code(output.isEmpty ? "(no output)" : clip(output), language: "")),
            ])
        }
        return step(context, shared: [solution(code: code, output: output)],
            "You wrote and ran the solution above (under Solution). Judge the run: \(ask)", [])
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

    static func formatMetric(_ value: Double) -> String {
        String(format: "%.6g", value)
    }

    /// Seconds, exactly as the harness applies them: "90 seconds", "600 seconds (10 minutes)".
    static func formatSeconds(_ seconds: Double) -> String {
        let whole = seconds.rounded() == seconds ? String(Int(seconds)) : String(format: "%.1f", seconds)
        var text = "\(whole) second\(whole == "1" ? "" : "s")"
        if seconds >= 3600 {
            text += String(format: " (%.1f hours)", seconds / 3600)
        } else if seconds >= 120 {
            text += String(format: " (%.1f minutes)", seconds / 60)
        }
        return text
    }
}

extension EditForm {
    /// The form's name in the prompts (`Prompts.answerForms`).
    var title: String {
        switch self {
        case .full: "Whole script"
        case .diff: "Change"
        }
    }

    /// The form in a few words.
    var summary: String {
        switch self {
        case .full: "a plan, then the complete script"
        case .diff: "a plan, then SEARCH/REPLACE blocks"
        }
    }
}
