import Foundation

/// A `Backend` decorator for answers cut off at `max_tokens` (finish reason `length`): the question is
/// asked again with twice the room, up to the model's output limit from `ModelTable`, at most
/// `maxRetries` times. The result counts the tokens and cost of every answer and says in
/// `info.cutOffRetries` how often it was asked again.
public struct CutOffRetry: Backend {
    private let inner: any Backend
    private let maxRetries: Int

    public init(_ inner: any Backend, maxRetries: Int = 2) {
        self.inner = inner
        self.maxRetries = maxRetries
    }

    public func query(
        system: String?, user: String?, funcSpec: FunctionSpec?, options: ModelOptions, observer: StreamObserver?
    ) async throws -> QueryResult {
        var options = options
        var result = try await inner.query(system: system, user: user, funcSpec: funcSpec, options: options, observer: observer)
        var spent = (usage: result.usage, cost: result.costUSD, latency: result.latency)
        var retries = 0
        while result.info.finishReason == .length, retries < maxRetries,
            let larger = Self.largerMaxTokens(options: options, result: result)
        {
            retries += 1
            options.maxTokens = larger
            result = try await inner.query(system: system, user: user, funcSpec: funcSpec, options: options, observer: observer)
            spent.usage = spent.usage.adding(result.usage)
            spent.cost = spent.cost.flatMap { cost in result.costUSD.map { cost + $0 } }
            spent.latency += result.latency
        }
        guard retries > 0 else { return result }
        result.usage = spent.usage
        result.costUSD = spent.cost
        result.latency = spent.latency
        result.info.cutOffRetries = retries
        return result
    }

    /// Twice the room the cut-off answer had, capped at the model's output limit; nil when it had
    /// the limit already.
    static func largerMaxTokens(options: ModelOptions, result: QueryResult) -> Int? {
        let had = max(options.maxTokens ?? 0, result.usage.output, 1)
        let limit = ModelTable.spec(answeredBy: result.info.model, asked: options.model)?.maxOutput ?? had * 4
        let larger = min(limit, had * 2)
        return larger > had ? larger : nil
    }
}

extension TokenUsage {
    /// The sum of two calls' usage.
    func adding(_ other: TokenUsage) -> TokenUsage {
        func sum(_ a: Int?, _ b: Int?) -> Int? { a == nil && b == nil ? nil : (a ?? 0) + (b ?? 0) }
        var total = TokenUsage(
            input: input + other.input, output: output + other.output, cacheRead: sum(cacheRead, other.cacheRead),
            cacheWrite: sum(cacheWrite, other.cacheWrite), reasoning: sum(reasoning, other.reasoning))
        total.cacheWriteLong = sum(cacheWriteLong, other.cacheWriteLong)
        return total
    }
}
