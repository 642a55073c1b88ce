import Foundation

/// Text from a script or a model, made safe to print on a terminal: control characters (ESC, which
/// starts colour, cursor and title sequences; BEL; a carriage return that overwrites a line; the
/// C1 controls) are shown as visible symbols instead of acting. Newlines and tabs stay.
public enum TerminalText {
    public static func harmless(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if !isControl(scalar) {
                out.append(scalar)
            } else if scalar.value < 0x20 {
                out.append(Unicode.Scalar(0x2400 + scalar.value)!)  // ␛ for ESC, ␇ for BEL, …
            } else if scalar.value == 0x7F {
                out.append("\u{2421}")  // ␡
            } else {
                out.append(contentsOf: String(format: "\\u{%02X}", scalar.value).unicodeScalars)
            }
        }
        return String(out)
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0A, 0x09: return false
        case 0x00..<0x20, 0x7F, 0x80..<0xA0: return true
        default: return false
        }
    }
}

extension NodeDetail {
    /// Every field a script or a model wrote, through `TerminalText.harmless`.
    public func harmlessForTerminal() -> NodeDetail {
        var copy = self
        copy.node.body.plan = TerminalText.harmless(node.body.plan)
        copy.node.body.code = TerminalText.harmless(node.body.code)
        copy.node.body.output = node.body.output.map(TerminalText.harmless)
        copy.node.body.traceback = node.body.traceback.map(TerminalText.harmless)
        copy.node.body.exceptionType = node.body.exceptionType.map(TerminalText.harmless)
        copy.node.row.bugReasons = node.row.bugReasons.map(TerminalText.harmless)
        copy.node.body.error = node.body.error.map(TerminalText.harmless)
        copy.node.body.review?.summary = TerminalText.harmless(node.body.review?.summary ?? "")
        return copy
    }
}
