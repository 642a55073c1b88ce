@testable import AIDE
import AIDETesting
import Foundation
import Glibc
import Synchronization
import Testing

// Every test makes its own LoopbackServer and HTTPClient, so the tests can run in parallel.
// No test times anything (a loaded 2-core machine runs the whole suite at once): a timeout is told
// from the server's own end by what the client sees (timed out vs. an empty reply or more data,
// the server's delays being minutes long), and a cancelled or abandoned transfer by how the server's
// answer ended (`LoopbackEnding.clientGone`: the client closed the connection while the server waited).

/// An SSE response whose parts are written verbatim with the given pauses between them.
private func slowSSE(_ parts: [LoopbackResponse.Part]) -> LoopbackResponse {
    LoopbackResponse(status: 200, headers: [("Content-Type", "text/event-stream")], parts: parts, chunked: true)
}

/// A port on 127.0.0.1 that refuses connections: bound, so no other test's server can be given it,
/// but never listening. (Stopping a LoopbackServer and reusing its port is racy when suites run in
/// parallel: the kernel may hand the freed port to another test's server, and the request lands there.)
private final class RefusingPort {
    let port: Int
    private let fd: Int32

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(fd >= 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        if !named { close(fd) }
        try #require(named)
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}

@Suite struct HTTPClientTests {
    // MARK: Requests and responses

    @Test func jsonPostSendsMethodPathHeadersAndExactBody() async throws {
        let server = try LoopbackServer(script: [
            .json(201, #"{"id":"msg_1","ok":true}"#, headers: [("X-Request-Id", "req-42")])
        ])
        let client = HTTPClient()
        // 200 KB, large enough that curl would ask for 100-continue if it were allowed to.
        let padding = String(repeating: "abcdefghij", count: 20_000)
        let body = Data(#"{"model":"m","prompt":"\#(padding)","n":1}"#.utf8)
        let request = HTTPRequest.postJSON(
            url: server.baseURL + "/v1/messages?beta=true",
            body: body,
            headers: [("x-api-key", "sk-test"), ("anthropic-version", "2023-06-01")]
        )
        #expect(request.method == "POST")

        let response = try await client.send(request)

        #expect(response.status == 201)
        #expect(response.body == Data(#"{"id":"msg_1","ok":true}"#.utf8))
        // header() ignores case.
        #expect(response.header("x-request-id") == "req-42")
        #expect(response.header("X-REQUEST-ID") == "req-42")
        #expect(response.header("content-type") == "application/json")
        #expect(response.header("Content-Length") == "24")
        #expect(response.header("x-missing") == nil)

        let recorded = try #require(server.requests.first)
        #expect(server.requests.count == 1)
        #expect(recorded.method == "POST")
        #expect(recorded.target == "/v1/messages?beta=true")
        #expect(recorded.path == "/v1/messages")
        #expect(recorded.header("content-type") == "application/json")
        #expect(recorded.header("x-api-key") == "sk-test")
        #expect(recorded.header("anthropic-version") == "2023-06-01")
        #expect(recorded.header("content-length") == String(body.count))
        #expect(recorded.header("expect") == nil)
        #expect(recorded.header("transfer-encoding") == nil)
        let userAgent = try #require(recorded.header("user-agent"))
        #expect(userAgent.hasPrefix("aide/"))
        #expect(recorded.body.count == body.count)
        #expect(recorded.body == body)
        #expect(recorded.bodyJSON?["n"] as? Int == 1)
    }

    @Test func postJSONKeepsACallerContentType() {
        let request = HTTPRequest.postJSON(
            url: "http://127.0.0.1/", body: Data("{}".utf8), headers: [("Content-Type", "application/json; charset=utf-8")])
        #expect(request.headers.filter { $0.name.lowercased() == "content-type" }.map(\.value) == [
            "application/json; charset=utf-8"
        ])
    }

    @Test func binaryBodyAndOtherMethodsAreSentVerbatim() async throws {
        let server = try LoopbackServer(script: [.json(200, "{}"), .json(200, "{}"), .json(200, "{}")])
        let client = HTTPClient()
        // Every byte value, including NUL: the body must not be treated as a C string.
        let bytes = Data((0..<1024).map { UInt8($0 % 256) })
        _ = try await client.send(HTTPRequest(method: "PUT", url: server.baseURL + "/put", body: bytes))
        _ = try await client.send(HTTPRequest(method: "DELETE", url: server.baseURL + "/thing/1"))
        _ = try await client.send(HTTPRequest(url: server.baseURL + "/get?q=1"))

        let requests = server.requests
        try #require(requests.count == 3)
        #expect(requests[0].method == "PUT")
        #expect(requests[0].body == bytes)
        #expect(requests[1].method == "DELETE")
        #expect(requests[1].path == "/thing/1")
        #expect(requests[1].body.isEmpty)
        #expect(requests[2].method == "GET")
        #expect(requests[2].target == "/get?q=1")
    }

