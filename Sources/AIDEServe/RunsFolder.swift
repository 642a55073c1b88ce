import AIDE
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The folder `aide serve` shows, and the only place it reads. Runs and benches are named by their
/// path relative to it, one segment at a time; a name with an empty, hidden (`.`, `..`, `.x`) or
/// slashed segment, or one that leads outside the folder once symbolic links are resolved, names
/// nothing.
public struct RunsFolder: Sendable {
    /// The folder's real path (symbolic links resolved).
    public let root: URL

    public init(_ folder: URL) throws {
        guard let real = Self.realPath(folder.path) else {
            throw ServeError("no runs folder \(folder.path) (give the folder to serve: aide serve <runs-dir>)")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: real, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ServeError("\(folder.path) is not a folder (give the folder of runs to serve)")
        }
        root = URL(fileURLWithPath: real, isDirectory: true)
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func isSafe(_ segment: String) -> Bool {
        !segment.isEmpty && !segment.hasPrefix(".") && !segment.contains("/") && !segment.contains("\0")
            && !segment.contains("\\")
    }

    /// The real path of the file `name` in the folder `segments` name, when it exists and both lie
    /// inside the runs folder.
    func file(_ name: String, in segments: [String]) -> URL? {
        guard !segments.isEmpty, segments.allSatisfy(Self.isSafe) else { return nil }
        let path = (segments + [name]).reduce(root.path) { $0 + "/" + $1 }
        guard let real = Self.realPath(path), real.hasPrefix(root.path + "/") else { return nil }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: real, isDirectory: &isDirectory), !isDirectory.boolValue else {
            return nil
        }
        return URL(fileURLWithPath: real)
    }

    /// The run.sqlite of the run folder `segments` name.
    public func runDatabase(_ segments: [String]) -> URL? { file(RunStore.fileName, in: segments) }

    /// The bench folder `segments` name (it holds a bench.sqlite).
    public func benchFolder(_ segments: [String]) -> URL? {
        file(BenchIndex.fileName, in: segments)?.deletingLastPathComponent()
    }

    /// The run or bench folder's name as the dashboard spells it: its path under the runs folder.
    func key(of folder: URL) -> String? {
        let path = folder.standardized.path
        guard path.hasPrefix(root.path + "/") else { return nil }
        return String(path.dropFirst(root.path.count + 1))
    }
}

/// A request the dashboard cannot serve, or a server that cannot start: one line for the user.
public struct ServeError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
