import Foundation
import Glibc
import Synchronization

// MARK: - Public types

/// One request as the server received it.
public struct RecordedRequest: Sendable {
    /// The request method, e.g. "POST".
    public let method: String
    /// The request-target as sent: "/v1/messages" or, via a proxy, "http://host/v1/x".
    public let target: String
    /// The target without its query string; for absolute-form targets only the path part.
    public let path: String
    /// The header fields in the order they were sent.
    public let headers: [(name: String, value: String)]
    /// The body, with any chunked transfer coding removed.
    public let body: Data
    /// Which accepted TCP connection carried the request, counting from 1.
    public let connectionID: Int

    /// The value of the first header called `name`, compared case-insensitively.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    /// The body parsed as a JSON object, or nil if it is not one.
    // Computed on demand so the struct stores nothing non-Sendable.
    public var bodyJSON: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
    }

    /// Whether a Messages or chat-completions request asks for a function call (a review): it sends
    /// tools and a `tool_choice` that is not "none". A code call of a cached run carries the review's
    /// function too, with `tool_choice` none, so tools alone do not tell a review.
    public var asksForFunction: Bool {
        guard let body = bodyJSON, let tools = body["tools"] as? [Any], !tools.isEmpty else { return false }
        let choice = body["tool_choice"]
        if choice as? String == "none" { return false }
        return (choice as? [String: Any])?["type"] as? String != "none"
    }
}

/// What the server sends back for one request.
public struct LoopbackResponse: Sendable {
    /// One step of writing the response body.
    public enum Part: Sendable {
        /// Written as-is (as one HTTP chunk when chunked).
        case bytes(Data)
        /// UTF-8 text, written like `bytes`.
        case text(String)
        /// Sleep this many seconds before the next part.
        case delay(Double)
        /// Close the TCP connection abruptly right here (no terminating chunk).
        case hangUp
    }

    /// The status code.
    public var status: Int
    /// Header fields to send; framing and `Connection` headers are added unless present here.
    public var headers: [(String, String)]
    /// The body, written in order.
    public var parts: [Part]
    /// True: `Transfer-Encoding: chunked`, one chunk per part; false: `Content-Length`.
    public var chunked: Bool
    // Set only by `stall`: read the request, then say nothing for this long and close.
    var stallSeconds: Double?

    /// A response with the given status, headers and body parts.
    public init(status: Int = 200, headers: [(String, String)] = [], parts: [Part], chunked: Bool = false) {
        self.status = status
        self.headers = headers
        self.parts = parts
        self.chunked = chunked
        self.stallSeconds = nil
    }

    /// Convenience: a JSON body (content-type application/json), Content-Length.
    public static func json(_ status: Int = 200, _ body: String, headers: [(String, String)] = []) -> LoopbackResponse {
        LoopbackResponse(
            status: status,
            headers: withDefault(headers, "Content-Type", "application/json"),
            parts: [.text(body)]
        )
    }

    /// Convenience: a server-sent-events stream (content-type text/event-stream, chunked), one part per element, optional delay between them.
    // Elements are written verbatim, so each should carry its own "\n\n" terminator;
    // that lets a test split one event across parts on purpose.
    public static func sse(_ events: [String], delay: Double = 0, headers: [(String, String)] = []) -> LoopbackResponse {
        var parts: [Part] = []
        for (index, event) in events.enumerated() {
            if index > 0, delay > 0 { parts.append(.delay(delay)) }
            parts.append(.text(event))
        }
        return LoopbackResponse(
            status: 200,
            headers: withDefault(headers, "Content-Type", "text/event-stream"),
            parts: parts,
            chunked: true
        )
    }

    /// Accept the request but never answer it for `seconds` (for timeout tests), then close.
    public static func stall(_ seconds: Double) -> LoopbackResponse {
        var response = LoopbackResponse(status: 200, parts: [])
        response.stallSeconds = seconds
        return response
    }

    private static func withDefault(_ headers: [(String, String)], _ name: String, _ value: String) -> [(String, String)] {
        let present = headers.contains { $0.0.lowercased() == name.lowercased() }
        return present ? headers : [(name, value)] + headers
    }
}

