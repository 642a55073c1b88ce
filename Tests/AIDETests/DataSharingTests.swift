import AIDETesting
import Foundation
import Synchronization
import Testing

@testable import AIDE

/// The task's data is not copied per run: the sandbox binds it read-only as the scripts' `input/`,
/// `exec.data` chooses copy or link without one, the run records a fingerprint, and a resume says
/// when the data changed.
struct DataSharingTests {
    private typealias A = ScriptedAnswers

    /// Collects what a run tells its user.
    final class Notices: Sendable {
        private let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
        func hear(_ line: String) { lines.withLock { $0.append(line) } }
    }

    private static func temporaryFolder(_ name: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("aide-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// Regular files' bytes under `folder`, links not followed.
    private static func bytesStored(in folder: URL) -> Int {
        var total = 0
        guard let walker = FileManager.default.enumerator(atPath: folder.path) else { return 0 }
        for case let path as String in walker {
            let attributes = try? FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent(path).path)
            if attributes?[.type] as? FileAttributeType == .typeRegular { total += (attributes?[.size] as? Int) ?? 0 }
        }
        return total
    }

    // MARK: Fingerprint

    @Test func theFingerprintNoticesWhatChangesTheListingSizesTimesAndEdges() throws {
        let folder = try Self.temporaryFolder("fingerprint")
        defer { try? FileManager.default.removeItem(at: folder) }
        let big = folder.appendingPathComponent("train.csv")
        try Data(repeating: UInt8(ascii: "a"), count: 64 << 10).write(to: big)
        try TaskTestSupport.write("id\n1\n", to: folder.appendingPathComponent("images/0001.txt"))
        // Whole seconds: setting a time back keeps no nanoseconds.
        let date = Date(timeIntervalSince1970: 1_700_000_000)
        try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: big.path)
        let (first, unreadable) = DataFingerprint.scan(folder)
        #expect(first.files == 2 && first.bytes == (64 << 10) + 5)
        #expect(unreadable == nil)
        #expect(DataFingerprint.scan(folder).fingerprint == first, "the same folder, the same fingerprint")

        func rewrite(at offset: Int, _ byte: UInt8) throws {
            let handle = try FileHandle(forWritingTo: big)
            try handle.seek(toOffset: UInt64(offset))
            try handle.write(contentsOf: Data([byte]))
            try handle.close()
            try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: big.path)
        }
        // Same size and time: a change at either end is seen, one in the middle is not (the documented limit).
        try rewrite(at: 10, UInt8(ascii: "b"))
        let head = DataFingerprint.scan(folder).fingerprint
        #expect(head != first && head.bytes == first.bytes)
        try rewrite(at: 10, UInt8(ascii: "a"))
        #expect(DataFingerprint.scan(folder).fingerprint == first)
        try rewrite(at: (64 << 10) - 3, UInt8(ascii: "z"))
        #expect(DataFingerprint.scan(folder).fingerprint != first)
        try rewrite(at: (64 << 10) - 3, UInt8(ascii: "a"))
        try rewrite(at: 32 << 10, UInt8(ascii: "m"))
        #expect(DataFingerprint.scan(folder).fingerprint == first)

