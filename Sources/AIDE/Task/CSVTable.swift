import Foundation

/// A CSV file that could not be read, with the line where reading stopped.
public enum CSVError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file cannot be read at all (`reason`: `ErrorText.reason` of the file-system error).
    case unreadable(path: String, reason: String)
    /// The file has no header row.
    case empty
    /// A record's field count differs from the header's.
    case fieldCount(line: Int, found: Int, expected: Int)
    /// A quoted field starting on `line` is still open at the end of the file.
    case unclosedQuote(line: Int)

    /// 1-based line of the record at fault; nil when the whole file is at fault.
    public var line: Int? {
        switch self {
        case .unreadable, .empty: return nil
        case .fieldCount(let line, _, _), .unclosedQuote(let line): return line
        }
    }

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read \(path): \(reason)"
        case .empty: return "the file is empty (no header row)"
        case .fieldCount(let line, let found, let expected):
            return "line \(line): \(found) field\(found == 1 ? "" : "s"), expected \(expected) as in the header"
        case .unclosedQuote(let line): return "line \(line): a quoted field is never closed"
        }
    }
}

/// A small RFC 4180 CSV table: a header row, then rows of exactly as many fields.
///
/// Fields may be quoted (`"a, b"`), with quotes doubled inside (`"say ""hi"""`) and newlines inside;
/// records end with LF, CRLF or CR; a UTF-8 byte-order mark is skipped; blank lines are skipped.
public struct CSVTable: Sendable, Equatable {
    public var header: [String]
    public var rows: [[String]]

    public init(header: [String], rows: [[String]]) {
        self.header = header
        self.rows = rows
    }

    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw CSVError.unreadable(path: url.path, reason: ErrorText.reason(error))
        }
        try self.init(data: data)
    }

    public init(text: String) throws {
        try self.init(data: Data(text.utf8))
    }

    /// Parses `data`; a row whose field count differs from the header's is an error naming its line.
    public init(data: Data) throws {
        var header: [String]?
        var rows: [[String]] = []
        try Self.forEachRecord(in: data) { fields, line in
            guard let header else {
                header = fields
                return
            }
            guard fields.count == header.count else {
                throw CSVError.fieldCount(line: line, found: fields.count, expected: header.count)
            }
            rows.append(fields)
        }
        guard let header else { throw CSVError.empty }
        self.header = header
        self.rows = rows
    }

    /// The index of the column called `name` (exact match first, then ignoring surrounding spaces).
    public func columnIndex(_ name: String) -> Int? {
        if let index = header.firstIndex(of: name) { return index }
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        return header.firstIndex { $0.trimmingCharacters(in: .whitespaces) == trimmed }
    }

    /// The values of the column called `name`, or nil when there is no such column.
    public func column(_ name: String) -> [String]? {
        guard let index = columnIndex(name) else { return nil }
        return rows.map { $0[index] }
    }

    /// Calls `body` with each record of `data` (the header first) and the line it starts on, without
    /// keeping the records: one pass, fields decoded as UTF-8 (invalid bytes become U+FFFD).
    public static func forEachRecord(in data: Data, _ body: ([String], Int) throws -> Void) throws {
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let bytes = raw.bindMemory(to: UInt8.self)
            let count = bytes.count
            var i = 0
            if count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { i = 3 }
            var line = 1
            var recordLine = 1
            var fields: [String] = []
            var lastFieldQuoted = false
            guard i < count else { return }

            func isEnd(_ byte: UInt8) -> Bool { byte == comma || byte == lf || byte == cr }

            while true {
                // One field, starting at i.
                if i < count, bytes[i] == quote {
                    let startLine = line
                    i += 1
                    var buffer: [UInt8] = []
                    var segment = i
                    var closed = false
                    while i < count {
                        let byte = bytes[i]
                        if byte == quote {
                            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[segment..<i]))
                            if i + 1 < count, bytes[i + 1] == quote {
                                buffer.append(quote)
                                i += 2
                                segment = i
                                continue
                            }
                            i += 1
                            closed = true
                            break
                        }
                        if byte == lf || (byte == cr && !(i + 1 < count && bytes[i + 1] == lf)) { line += 1 }
                        i += 1
                    }
                    guard closed else {
                        throw CSVError.unclosedQuote(line: startLine)
                    }
                    // Text between the closing quote and the delimiter is kept as it is (lenient).
                    let rest = i
                    while i < count, !isEnd(bytes[i]) { i += 1 }
                    if rest < i { buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[rest..<i])) }
                    fields.append(String(decoding: buffer, as: UTF8.self))
                    lastFieldQuoted = true
                } else {
                    let start = i
                    while i < count, !isEnd(bytes[i]) { i += 1 }
                    fields.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self))
                    lastFieldQuoted = false
                }
                // What ends the field.
                if i >= count {
                    if !(fields.count == 1 && fields[0].isEmpty && !lastFieldQuoted) { try body(fields, recordLine) }
                    return
                }
                if bytes[i] == comma {
                    i += 1
                    continue
                }
                if bytes[i] == cr, i + 1 < count, bytes[i + 1] == lf { i += 2 } else { i += 1 }
                if !(fields.count == 1 && fields[0].isEmpty && !lastFieldQuoted) { try body(fields, recordLine) }
                fields.removeAll(keepingCapacity: true)
                line += 1
                recordLine = line
                if i >= count { return }
            }
        }
    }
}