/// Why a `LoopbackServer` could not start.
public struct LoopbackServerError: Error, CustomStringConvertible {
    /// The failing system call and its errno text.
    public let description: String
}

/// How the server's answer to one request ended.
public enum LoopbackEnding: Sendable, Equatable {
    /// Every part was written (a stall ran its full length, a scripted hang-up happened).
    case completed
    /// The client closed the connection before the answer was over: it gave up, timed out or was cancelled.
    case clientGone
    /// The server was stopped mid-answer.
    case stopped
}

/// An HTTP/1.1 server on 127.0.0.1 with an ephemeral port, answering through a handler.
public final class LoopbackServer: Sendable {
    /// The port the server listens on.
    public let port: Int
    // The threads hold the core, not the server, so dropping the server runs deinit and stops them.
    private let core: ServerCore

    /// "http://127.0.0.1:\(port)".
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Starts listening at once. The handler runs on a connection thread.
    public init(handler: @escaping @Sendable (RecordedRequest) -> LoopbackResponse) throws {
        let (fd, port) = try Self.listen()
        self.port = port
        self.core = ServerCore(listenFD: fd, handler: handler)
        let core = self.core
        Thread { core.acceptLoop() }.start()
    }

    /// Answers requests in order from the list; past its end, answers 500 with a JSON body saying the script ran out.
    public convenience init(script: [LoopbackResponse]) throws {
        // Mutex is not copyable, so the closure shares it through a class.
        let box = ScriptCursor()
        try self.init { _ in
            let index = box.cursor.withLock { value -> Int in
                defer { value += 1 }
                return value
            }
            if index < script.count { return script[index] }
            return .json(500, #"{"error":{"type":"loopback_script_exhausted","message":"LoopbackServer script ran out after \#(script.count) responses"}}"#)
        }
    }

    /// Every request received so far, in arrival order.
    public var requests: [RecordedRequest] { core.state.withLock { $0.requests } }

    /// Number of TCP connections accepted so far.
    public var connectionCount: Int { core.state.withLock { $0.connectionCount } }

    /// How each answer ended, in the order they ended.
    public var endings: [LoopbackEnding] { core.state.withLock { $0.endings } }

    /// Returns once `count` requests have been received (an event, not a sleep), or the server is
    /// stopped with no connection left.
    public func waitForRequests(_ count: Int) async {
        await core.wait { $0.requests.count >= count }
    }

    /// Returns how the answers ended, once `count` of them have (or the server is stopped with no
    /// connection left).
    public func waitForEndings(_ count: Int) async -> [LoopbackEnding] {
        await core.wait { $0.endings.count >= count }
        return endings
    }

    /// Stops accepting and closes all open connections (also done in deinit). Idempotent.
    public func stop() { core.stop() }

    deinit { core.stop() }

    private static func listen() throws -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw systemError("socket") }
        var yes: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))

        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(0).bigEndian  // 0: the kernel picks a free port
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { let error = systemError("bind"); close(fd); throw error }
        guard Glibc.listen(fd, 128) == 0 else { let error = systemError("listen"); close(fd); throw error }

        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { let error = systemError("getsockname"); close(fd); throw error }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    private static func systemError(_ call: String) -> LoopbackServerError {
        LoopbackServerError(description: "\(call): \(String(cString: strerror(errno)))")
    }
}

// MARK: - Internals

private final class ScriptCursor: Sendable {
    let cursor = Mutex(0)
}

private struct ServerState {
    var requests: [RecordedRequest] = []
    var connectionCount = 0
    var stopped = false
    // Connection sockets still open; a connection thread removes its own before closing it,
    // so stop() never shuts down a descriptor number that has been reused.
    var openConnections: Set<Int32> = []
    var endings: [LoopbackEnding] = []
    // Tests waiting for a condition on this state (requests received, answers ended).
    var waiters: [(condition: @Sendable (ServerState) -> Bool, continuation: CheckedContinuation<Void, Never>)] = []

    /// Stopped, and every connection has recorded how its answer ended: nothing more will happen.
    var settled: Bool { stopped && openConnections.isEmpty }

