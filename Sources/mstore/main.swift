import Glibc
import MetricLine

// mstore: append samples to a store directory; inspect, check and dump it.
//   mstore [OPTIONS] DIR [FILE...]      append (stdin when no FILE)
//   mstore info DIR | check DIR | dump DIR [OPTIONS] | compact DIR [--retention D]
let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "info":
    exit(InfoCommand.run(Array(arguments.dropFirst())))
case "check":
    exit(CheckCommand.run(Array(arguments.dropFirst())))
case "dump":
    exit(DumpCommand.run(Array(arguments.dropFirst())))
case "compact":
    exit(CompactCommand.run(Array(arguments.dropFirst())))
default:
    exit(AppendCommand.run(arguments))
}
