import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How solution scripts are isolated (`exec.sandbox` in task.yaml).
public enum SandboxMode: String, Codable, Sendable, Hashable, CaseIterable {
    /// bubblewrap when it works on this machine; otherwise no sandbox, said loudly at the start.
    case auto
    /// bubblewrap, or the run does not start.
    case bwrap
    /// No sandbox: scripts run as the harness's user (the environment allow-list still applies).
    case none
}

/// Per-script resource limits, applied with setrlimit to the script and everything it starts.
public struct ScriptLimits: Sendable, Hashable {
    /// Address space (`RLIMIT_AS`), bytes.
    public var memoryBytes: Int?
    /// CPU time (`RLIMIT_CPU`), whole seconds.
    public var cpuSeconds: Int?
    /// Processes and threads of the sandbox user (`RLIMIT_NPROC`); enforced only for a non-root user.
    public var processes: Int?
    /// Largest file a script may write (`RLIMIT_FSIZE`), bytes; past it the write fails (SIGXFSZ).
    public var fileBytes: Int?

    public init(memoryBytes: Int? = nil, cpuSeconds: Int? = nil, processes: Int? = nil, fileBytes: Int? = nil) {
        self.memoryBytes = memoryBytes
        self.cpuSeconds = cpuSeconds
        self.processes = processes
        self.fileBytes = fileBytes
    }
}

/// Why a sandbox could not be set up.
public indirect enum SandboxError: Error, Sendable, Hashable, CustomStringConvertible, LocalizedError {
    /// No `bwrap` on PATH (or at the path given).
    case notInstalled
    /// Not Linux: no namespaces to run bubblewrap in.
    case noNamespaces
    /// A file of a script's folder cannot be given to the sandbox user (`reason`: the system's).
    case cannotHandOver(path: String, reason: String)
    /// The empty folder the check runs in cannot be made.
    case cannotMakeCheckFolder(path: String, reason: String)
    /// Bubblewrap ran, but could not run Python: its own words (`output`), or its exit status.
    case cannotRunScripts(status: Int32, output: String)
    /// Python did not say where it lives (its output).
    case pythonUnknown(python: String, output: String)
    /// A program the sandbox needs cannot be started.
    case cannotStart(executable: String, reason: String)
    /// `exec.sandbox: bwrap` asked for the sandbox, and this is why there is none.
    case required(cause: SandboxError)

    public var description: String {
        switch self {
        case .notInstalled: return "bubblewrap (bwrap) is not installed; install Debian's `bubblewrap`"
        case .noNamespaces: return "bubblewrap needs Linux namespaces; this system has none (use exec.sandbox: none)"
        case .cannotHandOver(let path, let reason): return "cannot hand \(path) to the sandbox user: \(reason)"
        case .cannotMakeCheckFolder(let path, let reason): return "cannot make the sandbox check's folder \(path): \(reason)"
        case .cannotRunScripts(let status, let output):
            return "bubblewrap cannot run scripts here: \(output.isEmpty ? "exit status \(status)" : output)"
        case .pythonUnknown(let python, let output): return "cannot ask \(python) where it lives: \(output)"
        case .cannotStart(let executable, let reason): return "cannot run \(executable): \(reason)"
        case .required(let cause): return "exec.sandbox is bwrap, but \(cause)"
        }
    }

    public var errorDescription: String? { description }
}

/// The unprivileged user scripts run as when the harness is root.
public struct SandboxUser: Sendable, Hashable {
    public var uid: UInt32
    public var gid: UInt32
    public init(uid: UInt32, gid: UInt32) {
        self.uid = uid
        self.gid = gid
    }
    /// `nobody`/`nogroup`: owns no file of the run, holds no capability.
    public static let nobody = SandboxUser(uid: 65534, gid: 65534)
}

