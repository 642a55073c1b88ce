import Foundation

/// The environment a solution script runs in: the harness's own, minus anything that could leak a
/// secret to model-written code or let it steer the harness.
public enum ScriptEnvironment {
    /// Fragments that mark a variable name as secret, matched case-insensitively anywhere in the name.
    /// `_TOKEN` keeps its underscore so `TOKENIZERS_PARALLELISM` and the like survive.
    public static let secretFragments = ["API_KEY", "_TOKEN", "SECRET", "PASSWORD", "CREDENTIAL"]

    /// Prefix of the harness's own variables (`AIDE_RUN_ID`, `AIDE_COMPATIBLE_BASE_URL`, …), matched
    /// case-insensitively.
    public static let harnessPrefix = "AIDE_"

    /// Whether `name` must not reach a script: one of `ModelRouter.Variable.secrets`, a name containing
    /// one of `secretFragments`, or an `AIDE_` variable.
    public static func isScrubbed(_ name: String) -> Bool {
        if ModelRouter.Variable.secrets.contains(name) { return true }
        let upper = name.uppercased()
        if upper.hasPrefix(harnessPrefix) { return true }
        return secretFragments.contains { upper.contains($0) }
    }

    /// `environment` without the variables `isScrubbed(_:)` names; everything else (PATH, HOME, proxy
    /// settings, CUDA and thread variables, …) passes through unchanged.
    public static func scrubbed(_ environment: [String: String]) -> [String: String] {
        environment.filter { !isScrubbed($0.key) }
    }
}
