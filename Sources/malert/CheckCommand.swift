import MetricLine

/// `malert check FILE...`: validates rule files as `promtool check rules` does, with positions.
enum CheckCommand {
    static let spec = CommandSpec(
        tool: "malert check",
        summary: "check rule files: YAML, expressions, templates, names, and duplicate rules",
        usage: ["[--lint-fatal] FILE..."],
        options: [OptionSpec(["--lint-fatal"], help: "exit 3 when duplicate rules are found (as promtool does)")],
        examples: ["malert check /etc/malert/rules.yml", "malert check rules/*.yml"],
        notes: ["Exit status: 0 all files valid, 1 a file has errors, 2 usage, 3 duplicates with --lint-fatal."]
    )

    static func run(_ arguments: [String]) -> Int32 {
        let parsed = spec.parseOrExit(arguments)
        guard !parsed.positionals.isEmpty else { spec.usageFailure(UsageError("want at least one rule file")) }
        var failed = false
        var duplicatesFound = false
        var report = ""
        for path in parsed.positionals {
            report += "Checking \(path)\n"
            do {
                let file = try RuleFile.load(path)
                let duplicates = duplicateRules(file)
                if duplicates.isEmpty {
                    report += "  SUCCESS: \(file.ruleCount) rules found\n"
                } else {
                    duplicatesFound = true
                    report += "  FAILED:\nlint error \(duplicates.count) duplicate rule(s) found.\n"
                    for (name, labels) in duplicates {
                        report += "Metric: \(name)\nLabel(s):\n" + labels.map { "\t\($0.0): \($0.1)\n" }.joined()
                    }
                    report += "Might cause inconsistency while recording expressions\n"
                }
            } catch {
                failed = true
                report += "  FAILED:\n" + error.errors.map { "\($0)\n" }.joined()
            }
            report += "\n"
        }
        Diagnostics.writeStandardOutput(report)
        if failed { return ExitStatus.failure }
        return duplicatesFound && parsed.has("--lint-fatal") ? 3 : ExitStatus.success
    }

    /// Rules that appear more than once with the same name and labels, anywhere in the file (each
    /// reported once), as promtool's lint finds them.
    static func duplicateRules(_ file: RuleFile) -> [(String, [(String, String)])] {
        var seen: [String: Int] = [:]
        var result: [(String, [(String, String)])] = []
        for group in file.groups {
            for rule in group.rules {
                let labels = rule.labelTexts
                let key = rule.name + "\u{0}" + labels.map { $0.0 + "\u{1}" + $0.1 }.joined(separator: "\u{2}")
                seen[key, default: 0] += 1
                if seen[key] == 2 { result.append((rule.name, labels)) }
            }
        }
        return result.sorted { $0.0 < $1.0 }
    }
}
