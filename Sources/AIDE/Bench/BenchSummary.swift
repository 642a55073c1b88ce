import Foundation

/// Mean ± standard error (the sample standard deviation over √n) of one measure over runs.
public struct BenchStatistic: Sendable, Codable, Hashable {
    /// Runs the measure was taken over.
    public var n: Int
    @Nullable public var mean: Double?
    /// Nil below two values.
    @Nullable public var stderr: Double?
    @Nullable public var min: Double?
    @Nullable public var max: Double?

    public init(_ values: [Double]) {
        let values = values.filter(\.isFinite)
        n = values.count
        guard !values.isEmpty else { return }
        let mean = values.reduce(0, +) / Double(values.count)
        self.mean = mean
        self.min = values.min()
        self.max = values.max()
        if values.count > 1 {
            let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)
            stderr = (variance / Double(values.count)).squareRoot()
        }
    }
}

/// What a bench found: per task and per case, read from the index and each case's run.sqlite
/// (read-only, through `RunStore` and `RunReport`). Its JSON (`"schema": "aide.bench/1"`, sorted
/// snake_case keys, `null` for none) is documented in docs/BENCH_JSON.md.
public struct BenchSummary: Sendable, Codable, Hashable {
    public static let schemaName = "aide.bench/1"

    public var schema: String = BenchSummary.schemaName
    public var bench: Info
    /// In the order of the bench's tasks.
    public var tasks: [TaskSummary]
    /// By index: task by task, seed by seed.
    public var cases: [CaseResult]
    public var totals: Totals
    /// Set when the summary was compared with a baseline.
    @Nullable public var baseline: BaselineComparison?

    public struct Info: Sendable, Codable, Hashable {
        public var name: String
        public var folder: String
        public var status: BenchStatus
        public var createdAt: Date
        public var aideVersion: String
        public var seeds: [UInt64]
        /// The options every run got.
        public var run: RunOptions

        enum CodingKeys: String, CodingKey {
            case name, folder, status, seeds, run
            case createdAt = "created_at"
            case aideVersion = "aide_version"
        }
    }

    public struct TaskSummary: Sendable, Codable, Hashable {
        public var task: String
        public var metricName: String
        /// The agent's metric's direction.
        public var direction: MetricDirection
        /// The test score's metric, and its direction; nil for a task without hidden answers.
        @Nullable public var gradingMetric: GradingMetric?
        @Nullable public var testDirection: MetricDirection?
        public var cases: Int
        /// Cases whose run ended: finished or failed.
        public var completed: Int
        public var finished: Int
        public var failed: Int
        /// Pending, running or interrupted.
        public var incomplete: Int
        /// Finished runs with a good best node (and, for a graded task, a test score).
        public var validSubmissions: Int
        /// validSubmissions / completed; nil before any case completed.
        @Nullable public var validSubmissionRate: Double?
        /// Of the best node's test score, over finished runs with a valid submission.
        public var testScore: BenchStatistic
        /// Of the best node's own metric (the agent's), over the same runs.
        public var metric: BenchStatistic
        /// Steps run until the best node, and seconds of the run until then.
        public var stepsToBest: BenchStatistic
        public var secondsToBest: BenchStatistic
        /// Per finished run: input + output tokens, and dollars.
        public var tokens: BenchStatistic
        public var costUSD: BenchStatistic
        /// Over every run of the task that exists (failed ones too).
        public var totalTokens: Int
        public var totalCostUSD: Double
        /// From `grading.thresholds`, easiest first.
        public var thresholds: [ThresholdRate]

        enum CodingKeys: String, CodingKey {
            case task, direction, cases, completed, finished, failed, incomplete, metric, tokens, thresholds
            case metricName = "metric_name"
            case gradingMetric = "grading_metric"
            case testDirection = "test_direction"
            case validSubmissions = "valid_submissions"
            case validSubmissionRate = "valid_submission_rate"
            case testScore = "test_score"
            case stepsToBest = "steps_to_best"
            case secondsToBest = "seconds_to_best"
            case costUSD = "cost_usd"
            case totalTokens = "total_tokens"
            case totalCostUSD = "total_cost_usd"
        }
    }

    public struct ThresholdRate: Sendable, Codable, Hashable {
        public var name: String
        public var value: Double
        /// Completed runs whose best test score is at least as good as `value`.
        public var reached: Int
        /// reached / completed; nil before any case completed.
        @Nullable public var rate: Double?
    }

