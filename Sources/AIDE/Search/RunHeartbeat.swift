/// The run's heartbeat: `RunStore.touchRun` every `interval` while `SearchRun.run()` goes, so a
/// reader (`aide serve`) can tell a run in a long step from one whose process died without a word.
enum RunHeartbeat {
    /// Readers call a running run dead after several missed beats (`RunState.staleAfter`: 90 s).
    static let interval: Duration = .seconds(20)

    static func start(_ store: RunStore, every interval: Duration = RunHeartbeat.interval) -> Task<Void, Never> {
        Task.detached(priority: .utility) {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { break }
                try? store.touchRun()
            }
        }
    }
}
