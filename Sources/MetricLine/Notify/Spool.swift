#if canImport(Glibc)
import Glibc
#endif

/// The durable queue of deliveries: one file per notification and integration, written and
/// synced before the first attempt and removed only after it was delivered, so a crash or
/// `kill -9` at any moment loses nothing; the next run picks the files up again. Deliveries that
/// keep failing past their deadline go to the dead-letter file.
public final class Spool {
    public let directory: String
    /// Where undeliverable notifications end up, one record each.
    public var deadLetterPath: String { directory + "/dead-letter" }
    private var pendingDirectory: String { directory + "/spool" }
    private var counter = 0

    public init(directory: String) throws(StoreError) {
        self.directory = directory
        try StateDirectory.create(directory)
        try StateDirectory.create(directory + "/spool")
    }

    /// Queues notifications, each for one integration of its receiver. All of them are written,
    /// then made durable together (one `syncfs` rather than an fsync per file), then renamed into
    /// place, so a crash leaves each one either whole or absent.
    public func add(_ deliveries: [(GroupNotification, Integration)], now: Int64, deadline: Int64) throws(StoreError) -> [SpoolEntry] {
        guard !deliveries.isEmpty else { return [] }
        var entries: [SpoolEntry] = []
        for (notification, integration) in deliveries {
            counter += 1
            let name = "\(now)-\(getpid())-\(counter)-\(integration.kind)\(integration.index).delivery"
            let entry = SpoolEntry(path: pendingDirectory + "/" + name, notification: notification, integration: integration, attempts: 0,
                                   nextAttempt: now, deadline: deadline, created: now, lastError: "")
            var bytes: [UInt8] = []
            entry.record.append(to: &bytes)
            let descriptor = try FileSystem.open(entry.path + ".tmp", O_WRONLY | O_CREAT | O_TRUNC, mode: StateDirectory.fileMode(in: pendingDirectory))
            defer { close(descriptor) }
            try FileSystem.write(descriptor, bytes, path: entry.path + ".tmp")
            entries.append(entry)
        }
        let directory = try FileSystem.open(pendingDirectory, O_RDONLY)
        defer { close(directory) }
        guard systemSyncFileSystem(directory) == 0 else { throw StoreError.system(pendingDirectory, "cannot sync") }
        for entry in entries { try FileSystem.rename(entry.path + ".tmp", entry.path) }
        try FileSystem.syncDirectory(pendingDirectory)
        for entry in entries { known?[entry.path] = entry }
        return entries
    }

    /// What the spool holds, once read from disk; kept up to date by this process afterwards.
    private var known: [String: SpoolEntry]?

