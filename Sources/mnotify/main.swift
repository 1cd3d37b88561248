import Glibc
import MetricLine

// mnotify: route, group, silence and deliver alerts.
//   mnotify check FILE...                         validate a configuration
//   mnotify routes -c FILE --labels 'a=b,...'     which receivers an alert reaches, and why
//   mnotify -c FILE [--state DIR] < alerts        route, group and deliver
let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "check":
    exit(CheckCommand.run(Array(arguments.dropFirst())))
case "routes":
    exit(RoutesCommand.run(Array(arguments.dropFirst())))
default:
    exit(RunCommand(arguments: RunCommand.spec.parseOrExit(arguments)).run())
}
