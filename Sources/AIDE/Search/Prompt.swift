/// A prompt as data: titled sections holding text, bullet lists, code, or further sections,
/// rendered as Markdown headings (`#`, `##`, …) the way AIDE renders its prompt dictionaries.
public indirect enum Prompt: Sendable, Hashable {
    case text(String)
    case bullets([String])
    case code(String, language: String)
    case sections([Section])

    public struct Section: Sendable, Hashable {
        public var title: String
        public var body: Prompt

        public init(_ title: String, _ body: Prompt) {
            self.title = title
            self.body = body
        }
    }

    /// The prompt as Markdown.
    public func rendered(level: Int = 1) -> String {
        switch self {
        case .text(let text):
            return text
        case .bullets(let items):
            return items.map { "- " + $0 }.joined(separator: "\n")
        case .code(let code, let language):
            return "```\(language)\n\(code)\n```"
        case .sections(let sections):
            return sections.map { section in
                String(repeating: "#", count: min(level, 6)) + " " + section.title + "\n\n"
                    + section.body.rendered(level: level + 1)
            }.joined(separator: "\n\n")
        }
    }
}

/// A step's prompt in two parts: the run's stable prefix, sent as the system message (and cached
/// by providers that cache), and what this step asks, sent as the user message.
public struct StepPrompt: Sendable, Hashable {
    public var prefix: Prompt
    public var step: Prompt

    public init(prefix: Prompt, step: Prompt) {
        self.prefix = prefix
        self.step = step
    }

    /// The system message: the stable prefix.
    public var system: String { prefix.rendered() }
    /// The user message: this step.
    public var user: String { step.rendered() }
}
