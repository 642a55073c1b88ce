import Foundation

/// Where solution scripts run (`exec.backend`).
public enum ExecBackend: String, Codable, Sendable, Hashable, CaseIterable {
    /// On this machine, as child processes of the harness.
    case local
    /// Each script as one Slurm job (`sbatch`), on a compute node; `aide run` stays on the head node.
    case slurm
}

/// What each script's Slurm job asks for (`exec.slurm`), as sbatch options.
public struct SlurmSpec: Sendable, Codable, Hashable {
    /// `--partition`; nil for the cluster's default.
    public var partition: String?
    /// `--time`, seconds; nil for the script timeout plus a margin (the script timeout itself is
    /// enforced inside the job, as locally).
    public var time: Double?
    /// `--cpus-per-task`; nil for 1.
    public var cpusPerTask: Int?
    /// `--mem`, in Slurm's format (`4G`, `500M`); nil for the partition's default.
    public var mem: String?
    /// `--gres` (`gpu:1`).
    public var gres: String?
    /// `--account`.
    public var account: String?
    /// `--qos`.
    public var qos: String?
    /// Further sbatch options, each a whole option (`--constraint=a100`, `--exclude=node7`).
    public var extraArgs: [String] = []
    /// The user says the run folder is on a filesystem the compute nodes see, whatever its type;
    /// nil lets the harness decide from the filesystem type (NFS, Lustre, GPFS, BeeGFS, Ceph, …).
    public var sharedFilesystem: Bool?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case partition, time, mem, gres, account, qos
        case cpusPerTask = "cpus_per_task"
        case extraArgs = "extra_args"
        case sharedFilesystem = "shared_filesystem"
    }

    public init(
        partition: String? = nil, time: Double? = nil, cpusPerTask: Int? = nil, mem: String? = nil, gres: String? = nil,
        account: String? = nil, qos: String? = nil, extraArgs: [String] = [], sharedFilesystem: Bool? = nil
    ) {
        self.partition = partition
        self.time = time
        self.cpusPerTask = cpusPerTask
        self.mem = mem
        self.gres = gres
        self.account = account
        self.qos = qos
        self.extraArgs = extraArgs
        self.sharedFilesystem = sharedFilesystem
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        partition = try c.decodeIfPresent(String.self, forKey: .partition)
        time = try c.decodeIfPresent(Seconds.self, forKey: .time)?.value
        cpusPerTask = try c.decodeIfPresent(Int.self, forKey: .cpusPerTask)
        mem = try c.decodeIfPresent(String.self, forKey: .mem)
        gres = try c.decodeIfPresent(String.self, forKey: .gres)
        account = try c.decodeIfPresent(String.self, forKey: .account)
        qos = try c.decodeIfPresent(String.self, forKey: .qos)
        extraArgs = try c.decodeIfPresent([String].self, forKey: .extraArgs) ?? []
        sharedFilesystem = try c.decodeIfPresent(Bool.self, forKey: .sharedFilesystem)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(partition, forKey: .partition)
        try c.encodeIfPresent(time, forKey: .time)
        try c.encodeIfPresent(cpusPerTask, forKey: .cpusPerTask)
        try c.encodeIfPresent(mem, forKey: .mem)
        try c.encodeIfPresent(gres, forKey: .gres)
        try c.encodeIfPresent(account, forKey: .account)
        try c.encodeIfPresent(qos, forKey: .qos)
        if !extraArgs.isEmpty { try c.encode(extraArgs, forKey: .extraArgs) }
        try c.encodeIfPresent(sharedFilesystem, forKey: .sharedFilesystem)
    }

    /// The problem with each setting sbatch would refuse or misread, keyed by its name under
    /// `exec.slurm`; empty when all are fine.
    public func problems() -> [(key: String, problem: TaskProblem)] {
        var found: [(String, TaskProblem)] = []
        func add(_ key: String, _ problem: ([String]) -> TaskProblem) { found.append((key, problem(["exec", "slurm", key]))) }
        let plain = Self.isName
        if let partition, !plain(partition) { add("partition") { .notASlurmName(key: $0, partition, .partition) } }
        if let time, !(time >= 1 && time.isFinite) { add("time") { .outOfRange(key: $0, .real(time), allowed: .atLeastSeconds(1)) } }
        if let cpusPerTask, cpusPerTask < 1 { add("cpus_per_task") { .outOfRange(key: $0, .integer(cpusPerTask), allowed: .atLeast(1)) } }
        if let mem, Self.megabytes(mem) == nil { add("mem") { .expected(key: $0, .slurmMemory, found: .text(mem)) } }
        if let gres, !(gres.first?.isLetter == true && gres.allSatisfy { $0.isLetter || $0.isNumber || ":_-,.".contains($0) }) {
            add("gres") { .expected(key: $0, .slurmResource, found: .text(gres)) }
        }
        if let account, !plain(account) { add("account") { .notASlurmName(key: $0, account, .account) } }
        if let qos, !plain(qos) { add("qos") { .notASlurmName(key: $0, qos, .qos) } }
        let owned = ["--job-name", "-J", "--output", "-o", "--error", "-e", "--chdir", "-D", "--comment", "--export", "--parsable", "--wait", "-W", "--array", "-a", "--requeue", "--no-requeue"]
        for argument in extraArgs {
            guard argument.hasPrefix("-"), !argument.contains("\n") else {
                add("extra_args") { .notAnSbatchOption(key: $0, argument) }
                continue
            }
            let name = String(argument.prefix { $0 != "=" })
            if owned.contains(name) { add("extra_args") { .setByAide(key: $0, option: name) } }
        }
        return found
    }

    // What sbatch accepts, one rule each, for `exec.slurm` and `aide bench`'s job array alike (each
    // caller words its own error: a task key, a flag).

    /// A partition, account or QoS name (a comma-separated list of partitions too).
    public static func isName(_ text: String) -> Bool {
        !text.isEmpty && text.allSatisfy { $0.isLetter || $0.isNumber || "-_.,".contains($0) }
    }

    /// Slurm's `--time` text: minutes (`30`), `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM:SS`.
    public static func isTimeText(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count <= 2, let clock = parts.last else { return false }
        if parts.count == 2, !(parts[0].allSatisfy(\.isNumber) && !parts[0].isEmpty) { return false }
        let fields = clock.split(separator: ":", omittingEmptySubsequences: false)
        return (1...3).contains(fields.count) && fields.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
    }

    /// MiB in Slurm's memory format (`4G`, `500M`, `1T`, `2048` meaning MiB); nil when not one.
    public static func megabytes(_ text: String) -> Int? {
        guard let last = text.last else { return nil }
        let units: [Character: Int] = ["K": 0, "M": 1, "G": 1024, "T": 1024 * 1024]
        let number: Substring
        let scale: Int
        if let unit = units[Character(last.uppercased())] {
            number = text.dropLast()
            scale = unit
        } else {
            number = text[...]
            scale = 1
        }
        guard let value = Int(number), value > 0 else { return nil }
        return scale == 0 ? max(1, value / 1024) : value * scale
    }

    /// `seconds` in Slurm's `--time` format, `D-HH:MM:SS`, rounded up to a whole second.
    public static func timeText(_ seconds: Double) -> String {
        let total = Int(seconds.rounded(.up))
        let days = total / 86400, hours = total % 86400 / 3600, minutes = total % 3600 / 60, rest = total % 60
        return String(format: "%d-%02d:%02d:%02d", days, hours, minutes, rest)
    }
}

extension ExecSpec {
    /// The sbatch options (`--partition=…`) each script's job carries, for a script that may run
    /// `scriptTimeout` seconds: `exec.slurm`'s settings, and a time limit that leaves the script
    /// its timeout (enforced in the job) plus a margin when none is set.
    public func sbatchOptions(scriptTimeout: Double) -> [String] {
        var options: [String] = []
        if let partition = slurm.partition { options.append("--partition=\(partition)") }
        let time = slurm.time ?? (min(scriptTimeout, 1e8) + 300)
        options.append("--time=\(SlurmSpec.timeText(time))")
        options.append("--cpus-per-task=\(slurm.cpusPerTask ?? 1)")
        if let mem = slurm.mem { options.append("--mem=\(mem)") }
        if let gres = slurm.gres { options.append("--gres=\(gres)") }
        if let account = slurm.account { options.append("--account=\(account)") }
        if let qos = slurm.qos { options.append("--qos=\(qos)") }
        return options + slurm.extraArgs
    }
}

extension TaskDocument {
    /// `exec.slurm`'s settings, each wrong one an error at its line.
    func checkSlurm(_ exec: ExecSpec) throws {
        if let problem = exec.slurm.problems().first { throw located(problem.problem) }
    }
}
