import Glibc
import MetricLine

/// Runs a command (through /bin/sh) and reports how long it took, its exit code, and any sample
/// lines it printed: a probe for anything a shell can check.
struct CommandCollector: Collector {
    var name: String { "exec " + command }
    let command: String
    /// Milliseconds before the command is killed.
    let timeout: Int64

    func collect(root: String, into samples: inout [Sample]) throws(CollectError) {
        let start = Clock.monotonicMicroseconds()
        let (output, status, timedOut) = try CommandCollector.run(command, timeout: timeout)
        let seconds = Double(Clock.monotonicMicroseconds() - start) / 1e6
        let labels = [Label("command", command)]
        if timedOut {
            Diagnostics.writeStandardError("mcollect: <exec \(command)>: killed after \(Duration.text(timeout))\n")
        }
        for (number, line) in output.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            do throws(LineError) {
                if case .sample(let sample) = try ExpositionParser.parse(String(line)) { samples.append(sample) }
            } catch {
                Diagnostics.writeStandardError("mcollect: <exec \(command)>:\(number + 1): \(error.reason) (column \(error.column))\n")
            }
        }
        samples.append(Sample(name: "mcollect_exec_duration_seconds", labels: labels, value: seconds))
        samples.append(Sample(name: "mcollect_exec_exit_code", labels: labels, value: Double(status)))
        samples.append(Sample(name: "mcollect_exec_success", labels: labels, value: status == 0 && !timedOut ? 1 : 0))
    }

    /// Runs `/bin/sh -c command`, returning what it printed, its exit status (128 + signal when
    /// killed, as a shell reports it) and whether it ran out of time.
    static func run(_ command: String, timeout: Int64) throws(CollectError) -> (String, Int32, Bool) {
        let outcome = try networkStep { () throws(NetworkError) in try ChildProcess.run(["/bin/sh", "-c", command], timeout: timeout) }
        return (outcome.output, outcome.exitCode, outcome.timedOut)
    }
}
