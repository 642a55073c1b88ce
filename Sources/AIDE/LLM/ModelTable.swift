import Foundation

/// What the harness knows about one model family: limits and list prices (USD per million tokens).
public struct ModelSpec: Sendable, Hashable, Codable {
    /// Name or name prefix: `claude-sonnet-4-5` also covers `claude-sonnet-4-5-20250929`.
    public var id: String
    public var provider: Provider
    public var contextWindow: Int
    public var maxOutput: Int
    public var inputPrice: Double
    public var outputPrice: Double
    public var cacheReadPrice: Double?
    public var cacheWritePrice: Double?
    /// A reasoning model: OpenAI takes `max_completion_tokens` and no temperature for it.
    public var reasoning: Bool { ModelTable.isReasoningModel(id) }
    /// Price of cache writes with the one-hour lifetime (Anthropic: 2× input).
    public var cacheWriteLongPrice: Double? = nil
    /// The shortest prompt prefix the provider caches, in tokens (Anthropic; nil where caching is automatic).
    public var minimumCacheableTokens: Int? = nil

    /// What a model missing from the table is assumed to cache from.
    public static let defaultMinimumCacheableTokens = 1024

    /// USD for the given usage. Cached prompt tokens are priced at their own rates.
    public func cost(of usage: TokenUsage) -> Double {
        let read = usage.cacheRead ?? 0
        let write = usage.cacheWrite ?? 0
        let long = min(write, usage.cacheWriteLong ?? 0)
        let plain = max(0, usage.input - read - write)
        let dollars =
            Double(plain) * inputPrice + Double(read) * (cacheReadPrice ?? inputPrice)
            + Double(write - long) * (cacheWritePrice ?? inputPrice)
            + Double(long) * (cacheWriteLongPrice ?? cacheWritePrice ?? inputPrice) + Double(usage.output) * outputPrice
        return dollars / 1_000_000
    }

    /// USD that caching saved on a call: its cached reads at the input rate, less what they cost,
    /// less the premium paid for its cache writes (negative for a call that only wrote).
    public func cacheSavings(of usage: TokenUsage) -> Double {
        var plain = usage
        plain.cacheRead = nil
        plain.cacheWrite = nil
        plain.cacheWriteLong = nil
        return cost(of: plain) - cost(of: usage)
    }
}

/// The model table, kept in this one place. Prices are list prices as published by the providers
/// (late 2025); update them here when they change.
public enum ModelTable {
    public static let all: [ModelSpec] = [
        // Anthropic: cache writes cost 1.25× input (2× with the one-hour lifetime), cache reads
        // 0.1×; a prefix shorter than the model's minimum is not cached.
        anthropic("claude-opus-4-5", context: 200_000, output: 64_000, input: 5, output: 25, minimumCache: 4096),
        anthropic("claude-opus-4-1", context: 200_000, output: 32_000, input: 15, output: 75, minimumCache: 1024),
        anthropic("claude-opus-4", context: 200_000, output: 32_000, input: 15, output: 75, minimumCache: 1024),
        anthropic("claude-sonnet-4-5", context: 200_000, output: 64_000, input: 3, output: 15, minimumCache: 1024),
        anthropic("claude-sonnet-4", context: 200_000, output: 64_000, input: 3, output: 15, minimumCache: 1024),
        anthropic("claude-haiku-4-5", context: 200_000, output: 64_000, input: 1, output: 5, minimumCache: 4096),
        anthropic("claude-3-7-sonnet", context: 200_000, output: 64_000, input: 3, output: 15, minimumCache: 1024),
        anthropic("claude-3-5-sonnet", context: 200_000, output: 8_192, input: 3, output: 15, minimumCache: 1024),
        anthropic("claude-3-5-haiku", context: 200_000, output: 8_192, input: 0.8, output: 4, minimumCache: 2048),
        anthropic("claude-3-opus", context: 200_000, output: 4_096, input: 15, output: 75, minimumCache: 1024),
        anthropic("claude-3-haiku", context: 200_000, output: 4_096, input: 0.25, output: 1.25, minimumCache: 2048),
        // OpenAI: cached input at the listed discount.
        openAI("gpt-5-mini", context: 400_000, output: 128_000, input: 0.25, cached: 0.025, output: 2),
        openAI("gpt-5-nano", context: 400_000, output: 128_000, input: 0.05, cached: 0.005, output: 0.4),
        openAI("gpt-5-chat", context: 128_000, output: 16_384, input: 1.25, cached: 0.125, output: 10),
        openAI("gpt-5", context: 400_000, output: 128_000, input: 1.25, cached: 0.125, output: 10),
        openAI("gpt-4.1-mini", context: 1_047_576, output: 32_768, input: 0.4, cached: 0.1, output: 1.6),
        openAI("gpt-4.1-nano", context: 1_047_576, output: 32_768, input: 0.1, cached: 0.025, output: 0.4),
        openAI("gpt-4.1", context: 1_047_576, output: 32_768, input: 2, cached: 0.5, output: 8),
        openAI("gpt-4o-mini", context: 128_000, output: 16_384, input: 0.15, cached: 0.075, output: 0.6),
        openAI("gpt-4o", context: 128_000, output: 16_384, input: 2.5, cached: 1.25, output: 10),
        openAI("gpt-4-turbo", context: 128_000, output: 4_096, input: 10, cached: nil, output: 30),
        openAI("o4-mini", context: 200_000, output: 100_000, input: 1.1, cached: 0.275, output: 4.4),
        openAI("o3-mini", context: 200_000, output: 100_000, input: 1.1, cached: 0.55, output: 4.4),
        openAI("o3", context: 200_000, output: 100_000, input: 2, cached: 0.5, output: 8),
        openAI("o1-mini", context: 128_000, output: 65_536, input: 1.1, cached: 0.55, output: 4.4),
        openAI("o1", context: 200_000, output: 100_000, input: 15, cached: 7.5, output: 60),
    ]

