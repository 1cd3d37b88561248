import MetricLine

/// `mstore check DIR`: verifies every checksum and names any damaged file.
enum CheckCommand {
    static let spec = CommandSpec(
        tool: "mstore check",
        summary: "verify every checksum of a store; name any damaged file (exit 1)",
        usage: ["DIR"],
        options: [],
        examples: ["mstore check /var/lib/metrics && echo intact"]
    )

    static func run(_ arguments: [String]) -> Int32 {
        let parsed = spec.parseOrExit(arguments)
        guard parsed.positionals.count == 1 else { spec.usageFailure(UsageError("want exactly one store directory")) }
        let diagnostics = Diagnostics(tool: "mstore")
        guard let reader = openStore(parsed.positionals[0], diagnostics: diagnostics) else { return ExitStatus.failure }
        let segments = reader.segments  // opens every segment, naming the ones that cannot be read
        var problems = reader.problems
        var chunks = 0
        for segment in segments {
            for number in 0..<segment.seriesCount {
                for chunk in segment.chunks(number) {
                    chunks += 1
                    do { _ = try segment.read(chunk) } catch { problems.append(error.message) }
                }
            }
        }
        problems.forEach(diagnostics.warn)
        if problems.isEmpty {
            Diagnostics.writeStandardOutput("ok: \(reader.segments.count) segments (\(chunks) chunks) and \(reader.heads.count) head logs verified\n")
            return ExitStatus.success
        }
        diagnostics.warn("\(problems.count) problem\(problems.count == 1 ? "" : "s") found")
        return ExitStatus.failure
    }
}
