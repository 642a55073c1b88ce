import Foundation
import Synchronization

/// Which GPUs scripts may use (`exec.gpus` in task.yaml): every one found, none, or a list of indices.
public enum GPUSetting: Sendable, Hashable, Codable {
    /// Every `/dev/nvidiaN` on the machine.
    case auto
    /// No GPU: `CUDA_VISIBLE_DEVICES` is empty and no device is passed into the sandbox.
    case none
    /// These GPU indices only.
    case devices([Int])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let list = try? container.decode([Int].self) {
            guard list.allSatisfy({ $0 >= 0 }) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "GPU indices are 0 or more, found \(list)")
            }
            self = .devices(list)
            return
        }
        switch try? container.decode(String.self) {
        case "auto": self = .auto
        case "none": self = .none
        case let text:
            // Found: the text, else (a mapping, a list of other things) what the task loader sees.
            throw UnexpectedValue(expected: .gpus, found: text.map(TaskProblem.Found.text)).decodingError(container)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .auto: try container.encode("auto")
        case .none: try container.encode("none")
        case .devices(let list): try container.encode(list)
        }
    }

    /// The GPU indices to hand out, given those present.
    public func indices(present: [Int]) -> [Int] {
        switch self {
        case .auto: return present
        case .none: return []
        case .devices(let list): return list
        }
    }
}

/// The GPU device nodes of this machine.
public enum GPUDevices {
    /// `/dev/nvidia0`, `/dev/nvidia1`, … in `directory`.
    public static func indices(in directory: String = "/dev") -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name in
            guard name.hasPrefix("nvidia") else { return nil }
            return Int(name.dropFirst("nvidia".count))
        }.sorted()
    }

    /// Every NVIDIA device node (GPUs, `nvidiactl`, `nvidia-uvm`, …), for passing into the sandbox.
    public static func present(in directory: String = "/dev") -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix("nvidia") }.sorted().map { directory + "/" + $0 }
    }
}

/// Shares GPUs among the scripts running at once: each script leases `perScript` GPUs, the least
/// used first, so parallel scripts get different GPUs while there are enough, and share evenly
/// (never all on one) when there are not.
public final class GPUPool: Sendable {
    public let devices: [Int]
    /// GPUs each script gets: the devices split over the scripts that may run at once.
    public let perScript: Int
    private let users: Mutex<[Int: Int]>

    public init(devices: [Int], scriptsAtOnce: Int) {
        self.devices = devices
        perScript = devices.isEmpty ? 0 : max(1, devices.count / max(1, scriptsAtOnce))
        users = Mutex(Dictionary(uniqueKeysWithValues: devices.map { ($0, 0) }))
    }

    /// The GPUs for one script; give them back with `release(_:)`.
    public func lease() -> [Int] {
        users.withLock { users in
            let chosen = devices.enumerated().sorted { a, b in
                (users[a.element] ?? 0, a.offset) < (users[b.element] ?? 0, b.offset)
            }.prefix(perScript).map(\.element).sorted()
            for device in chosen { users[device, default: 0] += 1 }
            return chosen
        }
    }

    public func release(_ leased: [Int]) {
        users.withLock { users in
            for device in leased { users[device] = max(0, (users[device] ?? 0) - 1) }
        }
    }

    /// `CUDA_VISIBLE_DEVICES` for a lease: `0,2`, or empty (no GPU) for none.
    public static func visibleDevices(_ leased: [Int]) -> String {
        leased.map(String.init).joined(separator: ",")
    }
}
