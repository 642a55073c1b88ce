import AIDE
import ArgumentParser
import Foundation

struct PreviewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preview",
        abstract: "Print the data preview a run shows the model for a data folder.",
        discussion: """
            The same preview `aide run` builds when a run starts: the folder's tree (25 entries a folder, the rest \
            counted by extension) and each CSV's columns and statistics, read from at most 2 MB of each file \
            whatever its size (a larger file's row count is estimated, and said to be).
            """
    )

    @Argument(help: "The data folder (a task's `data`).")
    var folder: String

    func validate() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("\(folder) is not a folder")
        }
    }

    func run() {
        print(DataPreview.generate(for: URL(fileURLWithPath: folder, isDirectory: true).resolvingSymlinksInPath()))
    }
}
