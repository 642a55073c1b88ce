import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What a cassette keeps of a request: exactly what `Backend.query` is given, nothing of how it was
/// sent (no URL, no headers, no key). `options.stream` is always false here: streaming does not
/// change the answer, so a streamed and a whole call are the same request.
public struct CassetteRequest: Sendable, Hashable, Codable {
    public var model: String
    public var system: String?
    public var user: String?
    public var funcSpec: FunctionSpec?
    public var options: ModelOptions

    public init(system: String?, user: String?, funcSpec: FunctionSpec?, options: ModelOptions) {
        var options = options
        options.stream = false
        options.promptCache = nil
        options.promptCacheKey = nil
        options.cachedFunctions = nil
        self.model = options.model
        self.system = system
        self.user = user
        self.funcSpec = funcSpec
        self.options = options
    }

    /// SHA-256 hex of the request's canonical JSON (sorted keys, no spaces, integral numbers
    /// written as integers): equal requests have equal keys on every machine.
    public var key: String {
        let data = (try? JSONEncoder().encode(self)) ?? Data()
        let value = (try? JSONValue.parse(data)) ?? .null
        var text = ""
        Self.canonical(value, into: &text)
        return SHA256.hex(Array(text.utf8))
    }

    /// What a replay matches on: the key of this request with every number in its prompts written
    /// as `#`. Prompts state run time, time left, cores and memory, which differ from one run or
    /// machine to the next; the k-th request with the same words gets the k-th answer recorded.
    public var replayKey: String {
        var normalized = self
        normalized.system = system.map(Self.withoutNumbers)
        normalized.user = user.map(Self.withoutNumbers)
        return normalized.key
    }

    static func withoutNumbers(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        var inNumber = false
        for scalar in text.unicodeScalars {
            if ("0"..."9").contains(scalar) {
                if !inNumber { result.append("#") }
                inNumber = true
            } else if scalar == ".", inNumber {
                continue
            } else {
                inNumber = false
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// What kind of call this was, for messages: `submit_review call` or `code call`.
    public var kind: String { funcSpec.map { "\($0.name) call" } ?? "text call" }

    static func canonical(_ value: JSONValue, into text: inout String) {
        switch value {
        case .null: text += "null"
        case .bool(let flag): text += flag ? "true" : "false"
        case .int(let number): text += String(number)
        case .double(let number):
            if number.rounded() == number, abs(number) < 9e15 {
                text += String(Int(number))
            } else {
                text += "\(number)"
            }
        case .string(let string): quote(string, into: &text)
        case .array(let items):
            text += "["
            for (index, item) in items.enumerated() {
                if index > 0 { text += "," }
                canonical(item, into: &text)
            }
            text += "]"
        case .object(let fields):
            text += "{"
            for (index, name) in fields.keys.sorted().enumerated() {
                if index > 0 { text += "," }
                quote(name, into: &text)
                text += ":"
                canonical(fields[name]!, into: &text)
            }
            text += "}"
        }
    }

    /// The one JSON string escape (JSONWriter's).
    private static func quote(_ string: String, into text: inout String) {
        var json = JSONWriter()
        json.string(string)
        text += json.text
    }
}

/// A call that failed, as recorded: replaying it fails the same way, with the same words.
public struct RecordedFailure: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    public var message: String
    /// The provider that answered with the error, when one did.
    public var provider: CallProvider?

    public init(message: String, provider: CallProvider?) {
        self.message = message
        self.provider = provider
    }

    public var description: String { message }
}

/// One line of a cassette: a request and what came back, an answer or an error.
public struct CassetteEntry: Sendable, Hashable, Codable {
    /// The run the exchange belongs to (`<task> seed <seed>`), so one cassette can hold several
    /// seeds whose first prompts are the same.
    public var session: String?
    public var request: CassetteRequest
    public var result: QueryResult?
    public var error: RecordedFailure?

    public init(session: String?, request: CassetteRequest, result: QueryResult?, error: RecordedFailure? = nil) {
        self.session = session
        self.request = request
        self.result = result
        self.error = error
    }

    /// The entry as one line of JSON (sorted keys), without the newline. With `referring`, the
    /// request is written as its key only: an earlier line of the same file holds it in full.
    public func line(referring: Bool = false) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(StoredLine(
            session: session, request: referring ? nil : request, key: referring ? request.key : nil, result: result,
            error: error))
    }
}

/// A line as stored: the request in full, or, when an earlier line of the file holds the same
/// request, only its key (several seeds of one task ask many of the same questions).
struct StoredLine: Codable {
    var session: String?
    var request: CassetteRequest?
    var key: String?
    var result: QueryResult?
    var error: RecordedFailure?
}

/// Why a cassette could not be read or written; a line at fault is named by file and line.
public enum CassetteError: Error, Sendable, Hashable, CustomStringConvertible, LocalizedError {
    case missing(path: String)
    /// The file cannot be read (`reason`: `ErrorText.reason` of the file-system error).
    case unreadable(path: String, reason: String)
    /// A line is not JSON at all.
    case notJSON(file: String, line: Int, cause: JSONParseError)
    /// A line is JSON but not an entry (`problem`: the decoding error in words, `Cassette.describe`).
    case notAnEntry(file: String, line: Int, problem: String)
    case missingRequest(file: String, line: Int)
    /// An entry with both or neither of "result" and "error".
    case resultOrError(file: String, line: Int)
    /// A line refers by key to a request no earlier line holds.
    case unknownRequest(file: String, line: Int, key: String)
    /// The file cannot be opened or written to (`reason`: the system's).
    case cannotOpen(path: String, reason: String)
    case cannotAppend(path: String, reason: String)

