import Foundation

/// A plan and its script, taken from a code model's answer.
public struct Proposal: Sendable, Hashable {
    public var plan: String
    public var code: String
    /// The SEARCH/REPLACE blocks that made `code` from the parent's script; nil for a whole script.
    public var patch: String? = nil
}

/// Takes the code out of an answer as models really write it.
///
/// Line endings may be `\n`, `\r\n` or `\r`. A fence is three or more backticks or tildes (indented
/// or not), closed by a line of the same character at least as long; an info string counts as
/// Python when its first word is `python`, `py` or `python3` (`{.python}` and `python:train.py`
/// too). A final fence left open (the answer was cut) runs to the end of the answer.
///
/// Several blocks: the script is the **largest block that compiles**, Python-tagged blocks first,
/// then untagged ones. Models often put a two-line snippet or a usage example before or after the
/// full script, and the full script is the one that runs; "largest" picks it without guessing from
/// the prose, and "compiles" drops a cut final block when a complete one exists. Blocks tagged with
/// another language (bash, text, json, …) are never taken. An answer with no fence at all is taken
/// whole when it compiles (a model that answered with bare code). The plan is the prose before the
/// chosen block.
public enum CodeExtraction {
    /// One fenced block of an answer.
    public struct Block: Sendable, Hashable {
        /// The info string's first word, lowercased; empty when there is none.
        public var language: String
        public var code: String
        /// Index of the opening fence's line.
        public var startLine: Int
        /// False when the answer ended inside the block.
        public var closed: Bool

        public var isPython: Bool { CodeExtraction.pythonNames.contains(language) }
    }

    static let pythonNames: Set<String> = ["python", "py", "python3"]

    /// The answer's lines, whatever the line endings.
    static func lines(of answer: String) -> [Substring] {
        // "\r\n" is one Character in Swift: split on every newline character, which covers it.
        answer.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
    }

    /// Every fenced block of the answer, in order.
    public static func blocks(in answer: String) -> [Block] {
        let lines = lines(of: answer)
        var blocks: [Block] = []
        var open: (fence: Character, length: Int, indent: Int, language: String, start: Int, body: [Substring])?
        for (number, line) in lines.enumerated() {
            let indent = line.prefix { $0 == " " || $0 == "\t" }.count
            let rest = line.dropFirst(indent)
            let marker = rest.first
            let run = (marker == "`" || marker == "~") ? rest.prefix { $0 == marker }.count : 0
            if var block = open {
                if run >= block.length, marker == block.fence,
                    rest.dropFirst(run).allSatisfy({ $0 == " " || $0 == "\t" })
                {
                    blocks.append(Block(
                        language: block.language, code: code(block.body, indent: block.indent), startLine: block.start,
                        closed: true))
                    open = nil
                } else {
                    block.body.append(line)
                    open = block
                }
            } else if run >= 3, let marker {
                let info = rest.dropFirst(run)
                // A backtick fence's info string holds no backtick (else it is inline code).
                if marker == "`", info.contains("`") { continue }
                open = (marker, run, indent, language(of: info), number, [])
            }
        }
        if let block = open {
            blocks.append(Block(
                language: block.language, code: code(block.body, indent: block.indent), startLine: block.start,
                closed: false))
        }
        return blocks
    }

    /// The proposals an answer may hold, most likely first: Python-tagged blocks largest first, then
    /// untagged blocks largest first, then (when there is no fence) the whole answer. The caller
    /// takes the first whose code compiles.
    public static func candidates(from answer: String) -> [Proposal] {
        let lines = lines(of: answer)
        let blocks = blocks(in: answer).filter { !$0.code.allSatisfy(\.isWhitespace) }
        func ordered(_ chosen: [Block]) -> [Block] {
            // Largest first; of two the same size, the later (models put the final version last).
            chosen.enumerated().sorted {
                $0.element.code.count != $1.element.code.count
                    ? $0.element.code.count > $1.element.code.count : $0.offset > $1.offset
            }.map(\.element)
        }
        var result = (ordered(blocks.filter(\.isPython)) + ordered(blocks.filter { $0.language.isEmpty })).map { block in
            Proposal(
                plan: lines[..<block.startLine].joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines),
                code: block.code)
        }
        if blocks.isEmpty, !answer.allSatisfy(\.isWhitespace), !lines.contains(where: isFence) {
            result.append(Proposal(plan: "", code: code(lines, indent: 0)))
        }
        return result
    }

    /// The most likely proposal, without compiling anything (the first candidate).
    public static func proposal(from answer: String) -> Proposal? {
        candidates(from: answer).first
    }

    /// The first candidate whose code compiles (`problem` returns nil for code that compiles), or
    /// why there is none.
    public static func proposal(
        from answer: String, problem: (String) async throws -> String?
    ) async throws -> Result<Proposal, ExtractionFailure> {
        let candidates = candidates(from: answer)
        guard !candidates.isEmpty else { return .failure(.noCode) }
        var first: String?
        for candidate in candidates {
            guard let issue = try await problem(candidate.code) else { return .success(candidate) }
            first = first ?? issue
        }
        return .failure(.doesNotCompile(first ?? "", blocks: candidates.count))
    }

    /// Why an answer gave no usable code.
    public enum ExtractionFailure: Error, Sendable, Hashable, CustomStringConvertible {
        case noCode
        case doesNotCompile(String, blocks: Int)

        public var description: String {
            switch self {
            case .noCode: return "held no python code block"
            case .doesNotCompile(let problem, let blocks):
                return blocks == 1 ? "did not compile: \(problem)" : "none of its \(blocks) code blocks compiled (largest: \(problem))"
            }
        }
    }

    private static func isFence(_ line: Substring) -> Bool {
        let rest = line.drop { $0 == " " || $0 == "\t" }
        return rest.hasPrefix("```") || rest.hasPrefix("~~~")
    }

    /// The info string's first word: `python title="x.py"` → python, `{.python}` → python,
    /// `python:train.py` → python.
    private static func language(of info: Substring) -> String {
        let word = info.drop { $0 == " " || $0 == "\t" }.prefix { !$0.isWhitespace }
        let name = word.trimmingCharacters(in: CharacterSet(charactersIn: "{}.")).lowercased()
        return String(name.prefix { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "+" || $0 == "_" })
    }

    /// Joins a block's lines, removing the fence's own indentation from each (as Markdown does) and
    /// the blank lines around the code.
    private static func code(_ lines: [Substring], indent: Int) -> String {
        let body = lines.map { line -> Substring in
            var stripped = line
            var removed = 0
            while removed < indent, let first = stripped.first, first == " " || first == "\t" {
                stripped = stripped.dropFirst()
                removed += 1
            }
            return stripped
        }
        var text = body.joined(separator: "\n")
        while text.hasSuffix("\n") || text.hasSuffix(" ") { text.removeLast() }
        while let first = text.first, first == "\n" { text.removeFirst() }
        return text
    }
}
