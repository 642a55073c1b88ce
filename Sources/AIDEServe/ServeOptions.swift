import Foundation

/// What `aide serve` was asked for.
public struct ServeOptions: Sendable, Hashable {
    /// The folder of runs and benches to show.
    public var runsDirectory: URL
    public var host: String
    /// 0 picks a free port.
    public var port: Int
    /// Every request must carry it; required (generated when not given) for a non-loopback address.
    public var token: String?

    public static let defaultPort = 8765

    public init(runsDirectory: URL, host: String = "127.0.0.1", port: Int = ServeOptions.defaultPort, token: String? = nil) {
        self.runsDirectory = runsDirectory
        self.host = host
        self.port = port
        self.token = token
    }

    /// 127.0.0.0/8, ::1 and localhost.
    public static func isLoopback(_ host: String) -> Bool {
        let name = host.lowercased()
        if name == "localhost" || name == "::1" || name == "[::1]" { return true }
        let parts = name.split(separator: ".")
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// A token of 128 random bits, as 32 hexadecimal digits.
    public static func generatedToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// Checks the options: a port in range, a token of printable characters, and a token for any
    /// address other than loopback (one is generated when none was given; `tokenGenerated` says so).
    public func validated() throws -> (options: ServeOptions, tokenGenerated: Bool) {
        guard (0...65_535).contains(port) else { throw ServeError("--port \(port) is not a port (0 to 65535)") }
        guard !host.isEmpty else { throw ServeError("--host is empty") }
        var options = self
        if let token {
            guard token.count >= 8, token.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F && $0 != ";" && $0 != "," }) else {
                throw ServeError("--token must be at least 8 printable characters, without spaces, ';' or ','")
            }
        }
        if !Self.isLoopback(host), token == nil {
            options.token = Self.generatedToken()
            return (options, true)
        }
        return (options, false)
    }
}
