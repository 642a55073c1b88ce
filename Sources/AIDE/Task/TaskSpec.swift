import Foundation

/// Whether a lower or a higher metric is better. Declared by the task, never guessed per node.
public enum MetricDirection: String, Sendable, Codable, Hashable, CaseIterable {
    case minimize
    case maximize

    /// Whether `a` is strictly better than `b`.
    public func isBetter(_ a: Double, than b: Double) -> Bool {
        self == .minimize ? a < b : a > b
    }
}

/// Metrics the harness can grade hidden answers with.
public enum GradingMetric: String, Sendable, Codable, Hashable, CaseIterable {
    case rmse
    case rmseLog = "rmse_log"
    case mae
    case accuracy
    case f1
    case rocAUC = "roc_auc"
    case logloss
    /// sqrt(mean((log(1+p) − log(1+a))²)), as scikit-learn's root_mean_squared_log_error.
    case rmsle
    /// Cohen's kappa with quadratic weights over integer labels (as scikit-learn's `weights="quadratic"`).
    case quadraticKappa = "quadratic_kappa"
    /// Log loss over one probability column per class; the answers are one-hot, one column per class.
    case multiclassLogloss = "multiclass_logloss"
    /// ROC AUC of each target column (0/1 answers), averaged over the columns.
    case meanColumnROCAUC = "mean_column_roc_auc"

    /// The direction in which this metric improves.
    public var direction: MetricDirection {
        switch self {
        case .rmse, .rmseLog, .mae, .logloss, .rmsle, .multiclassLogloss: return .minimize
        case .accuracy, .f1, .rocAUC, .quadraticKappa, .meanColumnROCAUC: return .maximize
        }
    }

    /// Whether the metric scores several columns (one per class or target) rather than one target column.
    public var isWide: Bool { self == .multiclassLogloss || self == .meanColumnROCAUC }
}

/// A task file (`task.yaml`): what to solve, with what data, scored how, within which budgets.
/// Every field but `name`, `goal`, `data` and `metric.direction` has a default.
public struct TaskSpec: Sendable, Codable, Hashable {
    public var name: String
    public var goal: String
    /// Longer description, inline.
    public var description: String?
    /// Longer description from a file, relative to the task file.
    public var descriptionFile: String?
    /// The data directory, relative to the task file.
    public var data: String
    /// A shell command run in the task's folder when `data` does not exist yet (e.g. `python prepare.py`).
    public var prepare: String?
    public var metric: MetricSpec
    public var grading: GradingSpec?
    public var budget: BudgetSpec
    public var agent: AgentSpec
    public var search: SearchSpec
    public var exec: ExecSpec

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, goal, description, data, prepare, metric, grading, budget, agent, search, exec
        case descriptionFile = "description_file"
    }

    public init(
        name: String, goal: String, description: String? = nil, descriptionFile: String? = nil, data: String,
        prepare: String? = nil, metric: MetricSpec, grading: GradingSpec? = nil, budget: BudgetSpec = BudgetSpec(),
        agent: AgentSpec = AgentSpec(), search: SearchSpec = SearchSpec(), exec: ExecSpec = ExecSpec()
    ) {
        self.name = name
        self.goal = goal
        self.description = description
        self.descriptionFile = descriptionFile
        self.data = data
        self.prepare = prepare
        self.metric = metric
        self.grading = grading
        self.budget = budget
        self.agent = agent
        self.search = search
        self.exec = exec
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        goal = try c.decode(String.self, forKey: .goal)
        description = try c.decodeIfPresent(String.self, forKey: .description)
        descriptionFile = try c.decodeIfPresent(String.self, forKey: .descriptionFile)
        data = try c.decode(String.self, forKey: .data)
        prepare = try c.decodeIfPresent(String.self, forKey: .prepare)
        metric = try c.decode(MetricSpec.self, forKey: .metric)
        grading = try c.decodeIfPresent(GradingSpec.self, forKey: .grading)
        budget = try c.decodeIfPresent(BudgetSpec.self, forKey: .budget) ?? BudgetSpec()
        agent = try c.decodeIfPresent(AgentSpec.self, forKey: .agent) ?? AgentSpec()
        search = try c.decodeIfPresent(SearchSpec.self, forKey: .search) ?? SearchSpec()
        exec = try c.decodeIfPresent(ExecSpec.self, forKey: .exec) ?? ExecSpec()
    }
}

