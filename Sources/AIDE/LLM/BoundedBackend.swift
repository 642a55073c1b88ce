/// A backend that lets at most `limit.limit` queries through at once, whoever asks: the run's
/// workers share one, so a provider's rate limit is not met with a burst.
public struct BoundedBackend: Backend {
    public let base: any Backend
    public let limit: ConcurrencyLimit

    public init(_ base: any Backend, limit: ConcurrencyLimit) {
        self.base = base
        self.limit = limit
    }

    public func query(
        system: String?, user: String?, funcSpec: FunctionSpec?, options: ModelOptions, observer: StreamObserver?
    ) async throws -> QueryResult {
        try await limit.withSlot {
            try await base.query(system: system, user: user, funcSpec: funcSpec, options: options, observer: observer)
        }
    }
}
