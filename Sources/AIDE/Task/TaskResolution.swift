import Foundation
import Yams

extension TaskLoader {
    /// A `LoadedTask` from a spec already decoded (a resumed run's stored one), through the same
    /// checks as `load`: values, data and answers (running `prepare` if they are gone), answers
    /// outside the data, the description file.
    public static func resolve(spec: TaskSpec, file: URL) throws -> LoadedTask {
        let yaml = try YAMLEncoder().encode(spec)
        let document = try TaskDocument(text: yaml, file: file.path + " (as stored in the run)")
        return try document.resolve(spec, file: file)
    }
}

extension LoadedTask {
    /// The Python to run scripts with: `exec.python` as a command name (`python3`), or a path,
    /// relative paths taken from the task file's folder.
    public var pythonExecutable: String {
        let python = spec.exec.python
        guard python.contains("/"), !python.hasPrefix("/") else { return python }
        // `standardized`, not `standardizedFileURL` (which resolves symlinks on Linux): a venv's python is
        // a symlink, and Python finds its venv only from the path it was started by.
        return folder.appendingPathComponent(python).standardized.path
    }
}
