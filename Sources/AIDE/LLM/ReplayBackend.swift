import Foundation
import Synchronization

/// A request the cassette cannot answer. It names the call and shows the closest recorded request
/// and where the two first differ, so a stale cassette or a changed prompt is easy to see.
public struct ReplayMiss: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// Answers from a cassette instead of a model: the k-th time a request is asked, the k-th answer
/// recorded for it. Answers recorded in the same session (`<task> seed <seed>`) are used when there
/// are any, else those of any session. A request asked more often than it was recorded is a miss:
/// the run has left the recording, and answering it anyway would only hide that. A miss goes to
/// `fallback` when one is given, else is a `ReplayMiss`.
///
/// Each run needs its own instance (it counts what it handed out); the cassette is shared.
public final class ReplayBackend: Backend {
    public let cassette: Cassette
    public let session: String?
    public let fallback: (any Backend)?
    private let handedOut = Mutex<[String: Int]>([:])

    public init(cassette: Cassette, session: String?, fallback: (any Backend)? = nil) {
        self.cassette = cassette
        self.session = session
        self.fallback = fallback
    }

    public func query(
        system: String?, user: String?, funcSpec: FunctionSpec?, options: ModelOptions, observer: StreamObserver?
    ) async throws -> QueryResult {
        let request = CassetteRequest(system: system, user: user, funcSpec: funcSpec, options: options)
        let key = request.replayKey
        let recorded = cassette.entries(for: key)
        let own = recorded.filter { $0.entry.session == session }
        let candidates = own.isEmpty ? recorded : own
        let scope = (own.isEmpty ? "*" : "=") + key
        let next: Cassette.Located? = handedOut.withLock { counts in
            let index = counts[scope, default: 0]
            guard index < candidates.count else { return nil }
            counts[scope] = index + 1
            return candidates[index]
        }
        guard let next else {
            if let fallback {
                return try await fallback.query(
                    system: system, user: user, funcSpec: funcSpec, options: options, observer: observer)
            }
            throw ReplayMiss(description: missMessage(request, asked: candidates))
        }
        if let failure = next.entry.error { throw failure }
        let result = next.entry.result!
        if let observer {
            if let thinking = result.info.thinking { observer(.thinking(thinking)) }
            switch result.output {
            case .text(let text): observer(.text(text))
            case .functionCall(_, let arguments): observer(.functionArguments(arguments.jsonText))
            }
        }
        return result
    }

    /// One line: what was asked, and the nearest recorded request with the first line that differs.
    func missMessage(_ request: CassetteRequest, asked used: [Cassette.Located]) -> String {
        var message = "replay: no recorded answer for this \(request.kind) to \(request.model)"
        if !used.isEmpty {
            let times = { (count: Int) in count == 1 ? "once" : "\(count) times" }
            return message + ": the cassette answers it \(times(used.count)) (\(used[0].place)) and this run asks it \(times(used.count + 1))"
        }
        guard let closest = closest(to: request) else { return message + "; the cassette is empty" }
        message += "; closest recorded request: \(closest.place)"
        if let session = closest.entry.session { message += " (\(session))" }
        message += ", " + Self.difference(recorded: closest.entry.request, asked: request)
        return message
    }

    /// The recorded request sharing the longest prefix of the prompts, same kind and model first.
    private func closest(to request: CassetteRequest) -> Cassette.Located? {
        func score(_ candidate: Cassette.Located) -> (Int, Int, Int) {
            let other = candidate.entry.request
            let sameKind = (other.funcSpec?.name == request.funcSpec?.name ? 2 : 0) + (other.model == request.model ? 1 : 0)
            let prefix = Self.commonPrefix(other.system ?? "", request.system ?? "")
                + Self.commonPrefix(other.user ?? "", request.user ?? "")
            return (sameKind, prefix, -candidate.line)
        }
        return cassette.entries.max { score($0) < score($1) }
    }

    static func difference(recorded: CassetteRequest, asked: CassetteRequest) -> String {
        for (name, a, b) in [("system prompt", recorded.system, asked.system), ("user prompt", recorded.user, asked.user)] {
            guard a != b else { continue }
            let old = (a ?? "").split(separator: "\n", omittingEmptySubsequences: false)
            let new = (b ?? "").split(separator: "\n", omittingEmptySubsequences: false)
            var index = 0
            while index < min(old.count, new.count), old[index] == new[index] { index += 1 }
            func show(_ lines: [Substring]) -> String {
                guard index < lines.count else { return "(ends)" }
                let line = String(lines[index])
                return JSONValue.string(line.count > 100 ? String(line.prefix(100)) + "…" : line).jsonText
            }
            return "whose \(name) first differs at line \(index + 1): recorded \(show(old)), asked \(show(new))"
        }
        if recorded.model != asked.model { return "whose model differs: recorded \(recorded.model), asked \(asked.model)" }
        if recorded.funcSpec != asked.funcSpec { return "whose function differs" }
        return "whose options differ: recorded \(Self.text(recorded.options)), asked \(Self.text(asked.options))"
    }

    private static func text(_ options: ModelOptions) -> String {
        (try? JSONValue.parse(JSONEncoder().encode(options)))?.jsonText ?? "?"
    }

    private static func commonPrefix(_ a: String, _ b: String) -> Int {
        var count = 0
        for (x, y) in zip(a.utf8, b.utf8) {
            guard x == y else { break }
            count += 1
        }
        return count
    }
}
