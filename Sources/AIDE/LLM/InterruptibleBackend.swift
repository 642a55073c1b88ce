import Foundation
import Synchronization

/// A `Backend` decorator whose calls in flight can be cut short from outside: `interrupt()` cancels
/// each of them at once (a hanging connection included), and they throw `CancellationError`.
/// Calls started afterwards go ahead as usual.
public final class InterruptibleBackend: Backend {
    private let inner: any Backend
    private let running = Mutex<(next: Int, tasks: [Int: Task<QueryResult, any Error>])>((0, [:]))

    public init(_ inner: any Backend) {
        self.inner = inner
    }

    public func query(
        system: String?, user: String?, funcSpec: FunctionSpec?, options: ModelOptions, observer: StreamObserver?
    ) async throws -> QueryResult {
        let inner = self.inner
        let task = Task {
            try await inner.query(system: system, user: user, funcSpec: funcSpec, options: options, observer: observer)
        }
        let id = running.withLock { state in
            defer { state.next += 1 }
            state.tasks[state.next] = task
            return state.next
        }
        defer { _ = running.withLock { $0.tasks.removeValue(forKey: id) } }
        return try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            task.cancel()
        }
    }

    /// Cancels every call in flight; returns how many there were.
    @discardableResult
    public func interrupt() -> Int {
        let tasks = running.withLock { Array($0.tasks.values) }
        for task in tasks { task.cancel() }
        return tasks.count
    }
}
