/// The search step a model call is made for. `SearchRun` binds it around each step as a task-local
/// value, so it follows the step's calls through every `Backend` decorator without being part of a
/// request: providers never see it, and recordings do not change. Backends that answer by step read
/// it (`ScriptedBackend`'s answers keyed by `"step"`), which makes a scripted run with parallel
/// workers give each step its own answers whatever order the calls come in.
public enum CallStep {
    @TaskLocal public static var current: Int?
}
