import Foundation
import Synchronization

/// What a new run learns from its data folder before its first step, from one walk of it: the
/// fingerprint it records (`RunData`), the first entry the sandbox's user could not read, and the
/// data preview for the prompts, made from the walk's listings (nothing is listed or stat-ed twice).
public struct DataScan: Sendable {
    public var fingerprint: DataFingerprint
    /// Relative path; nil when the world can read everything.
    public var unreadable: String?
    public var preview: String

    public init(folder: URL) {
        let walk = DataFingerprint.walk(folder, listingDepth: DataPreview.maxDepth)
        fingerprint = walk.fingerprint
        unreadable = walk.unreadable
        preview = DataPreview.generate(for: folder.resolvingSymlinksInPath(), listings: walk.listings)
    }

    /// A scan made on a thread of its own, so that a run's other start-up work (the sandbox check,
    /// the package probe) goes on meanwhile; `value` waits for it.
    public final class Pending: Sendable {
        private let result = Mutex<DataScan?>(nil)
        private let done = DispatchSemaphore(value: 0)

        public init(folder: URL) {
            // A thread, not the cooperative pool or a dispatch queue: its caller may block on `value`.
            Thread.detachNewThread {
                let scan = DataScan(folder: folder)
                self.result.withLock { $0 = scan }
                self.done.signal()
            }
        }

        /// The scan, once made.
        public var value: DataScan {
            if let scan = result.withLock({ $0 }) { return scan }
            done.wait()
            done.signal()  // for the next caller
            return result.withLock { $0! }
        }
    }
}
