import Foundation

/// One SEARCH/REPLACE block of an answer in diff form.
public struct PatchBlock: Sendable, Hashable {
    /// 1-based position of the block in the answer, for errors.
    public var number: Int
    /// Lines copied from the current script.
    public var search: [String]
    /// The lines that replace them (empty: the SEARCH lines are deleted).
    public var replace: [String]

    public init(number: Int, search: [String], replace: [String]) {
        self.number = number
        self.search = search
        self.replace = replace
    }
}

/// Why a patch could not be applied; each case names its block.
public enum PatchError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The answer holds no `<<<<<<< SEARCH` block.
    case noBlocks
    /// A block is not closed by its `=======` or `>>>>>>> REPLACE` line.
    case unterminated(block: Int)
    /// A block's SEARCH part is empty: it would match everywhere.
    case emptySearch(block: Int)
    /// The SEARCH lines are nowhere in the script, not even with whitespace forgiven.
    case noMatch(block: Int, firstLine: String)
    /// The SEARCH lines are in the script more than once.
    case severalMatches(block: Int, count: Int)
    /// The blocks applied, but the script they made does not compile (Python's message).
    case doesNotCompile(problem: String)

    public var description: String {
        switch self {
        case .noBlocks:
            return "the answer holds no <<<<<<< SEARCH / ======= / >>>>>>> REPLACE block"
        case .unterminated(let block):
            return "block \(block) is not closed by its ======= and >>>>>>> REPLACE lines"
        case .emptySearch(let block):
            return "block \(block) has an empty SEARCH part"
        case .noMatch(let block, let line):
            return "block \(block)'s SEARCH text matches nowhere in the script (it starts `\(line.count > 80 ? line.prefix(80) + "…" : line)`)"
        case .severalMatches(let block, let count):
            return "block \(block)'s SEARCH text matches \(count) places in the script; it must match exactly one"
        case .doesNotCompile(let problem):
            return "the patched script did not compile: \(problem)"
        }
    }
}

/// Edits in diff form: SEARCH/REPLACE blocks parsed from an answer and applied to a script.
///
/// Blocks apply one after another, each to the script as the blocks before it left it, so their
/// order in the answer need not follow the script's. A block's SEARCH lines must match exactly one
/// run of whole lines: exactly first; failing that, with trailing whitespace ignored; failing that,
/// shifted by one uniform indentation (the model copied a nested block at the wrong depth), in
/// which case the REPLACE lines get the same shift. Line endings may be `\n` or `\r\n`; the script
/// keeps its own.
public enum Patch {
    public static let searchMarker = "<<<<<<< SEARCH"
    public static let dividerMarker = "======="
    public static let replaceMarker = ">>>>>>> REPLACE"

    /// The blocks of an answer, in order; text outside blocks (the plan, fences) is ignored.
    public static func blocks(in answer: String) throws(PatchError) -> [PatchBlock] {
        enum Part { case outside, search, replace }
        var blocks: [PatchBlock] = []
        var part = Part.outside
        var search: [String] = []
        var replace: [String] = []
        for line in lines(of: answer) {
            let marker = line.trimmingTrailingWhitespace
            switch part {
            case .outside:
                if isMarker(marker, "<", "SEARCH") {
                    part = .search
                    search = []
                    replace = []
                }
            case .search:
                if isMarker(marker, "=", nil) {
                    part = .replace
                } else if isMarker(marker, "<", "SEARCH") || isMarker(marker, ">", "REPLACE") {
                    throw .unterminated(block: blocks.count + 1)
                } else {
                    search.append(line)
                }
            case .replace:
                if isMarker(marker, ">", "REPLACE") {
                    blocks.append(PatchBlock(number: blocks.count + 1, search: search, replace: replace))
                    part = .outside
                } else if isMarker(marker, "<", "SEARCH") {
                    throw .unterminated(block: blocks.count + 1)
                } else {
                    replace.append(line)
                }
            }
        }
        if part != .outside { throw .unterminated(block: blocks.count + 1) }
        guard !blocks.isEmpty else { throw .noBlocks }
        return blocks
    }

    /// Whether an answer holds at least one SEARCH marker line (it was written in diff form).
    public static func looksLikePatch(_ answer: String) -> Bool {
        lines(of: answer).contains { isMarker($0.trimmingTrailingWhitespace, "<", "SEARCH") }
    }

