/// A notification that cannot be built or delivered: a bad address or header in the
/// configuration, a receiver that refused it, a command that failed.
public struct NotifyError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