    /// The entry for a model: exact name first, then the longest matching prefix. A vendor prefix as
    /// OpenRouter writes it (`anthropic/claude-3.5-sonnet`) is dropped and dots read as dashes.
    public static func spec(for model: String) -> ModelSpec? {
        let bare = model.split(separator: "/").last.map(String.init) ?? model
        for candidate in [bare, bare.replacingOccurrences(of: ".", with: "-")] {
            if let exact = all.first(where: { $0.id == candidate }) { return exact }
            let prefixed = all.filter { candidate.hasPrefix($0.id + "-") || candidate.hasPrefix($0.id + "@") }
            if let best = prefixed.max(by: { $0.id.count < $1.id.count }) { return best }
        }
        return nil
    }

    /// Whether OpenAI treats the model as a reasoning model: the o-series (`o1`, `o3-mini`, …) and
    /// gpt-5 except its chat variant, by name, so a new snapshot or a routed name (`openai/o3`) is
    /// known without a table entry.
    public static func isReasoningModel(_ model: String) -> Bool {
        let bare = model.split(separator: "/").last.map(String.init) ?? model
        if bare.hasPrefix("gpt-5") { return !bare.hasPrefix("gpt-5-chat") }
        return bare.count > 1 && bare.first == "o" && bare.dropFirst().first?.isNumber == true
    }

    /// The entry to price and size an answer by: the model that answered (what the provider bills:
    /// the dated snapshot behind an alias, the model a router such as OpenRouter picked), else the
    /// model asked for when the table does not know the answering one.
    public static func spec(answeredBy answered: String?, asked: String) -> ModelSpec? {
        answered.flatMap(spec(for:)) ?? spec(for: asked)
    }

    private static func anthropic(
        _ id: String, context: Int, output maxOutput: Int, input: Double, output: Double, minimumCache: Int
    ) -> ModelSpec {
        ModelSpec(
            id: id, provider: .anthropic, contextWindow: context, maxOutput: maxOutput, inputPrice: input,
            outputPrice: output, cacheReadPrice: input * 0.1, cacheWritePrice: input * 1.25,
            cacheWriteLongPrice: input * 2, minimumCacheableTokens: minimumCache)
    }

    private static func openAI(
        _ id: String, context: Int, output maxOutput: Int, input: Double, cached: Double?, output: Double
    ) -> ModelSpec {
        ModelSpec(
            id: id, provider: .openai, contextWindow: context, maxOutput: maxOutput, inputPrice: input,
            outputPrice: output, cacheReadPrice: cached, cacheWritePrice: nil)
    }
}
