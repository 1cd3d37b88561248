/// How an https:// connection checks the server and what it shows of the client, as
/// Prometheus's and Alertmanager's `tls_config` say it.
public struct TLSSettings: Sendable, Equatable {
    /// Certificates the server may be signed by (`ca_file`; nil: the system's CA store).
    public var caFile: String?
    /// The client's certificate and its private key (`cert_file`, `key_file`), PEM, for servers
    /// that ask for one.
    public var certificateFile: String?
    public var keyFile: String?
    /// Accept any server certificate and name (`insecure_skip_verify`).
    public var skipsVerification = false

    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil, skipsVerification: Bool = false) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.skipsVerification = skipsVerification
    }
}
