import Foundation
import Synchronization

/// A bounded queue from one producing thread to one consuming thread (the HTML page is read on
/// one and written on the other). `send` waits while `capacity` items wait; `receive` waits for an
/// item and returns nil once the producer has called `finish` and all were received. The consumer
/// stops a producer early with `cancel`: its next `send` returns false.
final class Handoff<Item: Sendable>: Sendable {
    private struct State {
        var items: [Item] = []
        var cancelled = false
    }

    private let state = Mutex(State())
    /// Free places; a cancelled producer is let through.
    private let room: DispatchSemaphore
    /// Items waiting, plus one once finished (passed on to every later `receive`).
    private let ready = DispatchSemaphore(value: 0)

    init(capacity: Int) {
        room = DispatchSemaphore(value: capacity)
    }

    /// Hands `item` on, waiting for a free place; false (dropping it) when the consumer cancelled.
    func send(_ item: Item) -> Bool {
        room.wait()
        let taken: Bool = state.withLock { state in
            guard !state.cancelled else { return false }
            state.items.append(item)
            return true
        }
        if taken { ready.signal() } else { room.signal() }
        return taken
    }

    /// The next item, waiting for it; nil when the producer finished and every item was received.
    func receive() -> Item? {
        ready.wait()
        let item: Item? = state.withLock { state in
            state.items.isEmpty ? nil : state.items.removeFirst()
        }
        if item != nil { room.signal() } else { ready.signal() }
        return item
    }

    /// The producer has sent its last item.
    func finish() {
        ready.signal()
    }

    /// The consumer wants no more: the producer's next `send` returns false (and one waiting
    /// now wakes). Items already sent can still be received.
    func cancel() {
        state.withLock { $0.cancelled = true }
        room.signal()
    }
}
