extension Template {
    /// Bounds that keep any text and data from exhausting the stack, the memory or the clock.
    enum Limits {
        /// Nesting of parentheses and control structures in the text.
        static let parseNesting = 50
        /// Nesting of pipelines, control structures and template calls while running.
        static let runNesting = 200
        /// Template calls within template calls (Go allows 100000); low enough that a debug
        /// build's frames reach it before the stack guard, so the message says what happened.
        static let templateDepth = 40
        /// Nodes and loop iterations one rendering may take.
        static let steps = 1_000_000
        /// Bytes of output, and of any one string a function returns.
        static let outputBytes = 1 << 20
        /// Thread steps one `match` or `reReplaceAll` call may take: linear time can still be long on a long text.
        static let regexpSteps = 2_000_000
    }
}