/// A bubblewrap sandbox for one run's scripts, as a value: the argument list follows from these
/// settings alone. A script sees a read-only system and Python, its own node folder (writable), the
/// read-only folders the harness linked into it (the run's `input/`), a private `/tmp` and an empty
/// `$HOME`; its own PID, IPC, UTS and (unless `network`) network namespaces; and, when the harness
/// is root, it runs as an unprivileged user with no capabilities, so setrlimit's process cap holds.
public struct Sandbox: Sendable, Hashable {
    /// The bubblewrap executable.
    public var bwrap: String
    /// The Python to run inside (the interpreter itself, not a wrapper such as a pyenv shim).
    public var python: String
    /// Folders and files bound read-only at the same path: the system and the Python environment.
    public var readOnly: [String]
    /// Top-level system entries that are symlinks (`/bin -> usr/bin` on merged-/usr systems).
    public var symlinks: [String: String]
    /// Network access (`exec.network`); off, the script has only its own loopback.
    public var network: Bool
    /// Device nodes passed through (GPUs: `/dev/nvidia*`).
    public var devices: [String]
    /// The GPU device nodes are those of the machine the command runs on, found there by the bash that
    /// runs it (a Slurm job on its compute node), not `devices` found here: `arguments` then holds
    /// `deviceBindsWord` where the binds go, and that bash runs `deviceBindsScript` first.
    public var devicesWhereRun = false
    /// The user scripts run as, when the harness is root (`nobody`); nil runs them as the harness's
    /// user inside a user namespace.
    public var user: SandboxUser?
    /// Size of the private `/tmp` (a tmpfs, which is memory), bytes.
    public var tmpBytes: Int?

    /// `$HOME` inside: an empty folder in the private `/tmp`.
    public static let home = "/tmp/home"

    public init(
        bwrap: String, python: String, readOnly: [String], symlinks: [String: String] = [:], network: Bool = false,
        devices: [String] = [], user: SandboxUser? = nil, tmpBytes: Int? = nil
    ) {
        self.bwrap = bwrap
        self.python = python
        self.readOnly = readOnly
        self.symlinks = symlinks
        self.network = network
        self.devices = devices
        self.user = user
        self.tmpBytes = tmpBytes
    }

    /// The system entries bound read-only when present: programs and libraries, and from `/etc` only
    /// what programs need to run (the dynamic linker's cache, locale and time zone, certificates,
    /// name lookup, alternatives), never `shadow`, ssh keys or the like.
    public static let systemPaths = [
        "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
        "/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
        "/etc/timezone", "/etc/ssl/certs", "/etc/ca-certificates", "/etc/ca-certificates.conf", "/etc/passwd",
        "/etc/group", "/etc/nsswitch.conf", "/etc/hosts", "/etc/host.conf", "/etc/resolv.conf", "/etc/gai.conf",
        "/etc/protocols", "/etc/services", "/etc/mime.types", "/etc/fonts", "/etc/os-release", "/etc/debian_version",
        "/etc/matplotlibrc", "/etc/python3", "/etc/python3.11", "/etc/xdg",
    ]

