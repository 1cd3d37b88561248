/// The `Authorization` header a receiver's `http_config` asks for, as Alertmanager reads it:
/// `basic_auth` (username and password or password_file) or `authorization` (a type, Bearer by
/// default, and credentials or credentials_file). Files are read at each delivery, so a rotated
/// secret is picked up without a restart, and never appear in messages.
public enum HTTPAuthorization: Sendable, Equatable {
    case basic(username: String, password: String?, passwordFile: String?)
    case credentials(type: String, value: String?, file: String?)

    /// The header's value; throws naming the file that cannot be read.
    public func headerValue() throws(NetworkError) -> String {
        switch self {
        case .basic(let username, let password, let passwordFile):
            let secret = try passwordFile.map { path throws(NetworkError) in try HTTPAuthorization.read(path) } ?? password ?? ""
            return "Basic " + EmailMessage.base64(Array((username + ":" + secret).utf8))
        case .credentials(let type, let value, let file):
            let secret = try file.map { path throws(NetworkError) in try HTTPAuthorization.read(path) } ?? value ?? ""
            return type + " " + secret
        }
    }

    private static func read(_ path: String) throws(NetworkError) -> String {
        guard let secret = SecretFile.read(path) else { throw NetworkError("cannot read \(path)") }
        return secret
    }
}
