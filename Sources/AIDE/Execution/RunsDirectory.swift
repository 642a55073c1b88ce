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
        let isNearest = folder.path != directory.standardizedFileURL.path
        guard directoryFlag.boolValue else {
            throw WorkspaceError.runsDirectoryIsAFile(directory: directory.path, folder: folder.path, isNearest: isNearest)
        }
        guard files.isWritableFile(atPath: folder.path) else {
            throw WorkspaceError.runsDirectoryNotWritable(directory: directory.path, folder: folder.path, isNearest: isNearest)
        }
    }
}
