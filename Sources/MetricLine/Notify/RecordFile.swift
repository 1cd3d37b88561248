#if canImport(Glibc)
import Glibc
#endif

/// A small file of records (one JSON line each) that the command line and a running mnotify both
/// change, such as the silences and the acknowledgements: every change is a read, modify and
/// atomic write under an exclusive lock on `PATH.lock`, so two changes at the same moment do not
/// lose one another, and a reader never sees half a file.
public enum RecordFile {
    /// The records of `path`; none when it does not exist. A damaged line is an error, so that a
    /// silence is never dropped without a word.
    public static func read(_ path: String) throws(StoreError) -> [NotificationRecord] {
        guard FileSystem.exists(path) else { return [] }
        let (records, problems) = NotificationRecord.records(in: String(decoding: try FileSystem.readAll(path), as: UTF8.self))
        guard problems.isEmpty else { throw StoreError("\(path): damaged (\(problems.joined(separator: "; "))); repair or remove it") }
        return records
    }

    /// Reads the records of `path`, lets `change` modify them, and writes them back if it did.
    public static func edit<Result>(_ path: String, _ change: (inout [NotificationRecord]) -> Result) throws(StoreError) -> Result {
        let lockPath = path + ".lock"
        let lock = try FileSystem.open(lockPath, O_RDWR | O_CREAT, mode: StateDirectory.fileMode(for: lockPath))
        defer { close(lock) }
        while flock(lock, LOCK_EX) != 0 {
            guard errno == EINTR else { throw StoreError.system(lockPath, "cannot lock") }
        }
        var records = try read(path)
        let before = text(records)
        let result = change(&records)
        let after = text(records)
        if after != before { try AtomicFile.write(after, to: path, mode: StateDirectory.fileMode(for: path)) }
        return result
    }

    private static func text(_ records: [NotificationRecord]) -> [UInt8] {
        var bytes: [UInt8] = []
        for record in records { record.append(to: &bytes) }
        return bytes
    }
}
