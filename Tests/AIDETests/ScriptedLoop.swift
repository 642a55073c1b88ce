@testable import AIDE
import AIDETesting
import Foundation

/// One `aide run --scripted` over the synthetic task, run as a user runs it, and what it stored.
struct ScriptedLoop {
    var task: SyntheticTask
    var runs: URL
    var folder: URL
    var status: Int32
    var log: String
    var nodes: [Node]
    /// The recorded requests and answers (`--record`), one JSON line each.
    var cassette: String

    /// The prompts (system and user message, joined) that contain `marker`, in order.
    func prompts(containing marker: String) -> [String] {
        requests().compactMap { request -> String? in
            let text = [request["system"] as? String, request["user"] as? String].compactMap { $0 }.joined(separator: "\n\n")
            return text.contains(marker) ? text : nil
        }
    }

    /// Every recorded request, in order.
    func requests() -> [[String: Any]] {
        cassette.split(separator: "\n").compactMap { line in
            guard let data = line.data(using: .utf8),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            else { return nil }
            return object["request"] as? [String: Any]
        }
    }

    func remove() {
        task.remove()
        try? FileManager.default.removeItem(at: runs)
    }

    /// A code answer holding `text` exactly.
    static func codeAnswer(_ text: String) -> String {
        let data = try! JSONEncoder().encode(["kind": "code", "text": text])
        return String(decoding: data, as: UTF8.self)
    }

    /// Runs the synthetic task (`extraYAML` appended to its task.yaml, `settings` as `--set`) on
    /// `answers` and reads back the nodes.
    static func run(
        answers: [String], steps: Int, extraYAML: String = "", settings: [String] = [],
        prepare: (SyntheticTask) throws -> Void = { _ in }
    ) async throws -> ScriptedLoop {
        let task = try SyntheticTask(steps: steps, extraYAML: extraYAML)
        try prepare(task)
        let runs = FileManager.default.temporaryDirectory.appendingPathComponent("aide-loop-\(UUID().uuidString)")
        let file = try ScriptedAnswers.file(answers)
        defer { try? FileManager.default.removeItem(at: file) }
        let cassette = runs.appendingPathExtension("jsonl")
        defer { try? FileManager.default.removeItem(at: cassette) }
        var arguments = [
            "run", task.taskFile.path, "--scripted", file.path, "--runs-dir", runs.path, "--record", cassette.path,
        ]
        for setting in settings { arguments += ["--set", setting] }
        let output = try await CommandRunner.run(
            arguments, environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"])
        let name = try FileManager.default.contentsOfDirectory(atPath: runs.path).first { !$0.hasPrefix(".") }
        let folder = runs.appendingPathComponent(name ?? "missing")
        let nodes = (try? RunStore.openReadOnly(path: folder.appendingPathComponent("run.sqlite")).nodes()) ?? []
        return ScriptedLoop(
            task: task, runs: runs, folder: folder, status: output.status, log: output.stdout + output.stderr,
            nodes: nodes.sorted { $0.step < $1.step },
            cassette: (try? String(contentsOf: cassette, encoding: .utf8)) ?? "")
    }
}
