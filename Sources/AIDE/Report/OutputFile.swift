import Foundation
import Glibc

/// Writes a report or export where the user asked.
public enum OutputFile {
    /// Writing the output failed (not making what goes in it): the file system's error.
    public struct WriteError: Error {
        public var underlying: any Error
    }

    /// A regular file (or a new one) is replaced atomically, so a reader never sees half of it.
    /// Anything else (`/dev/null`, `/dev/stdout`, a FIFO) is written in place: an atomic write
    /// would rename a new regular file over the device. Symbolic links are followed.
    public static func write(_ data: Data, to path: String) throws {
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath()
        let type = (try? FileManager.default.attributesOfItem(atPath: target.path))?[.type] as? FileAttributeType
        if type == nil || type == .typeRegular {
            try data.write(to: target, options: .atomic)
            return
        }
        let handle = try FileHandle(forWritingTo: target)
        defer { try? handle.close() }
        try handle.write(contentsOf: data)
    }

    /// `write(_:to:)` for output made in parts (a report page of tens of megabytes, never held
    /// whole): `produce` hands each part to the function it is given. A regular file is written
    /// beside the target and renamed over it only when all went well, so a failure (of `produce`
    /// or of the disk) leaves what was there before. Failures of the disk are `WriteError`s.
    public static func write(
        to path: String, _ produce: (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws {
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        var status = stat()
        let exists = stat(target, &status) == 0
        guard !exists || status.st_mode & S_IFMT == S_IFREG else {
            let descriptor = open(target, O_WRONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw WriteError(underlying: POSIXError(errno)) }
            defer { close(descriptor) }
            try produce { try write($0, to: descriptor) }
            return
        }
        let directory = (target as NSString).deletingLastPathComponent
        let temporary = (directory.isEmpty ? "." : directory) + "/.\((target as NSString).lastPathComponent).\(UUID().uuidString)"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, exists ? status.st_mode & 0o7777 : 0o666)
        guard descriptor >= 0 else { throw WriteError(underlying: POSIXError(errno)) }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        do {
            defer { close(descriptor) }
            if exists { fchmod(descriptor, status.st_mode & 0o7777) }  // as the file it replaces (open applied the umask)
            try produce { try write($0, to: descriptor) }
        }
        guard rename(temporary, target) == 0 else { throw WriteError(underlying: POSIXError(errno)) }
        renamed = true
    }

    /// All of `bytes` to `descriptor` (a write may take fewer, or be interrupted).
    public static func write(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32) throws {
        var offset = 0
        while offset < bytes.count, let base = bytes.baseAddress {
            let written = Glibc.write(descriptor, base + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw WriteError(underlying: POSIXError(errno))
            }
            offset += written
        }
    }
}

extension POSIXError {
    /// The error of `code` (an `errno`), or EIO for a code POSIXError does not know.
    fileprivate init(_ code: Int32) {
        self.init(POSIXErrorCode(rawValue: code) ?? .EIO)
    }
}
