import Foundation

// The rule for a step whose LLM call fails: a provider's outage costs the step (stored as a failed
// node), not the run; only `agent.max_failed_steps` failed steps in a row end it.

extension SearchRun {
    /// The bug reason of a failed step's node.
    static let failedCallReason = "LLM call failed"

    /// Whether a step that failed with `error` is stored as a failed step and the run goes on: a
    /// provider's error (after retries) or a recorded one; anything else (a replay miss, a store
    /// error) still ends the run.
    static func costsOnlyTheStep(_ error: any Error) -> Bool {
        if error is RecordedFailure { return true }
        guard let error = error as? LLMError else { return false }
        switch error {
        case .missingAPIKey, .missingBaseURL, .invalidOptions, .invalidFunctionSpec: return false  // every step would fail
        default: return true
        }
    }

    /// Whether a node is a step whose LLM call failed.
    static func isFailedStep(_ node: Node) -> Bool {
        node.bugReasons.contains(failedCallReason)
    }
}
