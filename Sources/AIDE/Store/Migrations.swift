import Foundation
import GRDB

/// The schema of a run file, as named migrations. Append-only: a migration, once released, is never
/// edited, renamed or removed; a change to the schema is a new migration at the end of `migrator`.
/// GRDB records the identifiers it applied in `grdb_migrations`, which is how a file from a newer
/// aide (an identifier this build does not know) is recognised.
enum RunMigrations {
    /// The first migration; a file without it is not an aide run.
    static let v1 = "v1-runs-nodes-calls-metrics"
    static let v2 = "v2-nodes-other-parent"
    static let v3 = "v3-calls-provider-answer"
    static let v4 = "v4-runs-sandbox"
    static let v5 = "v5-runs-data-preview"
    static let v6DataSource = "v6-runs-data-source"
    static let nodesSlurmJob = "v6-nodes-slurm-job"
    static let v6NodesPatch = "v6-nodes-patch"
    static let pendingSteps = "v7-pending-steps"
    static let callsCacheWrite1h = "v7-llm-calls-cache-write-1h"

    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()

        migrator.registerMigration(v1) { db in
            try db.create(table: "runs") { t in
                t.primaryKey("id", .text)
                t.column("task_name", .text).notNull()
                t.column("task_file", .text).notNull()
                t.column("config_json", .text).notNull()
                t.column("status", .text).notNull()
                t.column("stop_reason", .text)
                t.column("seed", .integer).notNull()
                t.column("started_at", .text).notNull()
                t.column("updated_at", .text).notNull()
                t.column("finished_at", .text)
                t.column("best_node_id", .text).references("nodes", column: "id")
                t.column("aide_version", .text).notNull()
            }

            try db.create(table: "nodes") { t in
                t.primaryKey("id", .text)
                t.column("run_id", .text).notNull().references("runs", column: "id")
                t.column("parent_id", .text).references("nodes", column: "id")
                t.column("step", .integer).notNull()
                t.column("stage", .text).notNull()
                t.column("plan", .text).notNull()
                t.column("code", .text).notNull()
                // Execution: all NULL when no code ran.
                t.column("output", .text)
                t.column("output_bytes", .integer)
                t.column("exec_time", .double)
                t.column("exit_code", .integer)
                t.column("signal", .integer)
                t.column("timed_out", .boolean)
                t.column("exception_type", .text)
                t.column("traceback", .text)
                // Review: all NULL when there is no review.
                t.column("review_is_bug", .boolean)
                t.column("review_summary", .text)
                t.column("review_metric", .double)
                t.column("metric", .double)
                t.column("metric_source", .text)
                t.column("test_score", .double)
                t.column("is_buggy", .boolean).notNull()
                t.column("bug_reasons", .text).notNull().defaults(to: "[]")
                t.column("debug_depth", .integer).notNull().defaults(to: 0)
                t.column("error", .text)
                t.column("created_at", .text).notNull()
                t.column("finished_at", .text).notNull()
                t.check(sql: """
                    (output IS NULL) = (output_bytes IS NULL) AND (output IS NULL) = (exec_time IS NULL) \
                    AND (output IS NULL) = (timed_out IS NULL)
                    """)
                t.check(sql: "(review_is_bug IS NULL) = (review_summary IS NULL)")
            }
            try db.create(index: "nodes_on_run_id_step", on: "nodes", columns: ["run_id", "step"], unique: true)
            try db.create(index: "nodes_on_parent_id", on: "nodes", columns: ["parent_id"])

            try db.create(table: "llm_calls") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("run_id", .text).notNull().references("runs", column: "id")
                t.column("node_id", .text).references("nodes", column: "id")
                t.column("step", .integer).notNull()
                t.column("purpose", .text).notNull()
                t.column("model", .text).notNull()
                t.column("provider", .text).notNull()
                t.column("latency", .double).notNull()
                t.column("last_attempt_latency", .double).notNull()
                t.column("input_tokens", .integer).notNull()
                t.column("output_tokens", .integer).notNull()
                t.column("cache_read_tokens", .integer)
                t.column("cache_write_tokens", .integer)
                t.column("reasoning_tokens", .integer)
                t.column("cost_usd", .double)
                t.column("stop_reason", .text)
                t.column("finish_reason", .text)
                t.column("attempts", .integer).notNull()
                t.column("error", .text)
                t.column("created_at", .text).notNull()
            }
            try db.create(index: "llm_calls_on_node_id", on: "llm_calls", columns: ["node_id"])
            try db.create(index: "llm_calls_on_run_id_step", on: "llm_calls", columns: ["run_id", "step"])

