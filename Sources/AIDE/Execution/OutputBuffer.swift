import Foundation

/// A stream's first and last bytes within a fixed budget, and a count of all of it: the first half of
/// the budget is kept as it arrives, the second half is a ring holding the newest bytes, so a script
/// that prints 100 MB costs no more memory than one that prints the budget.
struct OutputBuffer: Sendable {
    /// Bytes kept at most (head plus tail; the omitted marker comes on top).
    let limit: Int
    /// Bytes seen in all, kept or not.
    private(set) var totalBytes = 0

    private let headLimit: Int
    private let tailLimit: Int
    private var head: [UInt8] = []
    /// Fills up to `tailLimit`, then wraps: once full, `ringStart` is the oldest byte.
    private var ring: [UInt8] = []
    private var ringStart = 0

    init(limit: Int) {
        self.limit = max(0, limit)
        headLimit = self.limit / 2
        tailLimit = self.limit - headLimit
        head.reserveCapacity(headLimit)
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        totalBytes += bytes.count
        var rest = bytes[...]
        if head.count < headLimit {
            let n = min(headLimit - head.count, rest.count)
            head.append(contentsOf: rest.prefix(n))
            rest = rest.dropFirst(n)
        }
        guard !rest.isEmpty, tailLimit > 0 else { return }
        if rest.count >= tailLimit {
            // The chunk alone fills the tail: whatever the ring held is now in the middle.
            ring = Array(rest.suffix(tailLimit))
            ringStart = 0
            return
        }
        if ring.count < tailLimit {
            let n = min(tailLimit - ring.count, rest.count)
            ring.append(contentsOf: rest.prefix(n))
            rest = rest.dropFirst(n)
            if rest.isEmpty { return }
        }
        // Full ring: overwrite the oldest bytes, in at most two copies (no per-byte loop: tests run
        // unoptimised builds through 100 MB).
        let source = UnsafeRawBufferPointer(rebasing: rest)
        let first = min(source.count, tailLimit - ringStart)
        ring.withUnsafeMutableBytes { ringBytes in
            ringBytes.baseAddress!.advanced(by: ringStart)
                .copyMemory(from: source.baseAddress!, byteCount: first)
            if first < source.count {
                ringBytes.baseAddress!.copyMemory(from: source.baseAddress!.advanced(by: first), byteCount: source.count - first)
            }
        }
        ringStart = (ringStart + source.count) % tailLimit
    }

    /// The tail in stream order.
    private var tail: [UInt8] {
        ring.count < tailLimit || ringStart == 0 ? ring : Array(ring[ringStart...] + ring[..<ringStart])
    }

    /// Head and tail as text (invalid UTF-8 becomes U+FFFD), joined by `marker(omitted:)` when bytes
    /// were left out. Cuts never split a character: a partial one at either edge is dropped and counted
    /// as omitted.
    var text: String {
        var headBytes = head
        var tailBytes = tail
        var omitted = totalBytes - headBytes.count - tailBytes.count
        guard omitted > 0 else { return String(decoding: headBytes + tailBytes, as: UTF8.self) }
        headBytes.removeLast(headBytes.count - Self.completePrefixLength(headBytes))
        let partial = tailBytes.prefix(3).prefix { $0 & 0xC0 == 0x80 }.count
        tailBytes.removeFirst(partial)
        omitted = totalBytes - headBytes.count - tailBytes.count
        return String(decoding: headBytes, as: UTF8.self) + Self.marker(omitted: omitted)
            + String(decoding: tailBytes, as: UTF8.self)
    }

    /// The line that stands for the bytes between head and tail, e.g.
    /// `\n[… 99,876,543 bytes of output omitted …]\n`.
    static func marker(omitted: Int) -> String {
        "\n[… \(groupedThousands(omitted)) bytes of output omitted …]\n"
    }

    /// `1234567` → `1,234,567`, independent of the locale.
    static func groupedThousands(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return value < 0 ? "-" + out : out
    }

    /// The length of `bytes` without a trailing, incomplete UTF-8 sequence.
    private static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        var index = bytes.count - 1
        while index >= 0, bytes.count - index <= 4, bytes[index] & 0xC0 == 0x80 { index -= 1 }
        guard index >= 0, bytes.count - index <= 4 else { return bytes.count }
        let lead = bytes[index]
        let needed = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
        return bytes.count - index < needed ? index : bytes.count
    }
}
