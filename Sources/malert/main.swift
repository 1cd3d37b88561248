import Glibc
import MetricLine

// malert: evaluate Prometheus alerting and recording rules. The command line conventions are in place; the tool's own work is not built yet.
let spec = CommandSpec(
    tool: "malert",
    summary: "evaluate Prometheus alerting and recording rules",
    usage: ["[OPTIONS]"],
    options: [.inputFormat, .outputFormat, .strict],
    examples: [],
    notes: ["Not built yet: this release only answers --help and --version."]
)

_ = spec.parseOrExit()
Diagnostics(tool: spec.tool).warn("not built yet (issue 6); only --help and --version work in this release")
exit(ExitStatus.failure)