    /// Waiters whose condition now holds (all of them once settled), removed from the state.
    mutating func ready() -> [CheckedContinuation<Void, Never>] {
        let snapshot = self
        var ready: [CheckedContinuation<Void, Never>] = []
        waiters.removeAll { waiter in
            guard snapshot.settled || waiter.condition(snapshot) else { return false }
            ready.append(waiter.continuation)
            return true
        }
        return ready
    }
}

private final class ServerCore: Sendable {
    let listenFD: Int32
    let handler: @Sendable (RecordedRequest) -> LoopbackResponse
    let state = Mutex(ServerState())

    /// How long any blocking wait lasts before re-checking `stopped`.
    static let pollMilliseconds: Int32 = 50

    init(listenFD: Int32, handler: @escaping @Sendable (RecordedRequest) -> LoopbackResponse) {
        self.listenFD = listenFD
        self.handler = handler
    }

    var isStopped: Bool { state.withLock { $0.stopped } }

    /// Changes the state and wakes the waiters whose condition then holds.
    func update(_ change: (inout ServerState) -> Void) {
        let ready = state.withLock { state in
            change(&state)
            return state.ready()
        }
        for continuation in ready { continuation.resume() }
    }

    /// Returns once `condition` holds on the state, or the server is stopped and its connections closed.
    func wait(_ condition: @escaping @Sendable (ServerState) -> Bool) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.settled || condition(state) { return true }
                state.waiters.append((condition, continuation))
                return false
            }
            if now { continuation.resume() }
        }
    }

    func stop() {
        defer { update { _ in } }  // wake every waiter if nothing more can happen
        state.withLock { state in
            if state.stopped { return }
            state.stopped = true
            // Shutdown (not close) wakes threads blocked on these sockets; each owner closes its own.
            // Done under the lock, so no owner can have closed one yet (its number could be reused).
            for fd in state.openConnections { shutdown(fd, Int32(SHUT_RDWR)) }
            // Refuse new connections at once; the accept thread closes the descriptor once it sees `stopped`.
            shutdown(listenFD, Int32(SHUT_RDWR))
        }
    }

    func acceptLoop() {
        defer { close(listenFD) }
        while !isStopped {
            var pfd = pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Self.pollMilliseconds)
            if ready <= 0 { continue }
            let fd = accept(listenFD, nil, nil)
            if fd < 0 { continue }
            // Keep test sockets out of child processes the tests may spawn (accept4 is not imported).
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            // No Nagle: each chunk must reach the client when written, not after a delayed ACK.
            var yes: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
            let id = state.withLock { state -> Int? in
                if state.stopped { return nil }
                state.connectionCount += 1
                state.openConnections.insert(fd)
                return state.connectionCount
            }
            guard let id else { close(fd); return }
            Thread { [self] in
                Connection(fd: fd, id: id, core: self).run()
                update { _ = $0.openConnections.remove(fd) }
                close(fd)
            }.start()
        }
    }
}

/// One parsed request head plus the decisions that depend on it.
private struct RequestHead {
    var method: String
    var target: String
    var version: String
    var headers: [(name: String, value: String)]

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name }?.value
    }

    var wantsClose: Bool {
        let connection = header("connection")?.lowercased() ?? ""
        if connection.contains("close") { return true }
        // HTTP/1.0 closes by default unless it asked to keep the connection.
        return version == "HTTP/1.0" && !connection.contains("keep-alive")
    }
}

/// Serves the requests on one TCP connection; lives only on its connection thread.
private final class Connection {
    let fd: Int32
    let id: Int
    let core: ServerCore
    // Bytes received but not yet consumed; may hold the start of a pipelined next request.
    var buffer: [UInt8] = []
    // Reused receive scratch space, so a benchmark does not allocate per recv.
    private var scratch = [UInt8](repeating: 0, count: 65_536)

    init(fd: Int32, id: Int, core: ServerCore) {
        self.fd = fd
        self.id = id
        self.core = core
    }

