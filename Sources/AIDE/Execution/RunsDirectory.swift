import Foundation

extension RunWorkspace {
    /// Checks, before anything is created, that runs can be made under `directory`: it is a writable
    /// folder, or does not exist yet and its nearest existing parent is one.
    public static func checkRunsDirectory(_ directory: URL) throws {
        let files = FileManager.default
        var folder = directory.standardizedFileURL
        var directoryFlag: ObjCBool = false
        while !files.fileExists(atPath: folder.path, isDirectory: &directoryFlag) {
            let parent = folder.deletingLastPathComponent()
            guard parent.path != folder.path else { break }
            folder = parent
        }
        let what = folder.path == directory.standardizedFileURL.path ? "" : " (the nearest existing folder on its path)"
        guard directoryFlag.boolValue else {
            throw WorkspaceError("runs directory \(directory.path): \(folder.path)\(what) is a file, not a folder")
        }
        guard files.isWritableFile(atPath: folder.path) else {
            throw WorkspaceError("runs directory \(directory.path): \(folder.path)\(what) is not writable")
        }
    }
}
