import Foundation

/// The environment a solution script runs in: only the variables named here pass from the harness's
/// environment. An allow-list, not a list of secret names: a key under a name nobody thought of
/// (`KAGGLE_KEY`, `DATABASE_URL`, `MYSQL_PWD`, `SSH_AUTH_SOCK`, …) stays out all the same.
public enum ScriptEnvironment {
    /// Variables passed through by exact name: where programs are, the language and time zone, the
    /// terminal type, and the settings numeric libraries read for their thread counts.
    public static let allowedNames: Set<String> = [
        "PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TERM", "PYTHONHASHSEED",
        "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS", "TOKENIZERS_PARALLELISM",
    ]

    /// Prefixes of variables passed through: the locale categories (`LC_ALL`, `LC_CTYPE`, …).
    public static let allowedPrefixes = ["LC_"]

    /// Whether `name` may reach a script.
    public static func isAllowed(_ name: String) -> Bool {
        allowedNames.contains(name) || allowedPrefixes.contains { name.hasPrefix($0) }
    }

    /// `environment` reduced to the allowed variables. The harness adds its own on top (the thread
    /// counts it chose, `CUDA_VISIBLE_DEVICES` for the GPUs it assigned, `HOME` in the sandbox).
    public static func allowed(_ environment: [String: String]) -> [String: String] {
        environment.filter { isAllowed($0.key) }
    }
}
