import AIDE
import ArgumentParser

struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List the model table: context window, output limit and prices (USD per million tokens).",
        discussion: """
            Models not in the table still work; their cost is reported as unknown. Names route by prefix: \
            claude-* to Anthropic, gpt-* and o<digit>* to OpenAI, anything else to an OpenAI-compatible \
            server (AIDE_COMPATIBLE_BASE_URL or --base-url) or else OpenRouter.
            """
    )

    func run() {
        print(ModelTable.listing())
    }
}