/// The validation metric the agent reports, and which way is better.
public struct MetricSpec: Sendable, Codable, Hashable {
    /// What the metric is, in words for the prompts ("RMSE of log SalePrice").
    public var name: String
    public var direction: MetricDirection

    enum CodingKeys: String, CodingKey, CaseIterable { case name, direction }

    public init(name: String = "validation metric", direction: MetricDirection) {
        self.name = name
        self.direction = direction
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? "validation metric"
        direction = try c.decode(MetricDirection.self, forKey: .direction)
    }
}

/// Hidden answers the harness grades each submission against, with a built-in `metric` or an
/// external `command`.
public struct GradingSpec: Sendable, Codable, Hashable {
    /// The answers CSV, relative to the task file; never copied where a script can read it.
    public var answers: String
    /// Empty when the task has a grading command (which reads the columns itself).
    public var idColumn: String
    /// Empty for wide metrics (`GradingMetric.isWide`) and grading commands.
    public var targetColumn: String
    /// The scored columns of a wide metric; nil for every answers column but the id.
    public var targetColumns: [String]?
    /// The built-in metric; nil when `command` grades.
    public var metric: GradingMetric?
    /// A shell command that grades: `{submission}` and `{answers}` in it become the two files' paths,
    /// and the score is its output's last line (a number, or JSON with a `score` field).
    public var command: String?
    /// Which way the command's score is better; required with `command`.
    public var direction: MetricDirection?
    /// The file each script writes into `./working`.
    public var submission: String
    /// Named test-score levels (e.g. bronze, silver, gold as in MLE-bench) that `aide bench` reports
    /// as the share of runs reaching each; a score reaches a level when it is at least as good,
    /// in the grading metric's direction.
    public var thresholds: [String: Double]?
    /// The sample submission, relative to the data directory, whose columns (and ids, when there
    /// are no answers) every submission must have; nil to look for `sample_submission*.csv`.
    public var sampleSubmission: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case answers, metric, command, direction, submission, thresholds
        case idColumn = "id_column"
        case targetColumn = "target_column"
        case targetColumns = "target_columns"
        case sampleSubmission = "sample_submission"
    }

    public init(
        answers: String, idColumn: String, targetColumn: String, metric: GradingMetric?,
        submission: String = "submission.csv", thresholds: [String: Double]? = nil, targetColumns: [String]? = nil,
        command: String? = nil, direction: MetricDirection? = nil
    ) {
        self.answers = answers
        self.idColumn = idColumn
        self.targetColumn = targetColumn
        self.targetColumns = targetColumns
        self.metric = metric
        self.command = command
        self.direction = direction
        self.submission = submission
        self.thresholds = thresholds
    }

    /// Which way a test score is better: the built-in metric's direction, else the command's.
    public var scoreDirection: MetricDirection { metric?.direction ?? direction ?? .minimize }

    /// The thresholds from the easiest to reach to the hardest (ties by name).
    public var orderedThresholds: [(name: String, value: Double)] {
        let direction = scoreDirection
        return (thresholds ?? [:]).map { (name: $0.key, value: $0.value) }.sorted { a, b in
            a.value != b.value ? direction.isBetter(b.value, than: a.value) : a.name < b.name
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        answers = try c.decode(String.self, forKey: .answers)
        metric = try c.decodeIfPresent(GradingMetric.self, forKey: .metric)
        command = try c.decodeIfPresent(String.self, forKey: .command)
        direction = try c.decodeIfPresent(MetricDirection.self, forKey: .direction)
        if metric == nil && command == nil {
            throw DecodingError.keyNotFound(
                CodingKeys.metric, .init(codingPath: c.codingPath, debugDescription: "metric or command"))
        }
        // A command reads the columns itself, and a wide metric scores many: neither needs these.
        let columnsOptional = command != nil
        idColumn = try columnsOptional ? c.decodeIfPresent(String.self, forKey: .idColumn) ?? "" : c.decode(String.self, forKey: .idColumn)
        targetColumn =
            try columnsOptional || metric?.isWide == true
            ? c.decodeIfPresent(String.self, forKey: .targetColumn) ?? "" : c.decode(String.self, forKey: .targetColumn)
        targetColumns = try c.decodeIfPresent([String].self, forKey: .targetColumns)
        submission = try c.decodeIfPresent(String.self, forKey: .submission) ?? "submission.csv"
        thresholds = try c.decodeIfPresent([String: Double].self, forKey: .thresholds)
        sampleSubmission = try c.decodeIfPresent(String.self, forKey: .sampleSubmission)
    }
}

