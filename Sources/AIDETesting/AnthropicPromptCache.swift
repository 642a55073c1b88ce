import Foundation
import Synchronization

/// Anthropic's prompt cache, kept by a loopback server: a request whose prefix up to its
/// `cache_control` breakpoint (tools, then the system blocks up to the marked one) was written by
/// an earlier request reads it at the cache rate; otherwise it writes it. Tokens are counted as
/// four bytes each, and a prefix below `minimumTokens` is not cached, as Anthropic does. The tools
/// are part of the prefix but `tool_choice` is not (Anthropic keys only message-level cache entries
/// on it), so a call that forces a tool and one that sends the same tools with `tool_choice: none`
/// share the prefix. A breakpoint with `"ttl": "1h"` writes with the one-hour lifetime, and the
/// usage splits its writes by lifetime (`cache_creation`) as Anthropic's does.
public final class AnthropicPromptCache: Sendable {
    private let written = Mutex<Set<String>>([])
    public let minimumTokens: Int

    public init(minimumTokens: Int = 1024) {
        self.minimumTokens = minimumTokens
    }

    /// The usage Anthropic would report for a Messages request body (`output` tokens given).
    public func usage(for body: [String: Any], output: Int) -> AnthropicFixtures.Usage {
        let tools = Self.canonical(body["tools"] ?? [])
        var system: [String] = []
        var prefix: String?
        var long = false
        if let text = body["system"] as? String {
            system = [text]
        } else if let blocks = body["system"] as? [[String: Any]] {
            for block in blocks {
                system.append(block["text"] as? String ?? "")
                if let control = block["cache_control"] as? [String: Any] {
                    prefix = tools + system.joined()
                    long = control["ttl"] as? String == "1h"
                }
            }
        }
        let messages = Self.canonical(body["messages"] ?? [])
        let total = Self.tokens(tools + system.joined() + messages)
        guard let prefix, Self.tokens(prefix) >= minimumTokens else {
            return AnthropicFixtures.Usage(input: total, output: output)
        }
        let cached = Self.tokens(prefix)
        let hit = written.withLock { seen in !seen.insert(prefix).inserted }
        var usage = AnthropicFixtures.Usage(
            input: total - cached, output: output, cacheCreation: hit ? 0 : cached, cacheRead: hit ? cached : 0)
        if long { usage.cacheCreation1h = usage.cacheCreation }
        return usage
    }

    static func tokens(_ text: String) -> Int { text.utf8.count / 4 }

    static func canonical(_ value: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }
}
