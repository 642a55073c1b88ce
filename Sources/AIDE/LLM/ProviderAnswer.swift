import Foundation

/// A provider's answer, read from its own wire format: the parts every backend turns into a
/// `QueryResult` the same way (`ProviderExchange.Outcome.result`).
protocol ProviderAnswer: Sendable {
    /// The text, or the arguments of the function `funcSpec` forces; throws when that call is
    /// missing, another function's, or not a JSON object.
    func output(funcSpec: FunctionSpec?) throws -> QueryOutput
    /// The token counts, every prompt token in `input`; throws when the answer carries none.
    func tokens(provider: CallProvider) throws -> TokenUsage
    /// What the provider says about the answer: model, ids, its stop reason and ours, thinking.
    func info(provider: CallProvider) -> QueryInfo
}

extension ProviderExchange.Outcome where Message: ProviderAnswer {
    /// The uniform result of one query: the answer's output, tokens and info, with what the exchange
    /// measured (latency, attempts, failures), how it was asked (streamed, options not sent) and its
    /// cost. A missing or wrong function call is reported before missing token counts.
    func result(
        funcSpec: FunctionSpec?, provider: CallProvider, askedModel: String, streamed: Bool, droppedOptions: [String]
    ) throws -> QueryResult {
        let output = try message.output(funcSpec: funcSpec)
        let usage = try message.tokens(provider: provider)
        var info = message.info(provider: provider)
        info.attempts = attempts
        info.failures = failures
        info.streamed = streamed
        info.droppedOptions = droppedOptions
        return QueryResult(
            output: output, latency: latency, lastAttemptLatency: lastAttempt, usage: usage,
            costUSD: ModelTable.spec(answeredBy: info.model, asked: askedModel)?.cost(of: usage), info: info)
    }
}

extension ProviderAnswer {
    /// The text a model gave instead of the function call, quoted and cut, for the error.
    static func describe(_ text: String) -> String {
        text.isEmpty ? "(no text)" : "\"" + (text.count > 200 ? String(text.prefix(200)) + "…" : text) + "\""
    }
}
