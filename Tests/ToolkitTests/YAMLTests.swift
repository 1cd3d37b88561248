import XCTest
@testable import MetricLine

/// The YAML reader on the files it exists for (rule files, promtool tests, Alertmanager
/// configurations), on every scalar style, and on the input it must refuse.
final class YAMLTests: XCTestCase {
    // MARK: Helpers

    /// A node as compact JSON-like text: scalars as quoted strings, so structure and text can
    /// be checked in one comparison.
    private func render(_ node: YAMLNode) -> String {
        switch node.value {
        case .scalar(let text, _):
            return quoted(text)
        case .sequence(let items):
            return "[" + items.map(render).joined(separator: ",") + "]"
        case .mapping(let entries):
            return "{" + entries.map { quoted($0.key) + ":" + render($0.value) }.joined(separator: ",") + "}"
        }
    }

    private func quoted(_ text: String) -> String {
        var result = "\""
        for character in text {
            switch character {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            default: result.append(character)
            }
        }
        return result + "\""
    }

    /// Parses `text` and renders it; a parse error fails the test and renders as the message.
    private func parsed(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do throws(YAMLError) {
            return render(try YAML.parse(text))
        } catch {
            XCTFail("unexpected error \(error.position): \(error.message)", file: file, line: line)
            return "error"
        }
    }

    /// The error parsing `text` gives, or nil if it parses.
    private func failure(_ text: String) -> YAMLError? {
        do throws(YAMLError) {
            _ = try YAML.parse(text)
            return nil
        } catch {
            return error
        }
    }

    private func position(_ line: Int, _ column: Int) -> YAMLPosition {
        YAMLPosition(line: line, column: column)
    }

    // MARK: Real files

    static let ruleFile = """
        # Rules for the example service.
        groups:
          - name: example
            interval: 30s
            rules:
              - record: job:up:sum
                expr: 'test +'
              - alert: HighErrorRate
                expr: |
                  sum by (job) (rate(errors_total[5m]))
                    / sum by (job) (rate(requests_total[5m])) > 0.05
                for: 10m
                labels:
                  severity: page
                annotations:
                  summary: "High error rate on {{ $labels.instance }}"
                  description: 'Error rate: {{ $value | humanizePercentage }} for {{ $labels.job }}'
          - name: second
            rules:
            - alert: InstanceDown
              expr: up == 0
              for: 5m
              labels: {severity: critical, team: "ops"}

        """

