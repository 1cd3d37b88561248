/// A secret kept in a file of its own (a webhook URL, a password, a token): its first line,
/// without blanks around it, read at each use so that a rotated secret is picked up.
enum SecretFile {
    /// The secret in `path`, or nil when the file cannot be read.
    static func read(_ path: String) -> String? {
        guard let bytes = try? StoreFile.readAll(path) else { return nil }
        return String(decoding: bytes, as: UTF8.self).trimmingBlanks.split(separator: "\n").first.map(String.init) ?? ""
    }
}
