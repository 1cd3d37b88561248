#if canImport(Glibc)
import Glibc
#endif

/// What was done to the alerts, by whom, and every delivery attempt, in `STATE/audit.log`: one
/// line per event, appended, never rewritten, readable by the owner only. Fields are separated by
/// tabs: time (RFC 3339), user, action, details, outcome. Details name integrations by
/// `Integration.description`, never by URL, which may carry a token.
///
/// ```
/// 2026-11-24T10:00:00.120Z	alice	silence-add	silence 5f0c2a1e9b3d4c77 {alertname="DiskFull"} until 2026-11-24T12:00:00.120Z: disk swap	ok
/// 2026-11-24T10:00:03.004Z	mnotify	delivered	webhook[0] of receiver "ops", group {}:{alertname="DiskFull"}, 1 alert, attempt 1	ok
/// ```
public struct AuditLog: Sendable {
    public enum Action: String, Sendable {
        case silenceAdd = "silence-add", silenceExpire = "silence-expire", ack, ackCleared = "ack-cleared"
        case deliveryAttempt = "delivery-attempt", delivered, skipped, retry, deadLetter = "dead-letter"
    }

    public let path: String
    /// Who the lines of this process name.
    public let user: String

    public init(stateDirectory: String, user: String = AuditLog.currentUser()) {
        path = stateDirectory + "/audit.log"
        self.user = user
    }

    /// Appends one line. A single `write` on a file opened for appending, so lines of processes
    /// writing at the same time do not mix.
    public func append(_ action: Action, _ details: String, outcome: String, now: Int64 = Clock.nowMilliseconds()) throws(StoreError) {
        let line = [Timestamp.rfc3339(now), user, action.rawValue, details, outcome].map(Self.field).joined(separator: "\t") + "\n"
        let descriptor = try FileSystem.open(path, O_WRONLY | O_CREAT | O_APPEND, mode: StateDirectory.fileMode(for: path))
        defer { close(descriptor) }
        try FileSystem.write(descriptor, Array(line.utf8), path: path)
    }

    /// The lines of the log, without their newlines; with `since`, only those from then on.
    public func lines(since: Int64? = nil) throws(StoreError) -> [String] {
        guard FileSystem.exists(path) else { return [] }
        let lines = String(decoding: try FileSystem.readAll(path), as: UTF8.self).split(separator: "\n").map(String.init)
        guard let since else { return lines }
        return lines.filter { line in
            let time = line.prefix { $0 != "\t" }
            return Timestamp.parseRFC3339(String(time)).map { $0 >= since } ?? false
        }
    }

    /// The user behind the command: `$SUDO_USER` when set (a person running mnotify through
    /// sudo as its service user), else the effective user's name.
    public static func currentUser() -> String {
        if let user = Environment.value("SUDO_USER"), !user.isEmpty { return user }
        if let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name { return String(cString: name) }
        return String(geteuid())
    }

    /// A field without tabs, line breaks or other control characters, which would break the line.
    static func field(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : $0 }))
    }
}
