/// A plan and its script, taken from a code model's answer.
public struct Proposal: Sendable, Hashable {
    public var plan: String
    public var code: String
}

/// Takes the code out of an answer: the first fenced block tagged python (or py), else the first
/// untagged one; the plan is the prose before it. An unterminated fence (a truncated answer) has
/// no code.
public enum CodeExtraction {
    public static func proposal(from answer: String) -> Proposal? {
        struct Block { var language: String; var lines: [Substring]; var start: Int }
        var blocks: [Block] = []
        var open: Block?
        let lines = answer.split(separator: "\n", omittingEmptySubsequences: false)
        for (number, line) in lines.enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if var block = open {
                if trimmed == "```" {
                    blocks.append(block)
                    open = nil
                } else {
                    block.lines.append(line)
                    open = block
                }
            } else if trimmed.hasPrefix("```") {
                let language = trimmed.dropFirst(3).trimmingCharacters(in: .whitespaces).lowercased()
                open = Block(language: language, lines: [], start: number)
            }
        }
        let chosen = blocks.first { ["python", "py", "python3"].contains($0.language) } ?? blocks.first { $0.language.isEmpty }
        guard let chosen else { return nil }
        let code = chosen.lines.joined(separator: "\n").trimmingCharacters(in: .newlines)
        guard !code.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return nil }
        let plan = lines[..<chosen.start].joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        return Proposal(plan: plan, code: code)
    }
}
