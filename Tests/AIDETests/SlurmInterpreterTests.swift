@testable import AIDE
import AIDETesting
import Foundation
import Testing

// Scripts as Slurm jobs: exec.backend and exec.slurm in task.yaml, the job script, how each way a
// job ends becomes the node's result (retries, Slurm's reasons), cancellation and the sweep of a
// killed aide's jobs. The controller is `ScriptedSlurm`, which runs each job script with bash here;
// scripts/check-slurm-run.sh runs the same on a real one-node Slurm.

/// A run folder with one node folder in it, as `RunWorkspace` lays it out.
private struct NodeFolder {
    let run: URL
    let node: URL

    init(step: Int = 3) throws {
        run = FileManager.default.temporaryDirectory.appendingPathComponent("slurm-run-\(UUID().uuidString.prefix(8))")
        node = run.appendingPathComponent("nodes").appendingPathComponent(String(format: "%04d-abcd1234", step))
        try FileManager.default.createDirectory(at: node, withIntermediateDirectories: true)
    }

    var runID: String { run.lastPathComponent }
    func remove() { try? FileManager.default.removeItem(at: run) }
}

private func interpreter(_ slurm: ScriptedSlurm, exec: ExecSpec = ExecSpec()) -> SlurmInterpreter {
    var exec = exec
    exec.backend = .slurm
    var interpreter = SlurmInterpreter(local: PythonInterpreter(python: TestPython.path), exec: exec, control: slurm)
    interpreter.fileChecks = (0.001, 0.01)
    interpreter.controllerChecks = (0, 0)
    return interpreter
}