    public struct CaseResult: Sendable, Codable, Hashable {
        public var index: Int
        public var task: String
        public var seed: UInt64
        public var status: BenchCaseStatus
        public var attempts: Int
        @Nullable public var exitStatus: Int?
        @Nullable public var message: String?
        @Nullable public var runID: String?
        /// Relative to the bench folder.
        @Nullable public var runFolder: String?
        @Nullable public var runStatus: RunStatus?
        public var validSubmission: Bool
        @Nullable public var bestMetric: Double?
        @Nullable public var bestTestScore: Double?
        public var steps: Int
        public var goodNodes: Int
        @Nullable public var stepsToBest: Int?
        @Nullable public var secondsToBest: Double?
        public var inputTokens: Int
        public var outputTokens: Int
        public var costUSD: Double
        /// Input tokens read from the provider's prompt cache, and the USD that saved.
        public var cachedInputTokens: Int = 0
        public var cacheSavingsUSD: Double = 0
        /// Seconds the run lasted (its own clock), 0 without a run.
        public var wallSeconds: Double
        /// Names of the thresholds the best test score reaches.
        public var thresholdsReached: [String]

        enum CodingKeys: String, CodingKey {
            case index, task, seed, status, attempts, message, steps
            case exitStatus = "exit_status"
            case runID = "run_id"
            case runFolder = "run_folder"
            case runStatus = "run_status"
            case validSubmission = "valid_submission"
            case bestMetric = "best_metric"
            case bestTestScore = "best_test_score"
            case goodNodes = "good_nodes"
            case stepsToBest = "steps_to_best"
            case secondsToBest = "seconds_to_best"
            case inputTokens = "input_tokens"
            case outputTokens = "output_tokens"
            case costUSD = "cost_usd"
            case cachedInputTokens = "cached_input_tokens"
            case cacheSavingsUSD = "cache_savings_usd"
            case wallSeconds = "wall_seconds"
            case thresholdsReached = "thresholds_reached"
        }

        /// The run ended: finished, or failed.
        public var isCompleted: Bool { status == .finished || status == .failed }
    }

    public struct Totals: Sendable, Codable, Hashable {
        public var cases: Int
        public var completed: Int
        public var finished: Int
        public var failed: Int
        public var incomplete: Int
        public var validSubmissions: Int
        public var inputTokens: Int
        public var outputTokens: Int
        public var costUSD: Double
        /// Input tokens read from the provider's prompt cache, and the USD that saved.
        public var cachedInputTokens: Int = 0
        public var cacheSavingsUSD: Double = 0

        enum CodingKeys: String, CodingKey {
            case cases, completed, finished, failed, incomplete
            case validSubmissions = "valid_submissions"
            case inputTokens = "input_tokens"
            case outputTokens = "output_tokens"
            case costUSD = "cost_usd"
            case cachedInputTokens = "cached_input_tokens"
            case cacheSavingsUSD = "cache_savings_usd"
        }
    }

    /// Reads the index and every case's run. A run that cannot be read leaves its case without
    /// results (and says why in its message); it never stops the summary.
    public static func load(_ index: BenchIndex) throws -> BenchSummary {
        let record = try index.bench()
        let config = try index.config()
        let folder = BenchFolder(root: index.folder)
        let plan = config.cases
        var cases: [CaseResult] = []
        for row in try index.cases() {
            guard plan.indices.contains(row.index) else { continue }
            let benchCase = plan[row.index]
            let task = config.task(named: benchCase.task)
            let runFolder = row.runFolder.map(folder.resolve) ?? folder.existingRun(benchCase)
            var result = CaseResult(
                index: row.index, task: row.task, seed: row.seed, status: row.status, attempts: row.attempts,
                exitStatus: row.exitStatus, message: row.message, runID: runFolder?.lastPathComponent,
                runFolder: runFolder.map(folder.relative), runStatus: nil, validSubmission: false, bestMetric: nil,
                bestTestScore: nil, steps: 0, goodNodes: 0, stepsToBest: nil, secondsToBest: nil, inputTokens: 0,
                outputTokens: 0, costUSD: 0, wallSeconds: 0, thresholdsReached: [])
            if let runFolder {
                do {
                    let store = try RunStore.openReadOnly(path: runFolder.appendingPathComponent(RunStore.fileName))
                    defer { try? store.close() }
                    let snapshot = try store.snapshot()
                    let report = try RunReport(snapshot: snapshot, path: store.path.path)
                    result.fill(report, snapshot: snapshot, graded: task?.gradingMetric != nil, thresholds: task)
                } catch {
                    let reason = "cannot read its run: \(RunReport.oneLine(error))"
                    result.message = result.message.map { "\($0); \(reason)" } ?? reason
                }
            }
            cases.append(result)
        }
        let tasks = config.tasks.map { task in TaskSummary(task: task, cases: cases.filter { $0.task == task.name }) }
        let completed = cases.filter(\.isCompleted)
        let totals = Totals(
            cases: cases.count, completed: completed.count, finished: cases.filter { $0.status == .finished }.count,
            failed: cases.filter { $0.status == .failed }.count, incomplete: cases.count - completed.count,
            validSubmissions: cases.filter(\.validSubmission).count,
            inputTokens: cases.reduce(0) { $0 + $1.inputTokens }, outputTokens: cases.reduce(0) { $0 + $1.outputTokens },
            costUSD: cases.reduce(0) { $0 + $1.costUSD }, cachedInputTokens: cases.reduce(0) { $0 + $1.cachedInputTokens },
            cacheSavingsUSD: cases.reduce(0) { $0 + $1.cacheSavingsUSD })
        let info = Info(
            name: record.name, folder: folder.root.path, status: record.status, createdAt: record.createdAt,
            aideVersion: record.aideVersion, seeds: config.seeds, run: config.run)
        return BenchSummary(bench: info, tasks: tasks, cases: cases, totals: totals, baseline: nil)
    }

