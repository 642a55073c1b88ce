import Foundation

/// One HTTP request: method, absolute URL, headers in order, and an optional body.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: Data?
    public var timeouts: HTTPTimeouts

    public init(
        method: String = "GET", url: String, headers: [(name: String, value: String)] = [],
        body: Data? = nil, timeouts: HTTPTimeouts = HTTPTimeouts()
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeouts = timeouts
    }

    /// A JSON POST: sets content-type and accept unless the caller already did.
    public static func postJSON(
        url: String, body: Data, headers: [(name: String, value: String)] = [],
        timeouts: HTTPTimeouts = HTTPTimeouts()
    ) -> HTTPRequest {
        var all = headers
        if !all.contains(where: { $0.name.lowercased() == "content-type" }) {
            all.append((name: "content-type", value: "application/json"))
        }
        return HTTPRequest(method: "POST", url: url, headers: all, body: body, timeouts: timeouts)
    }
}

/// The three clocks that bound a transfer.
public struct HTTPTimeouts: Sendable, Hashable, Codable {
    /// Seconds allowed to establish the connection (TCP and TLS).
    public var connect: Double
    /// Seconds allowed for the whole transfer, streaming included.
    public var total: Double
    /// Seconds without a single byte received before the transfer is abandoned. Anthropic sends a ping
    /// every few seconds, so a slow but live stream never comes near it.
    public var idle: Double

    public init(connect: Double = 10, total: Double = 600, idle: Double = 90) {
        self.connect = connect
        self.total = total
        self.idle = idle
    }
}

/// Status line and headers of a response.
public struct HTTPHead: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]

    public init(status: Int, headers: [(name: String, value: String)]) {
        self.status = status
        self.headers = headers
    }

    /// The first header with this name, compared case-insensitively.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }
}

/// A whole response, body collected.
public struct HTTPResponse: Sendable {
    public var head: HTTPHead
    public var body: Data

    public var status: Int { head.status }
    public func header(_ name: String) -> String? { head.header(name) }
}

/// What a streamed transfer yields: the head once, then body chunks as they arrive.
public enum HTTPStreamEvent: Sendable {
    case head(HTTPHead)
    case body(Data)
}
