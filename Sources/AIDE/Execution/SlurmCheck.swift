import Foundation

/// What is checked before a run whose scripts run as Slurm jobs starts (or resumes), each failure
/// one line: Slurm's commands are on PATH and the controller answers, the partition exists, and
/// the run folder is on a filesystem the compute nodes can see (or the user says it is).
public enum SlurmCheck {
    /// The commands aide runs.
    public static let commands = ["sbatch", "scontrol", "squeue", "scancel", "sinfo"]

    /// Checks `exec` against the cluster for a run in `runFolder` (it need not exist yet: its
    /// nearest existing parent is looked at). Blocking: it runs `sinfo`.
    public static func check(_ exec: ExecSpec, runFolder: URL, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        for command in commands where Sandbox.findExecutable(command, path: environment["PATH"]) == nil {
            throw SlurmError.notInstalled(command: command)
        }
        let (status, output) = try Sandbox.capture(
            Sandbox.findExecutable("sinfo", path: environment["PATH"])!, ["-h", "-o", "%P"], environment: environment)
        guard status == 0 else {
            throw SlurmError.noController(output: SlurmCommands.firstLine(output), checkingBackend: true)
        }
        let partitions = output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let names = partitions.map { $0.hasSuffix("*") ? String($0.dropLast()) : $0 }
        if let partition = exec.slurm.partition {
            guard names.contains(partition) else {
                throw SlurmError.noPartition(partition, partitions: names)
            }
        } else if !partitions.contains(where: { $0.hasSuffix("*") }) {
            throw SlurmError.noDefaultPartition(partitions: names)
        }
        if exec.slurm.sharedFilesystem != true {
            let kind = filesystem(of: runFolder)
            guard kind.shared else {
                throw SlurmError.localRunFolder(path: runFolder.path, filesystem: kind.name)
            }
        }
    }

    /// The type of the filesystem holding `url` (its nearest existing parent), from the mount table,
    /// and whether it is one that other machines mount (network and cluster filesystems).
    public static func filesystem(of url: URL, mounts: String? = nil) -> (name: String, shared: Bool) {
        // Links resolved in the part that exists; the rest (the run folder to be) kept as it is.
        var existing = url.standardizedFileURL.path
        var rest: [String] = []
        while !FileManager.default.fileExists(atPath: existing), existing != "/" {
            rest.insert((existing as NSString).lastPathComponent, at: 0)
            existing = (existing as NSString).deletingLastPathComponent
        }
        let resolved = URL(fileURLWithPath: existing).resolvingSymlinksInPath().path
        let path = ([resolved == "/" ? "" : resolved] + rest).joined(separator: "/")
        guard let table = mounts ?? (try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) else {
            return ("unknown", false)
        }
        // /proc/self/mounts: device, mount point (spaces as \040), type, options, …; the longest
        // mount point above the path is the filesystem that holds it.
        var best: (point: String, type: String)?
        for line in table.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { continue }
            let point = fields[1].replacingOccurrences(of: "\\040", with: " ")
            let inside = point == "/" || path == point || path.hasPrefix(point + "/")
            if inside, point.count >= (best?.point.count ?? -1) { best = (point, String(fields[2])) }
        }
        guard let type = best?.type else { return ("unknown", false) }
        let shared = sharedTypes.contains(type) || sharedTypes.contains(where: { type.hasPrefix($0 + ".") })
        return (type, shared)
    }

    /// Filesystems that compute nodes mount from elsewhere (`fuse.sshfs` counts as `fuse`).
    static let sharedTypes: Set<String> = [
        "nfs", "nfs4", "cifs", "smb3", "smbfs", "lustre", "gpfs", "beegfs", "ceph", "fuse", "fuse.ceph", "panfs",
        "ocfs2", "gfs2", "afs", "9p", "glusterfs", "fuse.glusterfs", "wekafs", "fuse.juicefs", "virtiofs",
    ]
}
