import Glibc
import MetricLine

// mstore: append samples to a durable, compressed store. The command line conventions are in place; the tool's own work is not built yet.
let spec = CommandSpec(
    tool: "mstore",
    summary: "append samples to a durable, compressed store",
    usage: ["[OPTIONS]"],
    options: [.inputFormat, .outputFormat, .strict],
    examples: [],
    notes: ["Not built yet: this release only answers --help and --version."]
)

_ = spec.parseOrExit()
Diagnostics(tool: spec.tool).warn("not built yet (issue 3); only --help and --version work in this release")
exit(ExitStatus.failure)
