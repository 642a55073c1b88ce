import AIDE
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import ServiceLifecycle

/// The context of a dashboard request: the port the connection came in on, for the Host check
/// (a server bound to port 0 learns its port only when it runs).
struct DashboardContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let localPort: Int?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        localPort = source.channel.localAddress?.port
    }
}

/// Who may ask: the Host header a request must carry, and the token when one is set.
public struct AccessRule: Sendable {
    /// The names the server answers to (with the port it listens on); nil answers to any (a
    /// wildcard bind, which needs a token).
    public var names: Set<String>?
    public var token: String?

    /// The names a server bound to `host` answers to: the address itself, and for a loopback
    /// address every loopback spelling. A DNS name that resolves to it (rebinding) is refused.
    public init(boundTo host: String, token: String?) {
        if host == "0.0.0.0" || host == "::" {
            names = nil
        } else {
            var names: Set<String> = [host.lowercased()]
            if ServeOptions.isLoopback(host) { names.formUnion(["127.0.0.1", "localhost", "::1"]) }
            self.names = names
        }
        self.token = token
    }

    /// The Host header values accepted on `port`.
    func hosts(port: Int) -> Set<String>? {
        names.map { Set($0.map { $0.contains(":") ? "[\($0)]:\(port)" : "\($0):\(port)" }) }
    }

    static let cookie = "aide_token"

    /// Why `request` (arrived on `port`) is refused, or nil when it may proceed.
    func refusal(_ request: Request, port: Int?) -> (HTTPResponse.Status, String)? {
        if let port, let hosts = hosts(port: port) {
            guard let host = request.head.authority?.lowercased(), hosts.contains(host) else {
                return (.misdirectedRequest, "this server answers to \(hosts.sorted().joined(separator: " or ")), not to Host \(request.head.authority ?? "(none)")")
            }
        }
        guard let token else { return nil }
        if let given = Self.token(in: request), Self.same(given, token) { return nil }
        return (.unauthorized, "a token is required: open the URL aide serve printed (…?token=…) or send Authorization: Bearer <token>")
    }

    static func token(in request: Request) -> String? {
        if let header = request.headers[.authorization], header.hasPrefix("Bearer ") {
            return String(header.dropFirst("Bearer ".count))
        }
        if let query = request.uri.queryParameters["token"] { return String(query) }
        return request.cookies[cookie]?.value
    }

    /// Compares in time independent of where the texts differ.
    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for index in 0..<min(x.count, y.count) { difference |= x[index] ^ y[index] }
        return difference == 0
    }
}

/// Every request of the dashboard: checked (GET or HEAD only, Host, token), then routed. Names in
/// paths are relative to the runs folder and never leave it (`RunsFolder`).
struct DashboardResponder: HTTPResponder {
    typealias Context = DashboardContext
    let folder: RunsFolder
    let access: AccessRule
    let feeds: RunFeeds

    func respond(to request: Request, context: Context) async throws -> Response {
        guard request.method == .get || request.method == .head else {
            return Self.text(.methodNotAllowed, "aide serve is read-only: \(request.method) is not allowed", headers: [.allow: "GET, HEAD"])
        }
        if let (status, message) = access.refusal(request, port: context.localPort) { return Self.text(status, message) }
        var response = await route(request)
        if request.method == .head { response = response.createHeadResponse() }
        if let token = access.token, request.uri.queryParameters["token"] != nil, response.status == .ok {
            // The page's own requests (fetch, EventSource) then carry the token as a cookie.
            response.headers.append(
                HTTPField(name: .setCookie, value: "\(AccessRule.cookie)=\(token); Path=/; HttpOnly; SameSite=Strict"))
        }
        for (name, value) in Self.securityHeaders where response.headers[name] == nil { response.headers[name] = value }
        return response
    }

    static let securityHeaders: [(HTTPField.Name, String)] = [
        (.contentSecurityPolicy,
         "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
        (.xContentTypeOptions, "nosniff"),
        (.init("Referrer-Policy")!, "no-referrer"),
        (.init("X-Frame-Options")!, "DENY"),
        (.cacheControl, "no-store"),
    ]

    /// The path's segments, percent-decoded one by one (so `%2F` stays inside a segment and is refused there).
    static func segments(_ path: String) -> [String]? {
        var out: [String] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            guard let decoded = String(part).removingPercentEncoding else { return nil }
            out.append(decoded)
        }
        return out
    }

    func route(_ request: Request) async -> Response {
        guard let path = Self.segments(request.uri.path) else { return Self.text(.badRequest, "the path is not valid percent-encoding") }
        let query = request.uri.queryParameters
        do {
            switch path.first {
            case nil:
                return Self.html(DashboardPages.index)
            case "runs":
                guard let (database, rest) = run(Array(path.dropFirst())), rest.isEmpty else { return notFound("run", path) }
                let store = try RunStore.openReadOnly(path: database)
                defer { try? store.close() }
                return Self.html(bytes: try HTMLReport.page(store, liveScript: DashboardPages.liveScript))
            case "benches":
                guard folder.benchFolder(Array(path.dropFirst())) != nil else { return notFound("bench", path) }
                return Self.html(DashboardPages.bench)
            case "compare":
                return Self.html(DashboardPages.compare)
            case "api":
                return try await api(Array(path.dropFirst()), query: query)
            default:
                return notFound("page", path)
            }
        } catch {
            return Self.text(.internalServerError, Self.oneLine(error))
        }
    }