/// Limits that stop a run cleanly. Times are seconds (the YAML also takes "90s", "10m", "2h").
public struct BudgetSpec: Sendable, Codable, Hashable {
    public var steps: Int
    /// Wall-clock limit of the whole run; nil for none.
    public var timeLimit: Double?
    /// Limit for one script's execution.
    public var scriptTimeout: Double
    public var usd: Double?
    public var tokens: Int?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case steps, usd, tokens
        case timeLimit = "time_limit"
        case scriptTimeout = "script_timeout"
    }

    public init(steps: Int = 20, timeLimit: Double? = nil, scriptTimeout: Double = 600, usd: Double? = nil, tokens: Int? = nil) {
        self.steps = steps
        self.timeLimit = timeLimit
        self.scriptTimeout = scriptTimeout
        self.usd = usd
        self.tokens = tokens
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = BudgetSpec()
        steps = try c.decodeIfPresent(Int.self, forKey: .steps) ?? defaults.steps
        timeLimit = try c.decodeIfPresent(Seconds.self, forKey: .timeLimit)?.value
        scriptTimeout = try c.decodeIfPresent(Seconds.self, forKey: .scriptTimeout)?.value ?? defaults.scriptTimeout
        usd = try c.decodeIfPresent(Double.self, forKey: .usd)
        tokens = try c.decodeIfPresent(Int.self, forKey: .tokens)
    }
    // Encoded as synthesized: every field under its key, nil ones left out.
}

/// The models that write code and review runs.
public struct AgentSpec: Sendable, Codable, Hashable {
    public var codeModel: String
    /// Defaults to the code model.
    public var feedbackModel: String?
    public var codeTemperature: Double
    public var feedbackTemperature: Double
    /// Max output tokens of a code answer; nil leaves the backend's default.
    public var maxTokens: Int?
    /// LLM calls in flight at once across the run's workers; nil for one per worker.
    public var parallelCalls: Int?
    /// Stream answers (a stalled provider is then caught by the idle timeout); `agent.code.stream`
    /// and `agent.feedback.stream` override it per model.
    public var stream: Bool = true
    /// Options of the code model and of the review model (see `ModelSettings`).
    public var code: ModelSettings?
    public var feedback: ModelSettings?
    /// Retries and timeouts of the run's calls.
    public var retry: RetrySettings?
    /// Consecutive failed steps (a code call that failed after its retries) that end the run as failed.
    public var maxFailedSteps: Int = 3
    /// Whether improve and debug steps answer with the whole script or SEARCH/REPLACE blocks.
    public var editFormat: EditFormat = .full
    /// Prompt caching of the stable prefix: `auto` (the provider's default lifetime), `off`, `1h`.
    public var promptCache: PromptCacheSetting = .auto

    enum CodingKeys: String, CodingKey, CaseIterable {
        case stream, code, feedback, retry
        case editFormat = "edit_format"
        case promptCache = "prompt_cache"
        case maxFailedSteps = "max_failed_steps"
        case parallelCalls = "parallel_calls"
        case codeModel = "code_model"
        case feedbackModel = "feedback_model"
        case codeTemperature = "code_temperature"
        case feedbackTemperature = "feedback_temperature"
        case maxTokens = "max_tokens"
    }

