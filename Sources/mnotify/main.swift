import Glibc
import MetricLine

// mnotify: route, group, silence and deliver alerts. The command line conventions are in place; the tool's own work is not built yet.
let spec = CommandSpec(
    tool: "mnotify",
    summary: "route, group, silence and deliver alerts",
    usage: ["[OPTIONS]"],
    options: [.inputFormat, .outputFormat, .strict],
    examples: [],
    notes: ["Not built yet: this release only answers --help and --version."]
)

_ = spec.parseOrExit()
Diagnostics(tool: spec.tool).warn("not built yet (issue 7); only --help and --version work in this release")
exit(ExitStatus.failure)
