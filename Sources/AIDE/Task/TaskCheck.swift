import Foundation

/// What a loaded task resolves to, in words (the CLI's task check).
public enum TaskCheck {
    public static func describe(_ task: LoadedTask) -> String {
        let spec = task.spec
        var lines = ["task: \(spec.name) (\(task.file.path))", "goal: \(spec.goal)"]
        let files = (try? FileManager.default.contentsOfDirectory(atPath: task.dataDirectory.path))?.filter { !$0.hasPrefix(".") }.sorted() ?? []
        lines.append("data: \(task.dataDirectory.path) (\(files.count) file\(files.count == 1 ? "" : "s"))")
        for file in files.prefix(20) {
            let url = task.dataDirectory.appendingPathComponent(file)
            let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? nil
            lines.append("  \(file)\(size.map { "  \(byteCount($0))" } ?? "")")
        }
        if files.count > 20 { lines.append("  … \(files.count - 20) more") }
        lines.append("description: \(task.descriptionText.isEmpty ? "none" : "\(task.descriptionText.count) characters")")
        lines.append("metric: \(spec.metric.name), \(spec.metric.direction.rawValue)")
        if let grading = spec.grading, let answers = task.answersFile {
            let rows = (try? CSVTable(contentsOf: answers)).map { " (\($0.rows.count) rows)" } ?? " (unreadable)"
            lines.append("answers: \(answers.path)\(rows)")
            if let command = grading.command {
                let isolation = (try? ScriptIsolation.resolve(spec.exec, python: task.pythonExecutable))?.summary ?? "unknown"
                lines.append("grader: command `\(command)`, \(grading.scoreDirection.rawValue), run in \(task.folder.path); sandbox: \(isolation)")
            } else if let metric = grading.metric {
                let columns = metric.isWide ? (grading.targetColumns.map { $0.joined(separator: ", ") } ?? "every answers column but \(grading.idColumn)") : grading.targetColumn
                lines.append("grader: \(metric.rawValue) (\(metric.direction.rawValue)) on \(columns), joined on \(grading.idColumn)")
            }
            lines.append("submission: ./working/\(grading.submission)")
        } else {
            lines.append("grading: none (nodes get no test score)")
        }
        lines.append("budget: \(spec.budget.steps) steps\(spec.budget.timeLimit.map { ", \(Int($0)) s" } ?? ""), \(Int(spec.budget.scriptTimeout)) s per script")
        lines.append("python: " + pythonDescription(task.pythonExecutable))
        return lines.joined(separator: "\n")
    }

    /// The interpreter's version and whether numpy, pandas and scikit-learn import, by running it.
    static func pythonDescription(_ python: String) -> String {
        let probe = """
            import sys, importlib
            found = []
            for name in ("numpy", "pandas", "sklearn", "scipy", "xgboost", "lightgbm", "torch"):
                try:
                    module = importlib.import_module(name)
                    found.append(f"{name} {getattr(module, '__version__', '?')}")
                except Exception:
                    pass
            print(f"{sys.executable} (Python {sys.version.split()[0]}); packages: {', '.join(found) or 'none of numpy, pandas, sklearn'}")
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, "-c", probe]
        process.environment = ScriptEnvironment.allowed(ProcessInfo.processInfo.environment)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return "\(python): cannot start (\(ErrorText.reason(error)))" }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return "\(python): not found or failed to start" }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func byteCount(_ bytes: Int) -> String {
        bytes >= 1 << 20 ? String(format: "%.1f MiB", Double(bytes) / Double(1 << 20))
            : bytes >= 1 << 10 ? String(format: "%.1f KiB", Double(bytes) / Double(1 << 10)) : "\(bytes) B"
    }
}
