import Foundation
import GRDB

/// A step whose code is chosen and whose script was handed to an interpreter that outlives this
/// process (a Slurm job), not yet committed: what a resumed run needs to finish the step as this
/// run would have (take the job's result over, review, grade, commit), without asking for code again.
public struct PendingStep: Sendable, Codable, Hashable {
    /// The node as it stood before its script ran: id, step, stage, parents, plan, code, patch,
    /// debug depth, creation time.
    public var node: Node
    /// The step's LLM calls so far (its code call), committed with the node.
    public var calls: [LLMCallRecord]

    public init(node: Node, calls: [LLMCallRecord]) {
        self.node = node
        self.calls = calls
    }
}

extension RunStore {
    /// Records `pending` (replacing an earlier record of its step); `commit` of its node removes it.
    public func savePending(_ pending: PendingStep) throws {
        let body = String(decoding: try JSONEncoder().encode(pending), as: UTF8.self)
        try write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO pending_steps (step, node_id, body) VALUES (?, ?, ?)",
                arguments: [pending.node.step, pending.node.id, body])
        }
    }

    /// The steps recorded by `savePending` and not committed since, by step.
    public func pendingSteps() throws -> [PendingStep] {
        let bodies = try read { db in try String.fetchAll(db, sql: "SELECT body FROM pending_steps ORDER BY step") }
        return try bodies.map { try JSONDecoder().decode(PendingStep.self, from: Data($0.utf8)) }
    }

    /// Forgets the pending record of `step` (a step that will not be finished).
    public func dropPending(step: Int) throws {
        try write { db in try db.execute(sql: "DELETE FROM pending_steps WHERE step = ?", arguments: [step]) }
    }
}
