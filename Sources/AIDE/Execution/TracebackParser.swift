import Foundation

/// Finds the exception that ended a Python script in what the script printed.
public enum TracebackParser {
    private static let header = "Traceback (most recent call last):"
    private static let groupHeader = "Exception Group Traceback (most recent call last):"
    /// Lines that join a chained traceback to the one before it.
    private static let chainLines: Set<String> = [
        "During handling of the above exception, another exception occurred:",
        "The above exception was the direct cause of the following exception:",
    ]
    /// Errors Python reports for the main file without a `Traceback` header (the file never ran).
    private static let compileErrors: Set<String> = ["SyntaxError", "IndentationError", "TabError"]

    /// The last traceback in `output`: the exception's bare class name (`ValueError`, not
    /// `module.ValueError`) and the traceback text, from the start of its chain (`During handling of
    /// the above exception…`) through the exception line and whatever follows it. Nil when `output`
    /// holds no traceback. It does not judge whether the exception ended the script; callers check the
    /// exit status.
    public static func lastException(in output: String) -> (type: String, traceback: String)? {
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.last == "\r" ? line.dropLast() : line
        }
        guard let start = lines.lastIndex(where: isHeader) else { return compileError(in: lines) }
        guard let (type, _) = exceptionLine(after: start, in: lines) else { return nil }
        return (type, text(of: lines, from: chainStart(of: start, in: lines)))
    }

    private static func isHeader(_ line: Substring) -> Bool {
        line == header || (line.hasSuffix(groupHeader) && line.dropLast(groupHeader.count).allSatisfy { $0 == " " || $0 == "+" })
    }

    /// The exception type on the first unindented line after the header at `start`, and that line's index.
    /// Exception groups draw their frames behind `  | `, which is stripped first.
    private static func exceptionLine(after start: Int, in lines: [Substring]) -> (String, Int)? {
        let isGroup = lines[start] != header
        for index in lines.indices.dropFirst(start + 1) {
            var line = lines[index]
            if isGroup {
                line = line.drop { $0 == " " }
                guard line.first == "|" else { continue }
                line = line.dropFirst()
                if line.first == " " { line = line.dropFirst() }
            }
            guard let first = line.first, !first.isWhitespace else { continue }
            if let type = exceptionType(line) { return (type, index) }
        }
        return nil
    }

    /// `pkg.mod.SomeError: message` or `KeyboardInterrupt` → the bare class name; nil for other lines.
    private static func exceptionType(_ line: Substring) -> String? {
        let name = line.prefix { $0 != ":" }
        guard name.count == line.count || line.dropFirst(name.count).first == ":" else { return nil }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        let isIdentifier = { (part: Substring) in
            guard let first = part.first, first.isLetter || first == "_" else { return false }
            return part.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
        }
        guard !parts.isEmpty, parts.allSatisfy(isIdentifier) else { return nil }
        return String(parts.last!)
    }

    /// Walks back over `During handling…` / `The above exception…` links to the first traceback of the chain.
    private static func chainStart(of start: Int, in lines: [Substring]) -> Int {
        var start = start
        while true {
            var index = start - 1
            while index >= 0, lines[index].allSatisfy(\.isWhitespace) { index -= 1 }
            guard index >= 0, chainLines.contains(String(lines[index])),
                let previous = lines[..<index].lastIndex(where: isHeader)
            else { return start }
            start = previous
        }
    }

    /// A syntax error in the main file: `  File "…", line N` … `SyntaxError: message`, no header.
    private static func compileError(in lines: [Substring]) -> (type: String, traceback: String)? {
        guard let start = lines.lastIndex(where: { $0.hasPrefix("  File \"") }) else { return nil }
        for index in lines.indices.dropFirst(start + 1) {
            guard let first = lines[index].first, !first.isWhitespace else { continue }
            guard let type = exceptionType(lines[index]), compileErrors.contains(type) else { return nil }
            return (type, text(of: lines, from: start))
        }
        return nil
    }

    private static func text(of lines: [Substring], from start: Int) -> String {
        var text = lines[start...].joined(separator: "\n")
        while text.last?.isWhitespace == true { text.removeLast() }
        return text
    }
}
