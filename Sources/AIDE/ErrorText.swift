import Foundation

/// Turns any error the library throws into the one line a user reads: the one place errors become
/// words. Each layer's error type says what went wrong in its `description`; errors from outside
/// the library (Foundation, the system) are worded by `reason(_:)`, never a raw dump.
public enum ErrorText {
    public static func line(_ error: any Error) -> String {
        let text: String
        if error is CocoaError || error is POSIXError || type(of: error) is NSError.Type {
            text = reason(error)
        } else {
            text = String(describing: error)
        }
        return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: " ")
    }

    /// Why a file-system or process call failed, in a few words ("no such file", "permission denied"):
    /// Foundation's own texts ("The operation could not be completed…") say nothing a user can act on.
    public static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError,
           underlying.domain == NSPOSIXErrorDomain {
            return posixReason(Int32(underlying.code))
        }
        if nsError.domain == NSPOSIXErrorDomain { return posixReason(Int32(nsError.code)) }
        if nsError.domain == NSCocoaErrorDomain {
            switch CocoaError.Code(rawValue: nsError.code) {
            case .fileNoSuchFile, .fileReadNoSuchFile: return "no such file"
            case .fileReadNoPermission, .fileWriteNoPermission: return "permission denied"
            case .fileWriteOutOfSpace: return "no space left on the disk"
            case .fileWriteVolumeReadOnly: return "the file system is read-only"
            case .fileWriteFileExists: return "a file of that name already exists"
            case .fileReadInapplicableStringEncoding, .fileReadUnknownStringEncoding,
                 .fileWriteInapplicableStringEncoding:
                return "not valid UTF-8 text"
            case .fileReadTooLarge: return "the file is too large"
            case .fileReadCorruptFile: return "the file is damaged or not in the expected format"
            case .fileLocking: return "the file is locked"
            default: break
            }
        }
        let text = nsError.localizedDescription
        return text.isEmpty ? "error \(nsError.code) (\(nsError.domain))" : text
    }

    private static func posixReason(_ code: Int32) -> String {
        switch code {
        case ENOENT: return "no such file"
        case EACCES, EPERM: return "permission denied"
        case EISDIR: return "is a folder, not a file"
        case ENOTDIR: return "a part of the path is not a folder"
        case ENOSPC: return "no space left on the disk"
        case EROFS: return "the file system is read-only"
        case EEXIST: return "a file of that name already exists"
        default: return String(cString: strerror(code)).lowercased()
        }
    }
}
