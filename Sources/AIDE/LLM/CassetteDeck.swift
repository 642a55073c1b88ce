import Foundation

/// What recording, replaying and falling through to the model ask for, made once per command: the
/// cassettes read, the file to append to opened. `backend(wrapping:session:)` then gives each run
/// its own backend (a replaying backend counts what it handed out, so runs must not share one).
public struct CassetteDeck: Sendable {
    public let replay: Cassette?
    public let writer: CassetteWriter?
    public let fallsThrough: Bool

    /// - Parameters:
    ///   - record: the cassette to append exchanges to; with `replay`, only those the cassettes
    ///     could not answer (which needs `fallsThrough`).
    ///   - replay: cassettes to answer from, merged in order.
    ///   - fallsThrough: send requests not in the cassettes to the real backend and record them (to
    ///     `record`, or, without it, to the one replay file).
    /// Which of these go together is checked by `RunOptions.validate()`.
    public init(record: URL?, replay: [URL], fallsThrough: Bool) throws {
        self.replay = replay.isEmpty ? nil : try Cassette(files: replay)
        self.fallsThrough = fallsThrough
        let target = record ?? (fallsThrough ? replay.first : nil)
        writer = try target.map { try CassetteWriter(path: $0.path) }
    }

    /// The session name of a run, written on every entry it records.
    public static func session(for spec: TaskSpec) -> String {
        "\(spec.name) seed \(spec.search.seed)"
    }

    /// The backend one run uses: `real` recorded, or the cassette (falling through to `real`).
    public func backend(wrapping real: any Backend, session: String) -> any Backend {
        let recorded: any Backend = writer.map { RecordingBackend(real, writer: $0, session: session) } ?? real
        guard let replay else { return recorded }
        return ReplayBackend(cassette: replay, session: session, fallback: fallsThrough ? recorded : nil)
    }
}
