import Glibc
import MetricLine

// mquery: evaluate PromQL over a store or stdin. The command line conventions are in place; the tool's own work is not built yet.
let spec = CommandSpec(
    tool: "mquery",
    summary: "evaluate PromQL over a store or stdin",
    usage: ["[OPTIONS]"],
    options: [.inputFormat, .outputFormat, .strict],
    examples: [],
    notes: ["Not built yet: this release only answers --help and --version."]
)

_ = spec.parseOrExit()
Diagnostics(tool: spec.tool).warn("not built yet (issue 4); only --help and --version work in this release")
exit(ExitStatus.failure)
