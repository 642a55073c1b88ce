import Foundation

/// Where a script ran when it ran as a Slurm job: the job, its node, how long it waited in the
/// queue, and how it ended. Stored with the node (`slurm_job_id`, `slurm_node`, `slurm_state`,
/// `queue_wait`).
public struct ScriptPlacement: Sendable, Codable, Hashable {
    /// The Slurm job id (of the last attempt, when the first was retried).
    public var jobID: String
    /// The compute node the job ran on; nil when it never started.
    public var node: String?
    /// Seconds from submission to the job's start; nil when it never started.
    public var queueWait: Double?
    /// Slurm's final state: COMPLETED, FAILED, TIMEOUT, OUT_OF_MEMORY, …
    public var state: String?
    /// Why Slurm ended the job, when it did rather than the script (not stored: it is in the
    /// node's bug reasons).
    public var failure: String?
    /// Submissions it took (2 when a NODE_FAIL or PREEMPTED job was retried).
    public var attempts: Int

    public init(
        jobID: String, node: String? = nil, queueWait: Double? = nil, state: String? = nil, failure: String? = nil,
        attempts: Int = 1
    ) {
        self.jobID = jobID
        self.node = node
        self.queueWait = queueWait
        self.state = state
        self.failure = failure
        self.attempts = attempts
    }

    /// `Slurm job 42 on node7`, for reports.
    public var summary: String {
        "Slurm job \(jobID)" + (node.map { " on \($0)" } ?? "")
    }
}