@Suite struct SlurmInterpreterTests {
    @Test func scriptRunsAsAJobAndItsResultIsRead() async throws {
        let folder = try NodeFolder()
        defer { folder.remove() }
        let slurm = ScriptedSlurm()
        let result = try await interpreter(slurm).run(
            script: "import os\nprint('hello from', os.getcwd().split('/')[-1])\nraise ValueError('boom')\n",
            in: folder.node, timeout: 60)
        #expect(result.output.contains("hello from 0003-abcd1234"))
        #expect(result.exitCode == 1)
        #expect(result.exceptionType == "ValueError")
        #expect(result.traceback?.contains("boom") == true)
        #expect(!result.output.contains(folder.node.path))  // the folder is cut from tracebacks, as locally
        let placement = try #require(result.placement)
        #expect(placement.jobID == "100")
        #expect(placement.node == "fake-node")
        #expect(placement.queueWait != nil)
        #expect(placement.failure == nil)
        #expect(slurm.names == ["aide-\(folder.runID)-s3"])
        #expect(SlurmInterpreter.step(ofJob: slurm.names[0], runID: folder.runID) == 3)
        // The job's own files sit in the run's slurm/ folder, out of the sandbox's sight.
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.run.appendingPathComponent("slurm").path)
        #expect(Set(files) == ["0003-abcd1234.sbatch", "0003-abcd1234.job", "0003-abcd1234-100.out", "0003-abcd1234-100.status"])
        #expect(SlurmJobPointer.read(folder.run.appendingPathComponent("slurm/0003-abcd1234.job"))?.job == "100")
    }

    @Test func jobScriptCarriesTheTaskSettings() throws {
        var exec = ExecSpec()
        exec.slurm = SlurmSpec(
            partition: "gpu", time: 5400, cpusPerTask: 4, mem: "8G", gres: "gpu:1", account: "ml", qos: "high",
            extraArgs: ["--constraint=a100"])
        let options = exec.sbatchOptions(scriptTimeout: 600)
        #expect(options == [
            "--partition=gpu", "--time=0-01:30:00", "--cpus-per-task=4", "--mem=8G", "--gres=gpu:1", "--account=ml",
            "--qos=high", "--constraint=a100",
        ])
        // No time set: the script timeout plus five minutes.
        #expect(ExecSpec().sbatchOptions(scriptTimeout: 600).contains("--time=0-00:15:00"))
    }

    @Test func nodeFailureIsRetriedOnce() async throws {
        let folder = try NodeFolder()
        defer { folder.remove() }
        let slurm = ScriptedSlurm { $0 == 0 ? .ended(state: "NODE_FAIL", exitCode: "0:0", reason: "NodeDown") : .run }
        let result = try await interpreter(slurm).run(script: "print('second time')\n", in: folder.node, timeout: 60)
        #expect(slurm.submitted == ["100", "101"])
        #expect(result.exitCode == 0)
        #expect(result.output.contains("second time"))
        #expect(result.placement?.jobID == "101")
        #expect(result.placement?.attempts == 2)
    }

    @Test func preemptedTwiceIsABuggyNodeWithSlurmsReason() async throws {
        let folder = try NodeFolder()
        defer { folder.remove() }
        let slurm = ScriptedSlurm { _ in .ended(state: "PREEMPTED", exitCode: "0:15", reason: nil) }
        let result = try await interpreter(slurm).run(script: "print(1)\n", in: folder.node, timeout: 60)
        #expect(slurm.submitted.count == 2)
        let failure = try #require(result.placement?.failure)
        #expect(failure == "Slurm job 101 was preempted: PREEMPTED (after one retry)")
        let assessment = Assessment.of(execution: result, review: nil, submissionWritten: false, submissionFile: "submission.csv")
        #expect(assessment.isBuggy)
        #expect(assessment.reasons.first == failure)
        #expect(result.output.contains("[aide] \(failure)"))
    }

    @Test(arguments: [
        ("TIMEOUT", "0:15", "TimeLimit", "Slurm job 100 reached its time limit: TIMEOUT (--time=0-00:02:00)"),
        ("OUT_OF_MEMORY", "0:125", nil, "Slurm job 100 ran out of memory: OUT_OF_MEMORY (Exceeded job memory limit of --mem=100M)"),
        ("CANCELLED", "0:15", nil, "Slurm job 100 was cancelled outside aide: CANCELLED"),
        ("FAILED", "1:0", "NonZeroExitCode", "Slurm job 100 ended FAILED (exit code 1:0, reason NonZeroExitCode)"),
    ] as [(String, String, String?, String)])
    func slurmsEndIsTheNodesReason(state: String, exitCode: String, reason: String?, expected: String) async throws {
        let folder = try NodeFolder()
        defer { folder.remove() }
        var exec = ExecSpec()
        exec.slurm = SlurmSpec(time: 120, mem: "100M")
        let slurm = ScriptedSlurm { _ in .ended(state: state, exitCode: exitCode, reason: reason) }
        let result = try await interpreter(slurm, exec: exec).run(script: "print(1)\n", in: folder.node, timeout: 60)
        #expect(slurm.submitted.count == 1)
        #expect(result.placement?.failure == expected)
        #expect(result.placement?.state == state)
        #expect(result.timedOut == (state == "TIMEOUT"))
        #expect(!result.succeeded)
    }

    @Test func aJobThatWritesPastTheDiskCapIsStoppedOnItsNode() async throws {
        let folder = try NodeFolder()
        defer { folder.remove() }
        let cap = DiskCap(limitBytes: 2 << 20)
        var local = PythonInterpreter(python: TestPython.path)
        local.diskCap = cap
        var exec = ExecSpec()
        exec.backend = .slurm
        var running = SlurmInterpreter(local: local, exec: exec, control: ScriptedSlurm())
        running.fileChecks = (0.001, 0.05)
        running.controllerChecks = (0, 0)
        // 1 MB files until stopped; never ends on its own within the timeout.
        let script = """
            import time
            for i in range(100000):
                open(f"part{i}.bin", "wb").write(b"x" * (1 << 20))
                time.sleep(0.05)
            """
        let result = try await running.run(script: script, in: folder.node, timeout: 600)
        #expect(result.stoppedBecause == cap.reason)
        #expect(result.signal == 9)
        #expect(!result.timedOut)
        // What it wrote is removed, as locally; the script stays.
        let left = try FileManager.default.contentsOfDirectory(atPath: folder.node.path)
        #expect(left == [PythonInterpreter.scriptName])
        let assessment = Assessment.of(execution: result, review: nil, submissionWritten: false, submissionFile: "submission.csv")
        #expect(assessment.reasons.first == "stopped: \(cap.reason)")
    }

    @Test func aJobScriptBindsItsComputeNodesGPUsNotTheHeadNodes() throws {
        let folder = try NodeFolder()
        defer { folder.remove() }
        // The head node's sandbox saw a GPU of its own.
        let sandbox = Sandbox(bwrap: "/usr/bin/bwrap", python: TestPython.path, readOnly: ["/usr"], devices: ["/dev/nvidia7"])
        let local = PythonInterpreter(python: TestPython.path, sandbox: sandbox)
        var exec = ExecSpec()
        exec.backend = .slurm
        let running = SlurmInterpreter(local: local, exec: exec, control: ScriptedSlurm())
        let (executable, arguments) = try running.local.command(python: TestPython.path, in: folder.node)
        let script = running.jobScript(
            name: "aide-r-s3", comment: "aide:run=r:step=3",
            files: SlurmJobFiles(folder: folder.run.appendingPathComponent("slurm"), name: folder.node.lastPathComponent),
            directory: folder.node, timeout: 60, environment: [:], command: [executable] + arguments)
        #expect(!script.contains("/dev/nvidia7"))
        #expect(script.contains(Sandbox.deviceBindsScript()))
        #expect(script.contains("--tmpfs /dev/shm \(Sandbox.deviceBindsWord) --perms"))

        // On a node with GPUs (a fake /dev), the job binds those, as a local run binds its own.
        let dev = folder.run.appendingPathComponent("dev")
        try FileManager.default.createDirectory(at: dev, withIntermediateDirectories: true)
        for name in ["nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", "null"] {
            _ = FileManager.default.createFile(atPath: dev.appendingPathComponent(name).path, contents: nil)
        }
        func binds(_ folder: URL) throws -> [String] {
            let listing = Sandbox.deviceBindsScript(folder: folder.path) + "\nprintf '%s\\n' \"${aide_device_binds[@]}\"\n"
            let (status, output) = try Sandbox.capture("/bin/bash", ["-c", listing], environment: [:])
            #expect(status == 0)
            return output.split(separator: "\n").map(String.init)
        }
        let expected = Sandbox.deviceArguments(GPUDevices.present(in: dev.path))
        #expect(expected.count == 4 * 3 + 6)
        let found = try binds(dev)
        #expect(found.count == expected.count)
        #expect(Set(found) == Set(expected))
        #expect(Array(found.suffix(6)) == Array(expected.suffix(6)))
        // A node without GPUs: no binds, not even the driver's paths.
        let empty = folder.run.appendingPathComponent("empty-dev")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        #expect(try binds(empty).isEmpty)
        // exec.gpus: none: no GPU binds at all.
        exec.gpus = GPUSetting.none
        let without = SlurmInterpreter(local: local, exec: exec, control: ScriptedSlurm())
        #expect(try !without.local.command(python: TestPython.path, in: folder.node).arguments.contains(Sandbox.deviceBindsWord))
        #expect(try !without.local.command(python: TestPython.path, in: folder.node).arguments.contains("/dev/nvidia7"))
    }

    @Test func cancellingTheStepCancelsItsJob() async throws {
        let folder = try NodeFolder()
        defer { folder.remove() }
        let slurm = ScriptedSlurm { _ in .hang }
        let running = interpreter(slurm)
        let step = Task { try await running.run(script: "print(1)\n", in: folder.node, timeout: 60) }
        await slurm.waitForSubmissions(1)
        step.cancel()
        await #expect(throws: CancellationError.self) { try await step.value }
        #expect(slurm.cancelled == ["100"])
        #expect(running.jobsInFlight.isEmpty)
    }

    @Test func aKilledAidesJobsAreCancelledBeforeTheFirstNewOne() async throws {
        let folder = try NodeFolder(step: 7)
        defer { folder.remove() }
        let slurm = ScriptedSlurm()
        slurm.addLeftover(SlurmQueuedJob(id: "40", name: SlurmInterpreter.jobName(runID: folder.runID, step: 6), state: "RUNNING"))
        slurm.addLeftover(SlurmQueuedJob(id: "41", name: SlurmInterpreter.jobName(runID: folder.runID, step: 7), state: "PENDING"))
        slurm.addLeftover(SlurmQueuedJob(id: "42", name: "aide-other-run-s7", state: "RUNNING"))
        slurm.addLeftover(SlurmQueuedJob(id: "43", name: SlurmInterpreter.jobName(runID: folder.runID, step: 7) + "x", state: "RUNNING"))
        let running = interpreter(slurm)
        _ = try await running.run(script: "print(1)\n", in: folder.node, timeout: 60)
        #expect(slurm.cancelled == ["40", "41"])
        // Once per run: the next script does not look again.
        _ = try await running.run(script: "print(2)\n", in: folder.node, timeout: 60)
        #expect(slurm.cancelled == ["40", "41"])
    }

    @Test func controllerIsAskedOnlyWhenTheStatusFileSaysNothing() async throws {
        let folder = try NodeFolder()
        defer { folder.remove() }
        let slurm = ScriptedSlurm()
        var running = interpreter(slurm)
        running.controllerChecks = (3600, 3600)
        _ = try await running.run(script: "print(1)\n", in: folder.node, timeout: 60)
        #expect(slurm.questions == 0)
    }
}

