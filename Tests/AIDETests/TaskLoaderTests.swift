import AIDETesting
import Foundation
import Synchronization
import Testing

@testable import AIDE

/// Paths and the Python the task tests need.
enum TaskTestSupport {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// A Python that imports numpy, pandas and scikit-learn: `$AIDE_PYTHON` if set, else the repository's
    /// `.venv/bin/python` (made by scripts/setup.sh); nil when neither does. Blocks while it checks: read it
    /// off the cooperative pool.
    static let python: String? = {
        var candidates: [String] = []
        if let configured = ProcessInfo.processInfo.environment["AIDE_PYTHON"], !configured.isEmpty {
            candidates.append(configured)
        }
        candidates.append(repository.appendingPathComponent(".venv/bin/python").path)
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) {
            if (try? run(candidate, ["-c", "import numpy, pandas, sklearn"]))?.status == 0 { return candidate }
        }
        return nil
    }()

    static let noPython =
        "needs a Python with numpy, pandas and scikit-learn: none at $AIDE_PYTHON or .venv/bin/python (scripts/setup.sh creates .venv)"

    static func pythonAvailable() async -> Bool { await offPool { python != nil } }

    /// The shipped task `name`, loaded from the repository's tasks folder. The first load runs its
    /// `prepare` into that folder, which is not atomic (a second load could read a half-written data
    /// folder), so loads from tests running in parallel take turns.
    static func loadShipped(_ name: String) async throws -> LoadedTask {
        try await offPool {
            shippedLoads.withLock { _ in
                Result { try TaskLoader.load(repository.appendingPathComponent("tasks/\(name)/task.yaml")) }
            }
        }.get()
    }

    private static let shippedLoads = Mutex(())

    /// Runs a program to the end, blocking; output and errors together.
    static func run(_ executable: String, _ arguments: [String], in directory: URL? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func temporaryDirectory(_ label: String = "task") -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("aide-\(label)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func write(_ text: String, to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }
}

/// task.yaml: loading, every error path with its line, overrides, durations, prepare.
struct TaskLoaderTests {
    /// A task folder with `task.yaml` holding `yaml`, a `data/` folder and `answers.csv` (unless told not to).
    struct Fixture {
        let folder: URL
        var file: URL { folder.appendingPathComponent("task.yaml") }

        init(_ yaml: String, data: Bool = true, answers: Bool = true) throws {
            folder = TaskTestSupport.temporaryDirectory()
            try TaskTestSupport.write(yaml, to: folder.appendingPathComponent("task.yaml"))
            if data {
                try TaskTestSupport.write("id,x,y\n1,2,3\n", to: folder.appendingPathComponent("data/train.csv"))
            }
            if answers { try TaskTestSupport.write("id,y\n1,3\n", to: folder.appendingPathComponent("answers.csv")) }
        }

        func load(_ overrides: [String] = []) throws -> LoadedTask {
            try TaskLoader.load(file, overrides: overrides)
        }

        /// The TaskError loading throws; fails the test when loading succeeds or throws something else.
        func error(_ overrides: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) -> TaskError? {
            do {
                _ = try load(overrides)
                Issue.record("expected a TaskError, but the task loaded", sourceLocation: sourceLocation)
            } catch let error as TaskError {
                return error
            } catch {
                Issue.record("expected a TaskError, got \(error)", sourceLocation: sourceLocation)
            }
            return nil
        }
    }

    static let minimal = """
        name: demo
        goal: Predict y.
        data: data
        metric:
          direction: minimize
        """

    /// Lines 1–14 of a complete file, for the tests that add a section after it.
    static let complete = """
        name: demo
        goal: Predict y.
        description: Inline words.
        data: data
        metric:
          name: validation RMSE
          direction: minimize
        grading:
          answers: answers.csv
          id_column: id
          target_column: y
          metric: rmse
        budget:
          steps: 10
        """

    // MARK: Happy paths

    @Test func minimalFileGetsTheDefaults() throws {
        let fixture = try Fixture(Self.minimal, answers: false)
        let task = try fixture.load()
        #expect(task.spec.name == "demo")
        #expect(task.spec.goal == "Predict y.")
        #expect(task.spec.metric == MetricSpec(name: "validation metric", direction: .minimize))
        #expect(task.spec.grading == nil)
        #expect(task.spec.budget == BudgetSpec())
        #expect(task.spec.budget.steps == 20)
        #expect(task.spec.budget.scriptTimeout == 600)
        #expect(task.spec.budget.timeLimit == nil)
        #expect(task.spec.agent == AgentSpec())
        #expect(task.spec.agent.reviewModel == "claude-sonnet-4-5")
        #expect(task.spec.search == SearchSpec())
        #expect(task.spec.exec == ExecSpec())
        #expect(task.spec.exec.outputLimit == 32_000)
        #expect(task.answersFile == nil)
        #expect(task.descriptionText == "")
        #expect(task.folder.path == fixture.folder.standardizedFileURL.path)
        #expect(task.file.path == fixture.file.standardizedFileURL.path)
        #expect(task.dataDirectory.path == fixture.folder.appendingPathComponent("data").standardizedFileURL.path)
        // A folder stands for its task.yaml.
        #expect(try TaskLoader.load(fixture.folder).spec == task.spec)
    }

    @Test func completeFileResolvesPathsAgainstTheTaskFolder() throws {
        let fixture = try Fixture(
            Self.complete + """

                  time_limit: 2h
                  script_timeout: 90s
                  usd: 1.5
                  tokens: 100000
                agent:
                  code_model: gpt-4o
                  feedback_model: gpt-4o-mini
                  code_temperature: 0
                  feedback_temperature: 2
                  max_tokens: 4096
                search:
                  policy: greedy
                  num_drafts: 2
                  debug_prob: 1
                  max_debug_depth: 0
                  seed: 7
                exec:
                  python: /usr/bin/python3
                  memory_limit_mb: 2048
                  cpu_limit: 10m
                  output_limit: 1000
                description_file: notes/more.md
                prepare: echo never runs
                """)
        try TaskTestSupport.write("\nFrom the file.\n\n", to: fixture.folder.appendingPathComponent("notes/more.md"))
        let task = try fixture.load()
        #expect(task.descriptionText == "Inline words.\n\nFrom the file.")
        #expect(task.answersFile?.path == fixture.folder.appendingPathComponent("answers.csv").standardizedFileURL.path)
        #expect(
            task.spec.grading == GradingSpec(answers: "answers.csv", idColumn: "id", targetColumn: "y", metric: .rmse))
        #expect(
            task.spec.budget
                == BudgetSpec(steps: 10, timeLimit: 7200, scriptTimeout: 90, usd: 1.5, tokens: 100_000))
        #expect(
            task.spec.agent
                == AgentSpec(
                    codeModel: "gpt-4o", feedbackModel: "gpt-4o-mini", codeTemperature: 0, feedbackTemperature: 2,
                    maxTokens: 4096))
        #expect(task.spec.search == SearchSpec(policy: .greedy, numDrafts: 2, debugProb: 1, maxDebugDepth: 0, seed: 7))
        #expect(task.spec.exec == ExecSpec(python: "/usr/bin/python3", memoryLimitMB: 2048, cpuLimit: 600, outputLimit: 1000))
    }

    @Test func relativePythonKeepsItsSymlinkSoAVenvIsFound() throws {
        // A venv's bin/python is a symlink to the base interpreter; Python finds the venv (pyvenv.cfg)
        // only from the path it was started by, so that path must not be resolved.
        let fixture = try Fixture("name: t\ngoal: g\ndata: data\nmetric: {direction: minimize}\nexec: {python: venv/bin/python}\n")
        let bin = fixture.folder.appendingPathComponent("venv/bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: bin.appendingPathComponent("python").path, withDestinationPath: "/usr/bin/python3")
        let task = try fixture.load()
        #expect(task.pythonExecutable == fixture.folder.standardized.path + "/venv/bin/python")
    }

    @Test func gradingThresholdsAreReadOrderedAndChecked() throws {
        let base = "name: t\ngoal: g\ndata: data\nmetric: {direction: minimize}\ngrading:\n  answers: answers.csv\n  id_column: id\n  target_column: y\n  metric: rmse\n"
        let spec = try Fixture(base + "  thresholds: {bronze: 0.15, gold: 0.12, silver: 0.13}\n").load().spec
        #expect(spec.grading?.thresholds == ["bronze": 0.15, "silver": 0.13, "gold": 0.12])
        #expect(spec.grading?.orderedThresholds.map(\.name) == ["bronze", "silver", "gold"])
        let accuracy = try Fixture(base.replacingOccurrences(of: "metric: rmse", with: "metric: accuracy") + "  thresholds: {gold: 0.9, bronze: 0.8}\n").load().spec
        #expect(accuracy.grading?.orderedThresholds.map(\.name) == ["bronze", "gold"])

        let notNumber = try Fixture(base + "  thresholds:\n    gold: high\n").error()
        guard case .file(let file)? = notNumber?.source else { Issue.record("expected a file error"); return }
        #expect(notNumber?.description == "\(file):11:5: grading.thresholds.gold: expected a number, found \"high\"")
        let notMapping = try Fixture(base + "  thresholds: 0.12\n").error()
        #expect(notMapping?.line == 10)
        #expect(notMapping?.message == "grading.thresholds: expected a mapping of keys, found \"0.12\"")
        let nan = try Fixture(base + "  thresholds: {gold: .nan}\n").error()
        #expect(nan?.message == "grading.thresholds.gold: must be a finite number, found nan")
    }

    @Test func gradingMetricMayDisagreeWithTheAgentsMetric() throws {
        // The agent maximizes a validation AUC while the harness grades RMSE: different metrics, no error.
        let yaml = Self.complete.replacingOccurrences(of: "direction: minimize", with: "direction: maximize")
        let task = try Fixture(yaml).load()
        #expect(task.spec.metric.direction == .maximize)
        #expect(task.spec.grading?.scoreDirection == .minimize)
    }

    @Test func relativeFileNameIsKeptInErrors() throws {
        let fixture = try Fixture(Self.minimal + "\nbudget:\n  steps: ten\n", answers: false)
        let relative = URL(fileURLWithPath: "task.yaml", relativeTo: URL(fileURLWithPath: fixture.folder.path, isDirectory: true))
        #expect(throws: TaskError(file: "task.yaml", line: 7, column: 3, problem: .expected(key: ["budget", "steps"], .integer, found: .text("ten")))) {
            try TaskLoader.load(relative)
        }
        // A loaded task's URLs are absolute.
        try TaskTestSupport.write(Self.minimal, to: fixture.file)
        let task = try TaskLoader.load(relative)
        #expect(task.file.baseURL == nil)
        #expect(task.file.path == fixture.file.standardizedFileURL.path)
        #expect(task.dataDirectory.baseURL == nil)
    }

    @Test func missingOrUnreadableTaskFileSaysWhyInWords() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("aide-missing-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = folder.appendingPathComponent("nope.yaml")
        #expect(throws: TaskError(file: missing.path, problem: .unreadable(reason: "no such file"))) {
            try TaskLoader.load(missing)
        }
        // A folder without task.yaml reads as its task.yaml, missing.
        #expect(throws: TaskError(file: folder.appendingPathComponent("task.yaml").path, problem: .unreadable(reason: "no such file"))) {
            try TaskLoader.load(folder)
        }
    }

    // MARK: YAML syntax

    @Test func yamlSyntaxErrorHasLineAndColumn() throws {
        let error = try Fixture(
            """
            name: demo
            goal: Predict y.
            data: data: more
            metric:
              direction: minimize
            """
        ).error()
        #expect(error?.line == 3)
        #expect(error?.column == 11)
        #expect(error?.message.contains("mapping values are not allowed") == true)
    }

    @Test func unclosedQuoteIsASyntaxError() throws {
        let error = try Fixture(
            """
            name: demo
            goal: "Predict y.
            data: data
            metric:
              direction: minimize
            """
        ).error()
        #expect(error?.line == 5)
        #expect(error?.column == 22)
        #expect(
            error?.message
                == "YAML syntax error: found unexpected end of stream (while scanning a quoted scalar at line 2, column 7)")
    }

    @Test func duplicateKeysAreReported() throws {
        let top = try Fixture(Self.minimal + "\nname: again\n").error()
        #expect(top?.message == "duplicate key(s) \"name\" in one mapping")
        #expect(top?.line == 6)
        let inner = try Fixture(Self.complete + "\n  steps: 11\n").error()
        #expect(inner?.message == "duplicate key(s) \"steps\" in one mapping")
        #expect(inner?.line == 15)
        #expect(inner?.column == 3)
    }

    @Test func emptyFileAndNonMappingAreErrors() throws {
        let empty = try Fixture("# nothing here\n").error()
        #expect(empty?.line == 1)
        #expect(empty?.message == "the task file is empty")
        let list = try Fixture("\n- name\n- goal\n").error()
        #expect(list?.line == 2)
        #expect(list?.message.hasPrefix("expected a mapping of keys") == true)
    }

    @Test func missingFileIsAnError() {
        let missing = TaskTestSupport.temporaryDirectory().appendingPathComponent("nope.yaml")
        #expect(throws: TaskError.self) { try TaskLoader.load(missing) }
    }

    // MARK: Unknown keys

    @Test func unknownKeyInASection() throws {
        let error = try Fixture(Self.complete.replacingOccurrences(of: "  steps: 10", with: "  stpes: 10")).error()
        #expect(error?.line == 14)
        #expect(error?.column == 3)
        #expect(error?.message == "unknown key \"stpes\" in budget; expected one of: steps, time_limit, script_timeout, usd, tokens")
        #expect(error?.description.hasSuffix(":14:3: unknown key \"stpes\" in budget; expected one of: steps, time_limit, script_timeout, usd, tokens") == true)
    }

    @Test func unknownKeyAtTheTopLevel() throws {
        let error = try Fixture(Self.complete + "\nbudgte:\n  steps: 3\n").error()
        #expect(error?.line == 15)
        #expect(
            error?.message
                == "unknown key \"budgte\"; expected one of: name, goal, description, description_file, data, prepare, metric, grading, budget, agent, search, exec"
        )
    }

    @Test(arguments: [
        ("metric", "higher", "metric; expected one of: name, direction"),
        ("grading", "target", "grading; expected one of: answers, id_column, target_column, target_columns, metric, command, direction, submission, thresholds, sample_submission"),
        ("agent", "model", "agent; expected one of: code_model, feedback_model, code_temperature, feedback_temperature, max_tokens, parallel_calls, stream, code, feedback, retry, max_failed_steps, edit_format, prompt_cache"),
        ("search", "drafts", "search; expected one of: policy, num_drafts, debug_prob, max_debug_depth, seed, workers, validation, reasoning, exploration, islands, max_children, migration_interval, crossover_prob, tournament_size"),
        ("exec", "timeout", "exec; expected one of: python, memory_limit_mb, cpu_limit, output_limit, parallel, sandbox, network, gpus, max_processes, max_file_mb, tmp_mb, max_disk_mb, packages, data, backend, slurm"),
    ])
    func unknownKeyInEverySection(section: String, key: String, expected: String) throws {
        // A new section goes at lines 15–16; metric and grading already exist, so the key goes into them.
        let yaml: String
        let line: Int
        switch section {
        case "metric":
            yaml = Self.complete.replacingOccurrences(of: "  direction: minimize", with: "  direction: minimize\n  \(key): 1")
            line = 8
        case "grading":
            yaml = Self.complete.replacingOccurrences(of: "  metric: rmse", with: "  metric: rmse\n  \(key): 1")
            line = 13
        default:
            yaml = Self.complete + "\n\(section):\n  \(key): 1\n"
            line = 16
        }
        let error = try Fixture(yaml).error()
        #expect(error?.line == line)
        #expect(error?.message == "unknown key \"\(key)\" in \(expected)")
    }

    // MARK: Types, missing keys, enums

    @Test func wrongTypeNamesThePathAndTheExpectation() throws {
        let fixture = try Fixture(Self.complete.replacingOccurrences(of: "steps: 10", with: "steps: ten"))
        let error = fixture.error()
        #expect(error?.line == 14)
        #expect(error?.column == 3)
        #expect(error?.message == "budget.steps: expected an integer, found \"ten\"")
        #expect(error?.description == "\(fixture.file.path):14:3: budget.steps: expected an integer, found \"ten\"")
    }

    @Test func moreWrongTypes() throws {
        let number = try Fixture(Self.complete + "\nsearch:\n  debug_prob: high\n").error()
        #expect(number?.line == 16)
        #expect(number?.message == "search.debug_prob: expected a number, found \"high\"")

        let seed = try Fixture(Self.complete + "\nsearch:\n  seed: -1\n").error()
        #expect(seed?.line == 16)
        #expect(seed?.message == "search.seed: expected a non-negative integer, found \"-1\"")

        let section = try Fixture(Self.complete + "\nagent: gpt-4o\n").error()
        #expect(section?.line == 15)
        #expect(section?.message == "agent: expected a mapping of keys, found \"gpt-4o\"")

        let text = try Fixture(Self.complete.replacingOccurrences(of: "goal: Predict y.", with: "goal:\n  - a\n  - b")).error()
        #expect(text?.line == 2)
        #expect(text?.message == "goal: expected a single value (text or a number), found a list")

        let emptyMetric = try Fixture("name: demo\ngoal: g\ndata: data\nmetric:\n").error()
        #expect(emptyMetric?.line == 4)
        #expect(emptyMetric?.message == "metric: expected a mapping of keys, found an empty value")
    }

    @Test func missingRequiredKeys() throws {
        let name = try Fixture(Self.minimal.replacingOccurrences(of: "name: demo\n", with: "")).error()
        #expect(name?.line == 1)
        #expect(name?.message == "missing required key \"name\"")

        let goal = try Fixture("# comment\n" + Self.minimal.replacingOccurrences(of: "goal: Predict y.\n", with: "")).error()
        #expect(goal?.line == 1)
        #expect(goal?.message == "missing required key \"goal\"")

        let data = try Fixture(Self.minimal.replacingOccurrences(of: "data: data\n", with: "")).error()
        #expect(data?.message == "missing required key \"data\"")

        let metric = try Fixture("name: demo\ngoal: g\ndata: data\n").error()
        #expect(metric?.line == 1)
        #expect(metric?.message == "missing required key \"metric\"")

        // Missing inside a section: at the line of the section's key.
        let direction = try Fixture(Self.complete.replacingOccurrences(of: "  direction: minimize\n", with: "")).error()
        #expect(direction?.line == 5)
        #expect(direction?.message == "missing required key \"direction\" in metric")

        let answers = try Fixture(Self.complete.replacingOccurrences(of: "  answers: answers.csv\n", with: "")).error()
        #expect(answers?.line == 8)
        #expect(answers?.message == "missing required key \"answers\" in grading")
    }

    @Test func invalidEnumValuesListTheAllowedOnes() throws {
        let direction = try Fixture(Self.complete.replacingOccurrences(of: "direction: minimize", with: "direction: up")).error()
        #expect(direction?.line == 7)
        #expect(direction?.column == 3)
        #expect(direction?.message == "metric.direction: expected one of minimize, maximize, found \"up\"")

        let metric = try Fixture(Self.complete.replacingOccurrences(of: "metric: rmse", with: "metric: auc")).error()
        #expect(metric?.line == 12)
        #expect(metric?.message == "grading.metric: expected one of rmse, rmse_log, mae, accuracy, f1, roc_auc, logloss, rmsle, quadratic_kappa, multiclass_logloss, mean_column_roc_auc, found \"auc\"")
    }

    // MARK: Durations

    @Test(arguments: [("90s", 90.0), ("10m", 600), ("1h30m", 5400), ("600", 600), ("\"600\"", 600), ("2.5h", 9000), ("1d", 86400)])
    func durations(text: String, seconds: Double) throws {
        let task = try Fixture(Self.complete + "\n  time_limit: \(text)\n  script_timeout: \(text)\n").load()
        #expect(task.spec.budget.timeLimit == seconds)
        #expect(task.spec.budget.scriptTimeout == seconds)
    }

    @Test(arguments: ["soon", "10ms", "-5m", "0", "m"])
    func badDurations(text: String) throws {
        let error = try Fixture(Self.complete + "\n  script_timeout: \(text)\n").error()
        #expect(error?.line == 15)
        #expect(error?.message.hasPrefix("budget.script_timeout: expected a") == true)
    }

    @Test func durationMessage() throws {
        let error = try Fixture(Self.complete + "\n  time_limit: soon\n").error()
        #expect(error?.message == "budget.time_limit: expected a duration such as 600, \"90s\", \"10m\" or \"1h30m\", found \"soon\"")
        let mapping = try Fixture(Self.complete + "\nexec:\n  cpu_limit:\n    seconds: 3\n").error()
        #expect(mapping?.line == 16)
        #expect(mapping?.message == "exec.cpu_limit: expected a duration such as 600, \"90s\", \"10m\" or \"1h30m\", found a mapping")
    }

    // MARK: Overrides

    @Test func overridesApplyBeforeDecoding() throws {
        let fixture = try Fixture(Self.complete)
        let task = try fixture.load([
            "budget.steps=3", "agent.code_model=gpt-4o", "search.debug_prob=0.2", "budget.time_limit=1h",
            "exec.python=\(TestPython.path)", "name=renamed", "metric.name=RMSE = root of MSE",
        ])
        #expect(task.spec.budget.steps == 3)
        #expect(task.spec.budget.timeLimit == 3600)
        #expect(task.spec.agent.codeModel == "gpt-4o")
        #expect(task.spec.search.debugProb == 0.2)
        #expect(task.spec.search.numDrafts == 5)  // the rest of the new section keeps its defaults
        #expect(task.spec.exec.python == TestPython.path)
        #expect(task.spec.name == "renamed")
        #expect(task.spec.metric.name == "RMSE = root of MSE")
        // The last override of a key wins.
        #expect(try fixture.load(["budget.steps=3", "budget.steps=4"]).spec.budget.steps == 4)
    }

    @Test func overrideCreatesAGradingSection() throws {
        let fixture = try Fixture(Self.minimal)
        let task = try fixture.load([
            "grading.answers=answers.csv", "grading.id_column=id", "grading.target_column=y", "grading.metric=mae",
        ])
        #expect(task.spec.grading?.metric == .mae)
        // One key short: the error points at the override that made the section.
        let error = fixture.error(["grading.answers=answers.csv", "grading.metric=mae"])
        #expect(error?.source == .override("grading.metric=mae"))
        #expect(error?.line == nil)
        #expect(error?.message == "missing required key \"id_column\" in grading")
    }

    @Test func overrideToAnUnknownKey() throws {
        let fixture = try Fixture(Self.complete)
        let error = fixture.error(["budget.stpes=3"])
        #expect(error?.source == .override("budget.stpes=3"))
        #expect(error?.line == nil)
        #expect(error?.message == "unknown key \"stpes\" in budget; expected one of: steps, time_limit, script_timeout, usd, tokens")
        #expect(error?.description == "override budget.stpes=3: unknown key \"stpes\" in budget; expected one of: steps, time_limit, script_timeout, usd, tokens")

        let top = fixture.error(["budgte.steps=3"])
        #expect(top?.message.hasPrefix("unknown key \"budgte\"; expected one of: name, goal") == true)
        let leaf = fixture.error(["name.first=x"])
        #expect(leaf?.message == "\"name\" takes a value, not keys (\"name.first\")")
        let deep = fixture.error(["budget.steps.max=3"])
        #expect(deep?.message == "\"budget.steps\" takes a value, not keys (\"budget.steps.max\")")
        let malformed = fixture.error(["budget.steps"])
        #expect(malformed?.source == .override("budget.steps"))
        #expect(malformed?.message == "expected key.path=value, such as budget.steps=3")
        #expect(fixture.error(["budget..steps=3"])?.message == "expected key.path=value, such as budget.steps=3")
    }

    @Test func overrideWithABadValue() throws {
        let fixture = try Fixture(Self.complete)
        let type = fixture.error(["budget.steps=ten"])
        #expect(type?.source == .override("budget.steps=ten"))
        #expect(type?.line == nil)
        #expect(type?.message == "budget.steps: expected an integer, found \"ten\"")
        let range = fixture.error(["search.debug_prob=1.5"])
        #expect(range?.source == .override("search.debug_prob=1.5"))
        #expect(range?.message == "search.debug_prob: must be in 0...1, found 1.5")
        let direction = fixture.error(["metric.direction=up"])
        #expect(direction?.source == .override("metric.direction=up"))
        #expect(direction?.message == "metric.direction: expected one of minimize, maximize, found \"up\"")
        // An override replaces a section that was not a mapping.
        let replaced = try Fixture(Self.complete + "\nsearch: 3\n").load(["search.num_drafts=2"])
        #expect(replaced.spec.search.numDrafts == 2)
    }

    /// The errors carry facts, not only words: the key path, what was expected and found, numbers as
    /// numbers, the keys allowed, libyaml's place; their words are the problem's description.
    @Test func problemsAreTypedFacts() throws {
        let fixture = try Fixture(Self.complete)
        let unknown = try Fixture(Self.complete.replacingOccurrences(of: "  steps: 10", with: "  stpes: 10")).error()
        #expect(unknown?.problem == .unknownKey("stpes", section: ["budget"], known: ["steps", "time_limit", "script_timeout", "usd", "tokens"]))
        #expect(unknown?.problem.key == nil)
        #expect(unknown?.line == 14)
        #expect(unknown?.column == 3)

        let type = fixture.error(["budget.steps=ten"])
        #expect(type == TaskError(source: .override("budget.steps=ten"), problem: .expected(key: ["budget", "steps"], .integer, found: .text("ten"))))
        let steps = fixture.error(["budget.steps=0"])
        #expect(steps?.problem == .outOfRange(key: ["budget", "steps"], .integer(0), allowed: .atLeast(1)))
        let probability = fixture.error(["search.debug_prob=1.5"])
        #expect(probability?.problem == .outOfRange(key: ["search", "debug_prob"], .real(1.5), allowed: .within(0, 1)))
        #expect(probability?.problem.key == ["search", "debug_prob"])
        let duration = fixture.error(["budget.script_timeout=-5"])
        #expect(duration?.problem == .expected(key: ["budget", "script_timeout"], .positiveDuration, found: .number(-5)))
        #expect(duration?.message == "budget.script_timeout: expected a positive, finite duration, found -5.0")
        let notDuration = fixture.error(["budget.time_limit=soon"])
        #expect(notDuration?.problem == .expected(key: ["budget", "time_limit"], .duration, found: .text("soon")))
        let direction = fixture.error(["metric.direction=up"])
        #expect(direction?.problem == .expected(key: ["metric", "direction"], .oneOf(["minimize", "maximize"]), found: .text("up")))

        #expect(fixture.error(["budget.steps"])?.problem == .malformedOverride)
        #expect(fixture.error(["name.first=x"])?.problem == .notASection(key: ["name"], path: ["name", "first"]))
        #expect(fixture.error(["budgte.steps=3"])?.problem == .unknownKey("budgte", section: [], known: TaskSchema.topLevel))

        let missing = try Fixture("name: demo\ngoal: Predict y.\ndata: data\nmetric:\n  name: m\n").error()
        #expect(missing?.problem == .missingKey("direction", section: ["metric"]))

        let syntax = try Fixture("name: demo\ngoal: \"Predict y.\ndata: data\nmetric:\n  direction: minimize").error()
        #expect(syntax?.line == 5)
        #expect(syntax?.column == 22)
        #expect(
            syntax?.problem
                == .syntax(
                    problem: "found unexpected end of stream",
                    context: .init(text: "while scanning a quoted scalar", line: 2, column: 7)))

        let slurm = SlurmSpec(mem: "lots").problems()
        #expect(slurm.map(\.problem) == [.expected(key: ["exec", "slurm", "mem"], .slurmMemory, found: .text("lots"))])
    }

    /// Every key of the schema set to a word no key takes: each error is a fact of the loader's, never a
    /// decoder's raw words ("Cannot initialize DataSharing from invalid String value …"). Only the value
    /// type that words its own refusal (`search.validation`) gives `invalidValue`.
    @Test func everyKeyRefusesAWrongValueAsAFact() throws {
        // A Python that does not exist ends every load that decodes before any process starts.
        let fixture = try Fixture(Self.complete + "\nexec:\n  python: /nonexistent/python\n")
        var keys = TaskSchema.topLevel.filter { TaskSchema.sections[$0] == nil }
        for (section, inner) in TaskSchema.sections {
            for key in inner where TaskSchema.subsections["\(section).\(key)"] == nil { keys.append("\(section).\(key)") }
        }
        for (section, inner) in TaskSchema.subsections { keys += inner.map { "\(section).\($0)" } }
        #expect(keys.count > 80)
        var decoderWords: Set<String> = []
        for key in keys.sorted() {
            for value in ["no-such-value-7", "{a: 1}", "[x, y]"] {
                guard let error = fixture.error(["\(key)=\(value)"]) else { continue }
                #expect(!error.message.contains("Cannot initialize"), "\(key)=\(value): \(error.message)")
                #expect(!error.message.hasSuffix("found \"\""), "\(key)=\(value): \(error.message)")
                switch error.problem {
                case .invalidValue: decoderWords.insert(key)
                case .expected(_, .type(let name), _): Issue.record("\(key)=\(value): a Swift type named: \(name)")
                default: break
                }
            }
        }
        #expect(decoderWords == ["search.validation"])
        // A mapping where a number or a boolean goes is told so, not "a single value (text or a number)".
        #expect(fixture.error(["search.seed={a: 1}"])?.problem == .expected(key: ["search", "seed"], .nonNegativeInteger, found: .mapping))
        #expect(fixture.error(["agent.stream=[x]"])?.problem == .expected(key: ["agent", "stream"], .boolean, found: .list))
        #expect(fixture.error(["goal=[x]"])?.problem == .expected(key: ["goal"], .singleValue, found: .list))
        #expect(
            fixture.error(["exec.gpus={a: 1}"])?.problem
                == .expected(key: ["exec", "gpus"], .gpus, found: .mapping), "not the empty text it decoded as")
    }

    // MARK: Values

    @Test(arguments: [
        ("budget", "steps", "0", "budget.steps: must be at least 1, found 0"),
        ("budget", "usd", "0", "budget.usd: must be more than 0, found 0.0"),
        ("search", "num_drafts", "0", "search.num_drafts: must be at least 1, found 0"),
        ("search", "debug_prob", "1.5", "search.debug_prob: must be in 0...1, found 1.5"),
        ("search", "debug_prob", "-0.1", "search.debug_prob: must be in 0...1, found -0.1"),
        ("search", "max_debug_depth", "-1", "search.max_debug_depth: must be at least 0, found -1"),
        ("exec", "output_limit", "999", "exec.output_limit: must be at least 1000 bytes, found 999"),
        ("agent", "code_temperature", "2.5", "agent.code_temperature: must be in 0...2, found 2.5"),
        ("agent", "feedback_temperature", "-1", "agent.feedback_temperature: must be in 0...2, found -1.0"),
    ])
    func valuesOutOfRange(section: String, key: String, value: String, message: String) throws {
        let yaml: String
        let line: Int
        if section == "budget" {
            let replacement = key == "steps" ? "  steps: \(value)" : "  steps: 10\n  \(key): \(value)"
            yaml = Self.complete.replacingOccurrences(of: "  steps: 10", with: replacement)
            line = key == "steps" ? 14 : 15
        } else {
            yaml = Self.complete + "\n\(section):\n  \(key): \(value)\n"
            line = 16
        }
        let error = try Fixture(yaml).error()
        #expect(error?.line == line)
        #expect(error?.column == 3)
        #expect(error?.message == message)
    }

    @Test func emptyRequiredTextIsAnError() throws {
        let error = try Fixture(Self.minimal.replacingOccurrences(of: "goal: Predict y.", with: "goal: \"  \"")).error()
        #expect(error?.line == 2)
        #expect(error?.message == "goal: must not be empty")
    }

    // MARK: Files

    @Test func missingDataDirectory() throws {
        let error = try Fixture(Self.complete, data: false).error()
        #expect(error?.line == 4)
        #expect(error?.message.hasPrefix("data: ") == true)
        #expect(error?.message.hasSuffix("does not exist; add a prepare command that creates it") == true)
        guard case .doesNotExist(let key, let path, let hint)? = error?.problem else {
            Issue.record("expected doesNotExist, got \(String(describing: error))")
            return
        }
        #expect(key == ["data"])
        #expect(path.hasSuffix("/data"))
        #expect(hint == .noPrepare)
    }

    @Test func dataThatIsAFile() throws {
        let fixture = try Fixture(Self.complete.replacingOccurrences(of: "data: data", with: "data: answers.csv"))
        let error = fixture.error()
        #expect(error?.line == 4)
        #expect(error?.message.hasSuffix("is not a directory") == true)
    }

    @Test func missingDescriptionFile() throws {
        let error = try Fixture(Self.complete + "\ndescription_file: nowhere.md\n").error()
        #expect(error?.line == 15)
        #expect(error?.message.hasPrefix("description_file: ") == true)
        #expect(error?.message.hasSuffix("nowhere.md does not exist") == true)
    }

    @Test func missingAnswers() throws {
        let error = try Fixture(Self.complete, answers: false).error()
        #expect(error?.line == 9)
        #expect(error?.message.hasPrefix("grading.answers: ") == true)
        #expect(error?.message.hasSuffix("answers.csv does not exist") == true)
    }

    @Test func answersInsideTheDataDirectory() throws {
        let fixture = try Fixture(Self.complete.replacingOccurrences(of: "answers: answers.csv", with: "answers: ./data/../data/answers.csv"))
        try TaskTestSupport.write("id,y\n1,3\n", to: fixture.folder.appendingPathComponent("data/answers.csv"))
        let error = fixture.error()
        #expect(error?.line == 9)
        #expect(
            error?.message
                == "grading.answers: ./data/../data/answers.csv is inside the data directory data, where solution scripts can read it; keep the answers outside it"
        )
        // Through a symlink too.
        let linked = try Fixture(Self.complete.replacingOccurrences(of: "answers: answers.csv", with: "answers: secret/answers.csv"))
        try FileManager.default.createSymbolicLink(
            at: linked.folder.appendingPathComponent("secret"), withDestinationURL: linked.folder.appendingPathComponent("data"))
        try TaskTestSupport.write("id,y\n1,3\n", to: linked.folder.appendingPathComponent("data/answers.csv"))
        #expect(linked.error()?.message.contains("is inside the data directory") == true)
    }

    @Test func absolutePathsAreKept() throws {
        let elsewhere = TaskTestSupport.temporaryDirectory("data")
        let fixture = try Fixture(Self.minimal.replacingOccurrences(of: "data: data", with: "data: \(elsewhere.path)"), data: false)
        #expect(try fixture.load().dataDirectory.path == elsewhere.standardizedFileURL.path)
    }

    // MARK: Prepare

    @Test func prepareRunsWhenTheDataIsMissing() async throws {
        let fixture = try Fixture(Self.minimal + "\nprepare: mkdir data && echo hi > data/x.txt\n", data: false, answers: false)
        let result = await offPool { Result { try fixture.load() } }
        let task = try result.get()
        let written = try String(contentsOf: task.dataDirectory.appendingPathComponent("x.txt"), encoding: .utf8)
        #expect(written == "hi\n")
        // Once the data is there, prepare does not run again (it would fail: mkdir of an existing folder).
        let again = await offPool { Result { try fixture.load() } }
        #expect(throws: Never.self) { try again.get() }
    }

    @Test func prepareAlsoRunsWhenOnlyTheAnswersAreMissing() async throws {
        let fixture = try Fixture(Self.complete + "\nprepare: printf 'id,y\\n1,3\\n' > answers.csv\n", answers: false)
        let result = await offPool { Result { try fixture.load() } }
        #expect(try result.get().answersFile.map { FileManager.default.fileExists(atPath: $0.path) } == true)
    }

    @Test func failingPrepareQuotesItsLastOutput() async throws {
        let fixture = try Fixture(
            Self.minimal + "\nprepare: echo starting; echo 'bad thing happened' >&2; exit 3\n", data: false, answers: false)
        let result = await offPool { Result { try fixture.load() } }
        do {
            _ = try result.get()
            Issue.record("expected a TaskError")
        } catch let error as TaskError {
            #expect(error.line == 6)
            #expect(error.message.hasPrefix("prepare (echo starting; echo 'bad thing happened' >&2; exit 3) failed with exit status 3"))
            #expect(error.message.hasSuffix("its last output:\n  starting\n  bad thing happened"))
            #expect(
                error.problem
                    == .prepareFailed(
                        command: "echo starting; echo 'bad thing happened' >&2; exit 3", .status(3),
                        lastOutput: ["starting", "bad thing happened"]))
        }
    }

    @Test func prepareThatDoesNotCreateTheData() async throws {
        let fixture = try Fixture(Self.minimal + "\nprepare: \"true\"\n", data: false, answers: false)
        let result = await offPool { Result { try fixture.load() } }
        #expect {
            try result.get()
        } throws: { error in
            guard let error = error as? TaskError else { return false }
            return error.line == 3 && error.message.hasSuffix("does not exist (prepare ran but did not create it)")
        }
    }

    // MARK: Shipped tasks

    static let shipped: [(name: String, metric: GradingMetric, direction: MetricDirection)] = [
        ("breast-cancer", .rocAUC, .maximize), ("diabetes", .rmse, .minimize), ("wine", .accuracy, .maximize),
        ("house-prices", .rmseLog, .minimize),
    ]

    /// Each shipped task, copied into a fresh folder (so its prepare really runs, from nothing), loaded,
    /// and its sample submission graded.
    @Test(.enabled(Comment(rawValue: TaskTestSupport.noPython)) { await TaskTestSupport.pythonAvailable() }, arguments: 0..<4)
    func shippedTaskLoadsAndPreparesItsData(index: Int) async throws {
        let (name, metric, direction) = Self.shipped[index]
        let python = try #require(await offPool { TaskTestSupport.python })
        let sandbox = TaskTestSupport.temporaryDirectory("shipped")
        defer { try? FileManager.default.removeItem(at: sandbox) }
        // sandbox/root/tasks/<name>: ../../.venv is sandbox/root/.venv; ../../../shared is sandbox/shared.
        let root = sandbox.appendingPathComponent("root")
        let folder = root.appendingPathComponent("tasks/\(name)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let source = TaskTestSupport.repository.appendingPathComponent("tasks/\(name)")
        for file in try FileManager.default.contentsOfDirectory(atPath: source.path)
        where file != "data" && file != "answers.csv" && file != "__pycache__" {
            try FileManager.default.copyItem(at: source.appendingPathComponent(file), to: folder.appendingPathComponent(file))
        }
        // The venv the prepare command looks for, two folders up.
        let venv = URL(fileURLWithPath: python).deletingLastPathComponent().deletingLastPathComponent()
        try FileManager.default.createSymbolicLink(at: root.appendingPathComponent(".venv"), withDestinationURL: venv)
        let shared = TaskTestSupport.repository.deletingLastPathComponent().appendingPathComponent("shared")
        let haveShared = FileManager.default.fileExists(
            atPath: shared.appendingPathComponent("datasets/house_prices/train.csv").path)
        if haveShared {
            try FileManager.default.createSymbolicLink(at: sandbox.appendingPathComponent("shared"), withDestinationURL: shared)
        }
        let file = folder.appendingPathComponent("task.yaml")
        let result = await offPool { Result { try TaskLoader.load(file) } }
        if name == "house-prices" && !haveShared && ProcessInfo.processInfo.environment["AIDE_SHARED_DATASETS"] == nil {
            // Without Kaggle's data, prepare fails and says where it looked.
            #expect(throws: TaskError.self) { try result.get() }
            return
        }
        let task = try result.get()
        #expect(task.spec.name == name)
        #expect(task.spec.budget.steps == 10)
        #expect(task.spec.budget.scriptTimeout == 300)
        #expect(task.spec.metric.direction == direction)
        #expect(task.spec.grading?.metric == metric)
        #expect(!task.descriptionText.isEmpty)
        let fileManager = FileManager.default
        // Scripts run with the venv's Python, found from the task's folder.
        #expect(task.spec.exec.python == "../../.venv/bin/python")
        #expect(fileManager.isExecutableFile(atPath: task.pythonExecutable))
        // The venv's own bin/python, not the interpreter its symlink leads to (that one has no venv).
        #expect(task.pythonExecutable.hasSuffix("/.venv/bin/python"), "\(task.pythonExecutable)")
        for data in ["train.csv", "test.csv", "sample_submission.csv"] {
            #expect(fileManager.fileExists(atPath: task.dataDirectory.appendingPathComponent(data).path), "\(data)")
        }
        let answersURL = try #require(task.answersFile)
        #expect(fileManager.fileExists(atPath: answersURL.path))
        #expect(answersURL.deletingLastPathComponent().path == task.folder.path)

        // test.csv lacks the target; the answers cover exactly its ids; the sample submission grades.
        let grading = try #require(task.spec.grading)
        let test = try CSVTable(contentsOf: task.dataDirectory.appendingPathComponent("test.csv"))
        #expect(test.columnIndex(grading.targetColumn) == nil)
        let answers = try CSVTable(contentsOf: answersURL)
        #expect(Set(try #require(test.column(grading.idColumn))) == Set(try #require(answers.column(grading.idColumn))))
        let train = try CSVTable(contentsOf: task.dataDirectory.appendingPathComponent("train.csv"))
        #expect(train.header.count == test.header.count + 1)
        let fraction = Double(test.rows.count) / Double(test.rows.count + train.rows.count)
        #expect(abs(fraction - 0.2) < 0.01)
        let grader = try Grader(spec: grading, answersFile: answersURL)
        let score = try grader.score(submission: task.dataDirectory.appendingPathComponent("sample_submission.csv"))
        #expect(score.isFinite)
        if metric == .rocAUC { #expect(score == 0.5) }  // a constant score ranks nothing

        // The preview of the prepared data fits the prompt budget.
        let preview = DataPreview.generate(for: task.dataDirectory)
        #expect(preview.count <= 6000)
        #expect(preview.contains("train.csv: \(train.rows.count) rows × \(train.header.count) columns"))

        // Preparing is deterministic: a second run writes the same split.
        let before = try Data(contentsOf: answersURL)
        try fileManager.removeItem(at: task.dataDirectory)
        let again = await offPool { Result { try TaskLoader.load(file) } }
        _ = try again.get()
        #expect(try Data(contentsOf: answersURL) == before)
    }

    @Test func shippedTasksHaveAGitignoreForTheirData() throws {
        let ignore = try String(
            contentsOf: TaskTestSupport.repository.appendingPathComponent("tasks/.gitignore"), encoding: .utf8)
        #expect(ignore.contains("*/data/"))
        #expect(ignore.contains("*/answers.csv"))
    }

    /// A venv's bin/python is a symbolic link to the base interpreter; started by the link's path
    /// Python finds the venv (pyvenv.cfg beside bin/), started by the target it does not.
    @Test func aRelativePythonPathKeepsItsSymbolicLinks() throws {
        let task = try SyntheticTask()
        defer { task.remove() }
        let bin = task.folder.appendingPathComponent("venv/bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: bin.appendingPathComponent("python").path, withDestinationPath: TestPython.path)
        let loaded = try TaskLoader.load(task.taskFile, overrides: ["exec.python=./venv/../venv/bin/python"])
        #expect(loaded.pythonExecutable == task.folder.path + "/venv/bin/python")
    }
}

