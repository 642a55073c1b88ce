import CCurl

/// A transfer that libcurl could not complete, with curl's own code and message.
public struct CurlError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is, for callers that decide whether to retry.
    public enum Kind: String, Sendable, Hashable, Codable {
        case couldNotResolve
        case couldNotConnect
        case timedOut
        case tls
        case sendFailed
        case receiveFailed
        case emptyReply
        case partialBody
        case invalidURL
        case other
    }

    public let kind: Kind
    /// The raw CURLcode.
    public let code: Int
    /// curl's detailed message (its error buffer), or its generic text for the code.
    public let message: String

    public init(kind: Kind, code: Int, message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    init(code: CURLcode, detail: String) {
        let generic = String(cString: curl_easy_strerror(code))
        self.code = Int(code.rawValue)
        self.message = detail.isEmpty ? generic : detail
        self.kind = Self.kind(of: code)
    }

    /// Whether trying the same request again may succeed (network-level faults, not bad input).
    public var isTransient: Bool {
        switch kind {
        case .couldNotResolve, .couldNotConnect, .timedOut, .sendFailed, .receiveFailed, .emptyReply,
            .partialBody:
            return true
        case .tls, .invalidURL, .other:
            return false
        }
    }

    public var description: String { "curl error \(code) (\(kind.rawValue)): \(message)" }

    private static func kind(of code: CURLcode) -> Kind {
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: return .couldNotResolve
        case CURLE_COULDNT_CONNECT: return .couldNotConnect
        case CURLE_OPERATION_TIMEDOUT: return .timedOut
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM,
            CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_CRL_BADFILE,
            CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_SHUTDOWN_FAILED,
            CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ENGINE_INITFAILED:
            return .tls
        case CURLE_SEND_ERROR: return .sendFailed
        case CURLE_RECV_ERROR, CURLE_HTTP2, CURLE_HTTP2_STREAM: return .receiveFailed
        case CURLE_GOT_NOTHING: return .emptyReply
        case CURLE_PARTIAL_FILE: return .partialBody
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL: return .invalidURL
        default: return .other
        }
    }
}
