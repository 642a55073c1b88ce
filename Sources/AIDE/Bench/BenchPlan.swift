import Foundation

// A bench runs every task × seed as a normal `aide run`, each in its own folder under the bench's
// folder, and keeps its progress in an index (bench.sqlite) so an interrupted bench resumes:
//
//     runs/bench-<name>/bench.sqlite                      the plan and each case's status
//     runs/bench-<name>/cases/<task>-seed<K>/<run-id>/    the case's run (run.sqlite, nodes, ...)
//     runs/bench-<name>/cases/<task>-seed<K>/output.log   what `aide run` printed
//     runs/bench-<name>/summary.md, summary.json, junit.xml
//     runs/bench-<name>/job.sbatch, slurm/                for a Slurm job array

/// A bench that cannot be planned, run or summarized: the facts, worded in `description` (and, where
/// they came from flags, by the CLI's `ErrorText.commandLine`).
public enum BenchError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A job array setting (`SlurmJob`) sbatch would refuse.
    case slurmPartition(String)
    case slurmTime(String)
    case slurmCPUs(Int)
    case slurmMemory(String)
    /// Array elements at once below 1.
    case slurmParallel(Int)
    /// Seeds that are neither a count of at least 1 nor a list of numbers; a list naming one twice.
    case seeds(text: String, isCount: Bool)
    case repeatedSeed(UInt64)
    case noTasks
    case noSeeds
    /// An override of `search.seed`, which the bench sets per case.
    case seedOverride(String)
    /// A cassette to record to: the bench's runs would all write one file.
    case recordsCassette
    /// Two task files with one task name.
    case sameTaskName(name: String, first: String, second: String)
    /// A bench name unfit for a folder name.
    case badName(String)
    /// The folder already holds a bench planned otherwise.
    case otherBench(folder: String)
    /// A new bench's index is already there.
    case exists(path: String)
    /// What the user named is no bench: the places looked in.
    case noBench(reference: String, lookedIn: [String])
    /// A folder without a bench index.
    case notABench(path: String)
    /// An index written by a newer aide (the migration this one does not know).
    case newerIndex(path: String, migration: String)
    /// An SQLite database that is not a bench index.
    case notAnIndex(path: String)
    /// The index cannot be opened, or its plan read (`reason`: SQLite's, or the decoding error's, words).
    case cannotOpen(path: String, reason: String)
    case emptyIndex(path: String)
    case unreadablePlan(path: String, reason: String)
    /// A case index outside the bench's cases.
    case noCase(bench: String, count: Int, index: Int)
    /// `BenchRunner` made for planning only was asked to run cases.
    case noCaseStarter
    /// A baseline tolerance that is neither a number nor a percentage.
    case tolerance(String)
    /// The baseline summary cannot be read, is no bench summary, or has another schema.
    case unreadableBaseline(file: String, reason: String)
    case notASummary(file: String, reason: String)
    case baselineSchema(file: String, schema: String)
    /// A task's measure is better in opposite directions in the baseline and now.
    case oppositeDirections(task: String, measure: String, baselineMinimizes: Bool)
    /// A file of the bench cannot be written (`reason`: `ErrorText.reason`).
    case cannotWrite(path: String, reason: String)
    case cannotWriteSummary(folder: String, reason: String)

    public var description: String {
        switch self {
        case .slurmPartition(let partition): return "the partition \"\(partition)\" is not a partition name"
        case .slurmTime(let time): return "the job time takes Slurm's format, such as 30, 1:00:00 or 1-00:00:00; not \"\(time)\""
        case .slurmCPUs: return "the CPUs per task must be at least 1"
        case .slurmMemory(let memory): return "the job memory takes Slurm's format, such as 4G or 500M; not \"\(memory)\""
        case .slurmParallel(let parallel): return "the elements at once must be at least 1, found \(parallel)"
        case .seeds(let text, true): return "the seeds are a count of at least 1, or a list such as 4,7; not \"\(text)\""
        case .seeds(let text, false): return "the seeds are a count (3 means seeds 1, 2, 3) or a list such as 4,7; not \"\(text)\""
        case .repeatedSeed(let seed): return "the seeds list seed \(seed) twice"
        case .noTasks: return "give at least one task file"
        case .noSeeds: return "give at least one seed"
        case .seedOverride(let text): return "\(text): the bench sets search.seed for each case; give the seeds instead"
        case .recordsCassette: return "a bench records no cassette: its runs would write one file at once"
        case .sameTaskName(let name, let first, let second):
            return "\(first) and \(second) are both named \(name); a bench needs distinct task names"
        case .badName(let name): return "bench name \"\(name)\": use letters, digits, -, _ and . (it names the folder bench-<name>)"
        case .otherBench(let folder):
            return "\(folder) holds a bench with other tasks, seeds or options; resume it, or choose another bench name"
        case .exists(let path): return "\(path) already exists"
        case .noBench(let reference, let places):
            return "no bench \(reference) (a bench folder holds \(BenchIndex.fileName); looked in \(places.joined(separator: ", ")))"
        case .notABench(let path): return "\(path) is not a bench (no \(BenchIndex.fileName) in it)"
        case .newerIndex(let path, let migration):
            return "\(path) comes from a newer aide (unknown migration \(migration)); upgrade aide to open it"
        case .notAnIndex(let path): return "\(path) is an SQLite database but not a bench index"
        case .cannotOpen(let path, let reason): return "cannot open \(path): \(reason)"
        case .emptyIndex(let path): return "\(path) holds no bench"
        case .unreadablePlan(let path, let reason): return "cannot read the plan in \(path): \(reason)"
        case .noCase(let bench, let count, let index): return "bench \(bench) has cases 0...\(count - 1), not \(index)"
        case .noCaseStarter: return "a bench runner without a way to start its cases"
        case .tolerance(let text):
            return "the tolerance is a non-negative number in the metric's units (0.005) or a percentage of the baseline (2%), not \"\(text)\""
        case .unreadableBaseline(let file, let reason): return "cannot read the baseline \(file): \(reason)"
        case .notASummary(let file, let reason): return "\(file) is not a bench summary.json (\(reason))"
        case .baselineSchema(let file, let schema):
            return "\(file) has schema \"\(schema)\"; this aide compares with \(BenchSummary.schemaName)"
        case .oppositeDirections(let task, let measure, let baselineMinimizes):
            let (then, now) = baselineMinimizes ? ("lower", "higher") : ("higher", "lower")
            return "\(task): the baseline's \(measure) is better when \(then), this bench's when \(now); they cannot be compared"
        case .cannotWrite(let path, let reason): return "cannot write \(path): \(reason)"
        case .cannotWriteSummary(let folder, let reason): return "cannot write the summary into \(folder): \(reason)"
        }
    }
}