    public init(
        codeModel: String = "claude-sonnet-4-5", feedbackModel: String? = nil, codeTemperature: Double = 0.5,
        feedbackTemperature: Double = 0.5, maxTokens: Int? = nil, parallelCalls: Int? = nil
    ) {
        self.parallelCalls = parallelCalls
        self.codeModel = codeModel
        self.feedbackModel = feedbackModel
        self.codeTemperature = codeTemperature
        self.feedbackTemperature = feedbackTemperature
        self.maxTokens = maxTokens
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = AgentSpec()
        codeModel = try c.decodeIfPresent(String.self, forKey: .codeModel) ?? defaults.codeModel
        feedbackModel = try c.decodeIfPresent(String.self, forKey: .feedbackModel)
        codeTemperature = try c.decodeIfPresent(Double.self, forKey: .codeTemperature) ?? defaults.codeTemperature
        feedbackTemperature =
            try c.decodeIfPresent(Double.self, forKey: .feedbackTemperature) ?? defaults.feedbackTemperature
        maxTokens = try c.decodeIfPresent(Int.self, forKey: .maxTokens)
        parallelCalls = try c.decodeIfPresent(Int.self, forKey: .parallelCalls)
        stream = try c.decodeIfPresent(Bool.self, forKey: .stream) ?? defaults.stream
        code = try c.decodeIfPresent(ModelSettings.self, forKey: .code)
        feedback = try c.decodeIfPresent(ModelSettings.self, forKey: .feedback)
        retry = try c.decodeIfPresent(RetrySettings.self, forKey: .retry)
        maxFailedSteps = try c.decodeIfPresent(Int.self, forKey: .maxFailedSteps) ?? defaults.maxFailedSteps
        editFormat = try c.decodeIfPresent(EditFormat.self, forKey: .editFormat) ?? defaults.editFormat
        promptCache = try c.decodeIfPresent(PromptCacheSetting.self, forKey: .promptCache) ?? defaults.promptCache
    }

    /// The model that reviews runs.
    public var reviewModel: String { feedbackModel ?? codeModel }
}

/// Parameters of the tree search: the policy with its settings, the knobs every policy shares,
/// and how many steps run at once.
public struct SearchSpec: Sendable, Codable, Hashable {
    /// The policy and its own settings (SearchPolicyChoice.swift).
    public var policy: SearchPolicyChoice
    public var numDrafts: Int
    public var debugProb: Double
    public var maxDebugDepth: Int
    /// Seeds the policy's choices, so a run is reproducible given the same LLM answers.
    public var seed: UInt64
    /// Steps in flight at once (each an LLM call, an execution and a review).
    public var workers: Int
    /// How scripts estimate the metric: `kfold` (5 folds, the default) or `holdout`.
    public var validation: ValidationScheme = .kfold(5)
    /// The plan's form: `plain` prose or `structured` (brainstorm, one idea, why it should work).
    public var reasoning: ReasoningForm = .plain

    enum CodingKeys: String, CodingKey, CaseIterable {
        case policy, seed, workers, exploration, islands, validation, reasoning
        case numDrafts = "num_drafts"
        case debugProb = "debug_prob"
        case maxDebugDepth = "max_debug_depth"
        case maxChildren = "max_children"
        case migrationInterval = "migration_interval"
        case crossoverProb = "crossover_prob"
        case tournamentSize = "tournament_size"
    }

