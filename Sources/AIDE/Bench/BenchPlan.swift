import Foundation

// A bench runs every task × seed as a normal `aide run`, each in its own folder under the bench's
// folder, and keeps its progress in an index (bench.sqlite) so an interrupted bench resumes:
//
//     runs/bench-<name>/bench.sqlite                      the plan and each case's status
//     runs/bench-<name>/cases/<task>-seed<K>/<run-id>/    the case's run (run.sqlite, nodes, ...)
//     runs/bench-<name>/cases/<task>-seed<K>/output.log   what `aide run` printed
//     runs/bench-<name>/summary.md, summary.json, junit.xml
//     runs/bench-<name>/job.sbatch, slurm/                for a Slurm job array

/// A bench that cannot be planned, run or summarized: a one-line message for the person who asked.
public enum BenchError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A job array setting (`SlurmJob`) sbatch would refuse.
    case slurmPartition(String)
    case slurmTime(String)
    case slurmCPUs(Int)
    case slurmMemory(String)
    /// A bench that cannot be planned, run or read, in words.
    case failed(String)

    public init(_ description: String) { self = .failed(description) }

    public var description: String {
        switch self {
        case .slurmPartition(let partition): return "the partition \"\(partition)\" is not a partition name"
        case .slurmTime(let time): return "the job time takes Slurm's format, such as 30, 1:00:00 or 1-00:00:00; not \"\(time)\""
        case .slurmCPUs: return "the CPUs per task must be at least 1"
        case .slurmMemory(let memory): return "the job memory takes Slurm's format, such as 4G or 500M; not \"\(memory)\""
        case .failed(let text): return text
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
            guard count >= 1 else { throw BenchError("the seeds are a count of at least 1, or a list such as 4,7; not \"\(text)\"") }
            return (1...count).map(UInt64.init)
        }
        var seeds: [UInt64] = []
        for part in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            guard let seed = UInt64(part.trimmingCharacters(in: .whitespaces)) else {
                throw BenchError("the seeds are a count (3 means seeds 1, 2, 3) or a list such as 4,7; not \"\(text)\"")
            }
            guard !seeds.contains(seed) else { throw BenchError("the seeds list seed \(seed) twice") }
            seeds.append(seed)
        }
        return seeds
    }

    /// Loads each task with the options' overrides (as its runs will), and makes the config.
    /// Blocking (a task's `prepare` may run): call it off the cooperative pool.
    public static func make(name: String, taskFiles: [String], seeds: [UInt64], options: RunOptions) throws -> BenchConfig {
        guard !taskFiles.isEmpty else { throw BenchError("give at least one task file") }
        guard !seeds.isEmpty else { throw BenchError("give at least one seed") }
        if let seedOverride = options.overrides.first(where: { $0.split(separator: "=").first?.trimmingCharacters(in: .whitespaces) == "search.seed" }) {
            throw BenchError("\(seedOverride): the bench sets search.seed for each case; give the seeds instead")
        }
        if options.record != nil { throw BenchError("a bench records no cassette: its runs would write one file at once") }
        var tasks: [BenchTask] = []
        for file in taskFiles {
            let task = BenchTask(try options.loadTask(URL(fileURLWithPath: file)))
            if let other = tasks.first(where: { $0.name == task.name }) {
                throw BenchError("\(other.file) and \(task.file) are both named \(task.name); a bench needs distinct task names")
            }
            tasks.append(task)
        }
        return BenchConfig(name: name, tasks: tasks, seeds: seeds, run: options)
    }

    /// A bench name fit for a folder: letters, digits, `-`, `_` and `.`.
    public static func checkName(_ name: String) throws {
        let allowed = name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }
        guard !name.isEmpty, allowed, !name.hasPrefix(".") else {
            throw BenchError("bench name \"\(name)\": use letters, digits, -, _ and . (it names the folder bench-<name>)")
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
