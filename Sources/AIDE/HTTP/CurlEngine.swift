import CCurl
import Foundation
import Synchronization

/// Drives every transfer of one `HTTPClient` through a single curl multi handle on a dedicated thread.
///
/// Network I/O therefore never blocks Swift's cooperative pool, the multi handle's connection cache
/// reuses connections across calls, and a cancelled transfer is removed at once (no waiting for a
/// progress callback).
final class CurlEngine: Sendable {
    private struct Inbox {
        var adds: [Transfer] = []
        var cancels: [Int] = []
        var shuttingDown = false
        var nextID = 1
    }

    private let inbox = Mutex(Inbox())
    private let multi: MultiHandle
    private let configuration: HTTPClient.Configuration

    init(configuration: HTTPClient.Configuration) {
        _ = CurlEngine.globalInit
        self.configuration = configuration
        self.multi = MultiHandle()
        let thread = Thread { [self] in self.run() }
        thread.name = "aide-curl"
        thread.start()
    }

    /// curl_global_init must run once before any other curl call; a static let runs it exactly once.
    private static let globalInit: Void = {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    }()

    /// Starts a transfer; events arrive on the returned stream, which cancels the transfer when dropped.
    func start(_ request: HTTPRequest) -> AsyncThrowingStream<HTTPStreamEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream<HTTPStreamEvent, any Error>.makeStream()
        let refused = inbox.withLock { box -> Bool in
            if box.shuttingDown { return true }
            let transfer = Transfer(id: box.nextID, request: request, continuation: continuation)
            box.nextID += 1
            box.adds.append(transfer)
            let id = transfer.id
            continuation.onTermination = { [weak self] reason in
                if case .cancelled = reason { self?.cancel(id) }
            }
            return false
        }
        if refused {
            continuation.finish(throwing: CancellationError())
        } else {
            curl_multi_wakeup(multi.pointer)
        }
        return stream
    }

    func shutdown() {
        inbox.withLock { $0.shuttingDown = true }
        curl_multi_wakeup(multi.pointer)
    }

    private func cancel(_ id: Int) {
        inbox.withLock { $0.cancels.append(id) }
        curl_multi_wakeup(multi.pointer)
    }

    // MARK: - The loop (runs on the engine's thread only)

    private func run() {
        var active: [UnsafeMutableRawPointer: Transfer] = [:]
        while true {
            let (adds, cancels, stopping) = inbox.withLock { box in
                defer { box.adds = []; box.cancels = [] }
                return (box.adds, box.cancels, box.shuttingDown)
            }
            for transfer in adds {
                if let easy = transfer.makeHandle(configuration: configuration) {
                    active[easy] = transfer
                    curl_multi_add_handle(multi.pointer, easy)
                }
            }
            for id in cancels {
                if let (easy, transfer) = active.first(where: { $0.value.id == id }) {
                    active[easy] = nil
                    curl_multi_remove_handle(multi.pointer, easy)
                    transfer.finish(code: nil)
                }
            }
            if stopping {
                for (easy, transfer) in active {
                    curl_multi_remove_handle(multi.pointer, easy)
                    transfer.finish(code: nil)
                }
                curl_multi_cleanup(multi.pointer)
                return
            }

            var running: Int32 = 0
            curl_multi_perform(multi.pointer, &running)
            var queued: Int32 = 0
            while let message = curl_multi_info_read(multi.pointer, &queued) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else {
                    continue
                }
                let code = message.pointee.data.result
                curl_multi_remove_handle(multi.pointer, easy)
                if let transfer = active.removeValue(forKey: easy) {
                    transfer.finish(code: code)
                }
            }
            // The idle timeout is kept here, not by curl's low-speed check: that one averages over
            // several seconds and counts bytes sent, so it fires seconds late after any activity.
            let now = ContinuousClock.now
            var wait = Duration.seconds(1)
            for (easy, transfer) in active {
                let left = transfer.idleDeadline - now
                if left <= .zero {
                    active[easy] = nil
                    curl_multi_remove_handle(multi.pointer, easy)
                    transfer.finishIdle()
                } else {
                    wait = min(wait, left)
                }
            }
            // Sleeps until a socket is ready, curl's own timer fires, an idle deadline passes, or
            // curl_multi_wakeup is called.
            curl_multi_poll(multi.pointer, nil, 0, Int32((wait / .milliseconds(1)).rounded(.up)), nil)
        }
    }
}

/// The multi handle pointer; curl_multi_wakeup is the only call made on it from other threads,
/// and libcurl documents that one as thread-safe.
private struct MultiHandle: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer

    init() {
        guard let multi = curl_multi_init() else { fatalError("curl_multi_init failed: out of memory") }
        pointer = multi
    }
}

/// One request in flight. Created on the caller's thread, then touched only on the engine thread.
private final class Transfer: @unchecked Sendable {
    let id: Int
    let request: HTTPRequest
    let continuation: AsyncThrowingStream<HTTPStreamEvent, any Error>.Continuation
    private var easy: UnsafeMutableRawPointer?
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
    private var status = 0
    private var headers: [(name: String, value: String)] = []
    private var headSent = false
    private let idleLimit: Duration
    /// When the transfer is abandoned unless a byte arrives first.
    private(set) var idleDeadline: ContinuousClock.Instant