    public init(
        policy: SearchPolicyChoice = .greedy, numDrafts: Int = 5, debugProb: Double = 0.5, maxDebugDepth: Int = 3,
        seed: UInt64 = 0, workers: Int = 1
    ) {
        self.policy = policy
        self.numDrafts = numDrafts
        self.debugProb = debugProb
        self.maxDebugDepth = maxDebugDepth
        self.seed = seed
        self.workers = workers
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SearchSpec()
        policy = try Self.decodePolicy(c)
        numDrafts = try c.decodeIfPresent(Int.self, forKey: .numDrafts) ?? d.numDrafts
        debugProb = try c.decodeIfPresent(Double.self, forKey: .debugProb) ?? d.debugProb
        maxDebugDepth = try c.decodeIfPresent(Int.self, forKey: .maxDebugDepth) ?? d.maxDebugDepth
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        workers = try c.decodeIfPresent(Int.self, forKey: .workers) ?? d.workers
        validation = try c.decodeIfPresent(ValidationScheme.self, forKey: .validation) ?? d.validation
        reasoning = try c.decodeIfPresent(ReasoningForm.self, forKey: .reasoning) ?? d.reasoning
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try encodePolicy(&c)
        try c.encode(numDrafts, forKey: .numDrafts)
        try c.encode(debugProb, forKey: .debugProb)
        try c.encode(maxDebugDepth, forKey: .maxDebugDepth)
        try c.encode(seed, forKey: .seed)
        try c.encode(workers, forKey: .workers)
        try c.encode(validation, forKey: .validation)
        try c.encode(reasoning, forKey: .reasoning)
    }
}

/// How scripts run.
public struct ExecSpec: Sendable, Codable, Hashable {
    /// The Python interpreter: a command name, or a path (relative to the task file's folder).
    public var python: String
    /// Address-space limit per script, in MiB; nil for none.
    public var memoryLimitMB: Int?
    /// CPU-time limit per script, in seconds; nil for none.
    public var cpuLimit: Double?
    /// Bytes of output kept per script (head and tail).
    public var outputLimit: Int
    /// Scripts run at once, whatever the number of workers; nil for the number of cores.
    public var parallel: Int?
    /// How scripts are isolated: bubblewrap when it works (`auto`), bubblewrap or nothing (`bwrap`), or not (`none`).
    public var sandbox: SandboxMode = .auto
    /// Whether scripts in the sandbox may use the network.
    public var network: Bool = false
    /// The GPUs scripts may use, shared out among scripts running at once.
    public var gpus: GPUSetting = .auto
    /// Processes and threads per script (in the sandbox).
    public var maxProcesses: Int = 512
    /// Largest file a script may write, in MiB.
    public var maxFileMB: Int = 4096
    /// Size of the sandbox's private /tmp (memory), in MiB.
    public var tmpMB: Int = 1024
    /// The most a script may write to its node folder in all, in MiB; past it the script is stopped.
    public var maxDiskMB: Int = 10240
    /// Modules the scripts need (`pandas`, `sklearn`): the Python must import them, checked at load.
    public var packages: [String] = []
    /// How scripts get the task's data: shared read-only in the sandbox (`auto`), copied, or linked.
    public var data: DataSharing = .auto
    /// Where scripts run: here, or each as a Slurm job (`exec.slurm` says what the job asks for).
    public var backend: ExecBackend = .local
    /// Each script's Slurm job, when `backend` is `slurm`.
    public var slurm: SlurmSpec = SlurmSpec()

    enum CodingKeys: String, CodingKey, CaseIterable {
        case python, parallel, sandbox, network, gpus, packages, data, backend, slurm
        case memoryLimitMB = "memory_limit_mb"
        case cpuLimit = "cpu_limit"
        case outputLimit = "output_limit"
        case maxProcesses = "max_processes"
        case maxFileMB = "max_file_mb"
        case tmpMB = "tmp_mb"
        case maxDiskMB = "max_disk_mb"
    }

    public init(
        python: String = "python3", memoryLimitMB: Int? = nil, cpuLimit: Double? = nil, outputLimit: Int = 32_000,
        parallel: Int? = nil
    ) {
        self.python = python
        self.memoryLimitMB = memoryLimitMB
        self.cpuLimit = cpuLimit
        self.outputLimit = outputLimit
        self.parallel = parallel
    }

    /// Scripts that may run at once.
    public var scriptSlots: Int { parallel ?? (backend == .slurm ? Int.max : ProcessInfo.processInfo.activeProcessorCount) }

