import Foundation

/// Runs blocking work (a syscall, a child process wait) on a thread of its own and awaits it, so the
/// caller never holds one of the cooperative pool's few threads (two, on a 2-core machine).
public func offPool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: work()) }
    }
}
