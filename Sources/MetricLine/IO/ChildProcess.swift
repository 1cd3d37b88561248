#if canImport(Glibc)
import Glibc
#endif

/// Runs a program without a shell (arguments as given, so no value can become a command), feeds
/// it `input` on stdin, and collects what it prints on stdout within a deadline. The child gets a
/// process group of its own, so a timeout kills whatever it started too.
public enum ChildProcess {
    public struct Outcome: Sendable {
        public var output: String
        /// The exit code, or 128 + the signal that ended it (as a shell reports it).
        public var exitCode: Int32
        public var timedOut: Bool
    }

    public static func run(_ arguments: [String], input: [UInt8] = [], environment: [String] = [], timeout: Int64) throws(NetworkError) -> Outcome {
        guard let program = arguments.first else { throw NetworkError("no program to run") }
        var output: [Int32] = [0, 0], standardInput: [Int32] = [0, 0]
        guard pipe(&output) == 0 else { throw NetworkError("pipe: \(String(cString: strerror(errno)))") }
        guard pipe(&standardInput) == 0 else {
            close(output[0]); close(output[1])
            throw NetworkError("pipe: \(String(cString: strerror(errno)))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, standardInput[0], 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_addclose(&actions, output[0])
        posix_spawn_file_actions_addclose(&actions, standardInput[1])
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        var process: pid_t = 0
        var cArguments: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for argument in cArguments { free(argument) } }
        // The given variables replace inherited ones of the same name (getenv takes the first).
        let given = Set(environment.map { $0.prefix { $0 != "=" } })
        var inherited: [String] = []
        var index = 0
        while let entry = environ[index] {
            let text = String(cString: entry)
            if !given.contains(text.prefix { $0 != "=" }) { inherited.append(text) }
            index += 1
        }
        var cEnvironment: [UnsafeMutablePointer<CChar>?] = (inherited + environment).map { strdup($0) } + [nil]
        defer { for entry in cEnvironment { free(entry) } }
        let spawned = posix_spawn(&process, program, &actions, &attributes, &cArguments, &cEnvironment)
        close(output[1])
        close(standardInput[0])
        guard spawned == 0 else {
            close(output[0]); close(standardInput[1])
            throw NetworkError("cannot run \(program): \(String(cString: strerror(spawned)))")
        }
        // A child that does not read its input must not stop us: a closed pipe is an error we ignore.
        _ = input.withUnsafeBytes { OutputBuffer.writeAll($0, to: standardInput[1]) }
        close(standardInput[1])
        var printed: [UInt8] = []
        let outcome = DeadlineRead.read(output[0], until: Clock.nowMilliseconds() + timeout) { chunk in
            // Bounded, so a runaway program cannot exhaust memory; read on, so it does not block.
            if printed.count < 16 << 20 { printed.append(contentsOf: chunk) }
        }
        var timedOut = false
        if case .timedOut = outcome {
            kill(-process, SIGKILL)
            timedOut = true
        }
        close(output[0])
        var status: Int32 = 0
        while waitpid(process, &status, 0) < 0 && errno == EINTR {}
        // The wait status: exit code in bits 8-15, or the signal in the low 7 bits.
        let exitCode = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return Outcome(output: String(decoding: printed, as: UTF8.self), exitCode: exitCode, timedOut: timedOut)
    }
}
