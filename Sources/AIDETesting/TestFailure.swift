/// A test's own failure in words (a helper process that exited too early, a socket that cannot
/// listen): not an error of the library, so it borrows none of the library's types.
public struct TestFailure: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