    func api(_ path: [String], query: FlatDictionary<Substring, Substring>) async throws -> Response {
        switch path.first {
        case "runs":
            let rest = Array(path.dropFirst())
            if rest.isEmpty { return try Self.json(DashboardListing.load(folder)) }
            guard let (database, tail) = run(rest) else { return notFound("run", rest) }
            switch tail.first {
            case nil:
                let store = try RunStore.openReadOnly(path: database)
                defer { try? store.close() }
                return try Self.json(RunReport.load(store))
            case "nodes" where tail.count == 1:
                let since = query["since"].flatMap { Int($0) } ?? 0
                let store = try RunStore.openReadOnly(path: database)
                defer { try? store.close() }
                return Self.json(bytes: try HTMLReport.update(store, range: LiveRange(fromStep: since)))
            case "nodes" where tail.count == 2:
                let store = try RunStore.openReadOnly(path: database)
                defer { try? store.close() }
                do {
                    return try Self.json(NodeDetail.load(store, node: tail[1]))
                } catch let error as ReportError {
                    return Self.text(.notFound, error.description)
                }
            case "events" where tail.count == 1:
                let after = query["after"].flatMap { Int($0) } ?? 0
                let key = rest.prefix(rest.count - tail.count).joined(separator: "/")
                let feed = try await feeds.feed(key: key, database: database)
                return Self.events(await feed.watch(after: after))
            default:
                return notFound("API path", path)
            }
        case "benches":
            let rest = Array(path.dropFirst())
            guard let bench = folder.benchFolder(rest) else { return notFound("bench", rest) }
            let index = try BenchIndex.open(bench, readOnly: true)
            defer { try? index.close() }
            return try Self.json(BenchSummary.load(index))
        case "compare" where path.count == 1:
            let keys = query[values: "run"].map(String.init)
            guard keys.count >= 2 else { return Self.text(.badRequest, "compare needs two or more runs: /api/compare?run=<run>&run=<run>") }
            return try Self.json(comparison(keys))
        default:
            return notFound("API path", path)
        }
    }

    /// The run `segments` starts with (its shortest prefix naming a run folder) and what follows.
    func run(_ segments: [String]) -> (URL, [String])? {
        guard !segments.isEmpty else { return nil }
        for count in 1...segments.count {
            if let database = folder.runDatabase(Array(segments.prefix(count))) {
                return (database, Array(segments.dropFirst(count)))
            }
        }
        return nil
    }

    func comparison(_ keys: [String]) throws -> RunCurves {
        var reports: [RunReport] = []
        var curves: [RunCurves.Curve] = []
        for key in keys {
            guard let segments = Self.segments(key), let (database, rest) = run(segments), rest.isEmpty else {
                throw ServeError("no run \(key) in this folder")
            }
            let store = try RunStore.openReadOnly(path: database)
            defer { try? store.close() }
            let report = try RunReport.load(store)
            reports.append(report)
            let points = try store.metrics().compactMap { row -> [Double]? in
                guard let metric = row.bestMetric, metric.isFinite else { return nil }
                return [Double(row.step), metric]
            }
            curves.append(RunCurves.Curve(key: key, id: report.run.id, points: points))
        }
        return RunCurves(comparison: RunComparison(reports: reports), curves: curves)
    }

    func notFound(_ what: String, _ path: [String]) -> Response {
        Self.text(.notFound, "no \(what) \(path.joined(separator: "/")) in \(folder.root.path)")
    }

    // MARK: - Responses

    static func text(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "text/plain; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: message + "\n")))
    }

    static func html(_ page: String) -> Response {
        html(bytes: Array(page.utf8))
    }

    static func html(bytes: [UInt8]) -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func json(bytes: [UInt8]) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func json(_ value: some Encodable) throws -> Response {
        json(bytes: Array(try ReportSchema.encoder.encode(value)))
    }

    static func events(_ stream: AsyncStream<ByteBuffer>) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-store", .init("X-Accel-Buffering")!: "no"],
            body: ResponseBody { writer in
                // Ends when the page goes away (a write fails) or the server shuts down. The chunks
                // are shared by every page at one position: written as they are, not copied.
                for await chunk in stream.cancelOnGracefulShutdown() { try await writer.write(chunk) }
                try await writer.finish(nil)
            })
    }

    static func oneLine(_ error: any Error) -> String {
        "\(error)".split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}

/// `/api/compare`: `aide report --compare` and each run's best-metric curve (step, best metric so far).
struct RunCurves: Codable, Sendable {
    var comparison: RunComparison
    var curves: [Curve]

    struct Curve: Codable, Sendable {
        var key: String
        var id: String
        var points: [[Double]]
    }
}
