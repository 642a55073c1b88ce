import AIDETesting
import Foundation
import Glibc
import Testing

// The server is exercised with a raw-socket client so these tests depend on nothing but POSIX,
// and can see the exact bytes (framing, chunk boundaries, hang-ups) the server writes.

/// A blocking TCP client with timeouts, for talking to a LoopbackServer byte by byte.
private final class RawClient {
    let fd: Int32
    var buffer: [UInt8] = []
    var closedByPeer = false

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClientError("socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port)).bigEndian
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else { close(fd); throw ClientError("connect failed") }
    }

    deinit { close(fd) }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            guard sent > 0 else { throw ClientError("send failed") }
            offset += sent
        }
    }

    /// Reads once (waiting up to `timeout`); false on EOF, error or timeout. The wait happens on
    /// its own thread, so a test never blocks the cooperative pool other tests run on.
    @discardableResult
    func fill(timeout: Double = 60) async -> Bool {
        let fd = self.fd
        let received: [UInt8]? = await offPool {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Int32(timeout * 1000)) > 0 else { return [] }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            return count <= 0 ? nil : Array(chunk[0..<count])
        }
        guard let received else { closedByPeer = true; return false }
        guard !received.isEmpty else { return false }
        buffer += received
        return true
    }

    /// Reads until the peer closes (or `timeout` passes with nothing new) and returns everything unread.
    func readToEnd(timeout: Double = 60) async -> [UInt8] {
        while await fill(timeout: timeout) {}
        defer { buffer = [] }
        return buffer
    }

    func take(_ count: Int) async throws -> [UInt8] {
        while buffer.count < count {
            guard await fill() else { throw ClientError("connection ended after \(buffer.count) of \(count) bytes") }
        }
        defer { buffer.removeFirst(count) }
        return Array(buffer[0..<count])
    }

    func takeLine() async throws -> String {
        while true {
            if let end = buffer.indices.dropLast().first(where: { buffer[$0] == 13 && buffer[$0 + 1] == 10 }) {
                defer { buffer.removeFirst(end + 2) }
                return String(decoding: buffer[0..<end], as: UTF8.self)
            }
            guard await fill() else { throw ClientError("connection ended inside a line") }
        }
    }

    /// Reads one response; `chunks` lists the chunk payloads (in arrival order) when chunked.
    func readResponse() async throws -> RawResponse {
        let statusLine = try await takeLine()
        let status = Int(statusLine.split(separator: " ")[1]) ?? 0
        var headers: [String: String] = [:]
        while true {
            let line = try await takeLine()
            if line.isEmpty { break }
            let colon = line.firstIndex(of: ":")!
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var response = RawResponse(statusLine: statusLine, status: status, headers: headers, body: [], chunks: [])
        if headers["transfer-encoding"] == "chunked" {
            while true {
                let size = Int(try await takeLine(), radix: 16) ?? -1
                if size == 0 { _ = try await takeLine(); break }
                let data = try await take(size)
                _ = try await take(2)
                response.chunks.append(data)
                response.body += data
            }
        } else {
            response.body = try await take(Int(headers["content-length"] ?? "0") ?? 0)
        }
        return response
    }
}

private struct RawResponse {
    var statusLine: String
    var status: Int
    var headers: [String: String]
    var body: [UInt8]
    var chunks: [[UInt8]]
    var text: String { String(decoding: body, as: UTF8.self) }
}

private struct ClientError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

private func post(_ path: String, _ body: String, extra: String = "") -> String {
    "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\(extra)Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
}

