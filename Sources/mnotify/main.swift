import Glibc
import MetricLine

// mnotify: route, group, silence and deliver alerts.
//   mnotify check FILE...                         validate a configuration
//   mnotify routes -c FILE --labels 'a=b,...'     which receivers an alert reaches, and why
let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "check":
    exit(CheckCommand.run(Array(arguments.dropFirst())))
case "routes":
    exit(RoutesCommand.run(Array(arguments.dropFirst())))
default:
    let spec = CommandSpec(
        tool: "mnotify",
        summary: "route, group, silence and deliver alerts (webhook, Slack, email, commands)",
        usage: ["check FILE...", "routes -c FILE --labels 'alertname=X,severity=page'"],
        options: [],
        examples: ["mnotify check /etc/mnotify.yml", "mnotify routes -c /etc/mnotify.yml --labels 'alertname=DiskFull,severity=page'"],
        notes: ["Delivery is not built yet; this release checks configurations and explains routing."]
    )
    _ = spec.parseOrExit(arguments)
    Diagnostics(tool: "mnotify").warn("delivery is not built yet (issue 7); 'mnotify check' and 'mnotify routes' work")
    exit(ExitStatus.failure)
}