    public var description: String {
        switch self {
        case .missing(let path): return "cassette \(path) does not exist"
        case .unreadable(let path, let reason): return "cannot read cassette \(path): \(reason)"
        case .notJSON(let file, let line, let cause):
            return "\(file):\(line): not JSON (\(cause)); is the file truncated or edited by hand?"
        case .notAnEntry(let file, let line, let problem): return "\(file):\(line): not a cassette entry: \(problem)"
        case .missingRequest(let file, let line): return "\(file):\(line): not a cassette entry: missing \"request\""
        case .resultOrError(let file, let line):
            return "\(file):\(line): not a cassette entry: it needs exactly one of \"result\" and \"error\""
        case .unknownRequest(let file, let line, let key):
            return "\(file):\(line): refers to request \(key), which no earlier line of the file holds"
        case .cannotOpen(let path, let reason): return "cannot open cassette \(path) for appending: \(reason)"
        case .cannotAppend(let path, let reason): return "cannot append to cassette \(path): \(reason)"
        }
    }

    public var errorDescription: String? { description }
}

/// The entries of one or more cassette files, looked up by request key.
///
/// A cassette is JSON lines, one entry a line, in the order the calls completed:
/// `{"session": …, "request": {model, system, user, funcSpec, options}, "result": QueryResult}`, or
/// `"error": {"message": …, "provider": …}` instead of `"result"` for a call that failed. A request
/// already held in full by an earlier line of the same file is written as `"key": "<sha-256>"`
/// instead. Blank lines and lines starting with `#` are comments. Files given together are merged.
public struct Cassette: Sendable {
    /// An entry and where it was read.
    public struct Located: Sendable {
        public var entry: CassetteEntry
        public var key: String
        public var file: String
        public var line: Int
        public var place: String { "\(file):\(line)" }
    }

    public private(set) var entries: [Located] = []
    /// Entry indices by key, in file order.
    private var byKey: [String: [Int]] = [:]

    public init(entries: [CassetteEntry] = [], file: String = "(memory)") {
        for (index, entry) in entries.enumerated() { add(entry, file: file, line: index + 1) }
    }

    /// Reads cassette files in order; a line that is not an entry is an error naming file and line.
    public init(files: [URL]) throws {
        for file in files {
            guard FileManager.default.fileExists(atPath: file.path) else {
                throw CassetteError.missing(path: file.path)
            }
            let data: Data
            do {
                data = try Data(contentsOf: file)
            } catch {
                throw CassetteError.unreadable(path: file.path, reason: ErrorText.reason(error))
            }
            var requests: [String: CassetteRequest] = [:]  // this file's, by key, for lines that refer to one
            for (number, stored) in try Self.lines(of: data, file: file.path) {
                let request: CassetteRequest
                if let full = stored.request {
                    request = full
                    requests[full.key] = full
                } else if let key = stored.key {
                    guard let earlier = requests[key] else {
                        throw CassetteError.unknownRequest(file: file.path, line: number, key: key)
                    }
                    request = earlier
                } else {
                    throw CassetteError.missingRequest(file: file.path, line: number)
                }
                guard (stored.result == nil) != (stored.error == nil) else {
                    throw CassetteError.resultOrError(file: file.path, line: number)
                }
                add(
                    CassetteEntry(session: stored.session, request: request, result: stored.result, error: stored.error),
                    file: file.path, line: number)
            }
        }
    }

