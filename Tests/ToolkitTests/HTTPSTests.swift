import Foundation
import XCTest
@testable import MetricLine

/// Scrapes and probes of https:// targets through the system's libcurl, against a real TLS
/// server on 127.0.0.1 (Python's ssl module) with a certificate made by the openssl command.
final class HTTPSTests: XCTestCase {
    private var server: Process?
    private var directory = ""

    override func tearDown() {
        server?.terminate()
        server?.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A self-signed certificate for 127.0.0.1 and a TLS server using it; returns the port. With
    /// `clientCertificate`, the server also wants a client certificate signed by the self-signed
    /// `client.pem` (made here with `client-key.pem`), and notes its subject in `client`.
    private func startTLSServer(clientCertificate: Bool = false) throws -> Int {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"), "openssl is not installed")
        directory = NSTemporaryDirectory() + "https-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let made = try runProgram("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", directory + "/key.pem",
                                                       "-out", directory + "/cert.pem", "-days", "30", "-subj", "/CN=127.0.0.1",
                                                       "-addext", "subjectAltName=IP:127.0.0.1"])
        XCTAssertEqual(made.status, 0, made.stderr)
        let client = try runProgram("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", directory + "/client-key.pem",
                                                         "-out", directory + "/client.pem", "-days", "30", "-subj", "/CN=mtools-client"])
        XCTAssertEqual(client.status, 0, client.stderr)
        let script = """
        import http.server, ssl, sys
        class Handler(http.server.BaseHTTPRequestHandler):
            def note_client(self):
                subject = dict(item[0] for item in (self.connection.getpeercert() or {}).get('subject', ()))
                open(sys.argv[1] + '/client', 'a').write(subject.get('commonName', '-') + '\\n')
            def do_GET(self):
                self.note_client()
                body = b'# TYPE demo gauge\\ndemo{a="1"} 42\\n'
                self.send_response(200)
                self.send_header('Content-Type', 'text/plain; version=0.0.4')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def do_POST(self):
                self.note_client()
                body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
                open(sys.argv[1] + '/posted.json', 'ab').write(body + b'\\n')
                open(sys.argv[1] + '/authorization', 'a').write(str(self.headers.get('Authorization')) + '\\n')
                self.send_response(200)
                self.send_header('Content-Length', '0')
                self.end_headers()
            def log_message(self, *arguments): pass
        server = http.server.HTTPServer(('127.0.0.1', 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[1] + '/cert.pem', sys.argv[1] + '/key.pem')
        if sys.argv[2] == 'client':
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(sys.argv[1] + '/client.pem')
        server.socket = context.wrap_socket(server.socket, server_side=True)
        open('PORT_FILE', 'w').write(str(server.server_address[1]))
        server.serve_forever()
        """
        let started = try startPythonServer(script, name: "tls", directory: directory, arguments: [clientCertificate ? "client" : "any"])
        server = started.process
        return started.port
    }

    func testScrapeAndProbeOverTLS() throws {
        let port = try startTLSServer()
        let url = "https://127.0.0.1:\(port)/metrics"
        let scrape = try runTool("mcollect", ["--once", "--collect", "time", "--scrape", url, "--ca-file", directory + "/cert.pem"])
        XCTAssertEqual(scrape.status, 0, scrape.stderr)
        XCTAssertTrue(scrape.stdout.contains("demo{a=\"1\",instance=\"127.0.0.1:\(port)\",job=\"mcollect\"} 42 "), scrape.stdout)
        XCTAssertTrue(scrape.stdout.contains("up{instance=\"127.0.0.1:\(port)\",job=\"mcollect\"} 1 "), scrape.stdout)

        let probe = try runTool("mcollect", ["--once", "--collect", "time", "--probe-http", url, "--ca-file", directory + "/cert.pem"])
        XCTAssertTrue(probe.stdout.contains("probe_success{target=\"\(url)\"} 1 "), probe.stdout)
        XCTAssertTrue(probe.stdout.contains("probe_http_status_code{target=\"\(url)\"} 200 "), probe.stdout)
        // The certificate's notAfter, as Python's ssl module reads openssl's text of it.
        let notAfter = try runProgram("/usr/bin/openssl", ["x509", "-in", directory + "/cert.pem", "-noout", "-enddate"]).stdout
            .replacingOccurrences(of: "notAfter=", with: "").trimmingCharacters(in: .whitespacesAndNewlines)
        let seconds = try runProgram("/usr/bin/python3", ["-c", "import ssl, sys; print(int(ssl.cert_time_to_seconds(sys.argv[1])))", notAfter])
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(probe.stdout.contains("probe_ssl_earliest_cert_expiry{target=\"\(url)\"} \(seconds) "), "\(notAfter) = \(seconds)\n\(probe.stdout)")

        // file_sd targets with __scheme__ https.
        try #"[{"targets": ["127.0.0.1:\#(port)"], "labels": {"__scheme__": "https", "team": "a"}}]"#
            .write(toFile: directory + "/targets.json", atomically: true, encoding: .utf8)
        let discovered = try runTool("mcollect", ["--once", "--collect", "time", "--file-sd", directory + "/targets.json", "--ca-file", directory + "/cert.pem"])
        XCTAssertTrue(discovered.stdout.contains("demo{a=\"1\",instance=\"127.0.0.1:\(port)\",job=\"mcollect\",team=\"a\"} 42 "), discovered.stdout + discovered.stderr)

        // Without the certificate to trust, the server is not believed.
        let untrusted = try runTool("mcollect", ["--once", "--collect", "time", "--probe-http", url, "--scrape", url])
        XCTAssertTrue(untrusted.stdout.contains("probe_success{target=\"\(url)\"} 0 "), untrusted.stdout)
        XCTAssertTrue(untrusted.stdout.contains("up{instance=\"127.0.0.1:\(port)\",job=\"mcollect\"} 0 "), untrusted.stdout)
        XCTAssertTrue(untrusted.stderr.contains("certificate"), untrusted.stderr)
    }

    func testWebhookOverTLSWithTheReceiversCAFile() throws {
        let port = try startTLSServer()
        func configuration(caFile: Bool) -> String {
            """
            route:
              receiver: hook
              group_by: [alertname]
            receivers:
              - name: hook
                webhook_configs:
                  - url: https://127.0.0.1:\(port)/secret-token
            """ + (caFile ? "\n        http_config:\n          tls_config:\n            ca_file: \(directory)/cert.pem\n" : "\n")
        }
        try configuration(caFile: true).write(toFile: directory + "/trusted.yml", atomically: true, encoding: .utf8)
        try configuration(caFile: false).write(toFile: directory + "/untrusted.yml", atomically: true, encoding: .utf8)
        let event = "# ALERT firing {alertname=\"Demo\",severity=\"info\"} startsAt=2026-01-01T00:00:00Z endsAt=2099-01-01T00:00:00Z value=1 fingerprint=0000000000000001 annotations={}\n"
        let trusted = try runTool("mnotify", ["-c", directory + "/trusted.yml", "--state", directory + "/state-a"], input: Data(event.utf8))
        XCTAssertEqual(trusted.status, 0, trusted.stderr)
        let posted = try String(contentsOfFile: directory + "/posted.json", encoding: .utf8)
        XCTAssertTrue(posted.contains("\"alertname\":\"Demo\""), posted)
        // Without the certificate: not delivered, and the message keeps the URL's path (a secret) out.
        let untrusted = try runTool("mnotify", ["-c", directory + "/untrusted.yml", "--state", directory + "/state-b", "--wait", "0s"], input: Data(event.utf8))
        XCTAssertTrue(untrusted.stderr.contains("127.0.0.1:\(port)"), untrusted.stderr)
        XCTAssertFalse(untrusted.stderr.contains("secret-token"), untrusted.stderr)
        let check = try runTool("mnotify", ["check", directory + "/trusted.yml"])
        XCTAssertEqual(check.status, 0, check.stdout + check.stderr)
        try configuration(caFile: true).replacingOccurrences(of: "cert.pem", with: "missing.pem").write(toFile: directory + "/missing.yml", atomically: true, encoding: .utf8)
        let missing = try runTool("mnotify", ["check", directory + "/missing.yml"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue((missing.stdout + missing.stderr).contains("ca_file"), missing.stdout + missing.stderr)
    }

    func testReceiversSendTheirAuthorization() throws {
        let port = try startTLSServer()
        try "s3cret\n".write(toFile: directory + "/password", atomically: true, encoding: .utf8)
        try """
        route:
          receiver: basic
          group_by: [alertname]
          routes:
            - matchers: [team="b"]
              receiver: bearer
            - matchers: [team="c"]
              receiver: legacy
        receivers:
          - name: basic
            webhook_configs:
              - url: https://127.0.0.1:\(port)/a
                http_config:
                  tls_config: {ca_file: \(directory)/cert.pem}
                  basic_auth: {username: alice, password_file: \(directory)/password}
          - name: bearer
            webhook_configs:
              - url: https://127.0.0.1:\(port)/b
                http_config:
                  tls_config: {ca_file: \(directory)/cert.pem}
                  authorization: {credentials: token-1}
          - name: legacy
            webhook_configs:
              - url: https://127.0.0.1:\(port)/c
                http_config:
                  tls_config: {ca_file: \(directory)/cert.pem}
                  bearer_token: token-2
        """.write(toFile: directory + "/auth.yml", atomically: true, encoding: .utf8)
        let events = ["a", "b", "c"].enumerated().map {
            "# ALERT firing {alertname=\"Demo\",team=\"\($0.element)\"} startsAt=2026-01-01T00:00:00Z endsAt=2099-01-01T00:00:00Z value=1 fingerprint=000000000000000\($0.offset + 1) annotations={}\n"
        }.joined()
        let run = try runTool("mnotify", ["-c", directory + "/auth.yml", "--state", directory + "/state"], input: Data(events.utf8))
        XCTAssertEqual(run.status, 0, run.stderr)
        let sent = try String(contentsOfFile: directory + "/authorization", encoding: .utf8).split(separator: "\n").sorted()
        XCTAssertEqual(sent, ["Basic YWxpY2U6czNjcmV0", "Bearer token-1", "Bearer token-2"], "alice:s3cret in base64, and the bearer tokens (bearer_token the older way)")
        try """
        route: {receiver: both}
        receivers:
          - name: both
            webhook_configs:
              - url: https://127.0.0.1:1/
                http_config:
                  basic_auth: {username: a, password: b}
                  authorization: {credentials: c}
        """.write(toFile: directory + "/both.yml", atomically: true, encoding: .utf8)
        let both = try runTool("mnotify", ["check", directory + "/both.yml"])
        XCTAssertNotEqual(both.status, 0)
        XCTAssertTrue((both.stdout + both.stderr).contains("at most one of basic_auth and authorization"), both.stdout + both.stderr)
    }

    func testClientCertificatesAndSkippedVerification() throws {
        let port = try startTLSServer(clientCertificate: true)
        let url = "https://127.0.0.1:\(port)/metrics"
        let up = "up{instance=\"127.0.0.1:\(port)\",job=\"mcollect\"} "
        let certificate = ["--cert-file", directory + "/client.pem", "--key-file", directory + "/client-key.pem"]
        let shown = try runTool("mcollect", ["--once", "--collect", "time", "--scrape", url, "--ca-file", directory + "/cert.pem"] + certificate)
        XCTAssertEqual(shown.status, 0, shown.stderr)
        XCTAssertTrue(shown.stdout.contains(up + "1 ") && shown.stdout.contains("demo{a=\"1\""), shown.stdout + shown.stderr)
        XCTAssertEqual(try String(contentsOfFile: directory + "/client", encoding: .utf8), "mtools-client\n", "the server saw the client's certificate")
        // No client certificate: the server ends the handshake.
        let without = try runTool("mcollect", ["--once", "--collect", "time", "--scrape", url, "--ca-file", directory + "/cert.pem"])
        XCTAssertTrue(without.stdout.contains(up + "0 "), without.stdout)
        // --insecure: the server's certificate is not checked (no --ca-file), the client's still shown.
        let insecure = try runTool("mcollect", ["--once", "--collect", "time", "--scrape", url, "--probe-http", url, "--insecure"] + certificate)
        XCTAssertTrue(insecure.stdout.contains(up + "1 "), insecure.stdout + insecure.stderr)
        XCTAssertTrue(insecure.stdout.contains("probe_success{target=\"\(url)\"} 1 "), insecure.stdout + insecure.stderr)
        XCTAssertTrue(insecure.stdout.contains("probe_ssl_earliest_cert_expiry{target=\"\(url)\"} "), insecure.stdout)
        // Mistakes are refused before anything is collected.
        let alone = try runTool("mcollect", ["--once", "--scrape", url, "--cert-file", directory + "/client.pem"])
        XCTAssertEqual(alone.status, 2)
        XCTAssertTrue(alone.stderr.contains("--cert-file and --key-file go together"), alone.stderr)
        let missing = try runTool("mcollect", ["--once", "--scrape", url, "--ca-file", directory + "/missing.pem"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("--ca-file: cannot read \(directory)/missing.pem"), missing.stderr)

        // mnotify's receivers: tls_config cert_file, key_file and insecure_skip_verify.
        func configuration(_ tls: String) -> String {
            """
            route: {receiver: hook, group_by: [alertname]}
            receivers:
              - name: hook
                webhook_configs:
                  - url: https://127.0.0.1:\(port)/hook
                    http_config:
                      tls_config: {\(tls)}
            """
        }
        let event = "# ALERT firing {alertname=\"Demo\"} startsAt=2026-01-01T00:00:00Z endsAt=2099-01-01T00:00:00Z value=1 fingerprint=0000000000000001 annotations={}\n"
        try configuration("insecure_skip_verify: true, cert_file: \(directory)/client.pem, key_file: \(directory)/client-key.pem")
            .write(toFile: directory + "/mtls.yml", atomically: true, encoding: .utf8)
        let delivered = try runTool("mnotify", ["-c", directory + "/mtls.yml", "--state", directory + "/state-a"], input: Data(event.utf8))
        XCTAssertEqual(delivered.status, 0, delivered.stderr)
        XCTAssertTrue(try String(contentsOfFile: directory + "/posted.json", encoding: .utf8).contains("\"alertname\":\"Demo\""))
        try configuration("insecure_skip_verify: true").write(toFile: directory + "/plain.yml", atomically: true, encoding: .utf8)
        let refused = try runTool("mnotify", ["-c", directory + "/plain.yml", "--state", directory + "/state-b", "--wait", "0s"], input: Data(event.utf8))
        XCTAssertTrue(refused.stderr.contains("127.0.0.1:\(port)"), "no client certificate, no delivery: \(refused.stderr)")
        XCTAssertEqual(try String(contentsOfFile: directory + "/posted.json", encoding: .utf8).split(separator: "\n").count, 1,
                       "delivered once, by the run with the certificate")
        try configuration("cert_file: \(directory)/client.pem").write(toFile: directory + "/half.yml", atomically: true, encoding: .utf8)
        let half = try runTool("mnotify", ["check", directory + "/half.yml"])
        XCTAssertNotEqual(half.status, 0)
        XCTAssertTrue((half.stdout + half.stderr).contains("tls_config needs both cert_file and key_file"), half.stdout + half.stderr)
    }

    /// A forwarding proxy on 127.0.0.1 (Python): CONNECT tunnels and absolute-form requests,
    /// each request line noted in `proxied`; returns its port.
    private func startProxy() throws -> (Process, Int) {
        let script = """
        import select, socket, socketserver, sys
        class Proxy(socketserver.BaseRequestHandler):
            def handle(self):
                client, data = self.request, b''
                while b'\\r\\n\\r\\n' not in data:
                    chunk = client.recv(65536)
                    if not chunk: return
                    data += chunk
                head, _, rest = data.partition(b'\\r\\n\\r\\n')
                lines = head.split(b'\\r\\n')
                method, target, version = lines[0].decode().split(' ')
                open(sys.argv[1] + '/proxied', 'a').write(lines[0].decode() + '\\n')
                if method == 'CONNECT':
                    host, port = target.rsplit(':', 1)
                    upstream = socket.create_connection((host, int(port)))
                    client.sendall(b'HTTP/1.1 200 Connection established\\r\\n\\r\\n')
                    if rest: upstream.sendall(rest)
                else:
                    authority, _, path = target.split('://', 1)[1].partition('/')
                    host, port = authority.rsplit(':', 1)
                    upstream = socket.create_connection((host, int(port)))
                    lines[0] = ('%s /%s %s' % (method, path, version)).encode()
                    upstream.sendall(b'\\r\\n'.join(lines) + b'\\r\\n\\r\\n' + rest)
                while True:
                    readable, _, _ = select.select([client, upstream], [], [], 10)
                    if not readable: break
                    for end in readable:
                        chunk = end.recv(65536)
                        if not chunk:
                            upstream.close()
                            return
                        (upstream if end is client else client).sendall(chunk)
        server = socketserver.ThreadingTCPServer(('127.0.0.1', 0), Proxy)
        server.daemon_threads = True
        open('PORT_FILE', 'w').write(str(server.server_address[1]))
        server.serve_forever()
        """
        return try startPythonServer(script, name: "proxy", directory: directory)
    }

    func testReceiversGoThroughTheirProxy() throws {
        let port = try startTLSServer()
        let (proxy, proxyPort) = try startProxy()
        defer { proxy.terminate(); proxy.waitUntilExit() }
        let plain = try WebhookReceiver(directory: directory)
        defer { plain.stop() }
        try """
        route:
          receiver: secure
          group_by: [alertname]
          routes:
            - matchers: [team="b"]
              receiver: plain
        receivers:
          - name: secure
            webhook_configs:
              - url: https://127.0.0.1:\(port)/a
                http_config:
                  tls_config: {ca_file: \(directory)/cert.pem}
                  proxy_url: http://127.0.0.1:\(proxyPort)
          - name: plain
            webhook_configs:
              - url: http://127.0.0.1:\(plain.port)/b
                http_config: {proxy_url: "http://127.0.0.1:\(proxyPort)"}
        """.write(toFile: directory + "/proxied.yml", atomically: true, encoding: .utf8)
        let events = ["a", "b"].map {
            "# ALERT firing {alertname=\"Demo\",team=\"\($0)\"} startsAt=2026-01-01T00:00:00Z endsAt=2099-01-01T00:00:00Z value=1 fingerprint=000000000000000\($0 == "a" ? 1 : 2) annotations={}\n"
        }.joined()
        let run = try runTool("mnotify", ["-c", directory + "/proxied.yml", "--state", directory + "/state"], input: Data(events.utf8))
        XCTAssertEqual(run.status, 0, run.stderr)
        let proxied = try String(contentsOfFile: directory + "/proxied", encoding: .utf8).split(separator: "\n").sorted()
        XCTAssertEqual(proxied, ["CONNECT 127.0.0.1:\(port) HTTP/1.1", "POST http://127.0.0.1:\(plain.port)/b HTTP/1.1"])
        XCTAssertTrue(try String(contentsOfFile: directory + "/posted.json", encoding: .utf8).contains("\"team\":\"a\""), "the https:// receiver got its alert")
        XCTAssertEqual(plain.bodies.count, 1, "the http:// receiver got its alert")
        XCTAssertEqual(plain.requests, ["/b"])

        // With the proxy gone, nothing is delivered directly instead.
        proxy.terminate()
        proxy.waitUntilExit()
        let again = events.replacingOccurrences(of: "Demo", with: "Other").replacingOccurrences(of: "fingerprint=00000000000000", with: "fingerprint=00000000000001")
        let refused = try runTool("mnotify", ["-c", directory + "/proxied.yml", "--state", directory + "/state", "--wait", "0s"], input: Data(again.utf8))
        XCTAssertTrue(refused.stderr.contains("127.0.0.1:\(proxyPort)"), refused.stderr)
        XCTAssertEqual(plain.bodies.count, 1)

        try """
        route: {receiver: r}
        receivers:
          - name: r
            webhook_configs:
              - url: https://127.0.0.1:1/
                http_config: {proxy_url: "http://user:secret@proxy:3128"}
        """.write(toFile: directory + "/credentials.yml", atomically: true, encoding: .utf8)
        let check = try runTool("mnotify", ["check", directory + "/credentials.yml"])
        XCTAssertNotEqual(check.status, 0)
        XCTAssertTrue((check.stdout + check.stderr).contains("proxy_url wants an http:// proxy, http://host:port, without credentials"), check.stdout + check.stderr)
        XCTAssertFalse((check.stdout + check.stderr).contains("secret"), "the password stays out of the message")
    }

    func testCertificateDates() {
        XCTAssertEqual(CurlTransport.parseCertificateDate("Dec 24 04:00:57 2026 GMT"), 1_798_084_857_000)
        XCTAssertEqual(CurlTransport.parseCertificateDate("Jan  1 00:00:00 2030 GMT"), 1_893_456_000_000)
        XCTAssertEqual(CurlTransport.parseCertificateDate("2030-01-01 00:00:00 GMT"), 1_893_456_000_000)
        XCTAssertNil(CurlTransport.parseCertificateDate("soon"))
    }
}
