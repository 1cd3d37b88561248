import Glibc
import MetricLine

// mnotify: route, group, silence and deliver alerts.
//   mnotify -c FILE [--state DIR] < alerts        route, group and deliver
//   mnotify check FILE...                         validate a configuration
//   mnotify routes -c FILE --labels 'a=b,...'     which receivers an alert reaches, and why
//   mnotify silence add|list|expire ...           hold back the alerts that matchers select
//   mnotify ack FINGERPRINT | --list              stop the repeats and escalation of an alert
//   mnotify log [--since T]                       who silenced, acknowledged and delivered what
let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "check":
    exit(CheckCommand.run(Array(arguments.dropFirst())))
case "routes":
    exit(RoutesCommand.run(Array(arguments.dropFirst())))
case "silence":
    exit(SilenceCommand.run(Array(arguments.dropFirst())))
case "ack":
    exit(AckCommand.run(Array(arguments.dropFirst())))
case "log":
    exit(LogCommand.run(Array(arguments.dropFirst())))
default:
    exit(RunCommand(arguments: RunCommand.spec.parseOrExit(arguments)).run())
}
