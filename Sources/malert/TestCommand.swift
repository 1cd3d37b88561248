import MetricLine

/// `malert test FILE...`: runs rule unit tests in promtool's format.
enum TestCommand {
    static let spec = CommandSpec(
        tool: "malert test",
        summary: "run rule unit tests written for 'promtool test rules'",
        usage: ["[--run REGEX] FILE..."],
        options: [OptionSpec(["--run"], argument: "REGEX", help: "run only the test groups whose name matches REGEX")],
        examples: ["malert test tests/host-alerts.test.yml", "malert test --run 'disk' tests/*.yml"],
        notes: ["Exit status: 0 every test passed, 1 a test failed or a file could not be read, 2 usage."]
    )

    static func run(_ arguments: [String]) -> Int32 {
        let parsed = spec.parseOrExit(arguments)
        guard !parsed.positionals.isEmpty else { spec.usageFailure(UsageError("want at least one test file")) }
        var runner = RuleUnitTest()
        if let pattern = parsed.value("--run") {
            do { runner.groupFilter = try Regex(searching: pattern) } catch {
                spec.usageFailure(UsageError("--run: \(error.message)"))
            }
        }
        var failed = false
        for path in parsed.positionals {
            let outcome = runner.run(path: path)
            var report = "Unit Testing:  \(path)\n"
            if outcome.passed {
                report += "  SUCCESS\n\n"
            } else {
                failed = true
                report += "  FAILED:\n" + outcome.failures.map { $0 + "\n" }.joined() + "\n"
            }
            Diagnostics.writeStandardOutput(report)
        }
        return failed ? ExitStatus.failure : ExitStatus.success
    }
}