    func run() {
        while !core.isStopped {
            guard let head = readHead() else { return }
            if head.header("expect")?.lowercased() == "100-continue" {
                guard write(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) else { return }
            }
            guard let body = readBody(head) else { return }

            let request = RecordedRequest(
                method: head.method,
                target: head.target,
                path: Self.path(of: head.target),
                headers: head.headers,
                body: Data(body),
                connectionID: id
            )
            // Record first, so a test sees the request even if the client gives up mid-response.
            core.update { $0.requests.append(request) }
            let response = core.handler(request)

            if let seconds = response.stallSeconds {
                let ending = sleep(seconds)
                core.update { $0.endings.append(ending) }
                return
            }
            let (keepOpen, ending) = respond(response, to: head)
            core.update { $0.endings.append(ending) }
            guard keepOpen else { return }
        }
    }

    // MARK: Reading

    /// Reads more bytes into `buffer`; false on close, error or stop.
    private func fill() -> Bool {
        while !core.isStopped {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, ServerCore.pollMilliseconds)
            if ready == 0 || (ready < 0 && errno == EINTR) { continue }
            if ready < 0 { return false }
            let count = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                buffer.append(contentsOf: scratch[0..<count])
                return true
            }
            if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            return false
        }
        return false
    }

    /// Index just past the first CRLF CRLF in `buffer`, filling as needed.
    private func readThroughBlankLine() -> Int? {
        var searchFrom = 0
        while true {
            if buffer.count >= 4 {
                var i = searchFrom
                while i + 3 < buffer.count {
                    if buffer[i] == 13, buffer[i + 1] == 10, buffer[i + 2] == 13, buffer[i + 3] == 10 {
                        return i + 4
                    }
                    i += 1
                }
                searchFrom = max(0, buffer.count - 3)
            }
            guard fill() else { return nil }
        }
    }

    /// Removes and returns one CRLF-terminated line (without the CRLF), filling as needed.
    private func takeLine() -> String? {
        while true {
            if let end = buffer.indices.dropLast().first(where: { buffer[$0] == 13 && buffer[$0 + 1] == 10 }) {
                let line = String(decoding: buffer[0..<end], as: UTF8.self)
                buffer.removeFirst(end + 2)
                return line
            }
            guard fill() else { return nil }
        }
    }

    private func take(_ count: Int) -> [UInt8]? {
        while buffer.count < count {
            guard fill() else { return nil }
        }
        let taken = Array(buffer[0..<count])
        buffer.removeFirst(count)
        return taken
    }

    private func readHead() -> RequestHead? {
        // Tolerate stray CRLFs between requests (RFC 9112 §2.2).
        while true {
            while buffer.count >= 2, buffer[0] == 13, buffer[1] == 10 { buffer.removeFirst(2) }
            if !buffer.isEmpty && buffer != [13] { break }
            guard fill() else { return nil }
        }
        guard let end = readThroughBlankLine() else { return nil }
        let text = String(decoding: buffer[0..<(end - 4)], as: UTF8.self)
        buffer.removeFirst(end)

        let lines = text.components(separatedBy: "\r\n")
        let requestLine = lines[0].split(separator: " ", omittingEmptySubsequences: true)
        guard requestLine.count == 3 else {
            _ = write(Array("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8))
            return nil
        }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[..<colon]).trimmingCharacters(in: .whitespaces)
            let value = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            headers.append((name: name, value: value))
        }
        return RequestHead(
            method: String(requestLine[0]),
            target: String(requestLine[1]),
            version: String(requestLine[2]),
            headers: headers
        )
    }

    private func readBody(_ head: RequestHead) -> [UInt8]? {
        if head.header("transfer-encoding")?.lowercased().contains("chunked") == true {
            var body: [UInt8] = []
            while true {
                guard let sizeLine = takeLine() else { return nil }
                let hex = sizeLine.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
                guard let size = Int(hex.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else { return nil }
                if size == 0 {
                    // Trailer fields, if any, end with an empty line.
                    while true {
                        guard let trailer = takeLine() else { return nil }
                        if trailer.isEmpty { return body }
                    }
                }
                guard let data = take(size), take(2) != nil else { return nil }
                body += data
            }
        }
        let length = head.header("content-length").flatMap { Int($0) } ?? 0
        return take(max(0, length))
    }

    static func path(of target: String) -> String {
        var rest = Substring(target)
        // Absolute form (sent to proxies): drop "scheme://authority".
        if let scheme = rest.range(of: "://") {
            rest = rest[scheme.upperBound...]
            if let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) {
                rest = rest[slash...]
            } else {
                rest = ""
            }
        }
        if let query = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = rest[..<query] }
        return rest.isEmpty ? "/" : String(rest)
    }

    // MARK: Writing

    /// Writes the response: whether the connection stays open afterwards, and how the answer ended.
    private func respond(_ response: LoopbackResponse, to head: RequestHead) -> (keepOpen: Bool, ending: LoopbackEnding) {
        let bodyless = head.method == "HEAD"
        let bodies = response.parts.compactMap(Self.payload)
        let names = Set(response.headers.map { $0.0.lowercased() })
        let callerCloses = response.headers.contains {
            $0.0.lowercased() == "connection" && $0.1.lowercased().contains("close")
        }
        let closeAfter = head.wantsClose || callerCloses

        var out = Array("HTTP/1.1 \(response.status) \(Self.reason(response.status))\r\n".utf8)
        for (name, value) in response.headers { out += Array("\(name): \(value)\r\n".utf8) }
        if !names.contains("content-length") && !names.contains("transfer-encoding") {
            out += Array((response.chunked
                ? "Transfer-Encoding: chunked\r\n"
                : "Content-Length: \(bodies.reduce(0) { $0 + $1.count })\r\n").utf8)
        }
        if !names.contains("connection") {
            out += Array((head.wantsClose ? "Connection: close\r\n" : "Connection: keep-alive\r\n").utf8)
        }
        out += Array("\r\n".utf8)

        // Coalesce writes until a delay or the end so plain responses leave in one segment;
        // chunked parts are flushed one by one so the client sees them arrive separately.
        for part in response.parts {
            switch part {
            case .bytes, .text:
                guard !bodyless, let data = Self.payload(part) else { continue }
                if response.chunked {
                    // An empty chunk would read as the end of the body, so skip it.
                    if data.isEmpty { continue }
                    out += Array(String(data.count, radix: 16).utf8) + [13, 10] + data + [13, 10]
                    guard write(out) else { return (false, gone) }
                    out = []
                } else {
                    out += data
                }
            case .delay(let seconds):
                guard write(out) else { return (false, gone) }
                out = []
                let waited = sleep(seconds)
                if waited != .completed { return (false, waited) }
            case .hangUp:
                _ = write(out)
                return (false, .completed)
            }
        }
        if response.chunked && !bodyless { out += Array("0\r\n\r\n".utf8) }
        guard write(out) else { return (false, gone) }
        return (!closeAfter, .completed)
    }

    /// Why a write failed: the client closed the connection, or stop() shut it down.
    private var gone: LoopbackEnding { core.isStopped ? .stopped : .clientGone }

    static func payload(_ part: LoopbackResponse.Part) -> [UInt8]? {
        switch part {
        case .bytes(let data): Array(data)
        case .text(let text): Array(text.utf8)
        case .delay, .hangUp: nil
        }
    }

    /// Sends all of `bytes`; false if the peer is gone.
    private func write(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes {
                send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += sent
        }
        return true
    }

    /// Sleeps in short steps, watching the connection: ends early when stop() is called or the client
    /// closes the connection (so a test learns that the client gave up while the server still waited).
    private func sleep(_ seconds: Double) -> LoopbackEnding {
        let deadline = ContinuousClock.now + .milliseconds(Int64((seconds * 1000).rounded()))
        while !core.isStopped {
            let left = deadline - ContinuousClock.now
            if left <= .zero { return .completed }
            let step = min(10, Int32(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000) + 1)
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, step)
            guard ready > 0 else { continue }
            if pfd.revents & Int16(POLLHUP | POLLERR) != 0 { return gone }
            // Readable: either the client closed (a read of 0) or it sent more (a pipelined request).
            var byte: UInt8 = 0
            let peeked = recv(fd, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
            if peeked == 0 || (peeked < 0 && errno != EAGAIN && errno != EINTR) { return gone }
            Thread.sleep(forTimeInterval: 0.01)  // bytes are waiting for the next request: poll would not block
        }
        return .stopped
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 413: "Content Too Large"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 529: "Overloaded"
        default: "Status"
        }
    }
}
