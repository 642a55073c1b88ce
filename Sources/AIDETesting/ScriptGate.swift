import Foundation

/// Holds a run's scripts at a point the test chooses, across processes: the first `free` scripts
/// wrapped by `wrap(_:free:perRun:)` (counted over every process and run sharing the gate, or per
/// run) go on, later ones wait until `open()`. So a test that kills or interrupts `aide` knows exactly what was
/// committed and what was in flight, whatever the machine's load, instead of racing slow answers.
/// The scripts write into the gate's folder, so runs using it need `exec.sandbox=none`.
public struct ScriptGate: Sendable {
    public let folder: URL

    public init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("aide-gate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    /// `script`, preceded by taking a ticket: tickets 0..<free go straight on, later ones wait for
    /// `open()`. With `perRun`, each run (the folder two levels above the script's node folder)
    /// counts its own tickets.
    public func wrap(_ script: String, free: Int, perRun: Bool = false) -> String {
        let key = perRun ? #"_gate_os.path.dirname(_gate_os.path.dirname(_gate_os.getcwd())).replace("/", "_")"# : #""all""#
        return """
            import os as _gate_os, time as _gate_time
            _gate_key = \(key)
            _gate_ticket = 0
            while True:
                try:
                    _gate_os.close(_gate_os.open("\(folder.path)/ticket-%s-%d" % (_gate_key, _gate_ticket), _gate_os.O_CREAT | _gate_os.O_EXCL))
                    break
                except FileExistsError:
                    _gate_ticket += 1
            if _gate_ticket >= \(free):
                with open("\(folder.path)/waiting.tmp-%d" % _gate_os.getpid(), "w") as _gate_file:
                    _gate_file.write(str(_gate_os.getpid()))
                _gate_os.rename("\(folder.path)/waiting.tmp-%d" % _gate_os.getpid(), "\(folder.path)/waiting-%d" % _gate_os.getpid())
                while not _gate_os.path.exists("\(folder.path)/open"):
                    _gate_time.sleep(0.05)

            """ + script
    }

    /// Lets every waiting script, and every later one, go on.
    public func open() throws {
        try Data().write(to: folder.appendingPathComponent("open"))
    }

    /// Process ids of the scripts that reached the gate while it was shut.
    public var held: [pid_t] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).compactMap { name in
            name.hasPrefix("waiting-") ? pid_t(name.dropFirst("waiting-".count)) : nil
        }
    }

    public func remove() {
        try? FileManager.default.removeItem(at: folder)
    }
}
