import Foundation

/// A live run writes its row's `updated_at` at least every `interval` (steps commit, and a
/// heartbeat between them while a long script runs), so a reader (`aide report`, `aide serve`)
/// tells a run still going from one whose process died without marking it.
public enum RunHeartbeat {
    /// Seconds between heartbeats.
    public static let interval: Double = 20
    /// A running run silent this long (four missed beats) is taken for stopped.
    public static let silence: Double = 90

    /// Seconds since the last write when a run marked running has been silent too long; nil otherwise.
    public static func silence(status: RunStatus, updatedAt: Date, now: Date) -> Double? {
        guard status == .running else { return nil }
        let quiet = now.timeIntervalSince(updatedAt)
        return quiet > silence ? quiet : nil
    }
}
