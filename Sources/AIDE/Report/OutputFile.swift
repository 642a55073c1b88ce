import Foundation

/// Writes a report or export where the user asked.
public enum OutputFile {
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
}
