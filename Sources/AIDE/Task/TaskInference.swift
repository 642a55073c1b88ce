import Foundation

/// Infers a task file from a data folder (and, when given, aideml's goal and eval text), or from an
/// MLE-bench prepared competition.
public enum TaskInference {
    /// A draft for the data in `dataDirectory`, to be written into `taskFolder` (paths are written
    /// relative to it, or absolute with `absolutePaths`).
    public static func draft(
        dataDirectory: URL, taskFolder: URL, name: String? = nil, goal: String? = nil, eval: String? = nil,
        descriptionFile: URL? = nil, python: String = "python3", absolutePaths: Bool = false
    ) throws -> TaskDraft {
        let data = dataDirectory.standardizedFileURL
        let survey = try DataSurvey.survey(data)
        // A description.md in the data folder (as mle-bench's /home/data has) or beside it (as tasks/ have).
        let descriptionFile = descriptionFile ?? [data, data.deletingLastPathComponent()].map {
            $0.appendingPathComponent("description.md")
        }.first { FileManager.default.fileExists(atPath: $0.path) }
        func path(_ url: URL) -> String {
            absolutePaths ? url.standardizedFileURL.path : TaskDraft.relativePath(of: url, from: taskFolder)
        }
        var notes: [String: String] = [:]
        var todos: [String: String] = [:]
        let taskName = name ?? defaultName(for: data)

        let inferredGoal: String
        if let goal, !goal.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            inferredGoal = goal
        } else if let target = survey.kind == .classProbabilities ? "the probability of each class" : survey.targetColumn {
            inferredGoal = "Predict \(target) for each row of \(survey.test ?? "the test data")."
            notes["goal"] = "from the sample submission; say it in your own words"
        } else if let title = descriptionFile.flatMap({ try? String(contentsOf: $0, encoding: .utf8) }).flatMap(title(of:)) {
            inferredGoal = "\(title): solve the task described."
            notes["goal"] = "from description.md; say what to predict in your own words"
        } else {
            inferredGoal = "Solve the task in the data folder."
            todos["goal"] = "say what to predict, in one line"
        }

        var description: String?
        var descriptionText = ""
        if let eval, !eval.isEmpty {
            description = "Evaluation: \(eval)"
            descriptionText = eval
        }
        if let descriptionFile, let text = try? String(contentsOf: descriptionFile, encoding: .utf8) {
            descriptionText += "\n" + (MetricInference.evaluationSection(of: text) ?? text)
        }

        var directionKnown = true
        let metric: InferredMetric
        if let named = MetricInference.metric(in: descriptionText) {
            metric = named
            notes["metric.direction"] =
                eval.flatMap(MetricInference.metric(in:)) != nil ? "from the eval text" : "from the description's evaluation"
        } else if let fallback = survey.defaultMetric {
            metric = fallback
            todos["metric.direction"] =
                "\(fallback.name) is a default for \(survey.kind!.rawValue); set the metric the task is judged by"
        } else {
            metric = InferredMetric(name: "validation metric", direction: .minimize, grading: nil)
            directionKnown = false
            todos["metric.direction"] = "minimize or maximize: which way the metric is better"
        }