/// What a bench runs: its tasks, its seeds, and the options every run gets. Stored in the index, so
/// a resumed bench and every Slurm array element run exactly the same thing.
public struct BenchConfig: Sendable, Codable, Hashable {
    public var name: String
    public var tasks: [BenchTask]
    /// Each task runs once per seed (`search.seed`).
    public var seeds: [UInt64]
    /// Every case's options; its seed is the case's.
    public var run: RunOptions

    public init(name: String, tasks: [BenchTask], seeds: [UInt64], run: RunOptions) {
        self.name = name
        self.tasks = tasks
        self.seeds = seeds
        self.run = run
    }

    /// Every task × seed, task by task; a case's index is its place in this list.
    public var cases: [BenchCase] {
        var cases: [BenchCase] = []
        for task in tasks {
            for seed in seeds {
                cases.append(BenchCase(index: cases.count, task: task.name, taskFile: task.file, seed: seed))
            }
        }
        return cases
    }

    public func task(named name: String) -> BenchTask? {
        tasks.first { $0.name == name }
    }
}

/// One task of a bench, as read when the bench was planned.
public struct BenchTask: Sendable, Codable, Hashable {
    public var name: String
    /// The task file, absolute.
    public var file: String
    /// The agent's metric and its direction.
    public var metricName: String
    public var direction: MetricDirection
    /// The grading metric of the test score; nil when the task has no hidden answers.
    public var gradingMetric: GradingMetric?
    /// `grading.thresholds`, from the easiest to reach to the hardest.
    public var thresholds: [BenchThreshold]

