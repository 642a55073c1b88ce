import Foundation

/// How a run's scripts are isolated, decided once when the run starts (or resumes) from
/// `exec.sandbox`: the sandbox, or none and why.
public struct ScriptIsolation: Sendable {
    /// The sandbox scripts run in; nil when they run without one.
    public var sandbox: Sandbox?
    /// One line for the run's record and its report: `bwrap`, `none (exec.sandbox: none)`, or
    /// `none (bubblewrap unavailable: …)`.
    public var summary: String
    /// Said loudly at the start of the run when `auto` found no working sandbox.
    public var warning: String?

    public init(sandbox: Sandbox?, summary: String, warning: String? = nil) {
        self.sandbox = sandbox
        self.summary = summary
        self.warning = warning
    }

    /// Sets up what `exec` asks for, scripts run by `python` (`bwrap`: bubblewrap's path, else found on
    /// PATH). `bwrap` that cannot work throws; `auto` that cannot falls back to none with a warning.
    public static func resolve(_ exec: ExecSpec, python: String, bwrap: String? = nil) throws -> ScriptIsolation {
        switch exec.sandbox {
        case .none:
            return ScriptIsolation(sandbox: nil, summary: "none (exec.sandbox: none)")
        case .bwrap, .auto:
            do {
                let gpus = exec.gpus == .none ? [] : GPUDevices.present()
                let sandbox = try Sandbox.make(
                    python: python, network: exec.network, devices: gpus, tmpBytes: exec.tmpMB << 20, bwrap: bwrap)
                return ScriptIsolation(sandbox: sandbox, summary: exec.network ? "bwrap (network allowed)" : "bwrap")
            } catch {
                if exec.sandbox == .bwrap { throw SandboxError.required(cause: error) }
                return ScriptIsolation(
                    sandbox: nil, summary: "none (bubblewrap unavailable: \(error))",
                    warning: """
                        WARNING: scripts run WITHOUT a sandbox: \(error).
                        WARNING: a script can read anything this user can (keys in files, the answers), and change or delete the run.
                        WARNING: install bubblewrap, or set exec.sandbox: none to make this choice explicit.
                        """)
            }
        }
    }
}

extension PythonInterpreter {
    /// The interpreter a run of `task` uses: its Python, its limits, the sandbox `isolation` chose, and
    /// its GPUs shared among the scripts that run at once.
    public init(task: LoadedTask, isolation: ScriptIsolation) {
        let exec = task.spec.exec
        let present = GPUDevices.indices()
        let devices = exec.gpus.indices(present: present)
        let scriptsAtOnce = min(task.spec.search.workers, exec.scriptSlots)
        // No GPU and none asked for: leave CUDA_VISIBLE_DEVICES alone. `none` sets it empty.
        let pool = devices.isEmpty && exec.gpus != .none ? nil : GPUPool(devices: devices, scriptsAtOnce: scriptsAtOnce)
        self.init(
            python: isolation.sandbox?.python ?? task.pythonExecutable, memoryLimitMB: exec.memoryLimitMB,
            cpuLimit: exec.cpuLimit, outputLimit: exec.outputLimit,
            threadsPerScript: exec.threadsPerScript(running: task.spec.search.workers), sandbox: isolation.sandbox,
            fileSizeLimit: exec.maxFileMB << 20, processLimit: exec.maxProcesses, gpus: pool,
            diskCap: DiskCap(limitBytes: exec.maxDiskMB << 20))
        isolationSummary = isolation.summary
    }
}