    @Test func configuredUserAgentIsSent() async throws {
        let server = try LoopbackServer(script: [.json(200, "{}")])
        let client = HTTPClient(configuration: .init(userAgent: "custom-agent/9"))
        _ = try await client.send(HTTPRequest(url: server.baseURL + "/"))
        #expect(server.requests.first?.header("user-agent") == "custom-agent/9")
    }

    @Test(arguments: [400, 401, 404, 429, 500, 503, 529])
    func nonSuccessStatusIsAResponseNotAnError(_ status: Int) async throws {
        let body = #"{"type":"error","error":{"type":"some_error","message":"status \#(status)"}}"#
        let server = try LoopbackServer(script: [.json(status, body, headers: [("retry-after", "7")])])
        let client = HTTPClient()
        let response = try await client.send(HTTPRequest.postJSON(url: server.baseURL + "/v1/x", body: Data("{}".utf8)))
        #expect(response.status == status)
        #expect(response.body == Data(body.utf8))
        #expect(response.header("Retry-After") == "7")
    }

    @Test func emptyBodyResponseStillHasAHead() async throws {
        let server = try LoopbackServer(script: [LoopbackResponse(status: 204, parts: [])])
        let client = HTTPClient()
        let response = try await client.send(HTTPRequest(url: server.baseURL + "/"))
        #expect(response.status == 204)
        #expect(response.body.isEmpty)

        // The stream of a bodiless response is exactly one head.
        let server2 = try LoopbackServer(script: [LoopbackResponse(status: 200, parts: [])])
        var events: [HTTPStreamEvent] = []
        for try await event in client.stream(HTTPRequest(url: server2.baseURL + "/")) { events.append(event) }
        #expect(events.count == 1)
        guard case .head(let head)? = events.first else {
            Issue.record("expected a head, got \(events)")
            return
        }
        #expect(head.status == 200)
    }

    // MARK: Streaming

    @Test func streamDeliversChunksAsTheyArrive() async throws {
        let events = ["event: a\ndata: 1\n\n", "event: b\ndata: 2\n\n", "event: c\ndata: 3\n\n"]
        // 1 s pauses (not shorter): other suites' synchronous tests may hold the cooperative pool's
        // threads for a few hundred milliseconds, delaying when this task sees the first chunk.
        let server = try LoopbackServer(script: [.sse(events, delay: 1)])
        let client = HTTPClient()

        var heads: [HTTPHead] = []
        var headBeforeBody = true
        var bodyReads = 0
        var received = Data()
        var parser = SSEParser()
        var parsed: [SSEEvent] = []
        for try await event in client.stream(HTTPRequest(url: server.baseURL + "/v1/stream")) {
            switch event {
            case .head(let head):
                if bodyReads > 0 { headBeforeBody = false }
                heads.append(head)
            case .body(let chunk):
                bodyReads += 1
                received.append(chunk)
                parsed += parser.feed(chunk)
            }
        }

        #expect(heads.count == 1)
        #expect(headBeforeBody)
        #expect(heads.first?.status == 200)
        #expect(heads.first?.header("content-type") == "text/event-stream")
        // curl removed the chunked framing.
        #expect(received == Data(events.joined().utf8))
        #expect(parsed.map(\.event) == ["a", "b", "c"])
        #expect(parsed.map(\.data) == ["1", "2", "3"])
        #expect(parser.finish() == false)
        // Two 1 s pauses separate the events, so they cannot all come in one read: the chunks were
        // handed over as curl received them. (Structural, not timed: a loaded machine may delay the
        // consumer, never merge reads that curl delivered apart.)
        #expect(bodyReads >= 2)
    }

    // MARK: Connections

