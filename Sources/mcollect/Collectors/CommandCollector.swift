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
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else { throw CollectError("pipe: \(String(cString: strerror(errno)))") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
        posix_spawn_file_actions_addclose(&actions, pipeEnds[0])
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        // A process group of its own, so that a timeout kills what the shell started too.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        var process: pid_t = 0
        let arguments = ["/bin/sh", "-c", command]
        var cArguments: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for argument in cArguments { free(argument) } }
        let spawned = posix_spawn(&process, "/bin/sh", &actions, &attributes, &cArguments, environ)
        close(pipeEnds[1])
        guard spawned == 0 else {
            close(pipeEnds[0])
            throw CollectError("cannot run /bin/sh: \(String(cString: strerror(spawned)))")
        }
        var output: [UInt8] = []
        let outcome = DeadlineRead.read(pipeEnds[0], until: Clock.nowMilliseconds() + timeout) { chunk in
            // Bounded, so a runaway command cannot exhaust memory; read on, so it does not block.
            if output.count < 16 << 20 { output.append(contentsOf: chunk) }
        }
        var killed = false
        if case .timedOut = outcome {
            kill(-process, SIGKILL)
            killed = true
        }
        close(pipeEnds[0])
        var status: Int32 = 0
        while waitpid(process, &status, 0) < 0 && errno == EINTR {}
        // The wait status: exit code in bits 8-15, or the signal in the low 7 bits.
        let exitCode = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return (String(decoding: output, as: UTF8.self), exitCode, killed)
    }
}
