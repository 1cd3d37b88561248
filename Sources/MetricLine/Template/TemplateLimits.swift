extension Template {
    /// Bounds that keep any text and data from exhausting the stack, the memory or the clock.
    enum Limits {
        /// Nesting of parentheses and control structures in the text.
        static let parseNesting = 50
        /// Nesting of pipelines, control structures and template calls while running.
        static let runNesting = 200
        /// Template calls within template calls (Go allows 100000).
        static let templateDepth = 50
        /// Nodes and loop iterations one rendering may take.
        static let steps = 1_000_000
        /// Bytes of output, and of any one string a function returns.
        static let outputBytes = 1 << 20
    }

    /// Watches how far the stack has grown since parsing or rendering began, so that deep nesting
    /// is an error rather than a crash whatever the build's frame sizes and the thread's stack.
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
}
