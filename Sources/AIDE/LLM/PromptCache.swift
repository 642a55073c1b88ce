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

    /// Anthropic's breakpoint for a system message of `system` characters to `model`, or nil when
    /// caching is off or the message is shorter than the model caches (a breakpoint there would
    /// only be ignored). Tokens are estimated at four characters each, which errs on the short
    /// side for prose and code, so a breakpoint is never sent below the minimum.
    public func anthropicBreakpoint(system: String, model: String) -> JSONValue? {
        guard self != .off else { return nil }
        let minimum = ModelTable.spec(for: model)?.minimumCacheableTokens ?? ModelSpec.defaultMinimumCacheableTokens
        guard system.utf8.count / 4 >= minimum else { return nil }
        return self == .oneHour ? ["type": "ephemeral", "ttl": "1h"] : ["type": "ephemeral"]
    }
}
