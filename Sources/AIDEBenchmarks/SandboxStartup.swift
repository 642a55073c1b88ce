import AIDE
import Foundation

/// `AIDEBenchmarks sandbox-startup PYTHON [N]`: the sandbox's added start-up time per script. Runs
/// an empty script N times (30) through `PythonInterpreter` with the run's usual limits, with the
/// sandbox and without, alternating so both see the same machine load, and prints the medians and
/// their difference. Goal: under 20 ms added per script.
func benchmarkSandboxStartup(python: String, count: Int) async throws {
    let sandbox = try Sandbox.make(python: python)
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("aide-bench-sandbox-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: folder) }
    let plain = PythonInterpreter(python: sandbox.python, memoryLimitMB: 4096, fileSizeLimit: 1 << 32, processLimit: 512)
    var boxed = plain
    boxed.sandbox = sandbox
    var none: [Double] = []
    var bwrap: [Double] = []
    var added: [Double] = []
    for index in 0..<(count + 2) {
        let node = folder.appendingPathComponent("\(index)")
        let a = try await measureAsync { _ = try await plain.run(script: "pass", in: node.appendingPathComponent("none"), timeout: 60) }
        let b = try await measureAsync { _ = try await boxed.run(script: "pass", in: node.appendingPathComponent("bwrap"), timeout: 60) }
        if index < 2 { continue }  // warm-up: page cache, first bwrap start
        none.append(a)
        bwrap.append(b)
        added.append(b - a)
    }
    print(String(format: "script start-up (empty script, median of %d): none %.1f ms, bwrap %.1f ms", count, median(none) * 1000, median(bwrap) * 1000))
    print(String(format: "sandbox adds %.1f ms per script (median of paired differences; goal < 20 ms)", median(added) * 1000))
}

func measureAsync(_ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}
