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

/// A step's prompt. The system message is the run's stable prefix (the same bytes for every call of
/// a run), then what some other calls of the run send too (`shared`: a node's script and what it
/// printed, the memory), in blocks a provider's prompt cache can serve. The user message is what
/// this step alone asks. The shared blocks sit in the system message because Anthropic keys cached
/// message blocks on `tool_choice`, system blocks not: a review (which forces its function) and a
/// code call then read one cached copy of the same script.
public struct StepPrompt: Sendable, Hashable {
    public var prefix: Prompt
    /// Each block's text is the same bytes whatever follows it, so a later call that sends the
    /// same blocks and more finds them cached.
    public var shared: [Block]
    public var step: Prompt

    /// One block of the system message after the prefix; `breakpoint`: a cache breakpoint may end it.
    public struct Block: Sendable, Hashable {
        public var text: String
        public var breakpoint: Bool

        public init(_ text: String, breakpoint: Bool) {
            self.text = text
            self.breakpoint = breakpoint
        }
    }

    public init(prefix: Prompt, shared: [Block] = [], step: Prompt) {
        self.prefix = prefix
        self.shared = shared
        self.step = step
    }

    /// The stable prefix alone: the same for every call of a run.
    public var stablePrefix: String { prefix.rendered() }
    /// The system message: the stable prefix, then the shared blocks.
    public var system: String { stablePrefix + shared.map(\.text).joined() }
    /// The user message: this step.
    public var user: String { step.rendered() }
    /// The system message's blocks, for a provider's prompt cache (`ModelOptions.systemBlocks`): the
    /// stable prefix, ending in a breakpoint, then the shared blocks.
    public var systemBlocks: [MessageBlock] {
        [MessageBlock(length: stablePrefix.utf8.count, breakpoint: true)]
            + shared.map { MessageBlock(length: $0.text.utf8.count, breakpoint: $0.breakpoint) }
    }
}
