import AIDE
import Foundation

/// What the dashboard says of a run: `live` while its row says running and it has written
/// something (a commit or its heartbeat) recently; `stopped` when its row still says running but
/// nothing has been written for `staleAfter` (the process was killed without a word); otherwise
/// the status the run itself recorded.
public enum RunState: String, Codable, Sendable, Hashable {
    case live
    case finished
    case interrupted
    case failed
    case stopped

    /// A running run writes its heartbeat every 20 s (and at each commit); four missed beats mean
    /// its process is gone (`RunHeartbeat`, one rule for every reader).
    public static let staleAfter: TimeInterval = RunHeartbeat.silence

    public init(status: RunStatus, updatedAt: Date?, now: Date = Date(), staleAfter: TimeInterval = RunState.staleAfter) {
        switch status {
        case .finished: self = .finished
        case .interrupted: self = .interrupted
        case .failed: self = .failed
        case .running:
            if let updatedAt, now.timeIntervalSince(updatedAt) <= staleAfter { self = .live } else { self = .stopped }
        }
    }
}