            try db.create(table: "metrics") { t in
                t.column("run_id", .text).notNull().references("runs", column: "id")
                t.column("step", .integer).notNull()
                t.primaryKey(["run_id", "step"])
                t.column("best_metric", .double)
                t.column("best_test_score", .double)
                t.column("best_node_id", .text).references("nodes", column: "id")
                t.column("input_tokens", .integer).notNull()
                t.column("output_tokens", .integer).notNull()
                t.column("cost_usd", .double).notNull()
                t.column("elapsed", .double).notNull()
                t.column("nodes", .integer).notNull()
                t.column("buggy_nodes", .integer).notNull()
                t.column("recorded_at", .text).notNull()
            }
        }

        // Crossover nodes (the evolutionary policy) have a second parent.
        migrator.registerMigration(v2) { db in
            try db.alter(table: "nodes") { t in
                t.add(column: "other_parent_id", .text).references("nodes", column: "id")
            }
        }

        // What the provider said about a call: the model that answered, its response id and
        // fingerprint, the options not sent, and each failed attempt (JSON lists).
        migrator.registerMigration(v3) { db in
            try db.alter(table: "llm_calls") { t in
                t.add(column: "answered_model", .text)
                t.add(column: "response_id", .text)
                t.add(column: "system_fingerprint", .text)
                t.add(column: "dropped_options", .text)
                t.add(column: "attempt_failures", .text)
                t.add(column: "cut_off_retries", .integer)
            }
        }

        // How the run's scripts were isolated: `bwrap`, or `none (…why)`.
        migrator.registerMigration(v4) { db in
            try db.alter(table: "runs") { t in t.add(column: "sandbox", .text) }
        }

        // The data preview the prompts show, built once when the run starts; a resume reuses it.
        migrator.registerMigration(v5) { db in
            try db.alter(table: "runs") { t in t.add(column: "data_preview", .text) }
        }

        // Where the run's data is, how its scripts see it (mounted, linked, copied) and its
        // fingerprint, as JSON: a resume compares the data with it.
        migrator.registerMigration(v6DataSource) { db in
            try db.alter(table: "runs") { t in t.add(column: "data_source", .text) }
        }

        // Where a script ran when it ran as a Slurm job: the job, its node, its end, its queue wait.
        migrator.registerMigration(nodesSlurmJob) { db in
            try db.alter(table: "nodes") { t in
                t.add(column: "slurm_job_id", .text)
                t.add(column: "slurm_node", .text)
                t.add(column: "slurm_state", .text)
                t.add(column: "queue_wait", .double)
            }
        }

        // The SEARCH/REPLACE blocks a node's code was made with (agent.edit_format diff).
        migrator.registerMigration(v6NodesPatch) { db in
            try db.alter(table: "nodes") { t in t.add(column: "patch", .text) }
        }

        // Steps whose script was handed to a Slurm job and not yet committed: what a resume needs to
        // take the job's result over (`PendingStep`). A commit deletes its step's row.
        migrator.registerMigration(pendingSteps) { db in
            try db.create(table: "pending_steps") { t in
                t.primaryKey("step", .integer)
                t.column("node_id", .text).notNull()
                t.column("body", .text).notNull()
            }
        }

        // Of a call's cache writes, those with the one-hour lifetime (priced 2x the input rate, not 1.25x).
        migrator.registerMigration(callsCacheWrite1h) { db in
            try db.alter(table: "llm_calls") { t in t.add(column: "cache_write_1h_tokens", .integer) }
        }

        // Later migrations go here, after the last one, never between.

        return migrator
    }()

    /// Identifiers of every migration this build knows, in order.
    static var known: [String] { migrator.migrations }

    /// What a file's schema is, relative to this build.
    enum State: Equatable {
        /// No tables at all: a new file.
        case empty
        /// Every known migration applied, and no other.
        case current
        /// An aide run from an older build: these known migrations are missing.
        case behind(missing: [String])
    }

    /// Classifies the schema of an open file, or throws `StoreError.notAnAideRun` /
    /// `.newerSchema`. Only reads.
    static func state(of db: Database, path: String) throws -> State {
        let tables = try Set(String.fetchAll(db, sql: """
            SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
            """))
        let applied = tables.contains("grdb_migrations") ? try migrator.appliedIdentifiers(db) : []
        if applied.isEmpty && tables.subtracting(["grdb_migrations"]).isEmpty { return .empty }
        guard applied.contains(v1), tables.contains(RunRecord.databaseTableName) else {
            throw StoreError.notAnAideRun(path: path)
        }
        let unknown = applied.subtracting(known)
        guard unknown.isEmpty else { throw StoreError.newerSchema(path: path, unknownMigrations: unknown.sorted()) }
        let missing = known.filter { !applied.contains($0) }
        return missing.isEmpty ? .current : .behind(missing: missing)
    }
}
