import Foundation
import GRDB

/// Where a case stands. `running` on a case no process runs means its process was killed.
public enum BenchCaseStatus: String, Sendable, Codable, Hashable, CaseIterable, DatabaseValueConvertible {
    case pending
    case running
    /// Its `aide run` exited 0: the run finished within its budgets.
    case finished
    /// Its `aide run` exited otherwise (crashed, an LLM failure, a bad task); resumed by a re-run.
    case failed
    /// Stopped by Ctrl-C; resumed by a re-run.
    case interrupted
}

/// A bench as a whole.
public enum BenchStatus: String, Sendable, Codable, Hashable, CaseIterable, DatabaseValueConvertible {
    /// Planned for Slurm: the array elements run the cases.
    case planned
    case running
    case finished
    case interrupted
}

/// The `bench` row: the plan and where the bench as a whole stands.
public struct BenchRecord: Sendable, Codable, Hashable, TimestampRecord, PersistableRecord {
    public static let databaseTableName = "bench"

    public var name: String
    public var configJSON: String
    public var status: BenchStatus
    public var createdAt: Date
    public var updatedAt: Date
    public var aideVersion: String

    enum CodingKeys: String, CodingKey {
        case name, status
        case configJSON = "config_json"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case aideVersion = "aide_version"
    }

    public func config() throws -> BenchConfig {
        try JSONDecoder().decode(BenchConfig.self, from: Data(configJSON.utf8))
    }
}

/// A `cases` row: one task × seed and its run.
public struct BenchCaseRecord: Sendable, Codable, Hashable, TimestampRecord, PersistableRecord {
    public static let databaseTableName = "cases"

    public var index: Int
    public var task: String
    private var seedBits: Int64
    public var status: BenchCaseStatus
    /// How many times a process started this case.
    public var attempts: Int
    /// The process running it, and its host (a Slurm node), while running and after.
    public var pid: Int?
    public var host: String?
    /// The run, once one exists; its folder relative to the bench folder.
    public var runID: String?
    public var runFolder: String?
    /// `aide run`'s exit status (128 + N for signal N).
    public var exitStatus: Int?
    /// Why the case failed, in a line.
    public var message: String?
    public var startedAt: Date?
    public var finishedAt: Date?

    public var seed: UInt64 { UInt64(bitPattern: seedBits) }

    enum CodingKeys: String, CodingKey {
        case index = "idx"
        case task
        case seedBits = "seed"
        case status, attempts, pid, host, message
        case runID = "run_id"
        case runFolder = "run_folder"
        case exitStatus = "exit_status"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
    }

    public enum Columns {
        public static let index = Column(CodingKeys.index)
        public static let status = Column(CodingKeys.status)
    }

    init(_ benchCase: BenchCase) {
        index = benchCase.index
        task = benchCase.task
        seedBits = Int64(bitPattern: benchCase.seed)
        status = .pending
        attempts = 0
    }
}

/// The index of a bench: `bench.sqlite` in the bench folder, one row per case.
///
/// Rollback-journal mode, not WAL: Slurm array elements on several hosts may write it over a shared
/// file system, where WAL's shared memory does not reach. Every write is one short transaction,
/// and writers wait for each other (busy timeout) rather than fail.
public final class BenchIndex: Sendable {
    public static let fileName = "bench.sqlite"
    static let v1 = "v1-bench-cases"

    /// The bench folder.
    public let folder: URL
    let queue: DatabaseQueue

    private init(folder: URL, queue: DatabaseQueue) {
        self.folder = folder
        self.queue = queue
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration(v1) { db in
            try db.create(table: "bench") { t in
                t.primaryKey("name", .text)
                t.column("config_json", .text).notNull()
                t.column("status", .text).notNull()
                t.column("created_at", .text).notNull()
                t.column("updated_at", .text).notNull()
                t.column("aide_version", .text).notNull()
            }
            try db.create(table: "cases") { t in
                t.primaryKey("idx", .integer)
                t.column("task", .text).notNull()
                t.column("seed", .integer).notNull()
                t.column("status", .text).notNull()
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("pid", .integer)
                t.column("host", .text)
                t.column("run_id", .text)
                t.column("run_folder", .text)
                t.column("exit_status", .integer)
                t.column("message", .text)
                t.column("started_at", .text)
                t.column("finished_at", .text)
            }
        }
        return migrator
    }

    private static func configuration(readOnly: Bool) -> Configuration {
        var configuration = Configuration()
        configuration.readonly = readOnly
        configuration.label = "aide.BenchIndex"
        configuration.busyMode = .timeout(30)
        return configuration
    }