    /// The entry lines of a file with their numbers; a line that is not one is an error naming it.
    static func lines(of data: Data, file: String) throws -> [(Int, StoredLine)] {
        var lines: [(Int, StoredLine)] = []
        let text = String(decoding: data, as: UTF8.self)
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            do {
                _ = try JSONValue.parse(trimmed)  // for a byte offset when it is not JSON at all
                lines.append((index + 1, try JSONDecoder().decode(StoredLine.self, from: Data(trimmed.utf8))))
            } catch let error as JSONParseError {
                throw CassetteError.notJSON(file: file, line: index + 1, cause: error)
            } catch let error as DecodingError {
                throw CassetteError.notAnEntry(file: file, line: index + 1, problem: Self.describe(error))
            }
        }
        return lines
    }

    private mutating func add(_ entry: CassetteEntry, file: String, line: Int) {
        let key = entry.request.replayKey
        byKey[key, default: []].append(entries.count)
        entries.append(Located(entry: entry, key: key, file: file, line: line))
    }

    /// The entries recorded for a replay key (`CassetteRequest.replayKey`), in order.
    public func entries(for key: String) -> [Located] {
        (byKey[key] ?? []).map { entries[$0] }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let names = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return names.isEmpty ? "the entry" : names.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return "missing \"\(key.stringValue)\"" + (parent == "the entry" ? "" : " in \(parent)")
        case .typeMismatch(let type, let context): return "\(path(context)) is not \(type)"
        case .valueNotFound(let type, let context): return "\(path(context)) is null, expected \(type)"
        case .dataCorrupted(let context): return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

/// Appends entries to a cassette file, one line per call, written at once: a run killed mid-way
/// keeps every exchange it completed. Several runs may append to one file (O_APPEND).
public final class CassetteWriter: Sendable {
    public let path: String
    private let descriptor: Mutex<Int32>
    /// Keys of the requests the file holds in full: a request asked again is written as its key.
    private let written: Mutex<Set<String>>

    /// Opens (or creates) the file for appending. A file whose last line was cut off (a killed
    /// writer) gets a newline first, so the next entry starts a line of its own.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw CassetteError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        descriptor = Mutex(fd)
        // Best effort: a line that cannot be read (cut off by a kill) only costs a full request again.
        let existing = (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data()
        var keys = Set<String>()
        for line in String(decoding: existing, as: UTF8.self).split(separator: "\n") {
            if let stored = try? JSONDecoder().decode(StoredLine.self, from: Data(line.utf8)), let request = stored.request {
                keys.insert(request.key)
            }
        }
        written = Mutex(keys)
        if let handle = FileHandle(forReadingAtPath: path) {
            defer { try? handle.close() }
            if let end = try? handle.seekToEnd(), end > 0 {
                try? handle.seek(toOffset: end - 1)
                if let last = try? handle.read(upToCount: 1), last != Data("\n".utf8) {
                    try appendBytes(Data("\n".utf8))
                }
            }
        }
    }

    deinit {
        descriptor.withLock { _ = close($0) }
    }

    /// Appends one entry as one line.
    public func append(_ entry: CassetteEntry) throws {
        let key = entry.request.key
        let known = written.withLock { $0.contains(key) }
        var line = try entry.line(referring: known)
        line.append(0x0A)
        try appendBytes(line)
        if !known { written.withLock { _ = $0.insert(key) } }
    }

    private func appendBytes(_ data: Data) throws {
        try descriptor.withLock { fd in
            // One write(2) per line where the kernel allows, so lines from several writers do not interleave.
            try data.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw CassetteError.cannotAppend(path: path, reason: String(cString: strerror(errno)))
                    }
                    offset += written
                }
            }
        }
    }
}