        // Touched, renamed, added.
        try FileManager.default.setAttributes([.modificationDate: date.addingTimeInterval(1)], ofItemAtPath: big.path)
        #expect(DataFingerprint.scan(folder).fingerprint != first)
        try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: big.path)
        try FileManager.default.moveItem(
            at: folder.appendingPathComponent("images/0001.txt"), to: folder.appendingPathComponent("images/0002.txt"))
        #expect(DataFingerprint.scan(folder).fingerprint != first)
        try TaskTestSupport.write("x", to: folder.appendingPathComponent("extra.txt"))
        #expect(DataFingerprint.scan(folder).fingerprint.files == 3)

        // What the sandbox's unprivileged user could not read is named.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: big.path)
        #expect(DataFingerprint.scan(folder).unreadable == "train.csv")
    }

    /// A folder of every kind of entry with fixed contents and times: links, hidden files, nesting,
    /// files smaller than one edge, between one and two, and larger than both, and a folder of many.
    static func fixedFolder() throws -> URL {
        let folder = try Self.temporaryFolder("fixed")
        let bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 / 256) }
        let files: [(String, Data)] = [
            ("train.csv", Data(bytes)), ("small.txt", Data("id\n1\n".utf8)), (".hidden", Data("h".utf8)),
            ("images/0001.png", Data(bytes.prefix(4097))), ("images/0002.png", Data(bytes.prefix(8192))),
            ("images/deep/er/x.bin", Data(bytes.suffix(8193))), ("é.txt", Data()),
        ]
        for (index, (path, data)) in files.enumerated() {
            let url = folder.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSince1970: 1_700_000_000 + Double(index))], ofItemAtPath: url.path)
        }
        // More files than one batch of reads (512) holds, twice over.
        for index in 0..<1100 {
            let url = folder.appendingPathComponent(String(format: "many/%04d.txt", index))
            try TaskTestSupport.write("\(index)", to: url)
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSince1970: 1_700_000_100 + Double(index))], ofItemAtPath: url.path)
        }
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("empty"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent("link.csv").path, withDestinationPath: "train.csv")
        try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent("more").path, withDestinationPath: "images")
        return folder
    }

    /// Runs store their data's digest (`runs.data_source`) and a resume compares it with a new scan:
    /// how the scan reads files may change, the digest it gives may not, or every older run would be
    /// told its data changed.
    @Test func theDigestIsTheOneStoredRunsHold() throws {
        let folder = try Self.fixedFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (fingerprint, _) = DataFingerprint.scan(folder)
        #expect(fingerprint.files == 1107 && fingerprint.bytes == 10_000 + 5 + 1 + 4097 + 8192 + 8193 + 3290)
        // What the file-by-file scan of the first release of v6 stored for this folder.
        #expect(fingerprint.digest == "2012ac2935e2efec")
    }

    /// One walk of the data gives a new run its fingerprint and its preview: the same as each made
    /// alone, with every folder the preview shows listed (and each entry stat-ed) by the walk, not again.
    @Test func oneWalkGivesTheFingerprintAndThePreview() throws {
        let folder = try Self.fixedFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let alone = DataPreview.Listings()
        let preview = DataPreview.build(for: folder, maxLength: 6000, sampleBytes: DataPreview.defaultSampleBytes, listings: alone).text
        let walk = DataFingerprint.walk(folder, listingDepth: DataPreview.maxDepth)
        #expect(walk.fingerprint == DataFingerprint.scan(folder).fingerprint)
        #expect(
            DataPreview.build(for: folder, maxLength: 6000, sampleBytes: DataPreview.defaultSampleBytes, listings: walk.listings).text
                == preview)
        #expect(DataScan(folder: folder).preview == preview)
        // Alone, the preview lists the data's folders (6) and those `more`, a link, leads to (3); after
        // the walk, which does not follow links, only the latter.
        #expect(alone.listedHere == 9)
        #expect(walk.listings.listedHere == 3)
    }

    // MARK: Placement

    @Test func theDataIsMountedWithTheSandboxAndCopiedOrLinkedWithout() throws {
        let folder = try Self.temporaryFolder("plan")
        defer { try? FileManager.default.removeItem(at: folder) }
        try TaskTestSupport.write("id\n1\n", to: folder.appendingPathComponent("train.csv"))
        let sandbox = Sandbox(bwrap: "/usr/bin/bwrap", python: "/usr/bin/python3", readOnly: ["/usr"], user: .nobody)

        let mounted = RunData.plan(folder: folder, sharing: .auto, sandbox: sandbox)
        #expect(mounted.data.placement == .mounted)
        #expect(mounted.data.path == folder.resolvingSymlinksInPath().path)
        #expect(mounted.notice.hasSuffix("(1 file, 5 B) shared read-only with the sandbox, not copied"), "\(mounted.notice)")
        #expect(RunData.plan(folder: folder, sharing: .link, sandbox: sandbox).data.placement == .mounted)

        let copied = RunData.plan(folder: folder, sharing: .auto, sandbox: nil)
        #expect(copied.data.placement == .copied)
        #expect(copied.notice.contains("into the run folder: 5 B of disk and the time to write it, for every run"), "\(copied.notice)")
        #expect(copied.notice.contains("exec.data: link shares it unprotected"))
        let asked = RunData.plan(folder: folder, sharing: .copy, sandbox: sandbox)
        #expect(asked.data.placement == .copied && asked.notice.contains("exec.data: copy"))

        let linked = RunData.plan(folder: folder, sharing: .link, sandbox: nil)
        #expect(linked.data.placement == .linked)
        #expect(linked.notice.contains("WITHOUT a sandbox and can change or delete it"))

        // The sandbox's user (nobody) cannot read a 0600 file through the mount: it is copied, and said why.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: folder.appendingPathComponent("train.csv").path)
        let unreadable = RunData.plan(folder: folder, sharing: .auto, sandbox: sandbox)
        #expect(unreadable.data.placement == .copied)
        #expect(unreadable.notice.contains("train.csv in it is not readable by the sandbox's user"), "\(unreadable.notice)")
    }

    @Test func theSandboxBindsTheDataWhereTheNodesLinkLeads() throws {
        let runs = try Self.temporaryFolder("mounts")
        defer { try? FileManager.default.removeItem(at: runs) }
        let data = runs.appendingPathComponent("task/data")
        try TaskTestSupport.write("id\n1\n", to: data.appendingPathComponent("train.csv"))
        let fingerprint = DataFingerprint.scan(data).fingerprint
        let workspace = RunWorkspace(root: runs.appendingPathComponent("run-1"))
        try workspace.create(data: RunData(path: data.path, placement: .mounted, fingerprint: fingerprint))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: workspace.input.path) == data.path)
        let node = try workspace.prepareNodeFolder(step: 0, nodeID: "abc")
        let mounts = PythonInterpreter.linkedFolders(in: node)
        #expect(mounts == [Sandbox.ReadOnlyMount(source: data.resolvingSymlinksInPath().path, destination: workspace.input.standardized.path)])
        let sandbox = Sandbox(bwrap: "/usr/bin/bwrap", python: "/usr/bin/python3", readOnly: ["/usr"])
        let args = sandbox.arguments(command: ["python3"], folder: node, readOnlyMounts: mounts)
        let bind = try #require(args.firstIndex(of: mounts[0].source))
        #expect(Array(args[(bind - 1)...(bind + 1)]) == ["--ro-bind", mounts[0].source, workspace.input.standardized.path])
        #expect(!args.contains(data.deletingLastPathComponent().path), "nothing else of the task's folder")
    }

    // MARK: Runs

    /// A script that tries to change the data every way it can, then writes an honest submission.
    static let vandal = #"""
        import csv, os, shutil
        def attempt(what, action):
            try:
                action()
                print("changed:", what)
            except Exception as e:
                print("refused:", what, type(e).__name__)
        print("input is", "a folder" if os.path.isdir("input") else "missing", sorted(os.listdir("input")))
        attempt("append", lambda: open("input/train.csv", "a").write("999,1,1\n"))
        attempt("truncate", lambda: open("input/train.csv", "w").close())
        attempt("delete", lambda: os.remove("input/test.csv"))
        attempt("create", lambda: open("input/new.csv", "w").write("x"))
        attempt("chmod", lambda: os.chmod("input/train.csv", 0o666))
        attempt("rename", lambda: os.rename("input/train.csv", "input/moved.csv"))
        attempt("rmtree", lambda: shutil.rmtree("input/"))
        rows = list(csv.DictReader(open("input/test.csv")))
        with open("working/submission.csv", "w") as f:
            f.write("id,y\n" + "".join(f"{r['id']},{2 * float(r['x']) + 1}\n" for r in rows))
        print("Validation metric: 0.1")
        """#

    @Test(.enabled(if: SandboxAttackTests.sandboxWorks, "bubblewrap cannot run here"))
    func aSandboxedScriptSeesTheDataReadOnlyAtInputAndCannotChangeIt() async throws {
        let task = try SyntheticTask(steps: 1, extraYAML: "  sandbox: bwrap\n")
        defer { task.remove() }
        let data = task.folder.appendingPathComponent("data")
        let before = DataFingerprint.scan(data).fingerprint
        let contents = try Data(contentsOf: data.appendingPathComponent("train.csv"))
        let answers = try A.file([A.code(Self.vandal), A.review(isBug: false, metric: 0.1)])
        let runs = try Self.temporaryFolder("runs")
        defer { try? FileManager.default.removeItem(at: runs) }
        let notices = Notices()
        let loaded = try TaskLoader.load(task.taskFile)
        var dependencies = try RunAssembly.dependencies(
            for: loaded, options: RunOptions(steps: 1, source: .scripted(file: answers.path)), warn: { _ in })
        dependencies.notice = { notices.hear($0) }
        let run = try SearchRun.start(task: loaded, runsDirectory: runs, dependencies: dependencies)
        let summary = await run.run()
        #expect(summary.status == .finished)

        #expect(notices.all.contains { $0.hasSuffix("shared read-only with the sandbox, not copied") }, "\(notices.all)")
        let store = try RunStore.openReadOnly(path: run.workspace.database)
        defer { try? store.close() }
        let node = try #require(try store.nodes().first)
        let output = node.execution?.output ?? ""
        #expect(output.contains("input is a folder ['test.csv', 'train.csv']"), "\(output)")
        for what in ["append", "truncate", "delete", "create", "chmod", "rename", "rmtree"] {
            #expect(output.contains("refused: \(what) OSError") || output.contains("refused: \(what) PermissionError"),
                    "\(what): \(output)")
        }
        #expect(!output.contains("changed:"), "\(output)")
        #expect(node.testScore == 0, "the script read the data and graded as it should")
        // The data is as it was, still the harness's, and the run holds no copy of it.
        #expect(DataFingerprint.scan(data).fingerprint == before)
        #expect(try Data(contentsOf: data.appendingPathComponent("train.csv")) == contents)
        let owner = try FileManager.default.attributesOfItem(atPath: data.appendingPathComponent("train.csv").path)[.ownerAccountID] as? Int
        #expect(owner == Int(getuid()))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: run.workspace.input.path) == data.resolvingSymlinksInPath().path)
        let recorded = try #require(try store.dataSource())
        #expect(recorded.placement == .mounted && recorded.fingerprint == before)
    }

    @Test func aResumeWarnsWhenTheDataChangedUnderTheRun() async throws {
        let task = try SyntheticTask(steps: 3, extraYAML: "  sandbox: none\n  data: link\n")
        defer { task.remove() }
        var lines: [String] = []
        for _ in 0..<3 { lines += [A.code(A.goodScript(metric: 0.3)), A.review(isBug: false, metric: 0.3)] }
        let answers = try A.file(lines)
        let runs = try Self.temporaryFolder("runs")
        defer { try? FileManager.default.removeItem(at: runs) }
        let options = RunOptions(steps: 1, source: .scripted(file: answers.path))
        let notices = Notices()
        func dependencies(_ task: LoadedTask) throws -> RunDependencies {
            var dependencies = try RunAssembly.dependencies(for: task, options: options, warn: { _ in })
            dependencies.notice = { notices.hear($0) }
            return dependencies
        }
        let loaded = try TaskLoader.load(task.taskFile)
        // Each run let go (its lock released) before the next resume.
        let first = await (try SearchRun.start(task: loaded, runsDirectory: runs, dependencies: try dependencies(loaded))).run()
        #expect(first.status == .finished)
        #expect(notices.all.count == 1 && notices.all[0].contains("linked, not copied"), "\(notices.all)")
        #expect(Self.bytesStored(in: first.folder.appendingPathComponent("input")) == 0, "a link, no copy")

        // Unchanged data: a resume says nothing.
        let resumed = await (try SearchRun.resume(runFolder: first.folder, dependencies: dependencies, adjust: { $0.budget.steps = 2 })).run()
        #expect(resumed.status == .finished)
        #expect(notices.all.count == 1, "\(notices.all)")

        // One more row: one line, naming the folder and both sizes.
        let train = task.folder.appendingPathComponent("data/train.csv")
        let handle = try FileHandle(forWritingTo: train)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("40,10.0,21.0\n".utf8))
        try handle.close()
        let again = await (try SearchRun.resume(runFolder: first.folder, dependencies: dependencies, adjust: { $0.budget.steps = 3 })).run()
        #expect(again.status == .finished)
        #expect(notices.all.count == 2, "\(notices.all)")
        let warning = notices.all.last ?? ""
        #expect(warning.hasPrefix("warning: the data in \(task.folder.appendingPathComponent("data").resolvingSymlinksInPath().path) changed since this run started"), "\(warning)")
        #expect(!warning.contains("\n"), "one line")
    }

    @Test func aCopiedRunKeepsItsCopyAndIsNotWarned() async throws {
        let task = try SyntheticTask(steps: 1, extraYAML: "  data: copy\n")
        defer { task.remove() }
        let answers = try A.file([A.code(A.goodScript(metric: 0.3)), A.review(isBug: false, metric: 0.3)])
        let runs = try Self.temporaryFolder("runs")
        defer { try? FileManager.default.removeItem(at: runs) }
        let notices = Notices()
        let loaded = try TaskLoader.load(task.taskFile)
        var dependencies = try RunAssembly.dependencies(
            for: loaded, options: RunOptions(steps: 1, source: .scripted(file: answers.path)), warn: { _ in })
        dependencies.notice = { notices.hear($0) }
        let run = try SearchRun.start(task: loaded, runsDirectory: runs, dependencies: dependencies)
        let summary = await run.run()
        #expect(summary.status == .finished, "\(summary.text)")
        #expect(notices.all.first?.contains("data: copying ") == true, "\(notices.all)")
        let copy = run.workspace.input.appendingPathComponent("train.csv")
        #expect(try FileManager.default.attributesOfItem(atPath: copy.path)[.posixPermissions] as? Int == 0o444)
        #expect(try Data(contentsOf: copy) == Data(contentsOf: task.folder.appendingPathComponent("data/train.csv")))
        let store = try RunStore.openReadOnly(path: run.workspace.database)
        defer { try? store.close() }
        let recorded = try #require(try store.dataSource())
        #expect(recorded.placement == .copied)
        // The task's data changes; the run has its own copy, so nothing to say.
        try TaskTestSupport.write("x", to: task.folder.appendingPathComponent("data/more.txt"))
        #expect(recorded.changes(now: recorded.currentFingerprint(), sandboxed: false) == nil)
    }

    @Test func aRunsFolderInsideTheDataIsRefusedBeforeAnythingIsMade() throws {
        let task = try SyntheticTask(steps: 1)
        defer { task.remove() }
        let runs = task.folder.appendingPathComponent("data/runs")
        let loaded = try TaskLoader.load(task.taskFile)
        let answers = try A.file([A.code(A.goodScript(metric: 0.3))])
        let dependencies = try RunAssembly.dependencies(
            for: loaded, options: RunOptions(steps: 1, source: .scripted(file: answers.path)), warn: { _ in })
        #expect {
            try SearchRun.start(task: loaded, runsDirectory: runs, dependencies: dependencies)
        } throws: { error in
            guard case .runsInsideData? = error as? WorkspaceError else { return false }
            return "\(error)".contains("is inside the data folder")
        }
        #expect((try? FileManager.default.contentsOfDirectory(atPath: runs.path))?.isEmpty ?? true)
    }

    /// `aide bench` with 3 seeds: every run's `input` is a link to the one data folder, no run holds a copy.
    @Test(.enabled(if: SandboxAttackTests.sandboxWorks, "bubblewrap cannot run here"))
    func aBenchOfThreeSeedsLeavesNoDataCopies() async throws {
        let task = try SyntheticTask(steps: 1)
        defer { task.remove() }
        // A data folder of 8 MB: a copy per run would show in the runs' sizes.
        try Data(repeating: UInt8(ascii: "0"), count: 8 << 20).write(to: task.folder.appendingPathComponent("data/extra.bin"))
        var lines: [String] = []
        for _ in 0..<3 { lines += [A.code(A.goodScript(metric: 0.3)), A.review(isBug: false, metric: 0.3)] }
        let answers = try A.file(lines)
        let runs = try Self.temporaryFolder("bench")
        defer { try? FileManager.default.removeItem(at: runs) }
        let result = try await CommandRunner.run(
            ["bench", task.taskFile.path, "--seeds", "3", "--name", "shared", "--runs-dir", runs.path, "--scripted", answers.path],
            environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": NSTemporaryDirectory()])
        #expect(result.status == 0, "\(result.stderr)")
        var databases: [URL] = []
        if let walker = FileManager.default.enumerator(atPath: runs.path) {
            for case let path as String in walker where path.hasSuffix("/" + RunStore.fileName) {
                databases.append(runs.appendingPathComponent(path))
            }
        }
        #expect(databases.count == 3)
        let data = task.folder.appendingPathComponent("data").resolvingSymlinksInPath().path
        for database in databases {
            let input = database.deletingLastPathComponent().appendingPathComponent("input")
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: input.path) == data)
        }
        #expect(Self.bytesStored(in: runs) < 8 << 20, "not one copy of the 8 MB of data")
    }
}
