import Glibc
import MetricLine

// mcollect: the start of every pipeline. For now it passes samples from files or stdin on, in
// canonical form and any output format, stamping those without a timestamp; the machine's own
// collectors, scrapes and probes come with their own issue.
let spec = CommandSpec(
    tool: "mcollect",
    summary: "emit metric samples as lines",
    usage: ["--input FILE [--input FILE ...] [OPTIONS]"],
    options: [
        OptionSpec(["-i", "--input"], argument: "FILE", help: "read samples from FILE ('-' for stdin); repeatable"),
        OptionSpec(["--no-timestamp-fill"], help: "leave samples without a timestamp as they are (default: stamp them with the read time)"),
        .inputFormat, .outputFormat, .strict,
    ],
    examples: [
        "mcollect --input /var/lib/textfiles/backup.prom",
        "printf 'queue_depth{queue=\"mail\"} 12\\n' | mcollect -i - --output-format influx",
        "mcollect -i data.influx --input-format influx --output-format openmetrics",
    ],
    notes: ["System collectors, scrapes and probes are not built yet; --input is what works today."]
)

let arguments = spec.parseOrExit()
let inputs = arguments.values("--input")
if inputs.isEmpty { spec.usageFailure(UsageError("nothing to collect: give --input FILE (or '-' for stdin)")) }
let filter: SampleFilter
do {
    filter = SampleFilter(inputFormat: try arguments.format("--input-format"), outputFormat: try arguments.format("--output-format"),
                          diagnostics: Diagnostics(tool: spec.tool, strict: arguments.has("--strict")))
} catch {
    spec.usageFailure(error)
}
let defaultTimestamp = arguments.has("--no-timestamp-fill") ? nil : Clock.nowMilliseconds()
exit(filter.run(inputs.map(InputSource.init(path:)), defaultTimestamp: defaultTimestamp))
