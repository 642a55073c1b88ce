import AIDETesting
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A plain HTTP/1.1 client over a socket, so a test controls every header (Host included) and can
/// read an event stream as it arrives. Blocking calls run on threads of their own (`offPool`).
enum RawHTTP {
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: String
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func connect(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(fd)
            throw Failure(description: "cannot connect to port \(port)")
        }
        // No test waits forever on a server that never answers (minutes: no load makes a live one that slow).
        var timeout = timeval(tv_sec: 300, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    static func send(_ fd: Int32, method: String, path: String, host: String?, headers: [String]) {
        var lines = ["\(method) \(path) HTTP/1.1"]
        if let host { lines.append("Host: \(host)") }
        lines += headers + ["Connection: close", "", ""]
        let bytes = Array(lines.joined(separator: "\r\n").utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
    }

    /// One request; the whole response (the server closes the connection).
    static func request(
        port: Int, _ path: String, method: String = "GET", host: String? = "", headers: [String] = []
    ) async throws -> Response {
        let result: Result<Response, Failure> = await offPool {
            do {
                let fd = try connect(port: port)
                defer { close(fd) }
                send(fd, method: method, path: path, host: host == "" ? "127.0.0.1:\(port)" : host, headers: headers)
                var data: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 65_536)
                while true {
                    let count = recv(fd, &buffer, buffer.count, 0)
                    if count <= 0 { break }
                    data += buffer[..<count]
                }
                return .success(try parse(data))
            } catch let failure as Failure {
                return .failure(failure)
            } catch {
                return .failure(Failure(description: "\(error)"))
            }
        }
        return try result.get()
    }

    static func parse(_ data: [UInt8]) throws -> Response {
        let text = String(decoding: data, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw Failure(description: "no response head in \(text.prefix(200))") }
        let head = text[..<split.lowerBound].components(separatedBy: "\r\n")
        guard let statusLine = head.first, statusLine.split(separator: " ").count >= 2,
            let status = Int(statusLine.split(separator: " ")[1])
        else { throw Failure(description: "bad status line in \(text.prefix(200))") }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = String(text[split.upperBound...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" { body = dechunk(body) }
        return Response(status: status, headers: headers, body: body)
    }

    static func dechunk(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let lineEnd = rest.range(of: "\r\n"), let size = Int(rest[..<lineEnd.lowerBound], radix: 16), size > 0 {
            let start = lineEnd.upperBound
            let bytes = Array(rest[start...].utf8)
            let chunk = bytes.prefix(size)
            out += String(decoding: chunk, as: UTF8.self)
            rest = Substring(String(decoding: bytes.dropFirst(min(bytes.count, size + 2)), as: UTF8.self))
        }
        return out
    }

    /// An open GET whose body arrives piece by piece: `text` holds everything read so far.
    final class Stream: @unchecked Sendable {
        private let fd: Int32
        private let lock = NSLock()
        private var received = ""
        private let updates: AsyncStream<Void>.Continuation
        let changes: AsyncStream<Void>

        init(port: Int, path: String) throws {
            fd = try RawHTTP.connect(port: port)
            (changes, updates) = AsyncStream.makeStream(of: Void.self)
            RawHTTP.send(fd, method: "GET", path: path, host: "127.0.0.1:\(port)", headers: [])
            let fd = self.fd
            Thread.detachNewThread { [self] in
                var buffer = [UInt8](repeating: 0, count: 65_536)
                while true {
                    let count = recv(fd, &buffer, buffer.count, 0)
                    if count <= 0 { break }
                    lock.withLock { received += String(decoding: buffer[..<count], as: UTF8.self) }
                    updates.yield()
                }
                updates.finish()
            }
        }

        var text: String { lock.withLock { received } }

        /// Waits until the text read so far satisfies `condition`; false when the stream ended first.
        func wait(until condition: (String) -> Bool) async -> Bool {
            if condition(text) { return true }
            for await _ in changes where condition(text) { return true }
            return condition(text)
        }

        func close() {
            shutdown(fd, Int32(SHUT_RDWR))
            Glibc.close(fd)
        }
    }
}
