/// What the search has learnt, as its prompts show it: one entry per good node (the step that made
/// it, its plan, what its review found, its metric), oldest first, within a length limit.
///
/// When the entries outgrow the limit, the oldest go in one cut, down to half the limit, rather than
/// one per new entry: the memory then only grows at its end for a while, so the calls of a run
/// that show it start with the same bytes and a provider's prompt cache serves them.
public struct Memory: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        /// The step of the node the entry is about.
        public var step: Int
        public var text: String
    }

    public var entries: [Entry]

    public init(entries: [Entry] = []) {
        self.entries = entries
    }

    /// The memory of `journal`'s good nodes, in the order the journal took them.
    public init(of journal: Journal, limit: Int = 6000) {
        let all = journal.goodNodes.map { node in
            var text = "Step \(node.step). Design: \(node.plan)"
            if let review = node.review { text += "\nResults: \(review.summary)" }
            if let metric = node.metric { text += "\nValidation metric: \(Prompts.formatMetric(metric))" }
            return Entry(step: node.step, text: text)
        }
        var start = 0
        var length = 0
        for index in all.indices {
            length += all[index].text.count + Self.separator.count
            guard length > limit else { continue }
            while start <= index, length > limit / 2 {
                length -= all[start].text.count + Self.separator.count
                start += 1
            }
        }
        self.entries = Array(all[start...])
    }

    public var isEmpty: Bool { entries.isEmpty }

    /// The steps whose nodes the memory shows.
    public var steps: Set<Int> { Set(entries.map(\.step)) }

    /// The entries as one text.
    public var text: String { entries.map(\.text).joined(separator: Self.separator) }

    static let separator = "\n-------------------------------\n"

    /// The memory as blocks of a prompt's shared part under `title`, one per entry, so that a prompt whose
    /// memory grew by an entry starts with the blocks of the one before.
    func blocks(title: String, empty: String) -> [StepPrompt.Block] {
        let heading = "# \(title)\n\n"
        guard !entries.isEmpty else { return [.init(heading + empty, breakpoint: true)] }
        return entries.enumerated().map { index, entry in
            StepPrompt.Block(
                (index == 0 ? heading : Self.separator) + entry.text, breakpoint: index == entries.count - 1)
        }
    }
}
