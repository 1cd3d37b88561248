#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The toolkit's version, printed by every tool's `--version`.
public enum Toolkit {
    public static let version = "0.1.0"
}

/// One command-line option as `--help` documents it.
public struct OptionSpec: Sendable {
    /// Every spelling, e.g. `["-s", "--store"]`.
    public var names: [String]
    /// The placeholder of its argument (`DIR`), or nil for a flag.
    public var argument: String?
    public var help: String

    public init(_ names: [String], argument: String? = nil, help: String) {
        self.names = names
        self.argument = argument
        self.help = help
    }

    public static let help = OptionSpec(["-h", "--help"], help: "show this help and exit")
    public static let version = OptionSpec(["--version"], help: "print the version and exit")
    public static let strict = OptionSpec(["--strict"], help: "stop at the first bad input line (exit 1) instead of skipping it")
    public static let inputFormat = OptionSpec(["--input-format"], argument: "F",
                                               help: "read F: prom (default), openmetrics, influx, graphite, jsonl, csv")
    public static let outputFormat = OptionSpec(["--output-format"], argument: "F",
                                                help: "write F: prom (default), openmetrics, influx, graphite, jsonl, csv")
}

/// What a tool says about itself in `--help`, and the options it accepts.
public struct CommandSpec: Sendable {
    public var tool: String
    /// One line: what the tool is for.
    public var summary: String
    /// Usage lines without the tool's name, e.g. `"[OPTIONS] DIR"`.
    public var usage: [String]
    public var options: [OptionSpec]
    /// Lines a person can paste.
    public var examples: [String]
    /// Paragraphs after the options (exit statuses, notes).
    public var notes: [String]

    public init(tool: String, summary: String, usage: [String], options: [OptionSpec], examples: [String], notes: [String] = []) {
        self.tool = tool
        self.summary = summary
        self.usage = usage
        self.options = options + [.help, .version]
        self.examples = examples
        self.notes = notes
    }

    /// The full `--help` text.
    public var helpText: String {
        var text = "\(tool) - \(summary)\n\nUsage:\n"
        for line in usage { text += "  \(tool) \(line)\n" }
        text += "\nOptions:\n"
        let labels = options.map { option in
            option.names.joined(separator: ", ") + (option.argument.map { " " + $0 } ?? "")
        }
        let width = min(labels.map(\.count).max() ?? 0, 28)
        for (label, option) in zip(labels, options) {
            let padding = label.count < width ? String(repeating: " ", count: width - label.count) : ""
            let separator = label.count > width ? "\n" + String(repeating: " ", count: width + 4) : padding + "  "
            text += "  \(label)\(separator)\(option.help)\n"
        }
        if !examples.isEmpty {
            text += "\nExamples:\n"
            for example in examples { text += "  \(example)\n" }
        }
        for note in notes { text += "\n\(note)\n" }
        // A tool that explains its own exit statuses says so in a note; the others get the usual ones.
        if !notes.contains(where: { $0.hasPrefix("Exit status") }) {
            text += "\nExit status: 0 success, 1 failure (including skipped bad lines), 2 usage error.\n"
        }
        return text
    }
}

/// A command line taken apart by a `CommandSpec`.
public struct ParsedArguments: Sendable {
    /// Values by the option's longest name; a flag maps to an empty list per occurrence.
    private var values: [String: [String]] = [:]
    /// Arguments that are not options, in order.
    public var positionals: [String] = []

    /// Whether the option (any of its spellings) was given.
    public func has(_ name: String) -> Bool { values[name] != nil }

    /// The last value given for the option, or nil.
    public func value(_ name: String) -> String? { values[name]?.last }

    /// Every value given for the option, in order.
    public func values(_ name: String) -> [String] { values[name] ?? [] }

    mutating func add(_ name: String, _ value: String?) {
        values[name, default: []].append(value ?? "")
    }
}

/// A command-line mistake; the tool prints it with a hint and exits with status 2.
public struct UsageError: Error, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

extension CommandSpec {
    /// Parses `arguments` (without the program name). Handles `--help` and `--version` itself by
    /// printing and exiting; a mistake prints a message and exits with status 2.
    public func parseOrExit(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> ParsedArguments {
        Interrupt.install()
        do {
            let parsed = try parse(arguments)
            if parsed.has("--help") {
                Diagnostics.writeStandardOutput(helpText)
                exit(ExitStatus.success)
            }
            if parsed.has("--version") {
                Diagnostics.writeStandardOutput("\(tool) \(Toolkit.version)\n")
                exit(ExitStatus.success)
            }
            return parsed
        } catch {
            usageFailure(error)
        }
    }

    /// Prints a usage error with a hint and exits with status 2.
    public func usageFailure(_ error: UsageError) -> Never {
        Diagnostics.writeStandardError("\(tool): \(error.message)\nTry '\(tool) --help' for more information.\n")
        exit(ExitStatus.usage)
    }

    /// Parses `arguments`: `--name value`, `--name=value`, `-x value`, bundled-free short flags, and
    /// `--` to end options.
    public func parse(_ arguments: [String]) throws(UsageError) -> ParsedArguments {
        var parsed = ParsedArguments()
        var index = 0
        var optionsEnded = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if optionsEnded || argument == "-" || !argument.hasPrefix("-") || isNegativeNumber(argument) {
                parsed.positionals.append(argument)
                continue
            }
            if argument == "--" {
                optionsEnded = true
                continue
            }
            var name = argument
            var inlineValue: String?
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                inlineValue = String(argument[argument.index(after: equals)...])
            }
            guard let option = options.first(where: { $0.names.contains(name) }) else {
                throw UsageError("unknown option '\(name)'")
            }
            let key = option.names.max { $0.count < $1.count }!
            if let placeholder = option.argument {
                if let inlineValue {
                    parsed.add(key, inlineValue)
                } else {
                    guard index < arguments.count else { throw UsageError("option '\(name)' needs a value (\(placeholder))") }
                    parsed.add(key, arguments[index])
                    index += 1
                }
            } else {
                guard inlineValue == nil else { throw UsageError("option '\(name)' takes no value") }
                parsed.add(key, nil)
            }
        }
        return parsed
    }

    /// `-1h` and `-5` are values (relative times, numbers), not options.
    private func isNegativeNumber(_ argument: String) -> Bool {
        let utf8 = Array(argument.utf8)
        return utf8.count > 1 && utf8[1] &- UInt8(ascii: "0") < 10
    }
}

extension Diagnostics {
    /// Writes `text` to file descriptor 1 without buffering (help and version text).
    public static func writeStandardOutput(_ text: String) {
        var copy = text
        copy.withUTF8 { _ = OutputBuffer.writeAll(UnsafeRawBufferPointer($0), to: 1) }
    }
}
