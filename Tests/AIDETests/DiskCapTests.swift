@testable import AIDE
import Foundation
import Testing

/// The walk behind `exec.max_disk_mb`: what it counts, what it does not follow, where it stops.
struct DiskCapTests {
    func folder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("aide-diskcap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test func countsWrittenBytesAndEveryEmptyFileAsABlockButNoLinkTarget() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let outside = try self.folder()
        defer { try? FileManager.default.removeItem(at: outside) }
        // A 4 MiB file outside, linked from inside: not the folder's.
        try Data(repeating: 1, count: 4 << 20).write(to: outside.appendingPathComponent("big"))
        try FileManager.default.createSymbolicLink(
            atPath: folder.appendingPathComponent("input").path, withDestinationPath: outside.path)
        try FileManager.default.createSymbolicLink(
            atPath: folder.appendingPathComponent("big-link").path, withDestinationPath: outside.appendingPathComponent("big").path)
        let working = folder.appendingPathComponent("working")
        try FileManager.default.createDirectory(at: working, withIntermediateDirectories: true)
        try Data(repeating: 2, count: 1 << 20).write(to: working.appendingPathComponent("model.bin"))
        for index in 0..<100 { _ = FileManager.default.createFile(atPath: working.appendingPathComponent("empty\(index)").path, contents: nil) }

        let usage = DiskCap(limitBytes: 64 << 20).measure(folder)
        #expect(usage.exceeded == nil)
        #expect(usage.entries == 2 + 1 + 1 + 100)
        // 1 MiB of data, 100 empty files at 4 KiB each, a folder and two links: well under the 4 MiB outside.
        #expect(usage.bytes >= (1 << 20) + 100 * 4096)
        #expect(usage.bytes < (1 << 20) + 110 * 4096 + 64 * 1024)
    }

    @Test func stopsAtTheCapAndAtDeepFolders() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for index in 0..<10 { try Data(repeating: 3, count: 1 << 20).write(to: folder.appendingPathComponent("part\(index)")) }
        let usage = DiskCap(limitBytes: 3 << 20).measure(folder)
        #expect(usage.exceeded == "wrote more than 3 MB to its folder (exec.max_disk_mb)")
        #expect(usage.entries < 10, "the walk stops once past the cap")

        let deep = try self.folder()
        defer { try? FileManager.default.removeItem(at: deep) }
        let path = (0..<(DiskCap.deepest + 1)).map { "d\($0)" }.joined(separator: "/")
        try FileManager.default.createDirectory(at: deep.appendingPathComponent(path), withIntermediateDirectories: true)
        #expect(DiskCap(limitBytes: 1 << 30).measure(deep).exceeded == "made folders more than \(DiskCap.deepest) deep")
    }

    @Test func cleanUpKeepsOnlyTheScript() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let outside = try self.folder()
        defer { try? FileManager.default.removeItem(at: outside) }
        try Data("kept".utf8).write(to: outside.appendingPathComponent("precious"))
        try Data("print(1)".utf8).write(to: folder.appendingPathComponent("runfile.py"))
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("working/a/b"), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: folder.appendingPathComponent("working/a/b/c"))
        try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent("input").path, withDestinationPath: outside.path)
        DiskCap.cleanUp(folder)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["runfile.py"])
        #expect(FileManager.default.fileExists(atPath: outside.appendingPathComponent("precious").path), "a link is removed, never its target")
    }
}