    /// The argument list that runs `command` in `folder`: bwrap's options, then the limits (prlimit),
    /// then dropping to `user` (setpriv), then the command. `readOnlyFolders` are bound read-only at
    /// their own paths; `readOnlyMounts` each at its destination (the task's data where the node
    /// folder's `input` link leads).
    public func arguments(
        command: [String], folder: URL, readOnlyFolders: [URL] = [], readOnlyMounts: [ReadOnlyMount] = [],
        limits: ScriptLimits = ScriptLimits()
    ) -> [String] {
        var args = ["--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try"]
        if !network { args.append("--unshare-net") }
        if user == nil { args += ["--unshare-user", "--disable-userns"] }
        // The sandbox dies with the harness; its own session keeps it from the harness's terminal.
        args += ["--die-with-parent", "--new-session"]
        for (path, target) in symlinks.sorted(by: { $0.key < $1.key }) { args += ["--symlink", target, path] }
        args += ["--proc", "/proc", "--dev", "/dev"]
        // Shared memory is a tmpfs too, and bounded like /tmp (unbounded it takes half the RAM).
        if let tmpBytes { args += ["--size", "\(tmpBytes)"] }
        args += ["--perms", "1777", "--tmpfs", "/dev/shm"]
        if devicesWhereRun { args.append(Self.deviceBindsWord) } else { args += Self.deviceArguments(devices) }
        if let tmpBytes { args += ["--size", "\(tmpBytes)"] }
        args += ["--perms", "1777", "--tmpfs", "/tmp", "--perms", "0777", "--dir", Self.home]

        let folderPath = folder.standardizedFileURL.path
        // Never a folder that holds the run (a Python path entry such as "/"): the script would see it all.
        let system = readOnly.filter { path in
            path != "/" && !(folderPath + "/").hasPrefix(path.hasSuffix("/") ? path : path + "/")
        }
        let extras = readOnlyFolders.map { ReadOnlyMount(source: $0.standardizedFileURL.path) } + readOnlyMounts
        let binds: [(option: String, source: String, path: String)] =
            system.map { ("--ro-bind", $0, $0) } + [("--bind", folderPath, folderPath)]
            + extras.map { ("--ro-bind", $0.source, $0.destination) }
        // The folders leading to each mount point, made searchable (bwrap would make them 0700, which
        // the unprivileged sandbox user could not enter).
        let mountPoints = Set(binds.map(\.path))
        var parents = Set<String>()
        for path in mountPoints {
            var parent = (path as NSString).deletingLastPathComponent
            while parent != "/", !parent.isEmpty, !parent.hasPrefix("/proc"), !parent.hasPrefix("/dev") {
                if parent != "/tmp" && !mountPoints.contains(parent) { parents.insert(parent) }
                parent = (parent as NSString).deletingLastPathComponent
            }
        }
        for parent in parents.sorted(by: { $0.count < $1.count }) { args += ["--perms", "0755", "--dir", parent] }
        // Parents before children, so a later bind is not hidden by an earlier one.
        for bind in binds.enumerated().sorted(by: { ($0.element.path.count, $0.offset) < ($1.element.path.count, $1.offset) }) {
            args += [bind.element.option, bind.element.source, bind.element.path]
        }
        args += ["--remount-ro", "/", "--chdir", folderPath, "--"]
        var limitArguments: [String] = []
        if let bytes = limits.memoryBytes { limitArguments.append("--as=\(bytes)") }
        if let seconds = limits.cpuSeconds { limitArguments.append("--cpu=\(seconds)") }
        if let bytes = limits.fileBytes { limitArguments.append("--fsize=\(bytes)") }
        if let processes = limits.processes, user != nil { limitArguments.append("--nproc=\(processes)") }
        if !limitArguments.isEmpty { args += ["prlimit", "--core=0"] + limitArguments }
        if let user {
            args += [
                "setpriv", "--reuid=\(user.uid)", "--regid=\(user.gid)", "--clear-groups", "--inh-caps=-all",
                "--bounding-set=-all", "--no-new-privs", "--",
            ]
        }
        return args + command
    }

    /// bubblewrap's options passing `devices` through, with what CUDA reads besides the device nodes.
    static func deviceArguments(_ devices: [String]) -> [String] {
        guard !devices.isEmpty else { return [] }
        return devices.flatMap { ["--dev-bind", $0, $0] }
            + ["--ro-bind-try", "/proc/driver/nvidia", "/proc/driver/nvidia", "--ro-bind-try", "/sys", "/sys"]
    }

    /// The word `arguments` holds for `devicesWhereRun`: the bash array `deviceBindsScript` fills.
    public static let deviceBindsWord = "\"${aide_device_binds[@]}\""

    /// Bash lines that fill `aide_device_binds` with `deviceArguments` of the NVIDIA device nodes in
    /// `folder` (`/dev`) of the machine they run on, as `GPUDevices.present` finds them here.
    public static func deviceBindsScript(folder: String = "/dev") -> String {
        let driver = deviceArguments(["/dev/nvidia0"]).dropFirst(3).map { "'\($0)'" }.joined(separator: " ")
        return [
            "aide_device_binds=()",
            "for device in '\(folder)'/nvidia*; do",
            "    [[ -e $device ]] && aide_device_binds+=(--dev-bind \"$device\" \"$device\")",
            "done",
            "if ((${#aide_device_binds[@]})); then aide_device_binds+=(\(driver)); fi",
        ].joined(separator: "\n")
    }

    /// The environment inside: `allowed` (already reduced to the allow-list) with `$HOME` and
    /// `TMPDIR` pointing into the private `/tmp`.
    public func environment(_ allowed: [String: String]) -> [String: String] {
        var environment = allowed
        environment["HOME"] = Self.home
        environment["TMPDIR"] = "/tmp"
        return environment
    }

    /// Makes `folder` writable by the sandbox user (it runs as `nobody` when the harness is root).
    public func prepare(folder: URL) throws(SandboxError) {
        guard let user else { return }
        let files = FileManager.default
        var paths = [folder.path]
        if let walker = files.enumerator(atPath: folder.path) {
            for case let relative as String in walker { paths.append(folder.appendingPathComponent(relative).path) }
        }
        for path in paths {
            var info = stat()
            // lchown: a link the harness made (input -> ../../input) is changed, never its target.
            guard lstat(path, &info) == 0 else { continue }
            if lchown(path, user.uid, user.gid) != 0 {
                throw SandboxError.cannotHandOver(path: path, reason: String(cString: strerror(errno)))
            }
        }
    }
}

