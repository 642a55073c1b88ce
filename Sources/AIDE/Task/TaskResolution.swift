import Foundation

extension TaskLoader {
    /// A `LoadedTask` from a spec already decoded (a resumed run's stored one): paths resolved
    /// against the task file's folder, description read, data and answers checked to exist.
    public static func resolve(spec: TaskSpec, file: URL) throws -> LoadedTask {
        let folder = file.deletingLastPathComponent()
        func path(_ relative: String) -> URL {
            (relative.hasPrefix("/") ? URL(fileURLWithPath: relative) : folder.appendingPathComponent(relative))
                .standardizedFileURL
        }
        let data = path(spec.data)
        guard FileManager.default.fileExists(atPath: data.path) else {
            throw TaskError(file: file.path, message: "data directory \(data.path) does not exist")
        }
        let answers = spec.grading.map { path($0.answers) }
        if let answers, !FileManager.default.fileExists(atPath: answers.path) {
            throw TaskError(file: file.path, message: "answers file \(answers.path) does not exist")
        }
        var description = spec.description ?? ""
        if let descriptionFile = spec.descriptionFile {
            description = try String(contentsOf: path(descriptionFile), encoding: .utf8)
        }
        return LoadedTask(
            spec: spec, file: file, folder: folder, dataDirectory: data, answersFile: answers, descriptionText: description)
    }
}

extension LoadedTask {
    /// The Python to run scripts with: `exec.python` as a command name (`python3`), or a path,
    /// relative paths taken from the task file's folder.
    public var pythonExecutable: String {
        let python = spec.exec.python
        guard python.contains("/"), !python.hasPrefix("/") else { return python }
        return folder.appendingPathComponent(python).standardizedFileURL.path
    }
}
