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

    @Test func partsReplaceTheFileOnlyWhenAllWereWritten() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("page.html").path
        try Data("old".utf8).write(to: URL(fileURLWithPath: file))
        #expect(chmod(file, 0o640) == 0)
        struct Broken: Error {}
        #expect(throws: Broken.self) {
            try OutputFile.write(to: file) { write in
                try Array("half".utf8).withUnsafeBytes { try write($0) }
                throw Broken()
            }
        }
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "old")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["page.html"], "no file left beside it")

        try OutputFile.write(to: file) { write in
            for part in ["one ", "two"] { try Array(part.utf8).withUnsafeBytes { try write($0) } }
        }
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "one two")
        let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
        #expect(mode == 0o640, "the replaced file's permissions are kept")
        #expect(throws: OutputFile.WriteError.self) {
            try OutputFile.write(to: folder.appendingPathComponent("no/such/folder.html").path) { _ in }
        }
    }
}
