import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a script left where its submission should be, looked at without following links: only a
/// regular file of bounded size is read, graded or copied. A link (to the answers, to `/dev/zero`),
/// a folder, a FIFO or a device is refused before anything opens it.
public enum SubmissionFile: Sendable, Hashable {
    case missing
    case regular(bytes: Int)
    /// Present but not usable; the reason names what it is.
    case refused(String)

    /// Looks at `url` with `lstat`.
    public static func check(_ url: URL, maxBytes: Int) -> SubmissionFile {
        var info = stat()
        guard lstat(url.path, &info) == 0 else { return .missing }
        let name = url.lastPathComponent
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            let bytes = Int(info.st_size)
            guard bytes <= maxBytes else {
                return .refused("\(name) is \(bytes) bytes, more than the \(maxBytes) allowed")
            }
            return .regular(bytes: bytes)
        case S_IFLNK: return .refused("\(name) is not a regular file (a symbolic link)")
        case S_IFDIR: return .refused("\(name) is not a regular file (a directory)")
        case S_IFIFO: return .refused("\(name) is not a regular file (a FIFO)")
        case S_IFCHR, S_IFBLK: return .refused("\(name) is not a regular file (a device)")
        case S_IFSOCK: return .refused("\(name) is not a regular file (a socket)")
        default: return .refused("\(name) is not a regular file")
        }
    }

    public var isRegular: Bool {
        if case .regular = self { return true }
        return false
    }

    /// Why it is refused, or nil.
    public var refusal: String? {
        if case .refused(let reason) = self { return reason }
        return nil
    }
}