@Suite struct LoopbackServerTests {
    @Test func jsonAnswerHasContentLength() async throws {
        let server = try LoopbackServer { _ in .json(200, #"{"ok":true}"#) }
        defer { server.stop() }
        #expect(server.baseURL == "http://127.0.0.1:\(server.port)")

        let client = try RawClient(port: server.port)
        try client.send(post("/v1/messages", "{}"))
        let response = try await client.readResponse()
        #expect(response.status == 200)
        #expect(response.headers["content-length"] == "11")
        #expect(response.headers["content-type"] == "application/json")
        #expect(response.headers["connection"] == "keep-alive")
        #expect(response.text == #"{"ok":true}"#)
    }

    @Test func statusLineUsesReasonPhrase() async throws {
        let server = try LoopbackServer(script: [.json(529, "{}"), .json(429, "{}"), .json(418, "{}")])
        let client = try RawClient(port: server.port)
        var lines: [String] = []
        for _ in 0..<3 {
            try client.send(post("/x", ""))
            lines.append(try await client.readResponse().statusLine)
        }
        #expect(lines == ["HTTP/1.1 529 Overloaded", "HTTP/1.1 429 Too Many Requests", "HTTP/1.1 418 Status"])
    }

    @Test func keepAliveServesTwoRequestsOnOneConnection() async throws {
        let server = try LoopbackServer { request in .json(200, #"{"path":"\#(request.path)"}"#) }
        let client = try RawClient(port: server.port)
        try client.send(post("/first", "1"))
        #expect(try await client.readResponse().text == #"{"path":"/first"}"#)
        try client.send(post("/second", "2"))
        #expect(try await client.readResponse().text == #"{"path":"/second"}"#)

        let requests = server.requests
        #expect(requests.map(\.path) == ["/first", "/second"])
        #expect(requests.map(\.connectionID) == [1, 1])
        #expect(server.connectionCount == 1)

        // A second connection gets the next ID.
        let other = try RawClient(port: server.port)
        try other.send(post("/third", "3"))
        _ = try await other.readResponse()
        #expect(server.requests.last?.connectionID == 2)
        #expect(server.connectionCount == 2)
    }

    @Test func connectionCloseFromClientEndsConnection() async throws {
        let server = try LoopbackServer { _ in .json(200, "{}") }
        let client = try RawClient(port: server.port)
        try client.send(post("/x", "", extra: "Connection: close\r\n"))
        let response = try await client.readResponse()
        #expect(response.headers["connection"] == "close")
        #expect(await client.readToEnd().isEmpty)
        #expect(client.closedByPeer)
    }

    @Test func sseChunksArriveOneByOne() async throws {
        let events = ["data: {\"n\":1}\n\n", "data: {\"n\":2}\n\n", "data: [DONE]\n\n"]
        let server = try LoopbackServer { _ in .sse(events, delay: 0.3) }
        let client = try RawClient(port: server.port)
        try client.send(post("/stream", "{}"))

        // The first event must be readable long before the last delay has passed.
        while !String(decoding: client.buffer, as: UTF8.self).contains("\"n\":1") {
            guard await client.fill() else { Issue.record("stream ended early"); return }
        }
        // Ordering, not wall-clock gaps (those measure the test machine's load): the first event is
        // readable while the last is not yet sent.
        #expect(!String(decoding: client.buffer, as: UTF8.self).contains("[DONE]"))
        let response = try await client.readResponse()
        #expect(response.headers["transfer-encoding"] == "chunked")
        #expect(response.headers["content-type"] == "text/event-stream")
        #expect(response.chunks.map { String(decoding: $0, as: UTF8.self) } == events)
    }

    @Test func hangUpClosesMidBody() async throws {
        let server = try LoopbackServer(script: [
            LoopbackResponse(parts: [.text("partial"), .hangUp, .text(" never sent")]),
            LoopbackResponse(parts: [.text("data: 1\n\n"), .hangUp], chunked: true),
        ])
        let plain = try RawClient(port: server.port)
        try plain.send(post("/x", ""))
        let raw = String(decoding: await plain.readToEnd(), as: UTF8.self)
        #expect(plain.closedByPeer)
        #expect(raw.contains("Content-Length: 18\r\n"))
        #expect(raw.hasSuffix("\r\n\r\npartial"))

        let chunked = try RawClient(port: server.port)
        try chunked.send(post("/y", ""))
        let rawChunked = String(decoding: await chunked.readToEnd(), as: UTF8.self)
        #expect(chunked.closedByPeer)
        #expect(rawChunked.hasSuffix("\r\n\r\n9\r\ndata: 1\n\n\r\n"))  // no terminating 0-chunk
    }

    @Test func scriptAnswersInOrderThenFails() async throws {
        let server = try LoopbackServer(script: [.json(200, #"{"n":1}"#), .json(201, #"{"n":2}"#)])
        let client = try RawClient(port: server.port)
        var answers: [(Int, String)] = []
        for _ in 0..<3 {
            try client.send(post("/x", "{}"))
            let response = try await client.readResponse()
            answers.append((response.status, response.text))
        }
        #expect(answers[0] == (200, #"{"n":1}"#))
        #expect(answers[1] == (201, #"{"n":2}"#))
        #expect(answers[2].0 == 500)
        #expect(answers[2].1.contains("ran out"))
        #expect(server.requests.count == 3)
    }

    @Test func recordsBodyHeadersAndTarget() async throws {
        let server = try LoopbackServer { _ in .json(200, "{}") }
        let client = try RawClient(port: server.port)
        let body = #"{"model":"m","stream":true}"#
        try client.send(post("/v1/messages?beta=true", body, extra: "X-Api-Key: secret\r\nanthropic-version: 2023-06-01\r\n"))
        _ = try await client.readResponse()

        let request = try #require(server.requests.first)
        #expect(request.method == "POST")
        #expect(request.target == "/v1/messages?beta=true")
        #expect(request.path == "/v1/messages")
        #expect(request.header("x-api-key") == "secret")
        #expect(request.header("Anthropic-Version") == "2023-06-01")
        #expect(request.header("missing") == nil)
        #expect(request.headers.map(\.name) == ["Host", "Content-Type", "X-Api-Key", "anthropic-version", "Content-Length"])
        #expect(String(decoding: request.body, as: UTF8.self) == body)
        #expect(request.bodyJSON?["model"] as? String == "m")
        #expect(request.bodyJSON?["stream"] as? Bool == true)
    }

    @Test func chunkedRequestBodyWithExpectContinue() async throws {
        let server = try LoopbackServer { _ in .json(200, "{}") }
        let client = try RawClient(port: server.port)
        try client.send("POST http://api.example.com:8080/v1/chat?x=1 HTTP/1.1\r\nHost: api.example.com\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n")
        #expect(try await client.takeLine() == "HTTP/1.1 100 Continue")
        #expect(try await client.takeLine() == "")
        try client.send("5\r\n{\"a\":\r\n3;ext=1\r\n 1}\r\n0\r\nTrailer: x\r\n\r\n")
        #expect(try await client.readResponse().status == 200)

        let request = try #require(server.requests.first)
        #expect(request.target == "http://api.example.com:8080/v1/chat?x=1")
        #expect(request.path == "/v1/chat")
        #expect(request.bodyJSON?["a"] as? Int == 1)
    }

    @Test func stallIsRecordedAndStopInterruptsIt() async throws {
        let server = try LoopbackServer(script: [.stall(600)])
        let client = try RawClient(port: server.port)
        try client.send(post("/slow", "{}"))
        #expect(await !client.fill(timeout: 0.2))  // no answer
        #expect(server.requests.map(\.path) == ["/slow"])

        server.stop()
        #expect(await client.readToEnd().isEmpty)
        #expect(client.closedByPeer)
        #expect(await server.waitForEndings(1) == [.stopped], "stop() ended the 10-minute stall")
        server.stop()  // idempotent

        // The listening socket no longer takes connections.
        await #expect(throws: (any Error).self) {
            let late = try RawClient(port: server.port)
            try late.send(post("/late", ""))
            _ = try await late.readResponse()
        }
    }

    @Test func manyServersInParallel() async throws {
        try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<16 {
                group.addTask {
                    let server = try LoopbackServer { _ in .json(200, #"{"i":\#(index)}"#) }
                    let client = try RawClient(port: server.port)
                    try client.send(post("/x", ""))
                    let text = try await client.readResponse().text
                    return text == #"{"i":\#(index)}"# ? 1 : 0
                }
            }
            var ok = 0
            for try await result in group { ok += result }
            #expect(ok == 16)
        }
    }
}