    /// Every queued delivery, oldest first. The directory is read once; unreadable files are
    /// reported and left alone.
    public func pending() -> (entries: [SpoolEntry], problems: [String]) {
        if let known { return (known.keys.sorted().map { known[$0]! }, []) }
        var entries: [SpoolEntry] = []
        var problems: [String] = []
        let names: [String]
        do { names = try StoreFile.list(pendingDirectory) } catch { return ([], [error.message]) }
        for name in names.sorted() where name.hasSuffix(".delivery") {
            let path = pendingDirectory + "/" + name
            guard let bytes = try? StoreFile.readAll(path) else { problems.append("\(path): cannot read"); continue }
            let (records, damage) = NotificationRecord.records(in: String(decoding: bytes, as: UTF8.self))
            guard let record = records.first, damage.isEmpty, let entry = SpoolEntry(record, path: path) else {
                problems.append("\(path): damaged spool file, left for a person to look at")
                continue
            }
            entries.append(entry)
        }
        known = Dictionary(entries.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        return (entries, problems)
    }

    /// Records a failed attempt and when to try again.
    public func update(_ entry: SpoolEntry) throws(StoreError) {
        try write(entry)
        known?[entry.path] = entry
    }

    /// Removes a delivered entry.
    public func remove(_ entry: SpoolEntry) throws(StoreError) {
        try FileSystem.remove(entry.path)
        known?[entry.path] = nil
    }

    /// Moves an entry that cannot be delivered to the dead-letter file.
    public func deadLetter(_ entry: SpoolEntry) throws(StoreError) {
        var bytes: [UInt8] = []
        entry.record.append(to: &bytes)
        let descriptor = try FileSystem.open(deadLetterPath, O_WRONLY | O_CREAT | O_APPEND, mode: StateDirectory.fileMode(for: deadLetterPath))
        defer { close(descriptor) }
        try FileSystem.write(descriptor, bytes, path: deadLetterPath)
        try FileSystem.sync(descriptor, path: deadLetterPath)
        try FileSystem.remove(entry.path)
        known?[entry.path] = nil
    }

    private func write(_ entry: SpoolEntry) throws(StoreError) {
        var bytes: [UInt8] = []
        entry.record.append(to: &bytes)
        try AtomicFile.write(bytes, to: entry.path, mode: StateDirectory.fileMode(in: pendingDirectory))
    }
}

/// Linux's syncfs(2): flushes the file system that holds `descriptor`. Glibc declares it only
/// with _GNU_SOURCE, which the Swift module does not define, so it is bound by name here.
@_silgen_name("syncfs")
private func systemSyncFileSystem(_ descriptor: Int32) -> Int32

/// One integration of a receiver: its kind (`webhook`, `slack`, `email`, `command`) and its
/// position among the receiver's integrations of that kind.
public struct Integration: Sendable, Equatable {
    public var receiver: String
    public var kind: String
    public var index: Int

    public init(receiver: String, kind: String, index: Int) {
        self.receiver = receiver
        self.kind = kind
        self.index = index
    }

    /// `webhook[0] of "ops"`: how messages name it (never with its URL, which may hold a token).
    public var description: String { "\(kind)[\(index)] of receiver \"\(receiver)\"" }
}

/// A queued delivery.
public struct SpoolEntry: Sendable {
    public var path: String
    public var notification: GroupNotification
    public var integration: Integration
    public var attempts: Int
    /// When to try next (Unix milliseconds).
    public var nextAttempt: Int64
    /// After this, a failing delivery goes to the dead-letter file.
    public var deadline: Int64
    public var created: Int64
    public var lastError: String

    var record: NotificationRecord {
        NotificationRecord(fields: [
            ("receiver", .string(integration.receiver)), ("kind", .string(integration.kind)), ("index", .integer(Int64(integration.index))),
            ("groupKey", .string(notification.groupKey)), ("groupLabels", .labels(notification.groupLabels)),
            ("attempts", .integer(Int64(attempts))), ("nextAttempt", .integer(nextAttempt)), ("deadline", .integer(deadline)),
            ("created", .integer(created)), ("lastError", .string(lastError)),
        ], alerts: notification.alerts)
    }

    init(path: String, notification: GroupNotification, integration: Integration, attempts: Int, nextAttempt: Int64, deadline: Int64,
         created: Int64, lastError: String) {
        self.path = path
        self.notification = notification
        self.integration = integration
        self.attempts = attempts
        self.nextAttempt = nextAttempt
        self.deadline = deadline
        self.created = created
        self.lastError = lastError
    }

    init?(_ record: NotificationRecord, path: String) {
        guard let receiver = record.string("receiver"), let kind = record.string("kind"), let index = record.integer("index"),
              let groupKey = record.string("groupKey"), let attempts = record.integer("attempts"), let nextAttempt = record.integer("nextAttempt"),
              let deadline = record.integer("deadline"), let created = record.integer("created") else { return nil }
        self.init(path: path, notification: GroupNotification(receiver: receiver, groupKey: groupKey, groupLabels: record.labels("groupLabels"),
                                                              alerts: record.alerts),
                  integration: Integration(receiver: receiver, kind: kind, index: Int(index)), attempts: Int(attempts), nextAttempt: nextAttempt,
                  deadline: deadline, created: created, lastError: record.string("lastError") ?? "")
    }
}