@Suite struct SlurmSpecTests {
    private func load(_ exec: String, overrides: [String] = []) throws -> (TaskSpec?, String?) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("aide-slurm-spec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("data"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("task.yaml")
        let yaml = "name: t\ngoal: g\ndata: data\nmetric:\n  name: m\n  direction: minimize\nexec:\n  python: \(TestPython.path)\n" + exec
        try Data(yaml.utf8).write(to: file)
        do {
            return (try TaskLoader.load(file, overrides: overrides).spec, nil)
        } catch let error as TaskError {
            return (nil, error.description.replacingOccurrences(of: file.path, with: "task.yaml"))
        }
    }

    @Test func backendAndJobSettingsAreRead() throws {
        let (spec, error) = try load("""
              backend: slurm
              slurm:
                partition: gpu
                time: 2h
                cpus_per_task: 8
                mem: 32G
                gres: "gpu:1"
                account: lab
                qos: normal
                extra_args: ["--constraint=a100"]
                shared_filesystem: true

            """)
        #expect(error == nil)
        let exec = try #require(spec?.exec)
        #expect(exec.backend == .slurm)
        #expect(exec.slurm == SlurmSpec(
            partition: "gpu", time: 7200, cpusPerTask: 8, mem: "32G", gres: "gpu:1", account: "lab", qos: "normal",
            extraArgs: ["--constraint=a100"], sharedFilesystem: true))
        // Scripts run on the cluster: the local cores bound nothing, and each uses its job's cores.
        #expect(exec.scriptSlots == Int.max)
        #expect(exec.threadsPerScript(running: 16) == 8)
        // Round trip through the stored config.
        let again = try JSONDecoder().decode(ExecSpec.self, from: JSONEncoder().encode(exec))
        #expect(again == exec)
        #expect(try load("", overrides: ["exec.backend=slurm", "exec.slurm.mem=4G"]).0?.exec.slurm.mem == "4G")
    }

    @Test(arguments: [
        ("  backend: cluster\n", #"task.yaml:9:3: exec.backend: expected one of local, slurm, found "cluster""#),
        ("  slurm:\n    memory: 4G\n", #"task.yaml:10:5: unknown key "memory" in exec.slurm; expected one of: partition, time, cpus_per_task, mem, gres, account, qos, extra_args, shared_filesystem"#),
        ("  slurm:\n    mem: lots\n", #"task.yaml:10:5: exec.slurm.mem: expected Slurm's memory format such as 4G, 500M or 2048 (MiB), found "lots""#),
        ("  slurm:\n    time: soon\n", #"task.yaml:10:5: exec.slurm.time: expected a duration such as 600, "90s", "10m" or "1h30m", found "soon""#),
        ("  slurm:\n    cpus_per_task: 0\n", "task.yaml:10:5: exec.slurm.cpus_per_task: must be at least 1, found 0"),
        ("  slurm:\n    partition: \"a b\"\n", #"task.yaml:10:5: exec.slurm.partition: "a b" is not a partition name"#),
        ("  slurm:\n    extra_args: [\"--output=/tmp/x\"]\n", "task.yaml:10:5: exec.slurm.extra_args: --output is set by aide for each script's job; remove it"),
        ("  slurm:\n    extra_args: [\"constraint\"]\n", #"task.yaml:10:5: exec.slurm.extra_args: each entry is one sbatch option such as --constraint=a100, found "constraint""#),
    ])
    func badSettingsAreOneLineAtTheirLine(exec: String, expected: String) throws {
        #expect(try load(exec).1 == expected)
    }

    @Test func sharedFilesystemsAreToldFromLocalOnes() {
        let mounts = """
            /dev/vda / ext4 rw 0 0
            server:/export /shared nfs4 rw 0 0
            tmpfs /shared/tmp tmpfs rw 0 0
            lustre@o2ib:/fs /lustre lustre rw 0 0

            """
        #expect(SlurmCheck.filesystem(of: URL(fileURLWithPath: "/shared/runs/x"), mounts: mounts) == ("nfs4", true))
        #expect(SlurmCheck.filesystem(of: URL(fileURLWithPath: "/shared/tmp/runs"), mounts: mounts) == ("tmpfs", false))
        #expect(SlurmCheck.filesystem(of: URL(fileURLWithPath: "/lustre/u/runs"), mounts: mounts) == ("lustre", true))
        #expect(SlurmCheck.filesystem(of: URL(fileURLWithPath: "/home/u/runs"), mounts: mounts) == ("ext4", false))
    }

    @Test func timeAndMemoryInSlurmsFormats() {
        #expect(SlurmSpec.timeText(59.2) == "0-00:01:00")
        #expect(SlurmSpec.timeText(90061) == "1-01:01:01")
        #expect(SlurmSpec.megabytes("4G") == 4096)
        #expect(SlurmSpec.megabytes("500m") == 500)
        #expect(SlurmSpec.megabytes("2048") == 2048)
        #expect(SlurmSpec.megabytes("0G") == nil)
        #expect(SlurmSpec.megabytes("G") == nil)
    }

    /// `aide bench --slurm`'s job settings and `exec.slurm` follow the same rules.
    @Test func benchJobAndTaskSettingsShareOneRuleSet() throws {
        for time in ["30", "10:00", "1:00:00", "2-12", "1-00:00:00"] { #expect(throws: Never.self) { try SlurmJob(time: time).validate() } }
        for time in ["1h", "1::00", "-1", "1-2-3", ""] {
            #expect(throws: BenchError.slurmTime(time)) { try SlurmJob(time: time).validate() }
        }
        for memory in ["4G", "500m", "2048"] { #expect(throws: Never.self) { try SlurmJob(memory: memory).validate() } }
        for memory in ["4GB", "G", "0M"] {
            #expect(throws: BenchError.slurmMemory(memory)) { try SlurmJob(memory: memory).validate() }
            #expect(SlurmSpec(mem: memory).problems().map(\.key) == ["mem"])
        }
        for partition in ["gpu:a", "a b", ""] {
            #expect(throws: BenchError.slurmPartition(partition)) { try SlurmJob(partition: partition).validate() }
            #expect(SlurmSpec(partition: partition).problems().map(\.key) == ["partition"])
        }
        #expect(throws: Never.self) { try SlurmJob(partition: "gpu,cpu").validate() }
        #expect(SlurmSpec(partition: "gpu,cpu").problems().isEmpty)
    }
}

@Suite struct SlurmPlacementStoreTests {
    @Test func jobNodeStateAndQueueWaitAreStoredWithTheNode() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("aide-slurm-store-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let spec = TaskSpec(name: "t", goal: "g", data: "data", metric: MetricSpec(direction: .minimize))
        let store = try RunStore(path: RunStore.fileURL(runsDirectory: folder, runID: "r"))
        try store.createRun(RunRecord(id: "r", taskFile: "task.yaml", spec: spec))
        var execution = ExecutionResult(output: "out\n", outputBytes: 4, exitCode: nil, timedOut: true, duration: 61)
        execution.placement = ScriptPlacement(
            jobID: "4711", node: "gpu07", queueWait: 12.5, state: "TIMEOUT", failure: "Slurm job 4711 reached its time limit")
        var ranThere = Node(
            id: "n0", parentID: nil, step: 0, stage: .draft, plan: "", code: "print(1)", isBuggy: true,
            createdAt: Date(), finishedAt: Date())
        ranThere.execution = execution
        var ranHere = ranThere
        ranHere.id = "n1"
        ranHere.step = 1
        ranHere.execution?.placement = nil
        for node in [ranThere, ranHere] {
            try store.commit(
                node: node, calls: [],
                metrics: MetricsRecord(
                    runID: "r", step: node.step, bestMetric: nil, bestTestScore: nil, bestNodeID: nil, inputTokens: 0,
                    outputTokens: 0, costUSD: 0, elapsed: 1, nodes: node.step + 1, buggyNodes: node.step + 1,
                    recordedAt: Date()),
                bestNodeID: nil)
        }
        let nodes = try store.nodes()
        // The reason is in the node's bug reasons, not stored twice.
        #expect(nodes[0].execution?.placement == ScriptPlacement(jobID: "4711", node: "gpu07", queueWait: 12.5, state: "TIMEOUT"))
        #expect(nodes[1].execution?.placement == nil)
    }
}
