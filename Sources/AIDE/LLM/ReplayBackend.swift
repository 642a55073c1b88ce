import Foundation
import Synchronization

/// A request the cassette cannot answer. It names the call and shows the closest recorded request
/// and where the two first differ, so a stale cassette or a changed prompt is easy to see.
public struct ReplayMiss: Error, Sendable, Hashable, CustomStringConvertible {
    /// How the nearest recorded request differs from the one asked.
    public enum Difference: Sendable, Hashable {
        /// The system or user prompt (`prompt`) first differs at `line`; nil where a prompt has ended.
        case prompt(String, line: Int, recorded: String?, asked: String?)
        case model(recorded: String, asked: String)
        case function
        /// The options, as JSON.
        case options(recorded: String, asked: String)
    }

    /// Why the cassette has no answer.
    public enum Nearest: Sendable, Hashable {
        /// The request is recorded (first at `place`), but fewer times than this run asks it.
        case askedMoreOften(recorded: Int, place: String)
        case emptyCassette
        /// The closest recorded request, at `place` (its session, when recorded with one).
        case closest(place: String, session: String?, Difference)
    }

    /// What was asked (`CassetteRequest.kind`) and of which model.
    public var kind: String
    public var model: String
    public var nearest: Nearest

    public var description: String {
        let message = "replay: no recorded answer for this \(kind) to \(model)"
        switch nearest {
        case .askedMoreOften(let recorded, let place):
            let times = { (count: Int) in count == 1 ? "once" : "\(count) times" }
            return message + ": the cassette answers it \(times(recorded)) (\(place)) and this run asks it \(times(recorded + 1))"
        case .emptyCassette: return message + "; the cassette is empty"
        case .closest(let place, let session, let difference):
            return message + "; closest recorded request: \(place)" + (session.map { " (\($0))" } ?? "") + ", "
                + Self.words(difference)
        }
    }

    private static func words(_ difference: Difference) -> String {
        switch difference {
        case .prompt(let name, let line, let recorded, let asked):
            func show(_ text: String?) -> String {
                guard let text else { return "(ends)" }
                return JSONValue.string(text.count > 100 ? String(text.prefix(100)) + "…" : text).jsonText
            }
            return "whose \(name) first differs at line \(line): recorded \(show(recorded)), asked \(show(asked))"
        case .model(let recorded, let asked): return "whose model differs: recorded \(recorded), asked \(asked)"
        case .function: return "whose function differs"
        case .options(let recorded, let asked): return "whose options differ: recorded \(recorded), asked \(asked)"
        }
    }
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
            throw miss(request, asked: candidates)
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

    /// What was asked, and the nearest recorded request with the first line that differs.
    func miss(_ request: CassetteRequest, asked used: [Cassette.Located]) -> ReplayMiss {
        let nearest: ReplayMiss.Nearest
        if !used.isEmpty {
            nearest = .askedMoreOften(recorded: used.count, place: used[0].place)
        } else if let closest = closest(to: request) {
            nearest = .closest(
                place: closest.place, session: closest.entry.session,
                Self.difference(recorded: closest.entry.request, asked: request))
        } else {
            nearest = .emptyCassette
        }
        return ReplayMiss(kind: request.kind, model: request.model, nearest: nearest)
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

    static func difference(recorded: CassetteRequest, asked: CassetteRequest) -> ReplayMiss.Difference {
        for (name, a, b) in [("system prompt", recorded.system, asked.system), ("user prompt", recorded.user, asked.user)] {
            guard a != b else { continue }
            let old = (a ?? "").split(separator: "\n", omittingEmptySubsequences: false)
            let new = (b ?? "").split(separator: "\n", omittingEmptySubsequences: false)
            var index = 0
            while index < min(old.count, new.count), old[index] == new[index] { index += 1 }
            func line(_ lines: [Substring]) -> String? { index < lines.count ? String(lines[index]) : nil }
            return .prompt(name, line: index + 1, recorded: line(old), asked: line(new))
        }
        if recorded.model != asked.model { return .model(recorded: recorded.model, asked: asked.model) }
        if recorded.funcSpec != asked.funcSpec { return .function }
        return .options(recorded: Self.text(recorded.options), asked: Self.text(asked.options))
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
