import Glibc
import MetricLine

// malert: evaluate Prometheus alerting and recording rules.
//   malert [OPTIONS] RULES...       evaluate over a store (-s DIR) or a stream on stdin
//   malert check FILE...            validate rule files
//   malert test FILE...             run rule unit tests (promtool's format)
//   malert alerts [-s DIR]          list the alerts pending and firing, from the state file
let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "check":
    exit(CheckCommand.run(Array(arguments.dropFirst())))
case "test":
    exit(TestCommand.run(Array(arguments.dropFirst())))
case "alerts":
    exit(AlertsCommand.run(Array(arguments.dropFirst())))
default:
    exit(EvaluateCommand(arguments: EvaluateCommand.spec.parseOrExit(arguments)).run())
}