        var spec = TaskSpec(
            name: taskName, goal: inferredGoal, description: description,
            descriptionFile: descriptionFile.map(path), data: path(data),
            metric: MetricSpec(name: "validation \(metric.name)", direction: metric.direction))
        spec.exec.python = python
        if survey.sampleSubmission == nil { todos["data"] = "no sample submission found: the scripts will not know the format to write" }
        todos["grading"] = "to score each submission on hidden answers, name them here (outside the data folder)"
        var header = ["Written by `aide init` from \(data.path)."]
        header.append("Files: \(survey.files.prefix(12).joined(separator: ", "))\(survey.files.count > 12 ? ", …" : "")")
        if let id = survey.idColumn { header.append("Id column: \(id); target: \(survey.targetColumns.prefix(5).joined(separator: ", "))\(survey.targetColumns.count > 5 ? ", … (\(survey.targetColumns.count) columns)" : "")") }
        if let kind = survey.kind {
            header.append("Task kind: \(kind.rawValue)\(survey.classes.isEmpty ? "" : " (classes: \(survey.classes.prefix(10).joined(separator: ", ")))")")
        }
        header.append("Check each TODO, then: aide run <this file>")
        return TaskDraft(spec: spec, directionKnown: directionKnown, notes: notes, todos: todos, header: header)
    }

    /// A draft for a competition prepared by mle-bench (`<competition>/prepared/public` with the data,
    /// description.md and the sample submission; `<competition>/prepared/private` with the answers).
    /// `prepared` may be the `prepared` folder or the competition's folder holding it.
    public static func mlebenchDraft(prepared: URL, taskFolder: URL, python: String = "python3") throws -> TaskDraft {
        var root = prepared.standardizedFileURL
        let manager = FileManager.default
        func isDirectory(_ url: URL) -> Bool {
            var flag: ObjCBool = false
            return manager.fileExists(atPath: url.path, isDirectory: &flag) && flag.boolValue
        }
        if !isDirectory(root.appendingPathComponent("public")), isDirectory(root.appendingPathComponent("prepared/public")) {
            root = root.appendingPathComponent("prepared")
        }
        let publicDir = root.appendingPathComponent("public")
        let privateDir = root.appendingPathComponent("private")
        guard isDirectory(publicDir), isDirectory(privateDir) else {
            throw TaskInferenceError.notMLEBenchCompetition(path: prepared.path)
        }
        let competition = root.lastPathComponent == "prepared" ? root.deletingLastPathComponent().lastPathComponent : root.lastPathComponent
        let descriptionURL = publicDir.appendingPathComponent("description.md")
        let descriptionText = (try? String(contentsOf: descriptionURL, encoding: .utf8))
        var draft = try draft(
            dataDirectory: publicDir, taskFolder: taskFolder, name: competition,
            descriptionFile: descriptionText == nil ? nil : descriptionURL, python: python)
        draft.header[0] = "Written by `aide init` from the mle-bench competition \(competition) prepared in \(root.path)."
        if let title = descriptionText.flatMap(Self.title(of:)) {
            let predict = draft.spec.goal.hasPrefix("Predict ") ? " " + draft.spec.goal : ""
            draft.spec.goal = "Kaggle competition \"\(title)\":\(predict.isEmpty ? " solve it as described." : predict)"
            draft.notes["goal"] = "from description.md and the sample submission"
            draft.todos["goal"] = nil
        }
        if descriptionText == nil { draft.todos["description_file"] = "no description.md in public/; describe the task" }

        let survey = try DataSurvey.survey(publicDir)
        let answerFiles = try manager.contentsOfDirectory(atPath: privateDir.path).filter { $0.lowercased().hasSuffix(".csv") }.sorted()
        let preferred = ["answers.csv", "test.csv", "solution.csv", "gold_submission.csv"]
        guard let answers = preferred.first(where: answerFiles.contains) ?? (answerFiles.count == 1 ? answerFiles.first : nil) else {
            draft.todos["grading"] =
                "found no answers CSV to choose in \(privateDir.path) (\(answerFiles.joined(separator: ", "))); name it here"
            return draft
        }
        draft.todos["grading"] = nil
        let answersPath = TaskDraft.relativePath(of: privateDir.appendingPathComponent(answers), from: taskFolder)
        let named = descriptionText.flatMap { MetricInference.metric(in: MetricInference.evaluationSection(of: $0) ?? $0) }
        let builtIn = named?.grading.flatMap { metric -> GradingMetric? in
            // A wide metric needs a wide submission, and a one-column metric a single target.
            metric.isWide == (survey.targetColumns.count > 1) ? metric : nil
        }
        if let builtIn, let id = survey.idColumn {
            draft.spec.grading = GradingSpec(
                answers: answersPath, idColumn: id, targetColumn: builtIn.isWide ? "" : survey.targetColumn ?? "",
                metric: builtIn, targetColumns: builtIn.isWide ? survey.targetColumns : nil)
            draft.notes["grading.metric"] = "from description.md's evaluation (\(named!.name))"
        } else {
            let dataDir = root.deletingLastPathComponent().deletingLastPathComponent().path
            draft.spec.grading = GradingSpec(
                answers: answersPath, idColumn: "", targetColumn: "", metric: nil,
                command: "mlebench grade-sample {submission} \(competition) --data-dir \(CommandGrader.quoted(dataDir))",
                direction: named?.direction)
            draft.notes["grading.command"] =
                "no built-in metric fits\(named.map { " \($0.name)" } ?? " the description's metric"); mle-bench grades"
            if named == nil { draft.todos["grading.direction"] = "minimize or maximize: which way the score is better" }
        }
        return draft
    }

    /// The folder's name, or its parent's when the folder is called data, public or input.
    static func defaultName(for data: URL) -> String {
        let name = data.lastPathComponent
        if ["data", "public", "input", "dataset"].contains(name.lowercased()) {
            return data.deletingLastPathComponent().lastPathComponent
        }
        return name
    }

    /// The first Markdown heading's text.
    static func title(of markdown: String) -> String? {
        for line in markdown.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("#") {
                let title = trimmed.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces)
                if !title.isEmpty { return title }
            }
        }
        return nil
    }
}
