/// Prompt caching of a run's stable prefix (`agent.prompt_cache`).
///
/// The prefix is the system message: every step of a run sends the same one (see
/// `Prompts.prefix`). Anthropic caches it when asked, with a `cache_control` breakpoint at its
/// end; OpenAI and servers like it cache a repeated prefix on their own, and `prompt_cache_key`
/// keeps one run's calls on the same cache.
public enum PromptCacheSetting: String, Sendable, Hashable, Codable, CaseIterable {
    /// Cache with the provider's default lifetime (Anthropic: 5 minutes, renewed on every hit).
    case auto
    /// No breakpoint and no cache key.
    case off
    /// Anthropic's extended lifetime of one hour (its writes cost 2× the input rate, not 1.25×).
    case oneHour = "1h"

    /// The beta header that turned on the one-hour lifetime; sent with it, which API versions that
    /// know the feature without it ignore.
    public static let extendedTTLBeta = "extended-cache-ttl-2025-04-11"

    /// Anthropic's breakpoint at the end of `prefix` (everything a request holds up to it) to
    /// `model`, or nil when caching is off or the prefix is shorter than the model caches (a
    /// breakpoint there would only be ignored). Tokens are estimated at four characters each, which errs on the short
    /// side for prose and code, so a breakpoint is never sent below the minimum.
    public func anthropicBreakpoint(prefix system: String, model: String) -> JSONValue? {
        guard self != .off else { return nil }
        let minimum = ModelTable.spec(for: model)?.minimumCacheableTokens ?? ModelSpec.defaultMinimumCacheableTokens
        guard system.utf8.count / 4 >= minimum else { return nil }
        return self == .oneHour ? ["type": "ephemeral", "ttl": "1h"] : ["type": "ephemeral"]
    }
}

/// One content block of a system message, for prompt caching: its length in UTF-8 bytes, and
/// whether a cache breakpoint ends it. The blocks of a message add up to the message; the text up to
/// a breakpoint is one that later calls of the run send again (the stable prefix; a node's script
/// and what it printed; the memory), so a provider that caches by block (Anthropic) serves it.
public struct MessageBlock: Sendable, Hashable, Codable {
    public var length: Int
    public var breakpoint: Bool

    public init(length: Int, breakpoint: Bool) {
        self.length = length
        self.breakpoint = breakpoint
    }

    /// Anthropic takes at most four breakpoints a request.
    public static let maxBreakpoints = 4

    /// `text` cut into the blocks' texts, or nil when the blocks do not add up to it (or cut a
    /// character in two).
    public static func split(_ text: String, into blocks: [MessageBlock]) -> [(text: String, breakpoint: Bool)]? {
        let bytes = Array(text.utf8)
        guard blocks.allSatisfy({ $0.length >= 0 }), blocks.map(\.length).reduce(0, +) == bytes.count else { return nil }
        var parts: [(text: String, breakpoint: Bool)] = []
        var start = 0
        for block in blocks where block.length > 0 {
            guard let part = String(validating: bytes[start..<start + block.length], as: UTF8.self) else { return nil }
            parts.append((part, block.breakpoint))
            start += block.length
        }
        return parts
    }
}
