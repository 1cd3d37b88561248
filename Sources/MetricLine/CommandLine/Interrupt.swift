#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// SIGINT and SIGTERM as a flag that long loops check, so a tool can flush what it has and exit
/// cleanly instead of dying mid-write; SIGPIPE and SIGXFSZ ignored, so a closed pipe or a full
/// file-size limit show up as errors (`EPIPE`, `EFBIG`) that the tool reports.
public enum Interrupt {
    private static let flag = Atomic<Int32>(0)

    /// Whether SIGINT or SIGTERM has arrived since `install()`.
    public static var requested: Bool { flag.load(ordering: .relaxed) != 0 }

    /// The signal that arrived, or 0.
    public static var signal: Int32 { flag.load(ordering: .relaxed) }

    /// Installs the handlers. Blocking reads are interrupted (no `SA_RESTART`) so they notice.
    public static func install() {
        Glibc.signal(SIGPIPE, SIG_IGN)
        // Past a file-size limit, a write should fail with EFBIG and a message, not kill the tool.
        Glibc.signal(SIGXFSZ, SIG_IGN)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { received in
            Interrupt.flag.store(received, ordering: .relaxed)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGINT, &action, nil)
        sigaction(SIGTERM, &action, nil)
    }

    /// The conventional exit status after a signal: 128 + its number (130 for SIGINT, 143 for SIGTERM).
    public static var exitStatus: Int32 { 128 + signal }
}

/// SIGHUP as a request to read configuration again (mcollect's file_sd files).
public enum Reload {
    private static let flag = Atomic<Int32>(0)

    /// Installs the handler; SIGHUP no longer ends the process.
    public static func install() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in Reload.flag.store(1, ordering: .relaxed) }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        sigaction(SIGHUP, &action, nil)
    }

    /// Whether SIGHUP came since the last call.
    public static func take() -> Bool { flag.exchange(0, ordering: .relaxed) != 0 }
}