    /// Threads per script for numeric libraries when `running` scripts share the machine's cores.
    public func threadsPerScript(running: Int) -> Int {
        if backend == .slurm { return slurm.cpusPerTask ?? 1 }  // the job's own cores
        return max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, min(running, scriptSlots)))
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = ExecSpec()
        python = try c.decodeIfPresent(String.self, forKey: .python) ?? defaults.python
        memoryLimitMB = try c.decodeIfPresent(Int.self, forKey: .memoryLimitMB)
        cpuLimit = try c.decodeIfPresent(Seconds.self, forKey: .cpuLimit)?.value
        outputLimit = try c.decodeIfPresent(Int.self, forKey: .outputLimit) ?? defaults.outputLimit
        parallel = try c.decodeIfPresent(Int.self, forKey: .parallel)
        sandbox = try c.decodeIfPresent(SandboxMode.self, forKey: .sandbox) ?? defaults.sandbox
        network = try c.decodeIfPresent(Bool.self, forKey: .network) ?? defaults.network
        gpus = try c.decodeIfPresent(GPUSetting.self, forKey: .gpus) ?? defaults.gpus
        maxProcesses = try c.decodeIfPresent(Int.self, forKey: .maxProcesses) ?? defaults.maxProcesses
        maxFileMB = try c.decodeIfPresent(Int.self, forKey: .maxFileMB) ?? defaults.maxFileMB
        tmpMB = try c.decodeIfPresent(Int.self, forKey: .tmpMB) ?? defaults.tmpMB
        maxDiskMB = try c.decodeIfPresent(Int.self, forKey: .maxDiskMB) ?? defaults.maxDiskMB
        packages = try c.decodeIfPresent([String].self, forKey: .packages) ?? defaults.packages
        data = try c.decodeIfPresent(DataSharing.self, forKey: .data) ?? defaults.data
        backend = try c.decodeIfPresent(ExecBackend.self, forKey: .backend) ?? defaults.backend
        slurm = try c.decodeIfPresent(SlurmSpec.self, forKey: .slurm) ?? defaults.slurm
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(python, forKey: .python)
        try c.encodeIfPresent(memoryLimitMB, forKey: .memoryLimitMB)
        try c.encodeIfPresent(cpuLimit, forKey: .cpuLimit)
        try c.encode(outputLimit, forKey: .outputLimit)
        try c.encodeIfPresent(parallel, forKey: .parallel)
        try c.encode(sandbox, forKey: .sandbox)
        try c.encode(network, forKey: .network)
        try c.encode(gpus, forKey: .gpus)
        try c.encode(maxProcesses, forKey: .maxProcesses)
        try c.encode(maxFileMB, forKey: .maxFileMB)
        try c.encode(tmpMB, forKey: .tmpMB)
        try c.encode(maxDiskMB, forKey: .maxDiskMB)
        if !packages.isEmpty { try c.encode(packages, forKey: .packages) }
        if data != .auto { try c.encode(data, forKey: .data) }
        if backend != .local { try c.encode(backend, forKey: .backend) }
        if slurm != SlurmSpec() { try c.encode(slurm, forKey: .slurm) }
    }
}

/// A duration in a task file: a number of seconds, or text such as "90s", "10m", "2h", "1h30m".
struct Seconds: Decodable, Sendable, Hashable {
    var value: Double

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Double.self) {
            guard number > 0, number.isFinite else {
                throw UnexpectedValue(expected: .positiveDuration, found: .number(number)).decodingError(container)
            }
            value = number
            return
        }
        let text = try container.decode(String.self)
        guard let parsed = DurationText.seconds(text), parsed > 0 else {
            throw UnexpectedValue(expected: .duration, found: .text(text)).decodingError(container)
        }
        value = parsed
    }
}

/// Durations written as text.
public enum DurationText {
    /// Seconds in "1h30m", "10m", "90s", "45" (seconds); nil when the text is not a duration.
    public static func seconds(_ text: String) -> Double? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        var total = 0.0
        var digits = ""
        var sawUnit = false
        for character in text.lowercased() where !character.isWhitespace {
            if character.isNumber || character == "." {
                digits.append(character)
            } else if let unit = units[character], let number = Double(digits) {
                total += number * unit
                digits = ""
                sawUnit = true
            } else {
                return nil
            }
        }
        if !digits.isEmpty {
            guard !sawUnit, let number = Double(digits) else { return nil }
            total += number
        }
        return total
    }
}

