@testable import AIDE
import AIDETesting
import Foundation
import Testing

/// `-o` must never replace what it points at with a new file (it once replaced /dev/null).
struct OutputFileTests {
    private func scratch() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("aide-out-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test func aFIFOIsWrittenInPlaceNotReplaced() async throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let fifo = folder.appendingPathComponent("pipe").path
        #expect(mkfifo(fifo, 0o600) == 0)
        async let read = offPool { (try? FileHandle(forReadingFrom: URL(fileURLWithPath: fifo)).readDataToEndOfFile()) ?? Data() }
        try OutputFile.write(Data("report\n".utf8), to: fifo)
        #expect(await read == Data("report\n".utf8))
        let type = try FileManager.default.attributesOfItem(atPath: fifo)[.type] as? FileAttributeType
        #expect(type != .typeRegular, "still a FIFO, not a regular file")
    }

    @Test func aSymbolicLinkKeepsPointingAtItsTarget() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = folder.appendingPathComponent("real.md")
        let link = folder.appendingPathComponent("link.md")
        try Data("old".utf8).write(to: target)
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: target)
        try OutputFile.write(Data("new".utf8), to: link.path)
        #expect(try String(contentsOf: target, encoding: .utf8) == "new")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link.path) == target.path)
    }

    @Test func aNewOrRegularFileIsWrittenWhole() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("r.json").path
        try OutputFile.write(Data("1".utf8), to: file)
        try OutputFile.write(Data("22".utf8), to: file)
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "22")
    }
}