    /// Creates the bench folder and its index with every case pending. An existing index is an error.
    public static func create(folder: URL, config: BenchConfig, status: BenchStatus, date: Date = Date()) throws -> BenchIndex {
        let path = folder.appendingPathComponent(fileName)
        guard !FileManager.default.fileExists(atPath: path.path) else {
            throw BenchError.exists(path: path.path)
        }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let queue = try DatabaseQueue(path: path.path, configuration: configuration(readOnly: false))
        try migrator.migrate(queue)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(config), as: UTF8.self)
        try queue.write { db in
            try BenchRecord(
                name: config.name, configJSON: json, status: status, createdAt: date, updatedAt: date,
                aideVersion: AIDEVersion.current
            ).insert(db)
            for benchCase in config.cases { try BenchCaseRecord(benchCase).insert(db) }
        }
        return BenchIndex(folder: folder, queue: queue)
    }

    /// Opens the index of a bench folder (or the bench.sqlite itself).
    public static func open(_ reference: URL, readOnly: Bool = false) throws -> BenchIndex {
        var folder = reference
        if reference.lastPathComponent == fileName { folder = reference.deletingLastPathComponent() }
        let path = folder.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: path.path) else {
            throw BenchError.notABench(path: reference.path)
        }
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue(path: path.path, configuration: configuration(readOnly: readOnly))
            let applied = try queue.read { db in try migrator.appliedIdentifiers(db) }
            let known = Set(migrator.migrations)
            if let unknown = applied.first(where: { !known.contains($0) }) {
                throw BenchError.newerIndex(path: path.path, migration: unknown)
            }
            guard applied.contains(v1) else { throw BenchError.notAnIndex(path: path.path) }
            if !readOnly { try migrator.migrate(queue) }
        } catch let error as BenchError {
            throw error
        } catch let error as DatabaseError {
            throw BenchError.cannotOpen(path: path.path, reason: error.message ?? "\(error.resultCode)")
        }
        return BenchIndex(folder: folder, queue: queue)
    }

    public func close() throws {
        try queue.close()
    }

    public func bench() throws -> BenchRecord {
        guard let record = try queue.read({ db in try BenchRecord.fetchOne(db) }) else {
            throw BenchError.emptyIndex(path: "\(folder.path)/\(Self.fileName)")
        }
        return record
    }

    public func config() throws -> BenchConfig {
        do {
            return try bench().config()
        } catch let error as BenchError {
            throw error
        } catch {
            throw BenchError.unreadablePlan(path: "\(folder.path)/\(Self.fileName)", reason: "\(error)")
        }
    }

    /// Every case, by index.
    public func cases() throws -> [BenchCaseRecord] {
        try queue.read { db in try BenchCaseRecord.order(BenchCaseRecord.Columns.index).fetchAll(db) }
    }

    public func benchCase(_ index: Int) throws -> BenchCaseRecord? {
        try queue.read { db in try BenchCaseRecord.fetchOne(db, key: index) }
    }

    public func setStatus(_ status: BenchStatus) throws {
        try queue.write { db in
            _ = try BenchRecord.updateAll(db, [
                Column("status").set(to: status), Column("updated_at").set(to: Timestamp.text(Date())),
            ])
        }
    }

    /// A process started the case.
    public func markRunning(_ index: Int, pid: Int32, host: String) throws {
        try queue.write { db in
            _ = try BenchCaseRecord.filter(key: index).updateAll(db, [
                Column("status").set(to: BenchCaseStatus.running), Column("attempts").set(to: Column("attempts") + 1),
                Column("pid").set(to: Int(pid)), Column("host").set(to: host),
                Column("started_at").set(to: Timestamp.text(Date())), Column("finished_at").set(to: nil),
                Column("exit_status").set(to: nil), Column("message").set(to: nil),
            ])
        }
    }

    /// The case's process ended (or it was found already done).
    public func markDone(
        _ index: Int, status: BenchCaseStatus, exitStatus: Int?, runID: String?, runFolder: String?, message: String?
    ) throws {
        try queue.write { db in
            _ = try BenchCaseRecord.filter(key: index).updateAll(db, [
                Column("status").set(to: status), Column("exit_status").set(to: exitStatus),
                Column("run_id").set(to: runID), Column("run_folder").set(to: runFolder),
                Column("message").set(to: message), Column("finished_at").set(to: Timestamp.text(Date())),
            ])
        }
    }
}