    /// The script with every block of `answer` applied.
    public static func apply(_ answer: String, to script: String) throws(PatchError) -> String {
        try apply(blocks(in: answer), to: script)
    }

    /// The script with `blocks` applied in order.
    public static func apply(_ blocks: [PatchBlock], to script: String) throws(PatchError) -> String {
        let crlf = script.contains("\r\n")
        var code = lines(of: script)
        for block in blocks {
            code = try apply(block, to: code)
        }
        return code.joined(separator: crlf ? "\r\n" : "\n")
    }

    /// The blocks written out in their canonical form, one after another.
    public static func text(of blocks: [PatchBlock]) -> String {
        blocks.map { block in
            ([searchMarker] + block.search + [dividerMarker] + block.replace + [replaceMarker]).joined(separator: "\n")
        }.joined(separator: "\n")
    }

    /// Blocks that turn `old` into `new`, derived from their lines (a longest common subsequence),
    /// each with a line of context on either side; nil when the scripts are too long to compare or
    /// the blocks would not apply back to `old` exactly (a SEARCH text found twice). Used to show a
    /// whole-script answer as its change against the parent.
    public static func derived(from old: String, to new: String, maxCells: Int = 4_000_000) -> [PatchBlock]? {
        let a = lines(of: old)
        let b = lines(of: new)
        guard a.count * b.count <= maxCells, a != b else { return nil }
        // common[i][j]: the longest common subsequence of a[i...] and b[j...].
        var common = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                common[i][j] = a[i] == b[j] ? common[i + 1][j + 1] + 1 : max(common[i + 1][j], common[i][j + 1])
            }
        }
        // The changed regions, as (old range, new range).
        var hunks: [(Range<Int>, Range<Int>)] = []
        var (i, j) = (0, 0)
        while i < a.count || j < b.count {
            if i < a.count, j < b.count, a[i] == b[j] {
                i += 1
                j += 1
                continue
            }
            let (startA, startB) = (i, j)
            while i < a.count || j < b.count {
                if i < a.count, j < b.count, a[i] == b[j] { break }
                if j < b.count, i == a.count || common[i][j + 1] >= common[i + 1][j] { j += 1 } else { i += 1 }
            }
            hunks.append((startA..<i, startB..<j))
        }
        // A line of context on either side (the same lines in both scripts); hunks that then touch merge.
        var blocks: [(Range<Int>, Range<Int>)] = []
        for (oldRange, newRange) in hunks {
            let before = min(1, oldRange.lowerBound, newRange.lowerBound)
            let after = min(1, a.count - oldRange.upperBound, b.count - newRange.upperBound)
            var range = (oldRange.lowerBound - before..<oldRange.upperBound + after,
                         newRange.lowerBound - before..<newRange.upperBound + after)
            if let last = blocks.last, range.0.lowerBound <= last.0.upperBound {
                range = (last.0.lowerBound..<range.0.upperBound, last.1.lowerBound..<range.1.upperBound)
                blocks.removeLast()
            }
            blocks.append(range)
        }
        let result = blocks.enumerated().map { index, block in
            PatchBlock(number: index + 1, search: Array(a[block.0]), replace: Array(b[block.1]))
        }
        guard let applied = try? apply(result, to: old), lines(of: applied) == b else { return nil }
        return result
    }

    /// A stored patch as a diff against the parent's script: per block, its SEARCH lines as `-`
    /// lines and its REPLACE lines as `+` lines (the patch text itself when it cannot be read).
    public static func diff(_ patch: String) -> String {
        guard let blocks = try? blocks(in: patch) else { return patch }
        return blocks.map { block in
            (["@@ block \(block.number) @@"] + block.search.map { "-" + $0 } + block.replace.map { "+" + $0 })
                .joined(separator: "\n")
        }.joined(separator: "\n")
    }

    /// The plan of an answer in diff form: the prose before its first block (and before a fence
    /// that opens it).
    public static func plan(of answer: String) -> String {
        var prose: [String] = []
        for line in lines(of: answer) {
            if isMarker(line.trimmingTrailingWhitespace, "<", "SEARCH") { break }
            prose.append(line)
        }
        while let last = prose.last, last.trimmingTrailingWhitespace.isEmpty || last.hasPrefix("```") || last.hasPrefix("~~~") {
            prose.removeLast()
        }
        return prose.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func apply(_ block: PatchBlock, to code: [String]) throws(PatchError) -> [String] {
        var search = block.search
        // A model often leaves a blank line after its SEARCH lines; it cannot carry meaning.
        while search.count > 1, search.last?.trimmingTrailingWhitespace.isEmpty == true { search.removeLast() }
        guard search.contains(where: { !$0.trimmingTrailingWhitespace.isEmpty }) else {
            throw .emptySearch(block: block.number)
        }
        let starts = Array(stride(from: 0, through: code.count - search.count, by: 1))
        // Exact, then trailing whitespace forgiven, then one indentation shift for the whole block.
        let exact = starts.filter { start in zip(code[start...], search).allSatisfy { $0 == $1 } }
        if let start = try single(exact, block) {
            return splice(code, at: start, count: search.count, with: block.replace)
        }
        let loose = starts.filter { start in
            zip(code[start...], search).allSatisfy { $0.trimmingTrailingWhitespace == $1.trimmingTrailingWhitespace }
        }
        if let start = try single(loose, block) {
            return splice(code, at: start, count: search.count, with: block.replace)
        }
        let shifted = starts.compactMap { start in shift(of: Array(code[start..<start + search.count]), from: search).map { (start, $0) } }
        if let match = try single(shifted.map(\.0), block), let shift = shifted.first?.1 {
            return splice(code, at: match, count: search.count, with: block.replace.map { shift.applied(to: $0) })
        }
        throw .noMatch(block: block.number, firstLine: search.first { !$0.trimmingTrailingWhitespace.isEmpty }?.trimmingCharacters(in: .whitespaces) ?? "")
    }

    private static func single(_ matches: [Int], _ block: PatchBlock) throws(PatchError) -> Int? {
        if matches.count > 1 { throw .severalMatches(block: block.number, count: matches.count) }
        return matches.first
    }

    private static func splice(_ code: [String], at start: Int, count: Int, with replacement: [String]) -> [String] {
        Array(code[..<start]) + replacement + Array(code[(start + count)...])
    }

    /// A uniform change of indentation: whitespace added to, or taken from, the start of each line.
    struct Shift: Equatable {
        var added: String
        var removed: String

        func applied(to line: String) -> String {
            guard !line.trimmingTrailingWhitespace.isEmpty else { return line }
            if !added.isEmpty { return added + line }
            return line.hasPrefix(removed) ? String(line.dropFirst(removed.count)) : String(line.drop { $0 == " " || $0 == "\t" })
        }
    }

    /// The one shift that turns `search` into `code` line by line (blank lines match blank lines),
    /// or nil.
    static func shift(of code: [String], from search: [String]) -> Shift? {
        var found: Shift?
        for (line, wanted) in zip(code, search) {
            let have = line.trimmingTrailingWhitespace
            let want = wanted.trimmingTrailingWhitespace
            if have.isEmpty || want.isEmpty {
                if have.isEmpty != want.isEmpty { return nil }
                continue
            }
            let shift: Shift
            if have.hasSuffix(want), have.count > want.count {
                let prefix = String(have.dropLast(want.count))
                guard prefix.allSatisfy({ $0 == " " || $0 == "\t" }) else { return nil }
                shift = Shift(added: prefix, removed: "")
            } else if want.hasSuffix(have), want.count > have.count {
                let prefix = String(want.dropLast(have.count))
                guard prefix.allSatisfy({ $0 == " " || $0 == "\t" }) else { return nil }
                shift = Shift(added: "", removed: prefix)
            } else {
                return nil
            }
            if let found, found != shift { return nil }
            found = shift
        }
        return found
    }

    /// Lines split on `\n`, `\r\n` or `\r`, without their ends.
    static func lines(of text: String) -> [String] {
        text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
    }

    /// A marker line: five to nine of `character` then, when `word` is given, optionally a space and the word.
    private static func isMarker(_ line: String, _ character: Character, _ word: String?) -> Bool {
        let run = line.prefix { $0 == character }.count
        guard (5...9).contains(run) else { return false }
        let rest = line.dropFirst(run).trimmingCharacters(in: .whitespaces)
        return word.map { rest == $0 } ?? rest.isEmpty
    }
}

extension String {
    fileprivate var trimmingTrailingWhitespace: String {
        var end = endIndex
        while end > startIndex, let last = self[..<end].last, last == " " || last == "\t" { end = index(before: end) }
        return String(self[..<end])
    }
}