    init(
        id: Int, request: HTTPRequest,
        continuation: AsyncThrowingStream<HTTPStreamEvent, any Error>.Continuation
    ) {
        self.id = id
        self.request = request
        self.continuation = continuation
        self.idleLimit = .milliseconds(Self.milliseconds(request.timeouts.idle))
        self.idleDeadline = .now + idleLimit
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        if let easy { curl_easy_cleanup(easy) }
        if let headerList { curl_slist_free_all(headerList) }
        errorBuffer.deallocate()
    }

    /// Builds the easy handle; on failure finishes the stream with the error and returns nil.
    func makeHandle(configuration: HTTPClient.Configuration) -> UnsafeMutableRawPointer? {
        guard let easy = curl_easy_init() else {
            continuation.finish(throwing: CurlError(kind: .other, code: -1, message: "curl_easy_init failed"))
            return nil
        }
        self.easy = easy
        idleDeadline = .now + idleLimit
        let me = Unmanaged.passUnretained(self).toOpaque()
        var failure: CURLcode = CURLE_OK
        func check(_ code: CURLcode) { if code != CURLE_OK && failure == CURLE_OK { failure = code } }

        check(aide_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer))
        check(aide_easy_setopt_string(easy, CURLOPT_URL, request.url))
        check(aide_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1))
        check(aide_easy_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https"))
        check(aide_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 1))
        check(aide_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 2))
        check(aide_easy_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1))
        check(aide_easy_setopt_string(easy, CURLOPT_USERAGENT, configuration.userAgent))
        if let proxy = configuration.proxy {
            check(aide_easy_setopt_string(easy, CURLOPT_PROXY, proxy))
        }

        let timeouts = request.timeouts
        check(aide_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(timeouts.connect)))
        check(aide_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, Self.milliseconds(timeouts.total)))

        switch request.method.uppercased() {
        case "GET": check(aide_easy_setopt_long(easy, CURLOPT_HTTPGET, 1))
        case "POST": check(aide_easy_setopt_long(easy, CURLOPT_POST, 1))
        default: check(aide_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, request.method))
        }
        if let body = request.body {
            check(aide_easy_setopt_off_t(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)))
            body.withUnsafeBytes { raw in
                // COPYPOSTFIELDS copies now, so the Data need not outlive this call.
                let base = raw.baseAddress ?? UnsafeRawPointer(errorBuffer)
                check(aide_easy_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: base)))
            }
        }

        var list: UnsafeMutablePointer<curl_slist>?
        for (name, value) in request.headers {
            list = curl_slist_append(list, "\(name): \(value)")
        }
        // No 100-continue round trip: the body is small and servers answer at once.
        list = curl_slist_append(list, "Expect:")
        headerList = list
        check(aide_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, list))

        check(aide_easy_setopt_data_callback(easy, CURLOPT_HEADERFUNCTION, curlHeaderCallback))
        check(aide_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, me))
        check(aide_easy_setopt_data_callback(easy, CURLOPT_WRITEFUNCTION, curlWriteCallback))
        check(aide_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, me))

        if failure != CURLE_OK {
            finish(code: failure)
            return nil
        }
        return easy
    }

    private static func milliseconds(_ seconds: Double) -> Int {
        max(1, Int((seconds * 1000).rounded()))
    }

    fileprivate func receiveHeader(_ line: String) {
        idleDeadline = .now + idleLimit
        let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("HTTP/") {
            // A new status line (after 1xx or a redirect) starts a new header block.
            let parts = trimmed.split(separator: " ", maxSplits: 2)
            status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            headers = []
        } else if let colon = trimmed.firstIndex(of: ":") {
            let name = String(trimmed[..<colon])
            let value = trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers.append((name: name, value: value))
        }
    }

    fileprivate func receiveBody(_ data: Data) {
        idleDeadline = .now + idleLimit
        sendHeadIfNeeded()
        continuation.yield(.body(data))
    }

    private func sendHeadIfNeeded() {
        guard !headSent else { return }
        headSent = true
        continuation.yield(.head(HTTPHead(status: status, headers: headers)))
    }

    /// Ends the stream with the idle timeout's error.
    func finishIdle() {
        let seconds = Double(Self.milliseconds(request.timeouts.idle)) / 1000
        continuation.finish(throwing: CurlError(
            kind: .timedOut, code: Int(CURLE_OPERATION_TIMEDOUT.rawValue),
            message: "No data received for \(seconds) seconds (idle timeout)"))
    }

    /// Ends the stream: success for CURLE_OK, a typed error otherwise, cancellation for nil.
    func finish(code: CURLcode?) {
        guard let code else {
            continuation.finish(throwing: CancellationError())
            return
        }
        if code == CURLE_OK {
            sendHeadIfNeeded()
            continuation.finish()
        } else {
            continuation.finish(throwing: CurlError(code: code, detail: String(cString: errorBuffer)))
        }
    }
}

private let curlHeaderCallback: aide_curl_data_callback = { pointer, size, count, userdata in
    let length = size * count
    guard let pointer, let userdata else { return length }
    let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
    let line = String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
    transfer.receiveHeader(line)
    return length
}

private let curlWriteCallback: aide_curl_data_callback = { pointer, size, count, userdata in
    let length = size * count
    guard let pointer, let userdata, length > 0 else { return length }
    let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
    transfer.receiveBody(Data(bytes: pointer, count: length))
    return length
}
