import Foundation

/// The Python tests run scripts with.
public enum TestPython {
    /// The real interpreter behind `python3` (its `sys.executable`), not a wrapper such as pyenv's
    /// bash shim, which costs a bash start per script and rewrites PATH. Falls back to "python3".
    public static let path: String = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import sys; print(sys.executable)"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return "python3" }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let path = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return process.terminationStatus == 0 && path.hasPrefix("/") ? path : "python3"
    }()
}
