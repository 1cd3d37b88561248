import Glibc

extension Template {
    /// The bits of Go's net and net/url that Prometheus's functions use.
    enum GoNet {
        /// net.SplitHostPort; nil where Go returns an error.
        static func splitHostPort(_ text: String) -> (host: String, port: String)? {
            let bytes = Array(text.utf8)
            guard let colon = bytes.lastIndex(of: UInt8(ascii: ":")) else { return nil }
            let host: ArraySlice<UInt8>
            var opening = 0
            var closing = 0
            if bytes.first == UInt8(ascii: "[") {
                guard let end = bytes.firstIndex(of: UInt8(ascii: "]")), end + 1 == colon else { return nil }
                host = bytes[1..<end]
                opening = 1
                closing = end + 1
            } else {
                host = bytes[..<colon]
                guard !host.contains(UInt8(ascii: ":")) else { return nil }
            }
            guard !bytes[opening...].contains(UInt8(ascii: "[")), !bytes[closing...].contains(UInt8(ascii: "]")) else { return nil }
            return (String(decoding: host, as: UTF8.self), String(decoding: bytes[(colon + 1)...], as: UTF8.self))
        }

        /// Whether net.ParseIP accepts `text`: dotted IPv4 or IPv6.
        static func isIP(_ text: String) -> Bool {
            guard !text.utf8.contains(0) else { return false }
            var address = [UInt8](repeating: 0, count: 16)
            return text.withCString { inet_pton(AF_INET, $0, &address) == 1 || inet_pton(AF_INET6, $0, &address) == 1 }
        }

        static func stripPort(_ text: String) -> String {
            splitHostPort(text)?.host ?? text
        }

        /// The host's first label, keeping any port; IP addresses as they are.
        static func stripDomain(_ text: String) -> String {
            let (host, port) = splitHostPort(text) ?? (text, "")
            if isIP(host) { return text }
            let first = String(host.split(separator: ".", omittingEmptySubsequences: false).first ?? "")
            guard !port.isEmpty else { return first }
            return first.contains(":") ? "[\(first)]:\(port)" : "\(first):\(port)"
        }

        /// The path of a URL (`/prefix` of `http://host:9090/prefix?x`).
        static func path(ofURL url: String) -> String {
            var rest = Array(url.utf8)[...]
            if let colon = rest.firstIndex(of: UInt8(ascii: ":")), rest[colon...].starts(with: "://".utf8) {
                rest = rest[(colon + 3)...]
                guard let slash = rest.firstIndex(of: UInt8(ascii: "/")) else { return "" }
                rest = rest[slash...]
            }
            return String(decoding: rest.prefix { $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#") }, as: UTF8.self)
        }
    }
}
