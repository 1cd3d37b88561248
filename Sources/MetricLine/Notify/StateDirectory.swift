#if canImport(Glibc)
import Glibc
#endif

/// mnotify's state directory, readable by its owner only:
///
/// ```
/// STATE/groups        the alert groups and when each was last notified (Dispatcher)
/// STATE/spool/        one file per pending delivery (Spool)
/// STATE/dead-letter   deliveries given up
/// STATE/silences      silences (Silences)
/// STATE/acks          acknowledged alerts (Acknowledgements)
/// STATE/audit.log     who did what, and every delivery attempt (AuditLog)
/// STATE/run.lock      held by the running mnotify, so runs on one directory take turns
/// ```
public enum StateDirectory {
    /// Creates `path` (mode 0700) unless it exists.
    public static func create(_ path: String) throws(StoreError) {
        guard !FileSystem.exists(path) else { return }
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else { throw StoreError.system(path, "cannot create directory") }
    }
}