    enum CodingKeys: String, CodingKey {
        case name, file, direction, thresholds
        case metricName = "metric_name"
        case gradingMetric = "grading_metric"
    }

    public init(
        name: String, file: String, metricName: String, direction: MetricDirection, gradingMetric: GradingMetric?,
        thresholds: [BenchThreshold]
    ) {
        self.name = name
        self.file = file
        self.metricName = metricName
        self.direction = direction
        self.gradingMetric = gradingMetric
        self.thresholds = thresholds
    }

    public init(_ task: LoadedTask) {
        let spec = task.spec
        self.init(
            name: spec.name, file: task.file.path, metricName: spec.metric.name, direction: spec.metric.direction,
            gradingMetric: spec.grading?.metric ?? nil,
            thresholds: spec.grading?.orderedThresholds.map { BenchThreshold(name: $0.name, value: $0.value) } ?? [])
    }

    /// The direction of the test score (the grading metric's); the agent's metric direction without grading.
    public var testDirection: MetricDirection { gradingMetric?.direction ?? direction }
}

/// A named test-score level.
public struct BenchThreshold: Sendable, Codable, Hashable {
    public var name: String
    public var value: Double

    public init(name: String, value: Double) {
        self.name = name
        self.value = value
    }
}

/// One task × seed.
public struct BenchCase: Sendable, Codable, Hashable {
    public var index: Int
    public var task: String
    public var taskFile: String
    public var seed: UInt64

    /// The case's folder name under `cases/`: `<task>-seed<K>`.
    public var folderName: String {
        let slug = String(task.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "-" })
        return "\(slug)-seed\(seed)"
    }
}

/// Plans a bench: reads every task once (running its `prepare` here, not in N runs at once) and
/// checks what the runs would trip over.
public enum BenchPlan {
    /// "3" is seeds 1, 2, 3; "4,7" is seeds 4 and 7.
    public static func seeds(_ text: String) throws -> [UInt64] {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if !trimmed.contains(","), let count = Int(trimmed) {
            guard count >= 1 else { throw BenchError.seeds(text: text, isCount: true) }
            return (1...count).map(UInt64.init)
        }
        var seeds: [UInt64] = []
        for part in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            guard let seed = UInt64(part.trimmingCharacters(in: .whitespaces)) else {
                throw BenchError.seeds(text: text, isCount: false)
            }
            guard !seeds.contains(seed) else { throw BenchError.repeatedSeed(seed) }
            seeds.append(seed)
        }
        return seeds
    }

    /// Loads each task with the options' overrides (as its runs will), and makes the config.
    /// Blocking (a task's `prepare` may run): call it off the cooperative pool.
    public static func make(name: String, taskFiles: [String], seeds: [UInt64], options: RunOptions) throws -> BenchConfig {
        guard !taskFiles.isEmpty else { throw BenchError.noTasks }
        guard !seeds.isEmpty else { throw BenchError.noSeeds }
        if let seedOverride = options.overrides.first(where: { $0.split(separator: "=").first?.trimmingCharacters(in: .whitespaces) == "search.seed" }) {
            throw BenchError.seedOverride(seedOverride)
        }
        if options.record != nil { throw BenchError.recordsCassette }
        var tasks: [BenchTask] = []
        for file in taskFiles {
            let task = BenchTask(try options.loadTask(URL(fileURLWithPath: file)))
            if let other = tasks.first(where: { $0.name == task.name }) {
                throw BenchError.sameTaskName(name: task.name, first: other.file, second: task.file)
            }
            tasks.append(task)
        }
        return BenchConfig(name: name, tasks: tasks, seeds: seeds, run: options)
    }

    /// A bench name fit for a folder: letters, digits, `-`, `_` and `.`.
    public static func checkName(_ name: String) throws {
        let allowed = name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }
        guard !name.isEmpty, allowed, !name.hasPrefix(".") else {
            throw BenchError.badName(name)
        }
    }

    /// A name from the time: `20261121-101500`.
    public static func defaultName(date: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        return formatter.string(from: date)
    }
}
