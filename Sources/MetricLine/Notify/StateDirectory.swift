#if canImport(Glibc)
import Glibc
#endif

/// mnotify's state directory, readable by its owner only, or also by one group when the
/// configuration names it (`state_group`: the directory gets that group, mode 2750, and every
/// file in it follows the directory: 0640 and the directory's group):
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
    /// Creates `path` unless it exists, with the access of its parent when that is a state
    /// directory shared with a group (0700 otherwise).
    public static func create(_ path: String) throws(StoreError) {
        guard !FileSystem.exists(path) else { return }
        let parent = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        let shared = isShared(parent.isEmpty ? "/" : parent)
        guard mkdir(path, shared ? 0o750 : 0o700) == 0 || errno == EEXIST else { throw StoreError.system(path, "cannot create directory") }
        if shared { _ = chmod(path, 0o2750) }
    }

    /// The mode for a new file in `directory`: 0640 in a directory shared with a group (where
    /// the set-group-ID bit gives it the group), else 0600.
    public static func fileMode(in directory: String) -> mode_t {
        isShared(directory) ? 0o640 : 0o600
    }

    /// The mode for a new file at `path`.
    public static func fileMode(for path: String) -> mode_t {
        fileMode(in: path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : ".")
    }

    /// Whether `directory` is shared with a group: group-readable with the set-group-ID bit.
    static func isShared(_ directory: String) -> Bool {
        var info = stat()
        guard stat(directory, &info) == 0 else { return false }
        return info.st_mode & S_ISGID != 0 && info.st_mode & S_IRGRP != 0
    }

    /// Shares the state directory with `group`: the directory and its spool get the group and
    /// mode 2750, the files in them the group and 0640.
    public static func share(_ path: String, group: String) throws(StoreError) {
        guard let entry = getgrnam(group) else { throw StoreError("state_group: no group named \"\(group)\"") }
        let gid = entry.pointee.gr_gid
        try create(path)
        for directory in [path, path + "/spool"] where FileSystem.exists(directory) {
            guard chown(directory, uid_t.max, gid) == 0, chmod(directory, 0o2750) == 0 else {
                throw StoreError.system(directory, "cannot give the directory to group \(group)")
            }
            for name in (try? StoreFile.list(directory)) ?? [] {
                let file = directory + "/" + name
                var info = stat()
                guard stat(file, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
                _ = chown(file, uid_t.max, gid)
                _ = chmod(file, 0o640)
            }
        }
    }
}
