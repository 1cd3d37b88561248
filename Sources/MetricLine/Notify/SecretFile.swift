/// A secret kept in a file of its own (a webhook URL, a password, a token): its first line,
/// without blanks around it, read at each use so that a rotated secret is picked up.
enum SecretFile {
    /// The secret in `path`, or nil when the file cannot be read.
    static func read(_ path: String) -> String? {
        guard let bytes = try? StoreFile.readAll(path) else { return nil }
        // By scalar: a file written on Windows ends its line with "\r\n", one Character.
        let text = String(decoding: bytes, as: UTF8.self)
        let line = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).first { !String($0).trimmingBlanks.isEmpty }
        return line.map { String($0).trimmingBlanks } ?? ""
    }
}
