import AIDE
import Foundation

/// `AIDEBenchmarks sandbox-startup PYTHON [N]`: the sandbox's added start-up time per script. Runs
/// an empty script N times (30) through `PythonInterpreter` with the run's usual limits, with the
/// sandbox and without, alternating so both see the same machine load, and prints the medians and
/// their difference. Goal: under 20 ms added per script. Then what the total disk cap's watcher
/// (`exec.max_disk_mb`) costs: per script (paired without the sandbox), and per walk of a folder of 10,000 files.
func benchmarkSandboxStartup(python: String, count: Int) async throws {
    let sandbox = try Sandbox.make(python: python)
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("aide-bench-sandbox-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: folder) }
    let plain = PythonInterpreter(python: sandbox.python, memoryLimitMB: 4096, fileSizeLimit: 1 << 32, processLimit: 512)
    var boxed = plain
    boxed.sandbox = sandbox
    // The watcher alone, measured without the sandbox (whose namespaces' teardown is noise here).
    var capped = plain
    capped.diskCap = DiskCap(limitBytes: 10240 << 20)
    var none: [Double] = []
    var bwrap: [Double] = []
    var added: [Double] = []
    var watched: [Double] = []
    for index in 0..<(count + 2) {
        let node = folder.appendingPathComponent("\(index)")
        // Without the sandbox, with and without the watcher, in turns first; then in the sandbox.
        var a = 0.0
        var c = 0.0
        for arm in index % 2 == 0 ? [0, 1] : [1, 0] {
            if arm == 0 {
                a = try await measureAsync { _ = try await plain.run(script: "pass", in: node.appendingPathComponent("none"), timeout: 60) }
            } else {
                c = try await measureAsync { _ = try await capped.run(script: "pass", in: node.appendingPathComponent("capped"), timeout: 60) }
            }
        }
        let b = try await measureAsync { _ = try await boxed.run(script: "pass", in: node.appendingPathComponent("bwrap"), timeout: 60) }
        if index < 2 { continue }  // warm-up: page cache, first bwrap start
        none.append(a)
        bwrap.append(b)
        added.append(b - a)
        watched.append(c - a)
    }
    print(String(format: "script start-up (empty script, median of %d): none %.1f ms, bwrap %.1f ms", count, median(none) * 1000, median(bwrap) * 1000))
    print(String(format: "sandbox adds %.1f ms per script (median of paired differences; goal < 20 ms)", median(added) * 1000))
    print(String(format: "the disk cap's watcher adds %.1f ms per script (median of paired differences, without the sandbox)", median(watched) * 1000))
    // What the watch itself does for a script: set up, then one check per tick (statvfs only, nothing grew).
    let fresh = folder.appendingPathComponent("fresh")
    try FileManager.default.createDirectory(at: fresh, withIntermediateDirectories: true)
    let setUp = median((0..<1000).map { _ in measure { _ = DiskCap.Watch(cap: DiskCap(limitBytes: 10240 << 20), folder: fresh) } })
    var watch = DiskCap.Watch(cap: DiskCap(limitBytes: 10240 << 20), folder: fresh)
    var ticks: [Double] = []
    for _ in 0..<1000 { ticks.append(await measureAsync { _ = await watch.check() }) }
    print(String(format: "the watch itself: %.1f µs to set up, %.1f µs per tick (every %d ms) when nothing grew",
        setUp * 1e6, median(ticks) * 1e6, Int(DiskCap.tick.components.attoseconds / 1_000_000_000_000_000)))

    // One walk of a node folder of 10,000 small files in 100 folders, and the share of a core it takes
    // at the interval the watcher then keeps (when the file system's total gives no reason to walk).
    let tree = folder.appendingPathComponent("tree")
    for part in 0..<100 {
        let sub = tree.appendingPathComponent("working/\(part)")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        for file in 0..<100 { try Data("x".utf8).write(to: sub.appendingPathComponent("\(file).txt")) }
    }
    let cap = DiskCap(limitBytes: 10240 << 20)
    var walks: [Double] = []
    for _ in 0..<max(5, count / 3) { walks.append(measure { _ = cap.measure(tree) }) }
    let walk = median(walks)
    let interval = max(Double(DiskCap.quietInterval.components.seconds), walk / DiskCap.walkShare)
    print(String(
        format: "disk cap walk of 10,000 files: %.1f ms; walked every %.0f s unless the file system grows: %.2f%% of a core",
        walk * 1000, interval, walk / interval * 100))
}

func measureAsync(_ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}
