#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure of the store, naming the file it concerns.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    /// `path: what: strerror(errno)`.
    static func system(_ path: String, _ what: String, _ code: Int32 = errno) -> StoreError {
        StoreError("\(path): \(what): \(String(cString: strerror(code)))")
    }
}

/// Thin wrappers over the system calls the store needs, throwing `StoreError` with the path.
enum FileSystem {
    static func makeDirectory(_ path: String) throws(StoreError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw .system(path, "cannot create directory") }
    }

    /// Names in `path`, without `.` and `..`.
    static func list(_ path: String) throws(StoreError) -> [String] {
        guard let directory = opendir(path) else { throw .system(path, "cannot list directory") }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func size(_ path: String) -> Int64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Int64(info.st_size)
    }

    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws(StoreError) -> Int32 {
        let descriptor = Glibc.open(path, flags | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw .system(path, "cannot open") }
        return descriptor
    }

    /// Writes all of `bytes` at the current position.
    static func write(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(StoreError) {
        if let failure = OutputBuffer.writeAll(bytes, to: descriptor) { throw .system(path, "write failed", failure) }
    }

    static func write(_ descriptor: Int32, _ bytes: [UInt8], path: String) throws(StoreError) {
        let failure = bytes.withUnsafeBytes { OutputBuffer.writeAll($0, to: descriptor) }
        if let failure { throw .system(path, "write failed", failure) }
    }

    /// Reads exactly `count` bytes at `offset`, or throws.
    static func read(_ descriptor: Int32, count: Int, at offset: Int64, path: String) throws(StoreError) -> [UInt8] {
        // Read straight into the array's memory, not zeroed first (the zeroing would cost as
        // much as the read: the pages are touched for the first time either way).
        var failure: StoreError?
        let buffer = [UInt8](unsafeUninitializedCapacity: count) { memory, initialized in
            var done = 0
            while done < count {
                let got = pread(descriptor, memory.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                if got < 0 {
                    if errno == EINTR { continue }
                    failure = .system(path, "read failed")
                    break
                }
                if got == 0 {
                    failure = StoreError("\(path): unexpected end of file (truncated?)")
                    break
                }
                done += got
            }
            initialized = done
        }
        if let failure { throw failure }
        return buffer
    }

    /// The whole file.
    static func readAll(_ path: String) throws(StoreError) -> [UInt8] {
        let descriptor = try open(path, O_RDONLY)
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw .system(path, "cannot stat") }
        return try read(descriptor, count: Int(info.st_size), at: 0, path: path)
    }

    static func sync(_ descriptor: Int32, path: String) throws(StoreError) {
        if fsync(descriptor) != 0 { throw .system(path, "fsync failed") }
    }

    /// Makes a rename or a new file in `path` durable.
    static func syncDirectory(_ path: String) throws(StoreError) {
        let descriptor = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(descriptor) }
        try sync(descriptor, path: path)
    }

    static func rename(_ from: String, _ to: String) throws(StoreError) {
        if Glibc.rename(from, to) != 0 { throw .system(to, "cannot rename \(from)") }
    }

    static func remove(_ path: String) throws(StoreError) {
        if unlink(path) != 0 && errno != ENOENT { throw .system(path, "cannot remove") }
    }

    static func truncate(_ descriptor: Int32, to length: Int64, path: String) throws(StoreError) {
        if ftruncate(descriptor, off_t(length)) != 0 { throw .system(path, "cannot truncate") }
    }
}

/// The file-system calls the tools share with the store: reading a small file whole (policy
/// files) and listing a directory (textfiles).
public enum StoreFile {
    public static func readAll(_ path: String) throws(StoreError) -> [UInt8] {
        try FileSystem.readAll(path)
    }

    /// Names in `path`, sorted, without `.` and `..`.
    public static func list(_ path: String) throws(StoreError) -> [String] {
        try FileSystem.list(path)
    }
}

/// Writing a small file so that a reader sees the old or the new contents, never a mix, even
/// after a crash: a temporary file, fsync, rename, fsync of the directory.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws(StoreError) {
        let temporary = path + ".tmp"
        let descriptor = try FileSystem.open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
        do {
            try FileSystem.write(descriptor, bytes, path: temporary)
            try FileSystem.sync(descriptor, path: temporary)
        } catch {
            close(descriptor)
            throw error
        }
        close(descriptor)
        try FileSystem.rename(temporary, path)
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        try FileSystem.syncDirectory(directory.isEmpty ? "/" : directory)
    }
}
