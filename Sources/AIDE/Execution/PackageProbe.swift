import Foundation
import Subprocess
import SystemPackage

/// Which packages the task's Python can really import, found once per run so that the prompts
/// list what is there instead of a fixed list.
public enum PackageProbe {
    /// Distribution names the prompts may mention, with the module each is imported as.
    public static let candidates: [(package: String, module: String)] = [
        ("numpy", "numpy"), ("pandas", "pandas"), ("scikit-learn", "sklearn"), ("scipy", "scipy"),
        ("xgboost", "xgboost"), ("lightgbm", "lightgbm"), ("catboost", "catboost"), ("statsmodels", "statsmodels"),
        ("torch", "torch"), ("torchvision", "torchvision"), ("tensorflow", "tensorflow"), ("keras", "keras"),
        ("transformers", "transformers"), ("timm", "timm"), ("optuna", "optuna"), ("polars", "polars"),
        ("pyarrow", "pyarrow"), ("Pillow", "PIL"), ("opencv-python", "cv2"), ("nltk", "nltk"),
    ]

    /// The candidates and `extra` (module names) that `python` finds, in that order; nil when the
    /// probe itself could not run.
    public static func importable(python: String, extra: [String] = []) async -> [String]? {
        let known = Set(candidates.flatMap { [$0.package, $0.module] })
        let all = candidates + extra.filter { !known.contains($0) }.map { ($0, $0) }
        let modules = all.map(\.module)
        let script = "import importlib.util, sys\nfor name in sys.argv[1:]:\n    try:\n"
            + "        print(name if importlib.util.find_spec(name) else '')\n    except Exception:\n        print('')\n"
        let executable: Executable = python.contains("/") ? .path(FilePath(python)) : .name(python)
        guard let result = try? await run(
            executable, arguments: Arguments(["-c", script] + modules), environment: .inherit,
            output: .string(limit: 64 * 1024), error: .discarded),
            case .exited(0) = result.terminationStatus
        else { return nil }
        let output = result.standardOutput
        let found = Set(output.split(separator: "\n").map(String.init))
        return all.filter { found.contains($0.module) }.map(\.package)
    }
}
