import Foundation

/// Turns any error the library throws into the one line a user reads: the one place errors become
/// words. Each layer's error type says what went wrong in its `description`; errors from outside
/// the library (Foundation, the system) give their localized description, never a raw dump.
public enum ErrorText {
    public static func line(_ error: any Error) -> String {
        let text: String
        if error is CocoaError || error is POSIXError || type(of: error) is NSError.Type {
            text = error.localizedDescription
        } else {
            text = String(describing: error)
        }
        return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: " ")
    }
}