    @Test func sequentialRequestsReuseOneConnection() async throws {
        let server = try LoopbackServer(script: [
            .json(200, #"{"n":1}"#), .sse(["data: x\n\n"]), .json(200, #"{"n":3}"#),
        ])
        let client = HTTPClient()
        let first = try await client.send(HTTPRequest.postJSON(url: server.baseURL + "/a", body: Data("{}".utf8)))
        let second = try await client.send(HTTPRequest(url: server.baseURL + "/b"))
        let third = try await client.send(HTTPRequest(url: server.baseURL + "/c"))
        #expect(first.body == Data(#"{"n":1}"#.utf8))
        #expect(second.body == Data("data: x\n\n".utf8))
        #expect(third.body == Data(#"{"n":3}"#.utf8))

        let requests = server.requests
        try #require(requests.count == 3)
        #expect(Set(requests.map(\.connectionID)).count == 1)
        #expect(server.connectionCount == 1)
    }

    @Test func explicitProxyGetsTheAbsoluteFormTarget() async throws {
        let proxy = try LoopbackServer(script: [.json(200, #"{"via":"proxy"}"#)])
        let client = HTTPClient(configuration: .init(proxy: proxy.baseURL))
        let response = try await client.send(
            HTTPRequest.postJSON(url: "http://example.invalid/v1/x", body: Data(#"{"q":1}"#.utf8)))
        #expect(response.status == 200)
        #expect(response.body == Data(#"{"via":"proxy"}"#.utf8))

        let recorded = try #require(proxy.requests.first)
        #expect(recorded.target == "http://example.invalid/v1/x")
        #expect(recorded.path == "/v1/x")
        #expect(recorded.method == "POST")
        #expect(recorded.header("host") == "example.invalid")
        #expect(recorded.body == Data(#"{"q":1}"#.utf8))
    }

    // MARK: Failures

    @Test func totalTimeoutIsTimedOut() async throws {
        // The stall would end in an empty reply after 10 minutes; a timeout ends it, and the client hangs up.
        let server = try LoopbackServer(script: [.stall(600)])
        let client = HTTPClient()
        let request = HTTPRequest(url: server.baseURL + "/", timeouts: HTTPTimeouts(total: 0.5))
        let error = await #expect(throws: CurlError.self) { _ = try await client.send(request) }
        let curlError = try #require(error)
        #expect(curlError.kind == .timedOut)
        #expect(curlError.code == 28)
        #expect(!curlError.message.isEmpty)
        #expect(curlError.isTransient)
        #expect(server.requests.count == 1)
        #expect(await server.waitForEndings(1) == [.clientGone])
    }

    @Test func idleTimeoutFiresWhenTheStreamGoesQuiet() async throws {
        // Without the idle timeout, the second event would arrive after 5 minutes, well within the total.
        let server = try LoopbackServer(script: [
            slowSSE([.text("data: 1\n\n"), .delay(300), .text("data: 2\n\n")])
        ])
        let client = HTTPClient()
        // A realistic prompt body: the bytes sent must not count as activity on the response.
        let request = HTTPRequest.postJSON(
            url: server.baseURL + "/v1/stream", body: Data(String(repeating: "x", count: 50_000).utf8),
            timeouts: HTTPTimeouts(total: 600, idle: 1))

        var received = Data()
        var thrown: (any Error)?
        do {
            for try await event in client.stream(request) {
                if case .body(let chunk) = event { received.append(chunk) }
            }
        } catch {
            thrown = error
        }

        let curlError = try #require(thrown as? CurlError, "expected a CurlError, got \(String(describing: thrown))")
        #expect(curlError.kind == .timedOut)
        #expect(!curlError.message.isEmpty)
        #expect(received == Data("data: 1\n\n".utf8))
        #expect(await server.waitForEndings(1) == [.clientGone])
    }

    @Test func idleTimeoutAlsoCoversTheWaitForTheHead() async throws {
        // The stall would end in an empty reply after 5 minutes, the total timeout after 10.
        let server = try LoopbackServer(script: [.stall(300)])
        let client = HTTPClient()
        let request = HTTPRequest(url: server.baseURL + "/", timeouts: HTTPTimeouts(total: 600, idle: 1))
        let error = await #expect(throws: CurlError.self) { _ = try await client.send(request) }
        #expect(error?.kind == .timedOut)
        #expect(await server.waitForEndings(1) == [.clientGone])
    }

    @Test func nothingListeningIsCouldNotConnect() async throws {
        let refusing = try RefusingPort()
        let client = HTTPClient()
        let error = await #expect(throws: CurlError.self) {
            _ = try await client.send(
                HTTPRequest(url: "http://127.0.0.1:\(refusing.port)/", timeouts: HTTPTimeouts(total: 10)))
        }
        withExtendedLifetime(refusing) {}
        #expect(error?.kind == .couldNotConnect)
        #expect(error?.message.isEmpty == false)
        #expect(error?.isTransient == true)
    }

    @Test func unresolvableHostIsCouldNotResolve() async throws {
        let client = HTTPClient()
        let error = await #expect(throws: CurlError.self) {
            _ = try await client.send(
                HTTPRequest(url: "http://nonexistent.invalid/", timeouts: HTTPTimeouts(connect: 5, total: 8)))
        }
        let kind = try #require(error?.kind)
        #expect(kind == .couldNotResolve || kind == .timedOut)
        #expect(error?.message.isEmpty == false)
    }

    @Test(arguments: ["http://[invalid/", "http://exa mple.com/", "ftp://127.0.0.1/file", "file:///etc/passwd"])
    func malformedOrUnsupportedURLIsInvalidURL(_ url: String) async throws {
        let client = HTTPClient()
        let error = await #expect(throws: CurlError.self) {
            _ = try await client.send(HTTPRequest(url: url, timeouts: HTTPTimeouts(total: 5)))
        }
        #expect(error?.kind == .invalidURL)
        #expect(error?.isTransient == false)
        #expect(error?.message.isEmpty == false)
    }

    @Test func hangUpMidChunkedBodyFailsAfterDeliveringEarlierChunks() async throws {
        let server = try LoopbackServer(script: [slowSSE([.text("data: 1\n\n"), .delay(0.2), .hangUp])])
        let client = HTTPClient()
        var received = Data()
        var thrown: (any Error)?
        do {
            for try await event in client.stream(HTTPRequest(url: server.baseURL + "/")) {
                if case .body(let chunk) = event { received.append(chunk) }
            }
        } catch {
            thrown = error
        }
        let curlError = try #require(thrown as? CurlError, "expected a CurlError, got \(String(describing: thrown))")
        #expect(curlError.kind == .partialBody || curlError.kind == .receiveFailed)
        #expect(curlError.isTransient)
        #expect(!curlError.message.isEmpty)
        #expect(received == Data("data: 1\n\n".utf8))
    }

    @Test func hangUpBeforeContentLengthIsReachedFails() async throws {
        let server = try LoopbackServer(script: [
            LoopbackResponse(status: 200, headers: [("Content-Length", "100")], parts: [.text("0123456789"), .hangUp])
        ])
        let client = HTTPClient()
        let error = await #expect(throws: CurlError.self) {
            _ = try await client.send(HTTPRequest(url: server.baseURL + "/"))
        }
        #expect(error?.kind == .partialBody || error?.kind == .receiveFailed)
    }

    @Test func closeWithoutAnyResponseIsEmptyReply() async throws {
        // The stall ends by closing the connection without a byte of response.
        let server = try LoopbackServer(script: [.stall(0.2)])
        let client = HTTPClient()
        let error = await #expect(throws: CurlError.self) {
            _ = try await client.send(HTTPRequest(url: server.baseURL + "/", timeouts: HTTPTimeouts(total: 10)))
        }
        #expect(error?.kind == .emptyReply)
    }

    // MARK: Cancellation

    @Test func cancellingSendAbortsAStalledTransfer() async throws {
        let server = try LoopbackServer(script: [.stall(600), .json(200, #"{"after":true}"#)])
        let client = HTTPClient()
        let task = Task { try await client.send(HTTPRequest(url: server.baseURL + "/", timeouts: HTTPTimeouts(total: 1200))) }
        await server.waitForRequests(1)
        task.cancel()
        let result = await task.result

        #expect(throws: CancellationError.self) { try result.get() }
        // The transfer was aborted: the client closed the connection while the server still stalled.
        #expect(await server.waitForEndings(1) == [.clientGone])

        // The client is not wedged: a new request on it completes.
        let after = try await client.send(HTTPRequest(url: server.baseURL + "/", timeouts: HTTPTimeouts(total: 60)))
        #expect(after.body == Data(#"{"after":true}"#.utf8))
    }

    @Test func cancellingSendMidBodyThrowsInsteadOfReturningATruncatedResponse() async throws {
        // The head and first event at once, the next one 2 minutes later: the client receives a head
        // and part of the body and then waits, as a streamed answer cut short does.
        let server = try LoopbackServer(handler: { _ in slowSSE([.text("data: 1\n\n"), .delay(120), .text("data: 2\n\n")]) })
        let client = HTTPClient()
        // The same stream, read as a stream on another client, shows when the head and the first event
        // are out (an event, not a sleep); then the send being tested gets them too.
        let task = Task { try await client.send(HTTPRequest(url: server.baseURL + "/", timeouts: HTTPTimeouts(total: 600))) }
        await server.waitForRequests(1)
        let probe = HTTPClient()
        for try await event in probe.stream(HTTPRequest(url: server.baseURL + "/probe", timeouts: HTTPTimeouts(total: 600))) {
            if case .body = event { break }
        }
        task.cancel()
        let result = await task.result
        switch result {
        case .success(let response):
            Issue.record("cancelled send returned a \(response.body.count)-byte response instead of throwing")
        case .failure(let error):
            #expect(error is CancellationError, "threw \(error)")
        }
        // Both transfers were aborted while the server waited to send the second event.
        #expect(await server.waitForEndings(2) == [.clientGone, .clientGone])
    }

    @Test func breakingOutOfAStreamAbortsItAndTheClientStillWorks() async throws {
        let events = (1...10).map { "data: \($0)\n\n" }
        let server = try LoopbackServer(script: [.sse(events, delay: 60), .json(200, #"{"next":true}"#)])
        let client = HTTPClient()

        var firstChunk: Data?
        for try await event in client.stream(HTTPRequest(url: server.baseURL + "/slow")) {
            if case .body(let chunk) = event {
                firstChunk = chunk
                break
            }
        }
        #expect(firstChunk == Data("data: 1\n\n".utf8))
        // Abandoned, not read to its end: the server learns the client is gone during its first pause.
        #expect(await server.waitForEndings(1) == [.clientGone])

        let response = try await client.send(
            HTTPRequest(url: server.baseURL + "/next", timeouts: HTTPTimeouts(total: 60)))
        #expect(response.body == Data(#"{"next":true}"#.utf8))

        // The abandoned transfer's connection was closed, not handed to the next request mid-body.
        let requests = server.requests
        try #require(requests.count == 2)
        #expect(requests[0].connectionID != requests[1].connectionID)
    }

    @Test func droppingTheClientEndsItsTransfers() async throws {
        let server = try LoopbackServer(script: [.stall(600)])
        var client: HTTPClient? = HTTPClient()
        let stream = client!.stream(HTTPRequest(url: server.baseURL + "/", timeouts: HTTPTimeouts(total: 1200)))
        await server.waitForRequests(1)
        client = nil
        var outcome: (any Error)?
        do {
            for try await _ in stream {}
        } catch {
            outcome = error
        }
        #expect(outcome is CancellationError, "got \(String(describing: outcome))")
        #expect(await server.waitForEndings(1) == [.clientGone])
    }

    // MARK: Concurrency

    @Test func concurrentRequestsRunInParallel() async throws {
        // Each request is held until all of them are in: only a client that really runs them in
        // parallel gets them all in at once (a count, not a wall-clock bound); one that ran them one
        // at a time would hold the first until its 10-minute timeout.
        let count = 20
        let load = Mutex((current: 0, peak: 0))
        let allIn = DispatchSemaphore(value: 0)
        let server = try LoopbackServer { request in
            let last = load.withLock { state -> Bool in
                state.current += 1
                state.peak = max(state.peak, state.current)
                return state.current == count
            }
            // The last request in lets them all go; each waits for it (a hang guard, not a bound).
            if last { for _ in 0..<count { allIn.signal() } }
            _ = allIn.wait(timeout: .now() + 600)
            load.withLock { $0.current -= 1 }
            return LoopbackResponse(status: 200, parts: [.text("ok \(request.path)")])
        }
        let client = HTTPClient()
        let bodies = try await withThrowingTaskGroup(of: (Int, HTTPResponse).self) { group in
            for index in 0..<count {
                group.addTask {
                    let response = try await client.send(
                        HTTPRequest(url: server.baseURL + "/r\(index)", timeouts: HTTPTimeouts(total: 600)))
                    return (index, response)
                }
            }
            var bodies: [Int: String] = [:]
            for try await (index, response) in group {
                #expect(response.status == 200)
                bodies[index] = String(decoding: response.body, as: UTF8.self)
            }
            return bodies
        }
        #expect(bodies.count == count)
        for index in 0..<count { #expect(bodies[index] == "ok /r\(index)") }
        #expect(server.requests.count == count)
        #expect(load.withLock { $0.peak } == count, "at most \(load.withLock { $0.peak }) requests were in flight at once")
    }
}
