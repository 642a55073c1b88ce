/// How improve and debug steps ask for their code (`agent.edit_format`).
public enum EditFormat: String, Sendable, Hashable, Codable, CaseIterable {
    /// Always the whole script.
    case full
    /// SEARCH/REPLACE blocks against the parent's script for improve and debug steps.
    case diff
    /// Diff when the parent's script is longer than `autoThreshold` lines, else the whole script.
    case auto

    /// Lines of the parent's script above which `auto` asks for a diff: below it a whole script
    /// costs few output tokens and a patch saves little.
    public static let autoThreshold = 40

    /// The form a step that edits `parent`'s script asks for.
    public func form(editing parent: String) -> EditForm {
        switch self {
        case .full: return .full
        case .diff: return .diff
        case .auto:
            return parent.split(whereSeparator: \.isNewline).count > Self.autoThreshold ? .diff : .full
        }
    }
}

/// The form one step's answer is asked in.
public enum EditForm: String, Sendable, Hashable, Codable {
    /// The complete script in a fenced block.
    case full
    /// SEARCH/REPLACE blocks (`Patch`).
    case diff
}