extension Sandbox {
    /// Sets up the sandbox for `python` on this machine and checks that bubblewrap can run it: once per
    /// run. Throws, saying why, when it cannot (no bwrap, no namespaces, Python not found).
    public static func make(
        python: String, network: Bool = false, devices: [String] = GPUDevices.present(), tmpBytes: Int? = nil,
        bwrap: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(SandboxError) -> Sandbox {
        #if os(Linux)
        guard let bwrapPath = bwrap ?? findExecutable("bwrap", path: environment["PATH"]) else {
            throw SandboxError.notInstalled
        }
        let files = FileManager.default
        var readOnly: [String] = []
        var symlinks: [String: String] = [:]
        for path in systemPaths {
            if let target = try? files.destinationOfSymbolicLink(atPath: path), !path.hasPrefix("/etc/") {
                symlinks[path] = target
            } else if files.fileExists(atPath: path) {
                readOnly.append(path)
            }
        }
        // Where Python lives: its prefixes (a venv and the installation it was made from) and every
        // folder on its path (an editable install lives elsewhere), asked of Python itself.
        let probe = try pythonPaths(python, environment: environment)
        let inside = probe.executable
        for path in probe.paths where files.fileExists(atPath: path) && !readOnly.contains(path) {
            if !readOnly.contains(where: { path.hasPrefix($0 + "/") }) { readOnly.append(path) }
        }
        let user = getuid() == 0 ? SandboxUser.nobody : nil
        let sandbox = Sandbox(
            bwrap: bwrapPath, python: inside, readOnly: readOnly, symlinks: symlinks, network: network, devices: devices,
            user: user, tmpBytes: tmpBytes)
        try sandbox.check()
        return sandbox
        #else
        throw SandboxError.noNamespaces
        #endif
    }

    /// Runs Python in the sandbox once: an empty folder, `import sys`. Bubblewrap's own message says
    /// why when it fails (no user namespaces, a seccomp profile, …).
    func check() throws(SandboxError) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("aide-sandbox-check-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw SandboxError.cannotMakeCheckFolder(path: folder.path, reason: ErrorText.reason(error))
        }
        defer { try? FileManager.default.removeItem(at: folder) }
        try prepare(folder: folder)
        let (status, output) = try Self.capture(
            bwrap, arguments(command: [python, "-I", "-c", "import sys"], folder: folder, limits: ScriptLimits(processes: 64)),
            environment: environment(["PATH": "/usr/bin:/bin"]))
        guard status == 0 else {
            throw SandboxError.cannotRunScripts(status: status, output: output.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    /// The interpreter to run (what `sys.executable` says, so a shim is bypassed) and the folders it reads.
    static func pythonPaths(_ python: String, environment: [String: String]) throws(SandboxError) -> (executable: String, paths: [String]) {
        let code = """
            import json, os, sys
            paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                     os.path.dirname(os.path.realpath(sys.executable))] + [p for p in sys.path if p]
            print(json.dumps({"executable": sys.executable, "paths": paths}))
            """
        // A bare name (`python3`, as `aide init` writes) is looked up on PATH, as the shell would.
        let program = python.contains("/") ? python : findExecutable(python, path: environment["PATH"]) ?? python
        let (status, output) = try capture(program, ["-I", "-c", code], environment: environment)
        struct Answer: Decodable {
            var executable: String
            var paths: [String]
        }
        guard status == 0, let line = output.split(separator: "\n").last,
            let answer = try? JSONDecoder().decode(Answer.self, from: Data(line.utf8)), answer.executable.hasPrefix("/")
        else {
            throw SandboxError.pythonUnknown(python: python, output: output.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let standardized = answer.paths.map { URL(fileURLWithPath: $0).standardized.path }
        var unique: [String] = []
        for path in standardized where !unique.contains(path) { unique.append(path) }
        return (answer.executable, unique)
    }

    /// Runs a program to its end; its exit status and interleaved output.
    static func capture(_ executable: String, _ arguments: [String], environment: [String: String]) throws(SandboxError) -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { throw SandboxError.cannotStart(executable: executable, reason: ErrorText.reason(error)) }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func findExecutable(_ name: String, path: String?) -> String? {
        for directory in (path ?? "/usr/bin:/bin").split(separator: ":") + ["/usr/bin"] {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
