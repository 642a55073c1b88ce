import Foundation
import Synchronization
import Testing

@testable import AIDE

/// `Handoff`, the bounded queue between the HTML page's reading thread and its writing one.
struct HandoffTests {
    /// Runs `body` on a thread of its own; the returned semaphore is signalled when it returns.
    private static func onThread(_ body: @escaping @Sendable () -> Void) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            body()
            done.signal()
        }
        return done
    }

    @Test func everyItemArrivesOnceInOrderThenNil() {
        let handoff = Handoff<Int>(capacity: 3)
        let sent = Mutex<[Bool]>([])
        let producer = Self.onThread {
            defer { handoff.finish() }
            for item in 0..<1_000 {
                let taken = handoff.send(item)
                sent.withLock { $0.append(taken) }
            }
        }
        var received: [Int] = []
        while let item = handoff.receive() { received.append(item) }
        producer.wait()
        #expect(received == Array(0..<1_000))
        #expect(sent.withLock { $0 } == Array(repeating: true, count: 1_000))
        #expect(handoff.receive() == nil, "still nil after the end")
    }

    /// A producer held up by a full queue (or sending later) is turned away once the consumer
    /// cancels, and what it sent before can still be received.
    @Test func cancelTurnsTheProducerAwayAndKeepsWhatWasSent() {
        let handoff = Handoff<Int>(capacity: 2)
        let refusedAt = Mutex<Int?>(nil)
        let producer = Self.onThread {
            defer { handoff.finish() }
            for item in 0..<100 where !handoff.send(item) {
                refusedAt.withLock { $0 = item }
                return
            }
        }
        #expect(handoff.receive() == 0)
        handoff.cancel()
        var rest: [Int] = []
        while let item = handoff.receive() { rest.append(item) }
        producer.wait()
        let refused = refusedAt.withLock { $0 }
        #expect(refused != nil, "the producer stopped before sending everything")
        // Items 1 up to the refused one were sent before the cancel took effect, in order.
        #expect(rest == Array(1..<(refused ?? 1)))
    }
}
