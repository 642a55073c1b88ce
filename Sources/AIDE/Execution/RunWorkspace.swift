import Foundation

/// The folder of one run: `run.sqlite`, the data at `input` (a link to the task's data, or a
/// read-only copy: see `RunData`), one folder per node (its script, output and `working/` with the
/// submission), and the best solution at the end.
///
///     runs/<run-id>/run.sqlite
///     runs/<run-id>/input                       -> the task's data, or a read-only copy of it
///     runs/<run-id>/nodes/0003-1a2b3c4d/        runfile.py, output.txt, input -> ../../input, working/
///     runs/<run-id>/best_solution.py            and best_submission.csv
///
/// Hidden answers are never copied here.
public struct RunWorkspace: Sendable {
    public let root: URL

    public init(root: URL) {
        self.root = root
    }

    public var database: URL { root.appendingPathComponent("run.sqlite") }
    public var input: URL { root.appendingPathComponent("input", isDirectory: true) }
    public var nodes: URL { root.appendingPathComponent("nodes", isDirectory: true) }
    public var bestSolution: URL { root.appendingPathComponent("best_solution.py") }
    public var bestSubmission: URL { root.appendingPathComponent("best_submission.csv") }

    /// A new, unique run id: task name, time, and a random suffix.
    public static func newRunID(taskName: String, date: Date = Date()) -> String {
        let slug = taskName.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        // Never empty, so the id never starts with '-' (a command line would read it as an option).
        let name = String(slug).split(separator: "-").joined(separator: "-")
        return (name.isEmpty ? "run" : name) + "-" + formatter.string(from: date) + "-" + suffix
    }

    /// Creates the folder and a read-only copy of the data (files 0444, folders 0555), so a script
    /// can neither change the task's data nor another node's view of it.
    public func create(copying data: URL) throws {
        let files = FileManager.default
        guard !files.fileExists(atPath: root.path) else {
            throw WorkspaceError.exists(path: root.path)
        }
        try files.createDirectory(at: nodes, withIntermediateDirectories: true)
        try files.copyItem(at: data.resolvingSymlinksInPath(), to: input)
        try setReadOnly(input)
    }

    private func setReadOnly(_ url: URL) throws {
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        guard files.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return }
        if isDirectory.boolValue {
            for child in try files.contentsOfDirectory(atPath: url.path) {
                try setReadOnly(url.appendingPathComponent(child))
            }
            try files.setAttributes([.posixPermissions: 0o555], ofItemAtPath: url.path)
        } else {
            try files.setAttributes([.posixPermissions: 0o444], ofItemAtPath: url.path)
        }
    }

    /// The folder of the node `nodeID` made at `step`: `nodes/0003-1a2b3c4d`, so a listing reads in
    /// step order.
    public func nodeFolder(step: Int, nodeID: String) -> URL {
        nodes.appendingPathComponent(String(format: "%04d-%@", step, nodeID), isDirectory: true)
    }

    /// The node id in a node folder's name (`nodeFolder(step:nodeID:)`).
    static func nodeID(ofFolder name: String) -> String {
        name.split(separator: "-").dropFirst().joined(separator: "-")
    }

    /// The folder of one node, made fresh (a leftover from an interrupted attempt is replaced):
    /// `input` links to the run's read-only copy, `working/` is the script's to write.
    public func prepareNodeFolder(step: Int, nodeID: String) throws -> URL {
        let files = FileManager.default
        let folder = nodeFolder(step: step, nodeID: nodeID)
        if files.fileExists(atPath: folder.path) { try files.removeItem(at: folder) }
        try files.createDirectory(at: folder.appendingPathComponent("working"), withIntermediateDirectories: true)
        try files.createSymbolicLink(atPath: folder.appendingPathComponent("input").path, withDestinationPath: "../../input")
        return folder
    }

    /// Removes node folders left by steps that never finished (after a crash or Ctrl-C).
    public func removeUnfinishedNodeFolders(keeping finished: Set<String>) throws {
        let files = FileManager.default
        guard let names = try? files.contentsOfDirectory(atPath: nodes.path) else { return }
        for name in names {
            if !finished.contains(Self.nodeID(ofFolder: name)) { try files.removeItem(at: nodes.appendingPathComponent(name)) }
        }
    }

    /// Copies a node's script and submission to the run's best-solution files (atomically). Only a
    /// regular file is copied (never what a link points to), up to `maxSubmissionBytes`.
    public func recordBest(code: String, submission: URL?, maxSubmissionBytes: Int = 1 << 32) throws {
        try Data(code.utf8).write(to: bestSolution, options: .atomic)
        let files = FileManager.default
        if let submission, SubmissionFile.check(submission, maxBytes: maxSubmissionBytes).isRegular {
            try Data(contentsOf: submission).write(to: bestSubmission, options: .atomic)
        } else if files.fileExists(atPath: bestSubmission.path) {
            try files.removeItem(at: bestSubmission)
        }
    }
}

/// A run folder that cannot be made or used.
public enum WorkspaceError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A new run's folder is already there.
    case exists(path: String)
    /// What the user named is no run.
    case noRun(reference: String, runsDirectory: String)
    /// The runs folder, or the nearest existing `folder` on its path (`isNearest`), is a file, or not writable.
    case runsDirectoryIsAFile(directory: String, folder: String, isNearest: Bool)
    case runsDirectoryNotWritable(directory: String, folder: String, isNearest: Bool)
    /// The runs folder lies in the data folder: every script would see every run.
    case runsInsideData(runs: String, data: String)
    /// The run folder cannot be opened to lock it.
    case cannotOpen(path: String, reason: String)
    /// Another process holds the run's lock.
    case locked(run: String, holder: String?)

    public var description: String {
        func place(_ folder: String, _ isNearest: Bool) -> String {
            isNearest ? "\(folder) (the nearest existing folder on its path)" : folder
        }
        switch self {
        case .exists(let path): return "run folder \(path) already exists"
        case .noRun(let reference, let runs):
            return "no run \"\(reference)\": not a run folder, a run.sqlite, or a run id under \(runs)"
        case .runsDirectoryIsAFile(let directory, let folder, let isNearest):
            return "runs directory \(directory): \(place(folder, isNearest)) is a file, not a folder"
        case .runsDirectoryNotWritable(let directory, let folder, let isNearest):
            return "runs directory \(directory): \(place(folder, isNearest)) is not writable"
        case .runsInsideData(let runs, let data):
            return "the runs folder \(runs) is inside the data folder \(data): scripts would see every run in it; put runs elsewhere"
        case .cannotOpen(let path, let reason): return "cannot open \(path): \(reason)"
        case .locked(let run, let holder):
            return "run \(run) is being written by process \(holder ?? "another process"); wait for it to finish or stop it first"
        }
    }
}

extension RunWorkspace {
    /// Finds a run from what a user typed: a run id under `runsDirectory`, a run folder, or its
    /// `run.sqlite`.
    public static func locate(_ reference: String, runsDirectory: URL) throws -> RunWorkspace {
        let files = FileManager.default
        var candidate = URL(fileURLWithPath: reference)
        if candidate.lastPathComponent.hasSuffix(".sqlite") { candidate.deleteLastPathComponent() }
        if !files.fileExists(atPath: candidate.appendingPathComponent("run.sqlite").path) {
            candidate = runsDirectory.appendingPathComponent(reference, isDirectory: true)
        }
        guard files.fileExists(atPath: candidate.appendingPathComponent("run.sqlite").path) else {
            throw WorkspaceError.noRun(reference: reference, runsDirectory: runsDirectory.path)
        }
        return RunWorkspace(root: candidate.standardizedFileURL)
    }
}