    func testPrometheusRuleFile() throws {
        let document = try YAML.parse(Self.ruleFile)
        let groups = try XCTUnwrap(document["groups"]?.sequence)
        XCTAssertEqual(groups.count, 2)
        XCTAssertEqual(groups[0]["name"]?.scalar, "example")
        XCTAssertEqual(groups[0]["interval"]?.scalar, "30s")

        let rules = try XCTUnwrap(groups[0]["rules"]?.sequence)
        XCTAssertEqual(rules.count, 2)
        XCTAssertEqual(rules[0]["record"]?.scalar, "job:up:sum")
        let expr = try XCTUnwrap(rules[0]["expr"])
        XCTAssertEqual(expr.scalar, "test +")
        XCTAssertEqual(expr.position, position(7, 15))
        guard case .scalar(_, .singleQuoted) = expr.value else { return XCTFail("expected a single-quoted scalar") }

        XCTAssertEqual(rules[1]["alert"]?.scalar, "HighErrorRate")
        XCTAssertEqual(rules[1]["alert"]?.position, position(8, 16))
        let multiLine = try XCTUnwrap(rules[1]["expr"])
        XCTAssertEqual(multiLine.scalar, """
            sum by (job) (rate(errors_total[5m]))
              / sum by (job) (rate(requests_total[5m])) > 0.05

            """)
        XCTAssertEqual(multiLine.position, position(9, 15))
        XCTAssertEqual(rules[1]["for"]?.scalar, "10m")
        XCTAssertEqual(rules[1]["labels"]?["severity"]?.scalar, "page")
        let annotations = try XCTUnwrap(rules[1]["annotations"])
        XCTAssertEqual(annotations.position, position(16, 11))
        XCTAssertEqual(annotations["summary"]?.scalar, "High error rate on {{ $labels.instance }}")
        XCTAssertEqual(annotations["summary"]?.position, position(16, 20))
        XCTAssertEqual(annotations["description"]?.scalar, "Error rate: {{ $value | humanizePercentage }} for {{ $labels.job }}")
        XCTAssertEqual(annotations.mapping?.map(\.key), ["summary", "description"])
        XCTAssertEqual(annotations.mapping?[1].keyPosition, position(17, 11))

        // The second group's rules sit at the same column as their key.
        let second = try XCTUnwrap(groups[1]["rules"]?.sequence)
        XCTAssertEqual(groups[1]["rules"]?.position, position(20, 5))
        XCTAssertEqual(render(second[0]), #"{"alert":"InstanceDown","expr":"up == 0","for":"5m","labels":{"severity":"critical","team":"ops"}}"#)
        XCTAssertEqual(second[0]["labels"]?.position, position(23, 15))
        XCTAssertEqual(document.position, position(2, 1))
    }

    func testPromtoolTestFile() throws {
        let text = """
            rule_files:
              - rules.yml

            evaluation_interval: 1m

            tests:
              - interval: 1m
                input_series:
                  - series: 'up{job="x"}'
                    values: "0+0x1440"
                  - series: 'errors_total{job="x", instance="a:9090"}'
                    values: '1+1x10 _ stale'
                alert_rule_test:
                  - eval_time: 10m
                    alertname: InstanceDown
                    exp_alerts:
                      - {}
                  - eval_time: 0m
                    alertname: InstanceDown
                    exp_alerts: []
                  - eval_time: 20m
                    alertname: HighErrorRate
                    exp_alerts:
                      - exp_labels: {}
                        exp_annotations:
                          summary: "x"
                promql_expr_test:
                  - expr: up
                    eval_time: 1m
                    exp_samples:
                      - labels: 'up{job="x"}'
                        value: 0
            """
        let document = try YAML.parse(text)
        XCTAssertEqual(render(try XCTUnwrap(document["rule_files"])), #"["rules.yml"]"#)
        XCTAssertEqual(document["evaluation_interval"]?.scalar, "1m")
        let test = try XCTUnwrap(document["tests"]?.sequence?.first)
        let series = try XCTUnwrap(test["input_series"]?.sequence)
        XCTAssertEqual(series[0]["series"]?.scalar, #"up{job="x"}"#)
        XCTAssertEqual(series[0]["values"]?.scalar, "0+0x1440")
        XCTAssertEqual(series[0]["values"]?.position, position(10, 17))
        XCTAssertEqual(series[1]["series"]?.scalar, #"errors_total{job="x", instance="a:9090"}"#)
        XCTAssertEqual(series[1]["values"]?.scalar, "1+1x10 _ stale")

        let alerts = try XCTUnwrap(test["alert_rule_test"]?.sequence)
        XCTAssertEqual(alerts.count, 3)
        XCTAssertEqual(render(try XCTUnwrap(alerts[0]["exp_alerts"])), "[{}]")
        XCTAssertEqual(alerts[0]["exp_alerts"]?.sequence?.first?.mapping?.count, 0)
        XCTAssertEqual(alerts[1]["exp_alerts"]?.sequence?.count, 0)
        XCTAssertEqual(alerts[1]["exp_alerts"]?.kind, "sequence")
        XCTAssertEqual(render(try XCTUnwrap(alerts[2]["exp_alerts"])), #"[{"exp_labels":{},"exp_annotations":{"summary":"x"}}]"#)

        let samples = try XCTUnwrap(test["promql_expr_test"]?.sequence?.first?["exp_samples"]?.sequence)
        XCTAssertEqual(samples[0]["labels"]?.scalar, #"up{job="x"}"#)
        XCTAssertEqual(samples[0]["value"]?.scalar, "0")
    }

    func testAlertmanagerConfig() {
        let text = """
            route:
              group_by: ['alertname', cluster]
              receiver: team-X-mails
              routes:
              - matchers:
                  - service=~"foo1|foo2|baz"
                receiver: team-X-pager
                continue: true
            inhibit_rules:
            - source_matchers: [ severity="critical" ]
              equal: [ alertname, cluster ]
            receivers:
            - name: 'team-X-mails'
              email_configs:
              - to: 'team-X+alerts@example.org'
                headers:
                  Subject: "{{ .CommonLabels.alertname }}: {{ .Status }}"
            - name: team-X-pager
              webhook_configs:
              - url: http://127.0.0.1:5001/
            """
        XCTAssertEqual(parsed(text), """
            {"route":{"group_by":["alertname","cluster"],"receiver":"team-X-mails","routes":[{"matchers":["service=~\\"foo1|foo2|baz\\""],\
            "receiver":"team-X-pager","continue":"true"}]},"inhibit_rules":[{"source_matchers":["severity=\\"critical\\""],\
            "equal":["alertname","cluster"]}],"receivers":[{"name":"team-X-mails","email_configs":[{"to":"team-X+alerts@example.org",\
            "headers":{"Subject":"{{ .CommonLabels.alertname }}: {{ .Status }}"}}]},{"name":"team-X-pager","webhook_configs":\
            [{"url":"http://127.0.0.1:5001/"}]}]}
            """)
    }

    // MARK: Block structure

    func testCompactForms() throws {
        XCTAssertEqual(parsed("- name: x\n  interval: 1m\n- name: y\n"), #"[{"name":"x","interval":"1m"},{"name":"y"}]"#)
        XCTAssertEqual(parsed("rules:\n- alert: X\n  for: 5m\n- record: Y\nafter: 1\n"), #"{"rules":[{"alert":"X","for":"5m"},{"record":"Y"}],"after":"1"}"#)
        XCTAssertEqual(parsed("- - a\n  - b\n- - - c\n"), #"[["a","b"],[["c"]]]"#)
        XCTAssertEqual(parsed("-   wide: 1\n    next: 2\n"), #"[{"wide":"1","next":"2"}]"#)
        XCTAssertEqual(parsed("- key:\n  - a\n  other: b\n"), #"[{"key":["a"],"other":"b"}]"#)
        XCTAssertEqual(parsed("a:\n    b:\n        c: d\n    e: f\ng: h\n"), #"{"a":{"b":{"c":"d"},"e":"f"},"g":"h"}"#)
        XCTAssertEqual(parsed("  indented: 1\n  root: 2\n"), #"{"indented":"1","root":"2"}"#)
        XCTAssertEqual(parsed("\"quoted key\": 1\n'single': 2\n"), #"{"quoted key":"1","single":"2"}"#)
        XCTAssertEqual(parsed("a:b: c\n"), #"{"a:b":"c"}"#)

        let compact = try YAML.parse("- name: x\n  rules:\n  - alert: A\n")
        XCTAssertEqual(compact.position, position(1, 1))
        XCTAssertEqual(compact.sequence?[0].position, position(1, 3))
        XCTAssertEqual(compact.sequence?[0]["rules"]?.position, position(3, 3))
        XCTAssertEqual(compact.sequence?[0].mapping?[1].keyPosition, position(2, 3))
    }

    func testNullValues() throws {
        let document = try YAML.parse("a:\nb:   \nc: ~\nd: null\ne: \"\"\nf:\n  # only a comment\ng:\n- \n-\n")
        XCTAssertEqual(document["a"]?.isNull, true)
        XCTAssertEqual(document["a"]?.position, position(1, 3))
        XCTAssertEqual(document["b"]?.isNull, true)
        XCTAssertEqual(document["b"]?.position, position(2, 3))
        XCTAssertEqual(document["c"]?.isNull, true)
        XCTAssertEqual(document["d"]?.isNull, true)
        XCTAssertEqual(document["e"]?.isNull, false, "a quoted empty string is a string")
        XCTAssertEqual(document["e"]?.scalar, "")
        XCTAssertEqual(document["f"]?.isNull, true)
        let items = try XCTUnwrap(document["g"]?.sequence)
        XCTAssertEqual(items.count, 2)
        XCTAssertTrue(items.allSatisfy(\.isNull))
        XCTAssertEqual(items[1].position, position(10, 2))

        for empty in ["", "\n\n", "# just a comment\n", "---\n", "---\n...\n", "--- # c\n# c\n"] {
            let node = try YAML.parse(empty)
            XCTAssertTrue(node.isNull, empty)
            XCTAssertEqual(node.position, position(1, 1), empty)
        }
    }

    func testConveniences() throws {
        let document = try YAML.parse("m: {a: 1}\ns: [x]\nv: text\nv2: 'NULL'\n")
        XCTAssertEqual(document.kind, "mapping")
        XCTAssertEqual(document["s"]?.kind, "sequence")
        XCTAssertEqual(document["v"]?.kind, "scalar")
        XCTAssertNil(document["missing"])
        XCTAssertNil(document["v"]?["a"], "only mappings have keys")
        XCTAssertNil(document["v"]?.sequence)
        XCTAssertNil(document["v"]?.mapping)
        XCTAssertNil(document["m"]?.scalar)
        XCTAssertEqual(document["m"]?["a"]?.scalar, "1")
        XCTAssertEqual(document["s"]?.sequence?.map(\.scalar), ["x"])
        XCTAssertEqual(document["v2"]?.isNull, false)
        XCTAssertEqual(YAMLPosition(line: 3, column: 7).description, "3:7")
    }

    // MARK: Scalars

    func testPlainScalars() throws {
        let document = try YAML.parse("""
            duration: 5m
            number: 1
            boolean: true
            hex: 0x10
            url: http://x:9090/path
            hash: a#b
            comment: value # not part of it
            colon: a:b
            spaces: one  two
            dash: -1
            question: ?x
            folded: first
              second

              third
            trailing: kept   \("")
            """)
        XCTAssertEqual(document["duration"]?.scalar, "5m")
        XCTAssertEqual(document["number"]?.scalar, "1")
        XCTAssertEqual(document["boolean"]?.scalar, "true")
        XCTAssertEqual(document["hex"]?.scalar, "0x10")
        XCTAssertEqual(document["url"]?.scalar, "http://x:9090/path")
        XCTAssertEqual(document["hash"]?.scalar, "a#b")
        XCTAssertEqual(document["comment"]?.scalar, "value")
        XCTAssertEqual(document["colon"]?.scalar, "a:b")
        XCTAssertEqual(document["spaces"]?.scalar, "one  two")
        XCTAssertEqual(document["dash"]?.scalar, "-1")
        XCTAssertEqual(document["question"]?.scalar, "?x")
        XCTAssertEqual(document["folded"]?.scalar, "first second\nthird")
        XCTAssertEqual(document["trailing"]?.scalar, "kept")
        guard case .scalar(_, .plain) = try XCTUnwrap(document["number"]).value else { return XCTFail("expected plain") }
        XCTAssertEqual(parsed("just text\non two lines\n"), #""just text on two lines""#)
        XCTAssertEqual(parsed("- a\n  b\n- c\n"), #"["a b","c"]"#)
    }

    func testSingleQuotedScalars() throws {
        let document = try YAML.parse("""
            a: 'it''s'
            b: 'no \\escapes \\n here'
            c: 'folded
              over lines  \("")
              and

              a blank one'
            d: ''
            e: '# not a comment: really'
            """)
        XCTAssertEqual(document["a"]?.scalar, "it's")
        XCTAssertEqual(document["b"]?.scalar, #"no \escapes \n here"#)
        XCTAssertEqual(document["c"]?.scalar, "folded over lines and\na blank one")
        XCTAssertEqual(document["d"]?.scalar, "")
        XCTAssertEqual(document["e"]?.scalar, "# not a comment: really")
        guard case .scalar(_, .singleQuoted) = try XCTUnwrap(document["a"]).value else { return XCTFail("expected single-quoted") }
    }

    func testDoubleQuotedScalars() throws {
        let document = try YAML.parse(#"""
            escapes: "\\ \" \n \t \r \/ \x41 \u00e9 \U0001F600 \e"
            nul: "a\0b"
            joined: "line \
               continued"
            folded: "one
               two

              three"
            kept: "tab\t\
              x"
            template: "{{ $labels.instance }}: down"
            """#)
        XCTAssertEqual(document["escapes"]?.scalar, "\\ \" \n \t \r / A \u{e9} \u{1F600} \u{1B}")
        XCTAssertEqual(document["nul"]?.scalar, "a\u{0}b")
        XCTAssertEqual(document["joined"]?.scalar, "line continued")
        XCTAssertEqual(document["folded"]?.scalar, "one two\nthree")
        XCTAssertEqual(document["kept"]?.scalar, "tab\tx")
        XCTAssertEqual(document["template"]?.scalar, "{{ $labels.instance }}: down")
        XCTAssertEqual(document["escapes"]?.position, position(1, 10))
        guard case .scalar(_, .doubleQuoted) = try XCTUnwrap(document["nul"]).value else { return XCTFail("expected double-quoted") }
    }

    func testLiteralBlockScalars() throws {
        let document = try YAML.parse("""
            clip: |
              one
                two

            strip: |-
              one


            keep: |+
              one


            explicit: |2
                 indented
              kept
            empty: |
            comment: | # about it
              text
            next: end
            """)
        XCTAssertEqual(document["clip"]?.scalar, "one\n  two\n")
        XCTAssertEqual(document["strip"]?.scalar, "one")
        XCTAssertEqual(document["keep"]?.scalar, "one\n\n\n")
        XCTAssertEqual(document["explicit"]?.scalar, "   indented\nkept\n")
        XCTAssertEqual(document["empty"]?.scalar, "")
        XCTAssertEqual(document["comment"]?.scalar, "text\n")
        XCTAssertEqual(document["next"]?.scalar, "end")
        XCTAssertEqual(document["clip"]?.position, position(1, 7))
        guard case .scalar(_, .literal) = try XCTUnwrap(document["clip"]).value else { return XCTFail("expected literal") }

        XCTAssertEqual(try YAML.parse("a: |\n  no final line end")["a"]?.scalar, "no final line end")
        XCTAssertEqual(try YAML.parse("a: |-2\n   x\n")["a"]?.scalar, " x")
        XCTAssertEqual(try YAML.parse("- |\n  in a sequence\n- >-\n  folded\n  too\n").sequence?.map(\.scalar), ["in a sequence\n", "folded too"])
        XCTAssertEqual(try YAML.parse("a: |\n\n  after a blank line\n")["a"]?.scalar, "\nafter a blank line\n")
    }

    func testFoldedBlockScalars() throws {
        let document = try YAML.parse("""
            folded: >
              one
              two

              three
                more indented
              four
            stripped: >-
              a
              b
            kept: >+
              a


            """)
        XCTAssertEqual(document["folded"]?.scalar, "one two\nthree\n  more indented\nfour\n")
        XCTAssertEqual(document["stripped"]?.scalar, "a b")
        XCTAssertEqual(document["kept"]?.scalar, "a\n\n")
        guard case .scalar(_, .folded) = try XCTUnwrap(document["folded"]).value else { return XCTFail("expected folded") }
    }

    // MARK: Flow collections

    func testFlowCollections() throws {
        XCTAssertEqual(parsed(#"a: [a, b, "c"]"#), #"{"a":["a","b","c"]}"#)
        XCTAssertEqual(parsed(#"a: {a: 1, b: "x"}"#), #"{"a":{"a":"1","b":"x"}}"#)
        XCTAssertEqual(parsed("a: {}\nb: []\n"), #"{"a":{},"b":[]}"#)
        XCTAssertEqual(parsed("[[1, [2]], {k: [v, {w: x}]}, ]"), #"[["1",["2"]],{"k":["v",{"w":"x"}]}]"#)
        XCTAssertEqual(parsed("labels: {\n  severity: page,  # comment\n  team: \"ops\",\n}\n"), #"{"labels":{"severity":"page","team":"ops"}}"#)
        XCTAssertEqual(parsed("a: [\n  one,\n  two three\n    four,\n]\n"), #"{"a":["one","two three four"]}"#)
        XCTAssertEqual(parsed(#"{"json":1,"style":[true]}"#), #"{"json":"1","style":["true"]}"#)
        XCTAssertEqual(parsed("[a: 1, b]"), #"[{"a":"1"},"b"]"#)
        XCTAssertEqual(parsed("{a, b: , c: d}"), #"{"a":"","b":"","c":"d"}"#)
        XCTAssertEqual(parsed("[http://x:9090, a:b, 'q''s']"), #"["http://x:9090","a:b","q's"]"#)
        // Flow lines need not be indented past their key, as go-yaml reads them.
        XCTAssertEqual(parsed("labels: {a: b,\nteam: ops}\nnext: 1\n"), #"{"labels":{"a":"b","team":"ops"},"next":"1"}"#)

        let document = try YAML.parse("k: [a, {b: c}]\n")
        XCTAssertEqual(document["k"]?.position, position(1, 4))
        XCTAssertEqual(document["k"]?.sequence?[1].position, position(1, 8))
        XCTAssertEqual(document["k"]?.sequence?[1].mapping?[0].keyPosition, position(1, 9))
        XCTAssertEqual(document["k"]?.sequence?[1]["b"]?.position, position(1, 12))
    }

    // MARK: Comments, line ends, markers

    func testComments() {
        let text = """
            # leading comment
            a: 1 # trailing
              # indented comment line
            b:   # comment instead of a value
              - x # on an item
            # between
              - y
            c: "# in quotes" # after quotes
            d: 'x' #
            e: a#b
            """
        XCTAssertEqual(parsed(text), ##"{"a":"1","b":["x","y"],"c":"# in quotes","d":"x","e":"a#b"}"##)
    }

    func testCRLFAndByteOrderMark() throws {
        let document = try YAML.parse("\u{FEFF}a: 1\r\nb: |\r\n  x\r\n  y\r\nc: 'p\r\n  q'\r\n")
        XCTAssertEqual(render(document), #"{"a":"1","b":"x\ny\n","c":"p q"}"#)
        XCTAssertEqual(document.mapping?[0].keyPosition, position(1, 1), "the BOM is not counted")
        XCTAssertEqual(document["a"]?.position, position(1, 4))
        XCTAssertEqual(document["c"]?.position, position(5, 4))
    }

    func testDocumentMarkers() throws {
        XCTAssertEqual(parsed("---\na: 1\n"), #"{"a":"1"}"#)
        XCTAssertEqual(parsed("# header\n--- # start\na: 1\n...\n# trailer\n"), #"{"a":"1"}"#)
        let document = try YAML.parse("---\nkey: value\n")
        XCTAssertEqual(document["key"]?.position, position(2, 6))
        XCTAssertEqual(parsed("a: '---'\nb: ...x\n"), #"{"a":"---","b":"...x"}"#)
    }

    // MARK: Rejections

    func testRejections() {
        let cases: [(String, String, YAMLPosition)] = [
            ("groups:\n- name: a\n  rules:\n  - record: x\n    expr: up\n    expr: down\n",
             #"duplicate key "expr" (first at 5:5)"#, position(6, 5)),
            ("a: {x: 1, x: 2}", #"duplicate key "x" (first at 1:5)"#, position(1, 11)),
            ("'a': 1\n\"a\": 2\n", #"duplicate key "a" (first at 1:1)"#, position(2, 1)),
            ("a: &anchor 1\n", "anchors (&) are not supported", position(1, 4)),
            ("a: *anchor\n", "aliases (*) are not supported", position(1, 4)),
            ("a: !!str 1\n", "tags (!) are not supported", position(1, 4)),
            ("- !custom x\n", "tags (!) are not supported", position(1, 3)),
            ("? complex\n: key\n", "complex keys (?) are not supported", position(1, 1)),
            ("base:\n  <<: {a: 1}\n", "merge keys (<<) are not supported; write the entries out", position(2, 3)),
            ("a: {<<: x}", "merge keys (<<) are not supported; write the entries out", position(1, 5)),
            ("a: 1\n---\nb: 2\n", #"multiple documents are not supported; this "---" starts a second one"#, position(2, 1)),
            ("a: 1\n...\nb: 2\n", #"multiple documents are not supported; nothing may follow "...""#, position(3, 1)),
            ("%YAML 1.2\n---\na: 1\n", "directives (%) such as %YAML are not supported", position(1, 1)),
            ("a:\n\tb: 1\n", "tabs cannot be used for indentation; use spaces", position(2, 1)),
            ("a:\n  \tb: 1\n", "tabs cannot be used for indentation; use spaces", position(2, 3)),
            ("a:\n    b: 1\n  c: 2\n", "bad indentation: this line starts at column 3, but the keys of its mapping start at column 1", position(3, 3)),
            ("a: \"x\"\n  b: 1\n", "bad indentation: this line starts at column 3, but the keys of its mapping start at column 1", position(2, 3)),
            ("- [a]\n  - b\n", "bad indentation: this line starts at column 3, but the items of its sequence start at column 1", position(2, 3)),
            ("a: 1\n- b\n", #"expected a key at this indentation, found a sequence item ("- ")"#, position(2, 1)),
            ("- a\nb: 1\n", #"expected a sequence item ("- ") at this indentation"#, position(2, 1)),
            ("  a: 1\nb: 2\n", "bad indentation: this line starts at column 1, left of the document's first line (column 3)", position(2, 1)),
            ("labels:\n  severity: page\n  summary\n", #"expected "key: value" at this indentation"#, position(3, 3)),
            ("a: b: c\n", #"unexpected ": " in a plain value; quote the value, or start a nested mapping on its own line"#, position(1, 5)),
            ("a: x\n  b: c\n", #"unexpected ": " in a plain value; quote the value, or start a nested mapping on its own line"#, position(2, 4)),
            ("a: \"b\": c\n", #"unexpected ":"; a key must be a one-line scalar, and a nested mapping starts on its own line"#, position(1, 7)),
            ("a: - b\n", #"a sequence cannot start on the same line as its key; put "- " on the next line"#, position(1, 4)),
            (": value\n", #"a mapping key is missing before ":""#, position(1, 1)),
            ("a: 'open\nb: 1\n", "unterminated single-quoted string: no closing '", position(1, 4)),
            ("a: \"open\\\"\n", #"unterminated double-quoted string: no closing ""#, position(1, 4)),
            ("a: [1, 2\nb: 3\n", #"unterminated flow sequence: no "]" closes this "[""#, position(1, 4)),
            ("{a: 1", #"unterminated flow mapping: no "}" closes this "{""#, position(1, 1)),
            ("a: [1 2]x\n", "unexpected text after the value", position(1, 9)),
            ("a: \"x\" y\n", "unexpected text after the value", position(1, 8)),
            ("a: 'x'# c\n", ##"a comment needs a blank before "#""##, position(1, 7)),
            ("a: [1, 2 }\n", #"expected "," or "]" in a flow sequence"#, position(1, 10)),
            ("a: {b: 1 ]\n", #"expected "," or "}" in a flow mapping"#, position(1, 10)),
            ("a: {[k]: v}\n", "a mapping key must be a scalar, not a collection", position(1, 5)),
            ("a: {k\n  : v}\n", #"a key and its ":" must be on one line"#, position(2, 3)),
            ("a: [- b]\n", #"a block sequence item ("- ") cannot be used inside [] or {}"#, position(1, 5)),
            ("a: [|]\n", "block scalars (| and >) cannot be used inside [] or {}", position(1, 5)),
            ("a: \"x\\qy\"\n", #"unknown escape "\q" in a double-quoted string"#, position(1, 6)),
            ("a: \"\\u12\"\n", #""\u" needs 4 hexadecimal digits"#, position(1, 5)),
            ("a: \"\\uD800\"\n", #"escape "\uD800" is not a Unicode character"#, position(1, 5)),
            ("a: |x\n  b\n", #"a block scalar header is "|" or ">", then optionally "-" or "+" and an indentation digit 1-9"#, position(1, 5)),
            ("a: > text\n", #"text cannot follow ">" on its line; start it on the next line"#, position(1, 6)),
            ("a: b\u{0}\n", #"control character 0x00 is not allowed; write it as an escape in a double-quoted string"#, position(1, 5)),
            ("a: @x\n", #"a value cannot start with "@"; quote it"#, position(1, 4)),
            ("a: ]\n", #"unexpected "]""#, position(1, 4)),
            ("--- a: 1\n", #"content on the "---" line is not supported; start it on the next line"#, position(1, 5)),
        ]
        for (text, message, expected) in cases {
            guard let error = failure(text) else {
                XCTFail("parsed but should not: \(text.debugDescription)")
                continue
            }
            XCTAssertEqual(error.message, message, text.debugDescription)
            XCTAssertEqual(error.position, expected, text.debugDescription)
        }
    }

    func testDeepNestingIsRejected() {
        let flow = failure(String(repeating: "[", count: 10_000))
        XCTAssertEqual(flow?.message, "collections nest deeper than 200 levels")
        XCTAssertEqual(flow?.position, position(1, 201))

        let sequence = failure(String(repeating: "- ", count: 300) + "x\n")
        XCTAssertEqual(sequence?.message, "collections nest deeper than 200 levels")
        XCTAssertEqual(sequence?.position, position(1, 401))

        var mapping = ""
        for level in 0..<300 { mapping += String(repeating: " ", count: level) + "k:\n" }
        let nested = failure(mapping)
        XCTAssertEqual(nested?.message, "collections nest deeper than 200 levels")
        XCTAssertEqual(nested?.position, position(201, 201))

        // At the limit is fine.
        XCTAssertEqual(try YAML.parse(String(repeating: "[", count: 200) + String(repeating: "]", count: 200)).kind, "sequence")
        var deepest = ""
        for level in 0..<200 { deepest += String(repeating: " ", count: level) + "k:\n" }
        XCTAssertEqual(try YAML.parse(deepest).kind, "mapping")
    }

    // MARK: Fuzzing

    /// Random edits of real documents must parse or throw, never crash or hang, and errors must
    /// point inside the document.
    func testMutatedDocumentsParseOrThrow() {
        let samples = [Self.ruleFile, """
            tests:
              - input_series:
                  - series: 'up{job="x"}'
                    values: "0+0x1440 \\u00e9"
                exp_alerts: [{exp_labels: {a: "b"}}, {}]
            route: {receiver: x, routes: [a, 'b''c']}
            text: >-
              folded
              lines
            """, "- - a\n  - b: |+\n      k\n\n- c: [1,\n  2]\n...\n"]
        let inserts = Array(":-[]{}'\"|>#&*!\t\n".utf8)
        var random = SeededRandom(seed: 42)
        var parsedCount = 0
        var rejectedCount = 0
        for round in 0..<20_000 {
            var bytes = Array(samples[round % samples.count].utf8)
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let index = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<4, using: &random) {
                case 0 where !bytes.isEmpty: bytes[index] = UInt8.random(in: 0...255, using: &random)
                case 1 where !bytes.isEmpty: bytes.remove(at: index)
                default: bytes.insert(inserts[Int.random(in: 0..<inserts.count, using: &random)], at: index)
                }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            do throws(YAMLError) {
                _ = try YAML.parse(text)
                parsedCount += 1
            } catch {
                rejectedCount += 1
                // CR, LF and CRLF all end lines, so this is an upper bound on the line count.
                var lineEnds = 0
                for byte in bytes where byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") { lineEnds += 1 }
                if error.position.line < 1 || error.position.line > lineEnds + 1 || error.position.column < 1 || error.message.isEmpty {
                    XCTFail("bad error \(error.position) \(error.message) for \(text.debugDescription)")
                }
            }
        }
        XCTAssertEqual(parsedCount + rejectedCount, 20_000)
        XCTAssertGreaterThan(parsedCount, 1_000)
        XCTAssertGreaterThan(rejectedCount, 1_000)
    }
}
