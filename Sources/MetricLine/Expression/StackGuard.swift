/// Watches how far the stack has grown since a recursive parser or interpreter began, so that deep
/// nesting is an error rather than a crash whatever the build's frame sizes and the thread's stack.
/// Regular expressions and Go templates both use it.
struct StackGuard {
    /// Room to use below the starting point: under half of the 512 KiB some systems give secondary threads.
    /// Debug builds' frames are several times larger, so they reach it at shallower nesting.
    private static let budget: UInt = 192 * 1024
    private let origin = StackGuard.position()

    var isExhausted: Bool {
        let current = StackGuard.position()
        return origin > current && origin - current > StackGuard.budget
    }

    @inline(never)
    private static func position() -> UInt {
        var marker: UInt8 = 0
        return withUnsafeMutablePointer(to: &marker) { UInt(bitPattern: $0) }
    }
}