    public func task(_ name: String) -> TaskSummary? {
        tasks.first { $0.task == name }
    }

    /// The JSON of docs/BENCH_JSON.md: sorted keys, two-space indentation, ISO 8601 dates.
    public func json() throws -> Data {
        var data = try ReportSchema.encoder.encode(self)
        data.append(0x0A)
        return data
    }
}

extension BenchSummary.CaseResult {
    mutating func fill(_ report: RunReport, snapshot: RunSnapshot, graded: Bool, thresholds task: BenchTask?) {
        runStatus = report.run.status
        steps = report.counts.steps
        goodNodes = report.counts.good
        inputTokens = report.totals.inputTokens
        outputTokens = report.totals.outputTokens
        costUSD = report.totals.costUSD
        cachedInputTokens = report.totals.cachedInputTokens
        cacheSavingsUSD = report.totals.cacheSavingsUSD
        wallSeconds = report.time.wall
        guard let best = report.best else { return }
        bestMetric = best.metric
        bestTestScore = best.testScore
        stepsToBest = report.stepsToBest
        secondsToBest = snapshot.metrics.first { $0.step == best.step }?.elapsed
        validSubmission = status == .finished && (!graded || best.testScore != nil)
        if validSubmission, let score = best.testScore, let task {
            thresholdsReached = task.thresholds.filter { !task.testDirection.isBetter($0.value, than: score) }.map(\.name)
        }
    }
}

extension BenchSummary.TaskSummary {
    init(task: BenchTask, cases: [BenchSummary.CaseResult]) {
        let completed = cases.filter(\.isCompleted)
        let finished = cases.filter { $0.status == .finished }
        let valid = finished.filter(\.validSubmission)
        func rate(_ count: Int) -> Double? { completed.isEmpty ? nil : Double(count) / Double(completed.count) }
        self.init(
            task: task.name, metricName: task.metricName, direction: task.direction, gradingMetric: task.gradingMetric,
            testDirection: task.gradingMetric?.direction, cases: cases.count, completed: completed.count,
            finished: finished.count, failed: cases.filter { $0.status == .failed }.count,
            incomplete: cases.count - completed.count, validSubmissions: valid.count,
            validSubmissionRate: rate(valid.count), testScore: BenchStatistic(valid.compactMap(\.bestTestScore)),
            metric: BenchStatistic(valid.compactMap(\.bestMetric)),
            stepsToBest: BenchStatistic(valid.compactMap { $0.stepsToBest.map(Double.init) }),
            secondsToBest: BenchStatistic(valid.compactMap(\.secondsToBest)),
            tokens: BenchStatistic(finished.map { Double($0.inputTokens + $0.outputTokens) }),
            costUSD: BenchStatistic(finished.map(\.costUSD)),
            totalTokens: cases.reduce(0) { $0 + $1.inputTokens + $1.outputTokens },
            totalCostUSD: cases.reduce(0) { $0 + $1.costUSD },
            thresholds: task.thresholds.map { threshold in
                let reached = valid.filter { $0.thresholdsReached.contains(threshold.name) }.count
                return BenchSummary.ThresholdRate(name: threshold.name, value: threshold.value, reached: reached, rate: rate(reached))
            })
    }
}
