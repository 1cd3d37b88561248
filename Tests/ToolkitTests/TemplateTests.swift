import XCTest
@testable import MetricLine

/// Alerting-rule templates behave as Prometheus's (Go's text/template plus Prometheus's functions):
/// most expected strings come from Prometheus's template_test.go and its documentation.
final class TemplateTests: XCTestCase {
    private let instanceA = TemplateSample(labels: ["__name__": "metric", "instance": "a"], value: 11)
    private let instanceB = TemplateSample(labels: ["__name__": "metric", "instance": "b"], value: 21)

    /// Data with external labels and URL set, and `query` answering `samples` (or failing for "fail").
    private func data(value: Double = 0, labels: [String: String] = [:], samples: [TemplateSample] = []) -> TemplateData {
        var data = TemplateData()
        data.labels = labels
        data.value = value
        data.externalLabels = ["cluster": "eu-1"]
        data.externalURL = "http://testhost:9090/path/prefix"
        data.query = { (expression: String) throws(TemplateError) -> [TemplateSample] in
            if expression == "fail" { throw TemplateError("query failed") }
            return samples
        }
        return data
    }

    private func assertRenders(_ text: String, _ expected: String, data given: TemplateData? = nil,
                               file: StaticString = #filePath, line: UInt = #line) {
        do {
            let output = try Template(text, name: "test").render(given ?? data())
            XCTAssertEqual(output, expected, text, file: file, line: line)
        } catch {
            XCTFail("\(text): \(error.message)", file: file, line: line)
        }
    }

    private func assertFails(_ text: String, _ expected: String, data given: TemplateData? = nil,
                             file: StaticString = #filePath, line: UInt = #line) {
        do {
            let output = try Template(text, name: "test").render(given ?? data())
            XCTFail("\(text) rendered \(output.debugDescription)", file: file, line: line)
        } catch {
            XCTAssertEqual(error.message, expected, text, file: file, line: line)
        }
    }

    // MARK: Alerting rules

    func testAlertExamples() {
        let labels = ["instance": "host:9100", "job": "node", "instance_name": "db1"]
        assertRenders("Instance {{ $labels.instance }} down", "Instance host:9100 down", data: data(labels: labels))
        assertRenders("{{ .Labels.job }} {{ $labels.instance_name }} [{{ $labels.missing }}]", "node db1 []", data: data(labels: labels))
        assertRenders("{{ $value | humanize }}", "1.235M", data: data(value: 1_234_567))
        assertRenders("{{ printf \"%.2f\" $value }}", "3.14", data: data(value: 3.14159))
        assertRenders("{{ humanizePercentage $value }}", "12.34%", data: data(value: 0.1234))
        assertRenders("{{ if gt $value 80.0 }}high{{ else }}ok{{ end }}", "high", data: data(value: 81))
        assertRenders("{{ if gt $value 80.0 }}high{{ else }}ok{{ end }}", "ok", data: data(value: 79))
        assertRenders("{{ range $k, $v := $labels }}{{ $k }}={{ $v }} {{ end }}", "instance=host:9100 instance_name=db1 job=node ",
                      data: data(labels: labels))
        assertRenders("{{ $externalLabels.cluster }} {{ .ExternalLabels.cluster }}", "eu-1 eu-1")
        assertRenders("{{ $externalURL }} {{ externalURL }} {{ pathPrefix }}",
                      "http://testhost:9090/path/prefix http://testhost:9090/path/prefix /path/prefix")
        assertRenders("{{ with query \"up\" }}{{ . | first | value }}{{ end }}", "42",
                      data: data(samples: [TemplateSample(labels: ["job": "x"], value: 42)]))
        assertRenders("{{ with query \"up\" }}{{ . | first | value }}{{ else }}no data{{ end }}", "no data")
    }

    func testUndefinedVariableFailsAtCompileTime() {
        XCTAssertThrowsError(try Template("{{ $label.foo }}", name: "__alert_InstanceDown")) { error in
            XCTAssertEqual((error as? TemplateError)?.message, "template: __alert_InstanceDown:1: undefined variable \"$label\"")
        }
        XCTAssertThrowsError(try Template("first line\n{{ $label.foo }}", name: "x")) { error in
            XCTAssertEqual((error as? TemplateError)?.message, "template: x:2: undefined variable \"$label\"")
        }
    }

    func testTrimMarkersAndComments() {
        assertRenders("a  {{- 1 -}}  b", "a1b")
        assertRenders("a\n\t{{- /* note */ -}}\n b", "ab")
        assertRenders("a {{/* note */}} b", "a  b")
        assertRenders("{{-3}}", "-3")
        assertFails("{{/* note */ }}", "template: test:1: comment ends before closing delimiter")
        assertFails("{{/* note", "template: test:1: unclosed comment")
    }

    // MARK: Printing values as Go does

    func testNumbersPrintAsGo() {
        let cases: [(Double, String)] = [
            (1_000_000, "1e+06"), (123_456, "123456"), (12_345_678, "1.2345678e+07"), (0.0001, "0.0001"), (0.00001, "1e-05"),
            (1.5, "1.5"), (0.1, "0.1"), (-0.0, "-0"), (.nan, "NaN"), (.infinity, "+Inf"), (-.infinity, "-Inf"),
        ]
        for (value, expected) in cases { assertRenders("{{ $value }}", expected, data: data(value: value)) }
        assertRenders("{{ 1 }} {{ 1.0 }} {{ 1e3 }} {{ 0x1F }} {{ 'a' }} {{ 017 }} {{ true }} {{ \"a\\tb\" }} {{ `r\\n` }}", "1 1 1000 31 97 15 true a\tb r\\n")
        assertRenders("{{ .Labels }}", "map[a:1 b:2]", data: data(labels: ["b": "2", "a": "1"]))
        assertRenders("{{ (args 1).missing }}", "<no value>")
    }

    func testPrintf() {
        assertRenders("{{ printf \"%s|%d|%f|%.2f|%g|%e|%v|%q|%x|%5.1f|%%\" \"s\" 42 1.5 3.14159 0.000012 123456.789 $value \"q\" 255 3.14159 }}",
                      "s|42|1.500000|3.14|1.2e-05|1.234568e+05|2.5|\"q\"|ff|  3.1|%", data: data(value: 2.5))
        assertRenders("{{ printf \"%d\" 1.5 }}|{{ printf \"%d\" }}|{{ printf \"%d\" 1 2 }}", "%!d(float64=1.5)|%!d(MISSING)|1%!(EXTRA int=2)")
        assertRenders("{{ printf \"%-5d|%05d|%+d|%X|%o|%c|%08.3f\" 42 -42 42 3054 8 65 -3.14159 }}", "42   |-0042|+42|BEE|10|A|-003.142")
        assertRenders("{{ printf \"%[2]d %[1]d\" 1 2 }}|{{ printf \"%*d\" 3 4 }}", "2 1|  4")
        assertRenders("{{ $value | printf \"%.1f\" }}", "2.5", data: data(value: 2.5))
        assertRenders("{{ print 1 2 \"a\" 3 }}|{{ println 1 \"a\" }}", "1 2a3|1 a\n")
    }

    // MARK: Prometheus's functions

    func testHumanize() {
        for (value, expected) in [(0.0, "0"), (1, "1"), (1_234_567, "1.235M"), (0.12, "120m"), (0.001234, "1.234m")] {
            assertRenders("{{ humanize $value }}", expected, data: data(value: value))
        }
        assertRenders("{{ humanize \"1234567.0\" }} {{ humanize -1 }} {{ humanize 9223372036854775807 }}", "1.235M -1 9.223E")
        assertRenders("{{ humanize1024 1048576.0 }} {{ humanize1024 .12 }} {{ humanize1024 1234567 }}", "1Mi 0.12 1.177Mi")
        let durations: [(Double, String)] = [
            (0, "0s"), (1, "1s"), (60, "1m 0s"), (3600, "1h 0m 0s"), (86400, "1d 0h 0m 0s"), (90061, "1d 1h 1m 1s"),
            (-183_845, "-2d 3h 4m 5s"), (899.99, "14m 59s"), (0.25, "250ms"), (0.0001, "100us"), (0.12345, "123.5ms"), (1.2345, "1.234s"),
        ]
        for (value, expected) in durations { assertRenders("{{ humanizeDuration $value }}", expected, data: data(value: value)) }
        assertRenders("{{ -0.22222 | humanizePercentage }} {{ 0.1234567 | humanizePercentage }} {{ humanizePercentage 1234567 }}",
                      "-22.22% 12.35% 1.235e+08%")
        assertRenders("{{ 1435065584.128 | humanizeTimestamp }}", "2015-06-23 13:19:44.128 +0000 UTC")
        assertRenders("{{ humanizeTimestamp \"1435065584.128\" }}", "2015-06-23 13:19:44.128 +0000 UTC")
        assertRenders("{{ humanizeTimestamp -1 }}", "1969-12-31 23:59:59 +0000 UTC")
        for value in [Double.infinity, -.infinity, .nan] {
            let text = value.isNaN ? "NaN" : value > 0 ? "+Inf" : "-Inf"
            assertRenders("{{ humanize $value }}:{{ humanize1024 $value }}:{{ humanizeDuration $value }}:{{ humanizeTimestamp $value }}",
                          "\(text):\(text):\(text):\(text)", data: data(value: value))
        }
        assertFails("{{ humanize \"one\" }}",
                    "template: test:1:3: executing \"test\" at <humanize \"one\">: error calling humanize: strconv.ParseFloat: parsing \"one\": invalid syntax")
    }

    func testTimes() {
        assertRenders("{{ (1435065584.128 | toTime).Format \"2006\" }}", "2015")
        assertRenders("{{ 1435065584.128 | toTime }}", "2015-06-23 13:19:44.128 +0000 UTC")
        assertRenders("{{ (1435065584.128 | toTime).Format \"Mon Jan _2 15:04:05.000 MST\" }}", "Tue Jun 23 13:19:44.128 UTC")
        assertRenders("{{ printf \"%0.2f\" (parseDuration \"1h2m10ms\") }}", "3720.01")
    }

    func testQueryFunctions() {
        let both = data(samples: [instanceB, instanceA])
        assertRenders("{{ query \"metric\" | first | label \"instance\" }}", "b", data: both)
        assertRenders("{{ query \"metric\" | first | label \"foo\" }}", "", data: both)
        assertRenders("{{ $x := query \"metric\" | first }}{{ $x.Labels.foo }}", "", data: both)
        assertRenders("{{ range query \"metric\" | sortByLabel \"instance\" }}{{ .Labels.instance }}:{{ .Value }}: {{ end }}", "a:11: b:21: ", data: both)
        assertRenders("{{ query \"x\" | first | strvalue }}", "v", data: data(samples: [TemplateSample(labels: ["__value__": "v"], value: 1)]))
        assertRenders("{{ range $i, $s := query \"x\" }}{{ $i }}{{ $s.Labels.instance }}{{ end }}", "0b1a", data: both)
        assertFails("{{ query \"missing\" | first }}",
                    "template: test:1:21: executing \"test\" at <first>: error calling first: first() called on vector with no elements")
        assertFails("{{ query \"fail\" }}", "template: test:1:3: executing \"test\" at <query \"fail\">: error calling query: query failed")
        var noQuery = data()
        noQuery.query = nil
        assertFails("{{ query \"up\" }}", "template: test:1:3: executing \"test\" at <query \"up\">: error calling query: query is not available",
                    data: noQuery)
    }

    func testStringFunctions() {
        assertRenders("{{ \"aa bb CC\" | title }}|{{ \"aa bb CC\" | toUpper }}|{{ \"aA bB CC\" | toLower }}", "Aa Bb CC|AA BB CC|aa bb cc")
        assertRenders("{{ graphLink \"up\" }} {{ tableLink \"rate(x[5m])\" }}", "/graph?g0.expr=up&g0.tab=0 /graph?g0.expr=rate%28x%5B5m%5D%29&g0.tab=1")
        assertRenders("{{ \"<b>\" | safeHtml }} {{ html \"<a href='x'>\" }} {{ js \"it's\" }} {{ urlquery \"a b&c\" }}",
                      "<b> &lt;a href=&#39;x&#39;&gt; it\\'s a+b%26c")
        let hosts: [(String, String, String)] = [
            ("foo.example.com", "foo.example.com", "foo"), ("foo.example.com:12345", "foo.example.com", "foo:12345"),
            ("192.0.2.1", "192.0.2.1", "192.0.2.1"), ("192.0.2.1:12345", "192.0.2.1", "192.0.2.1:12345"),
            ("2001:0DB8::1", "2001:0DB8::1", "2001:0DB8::1"), ("[2001:0DB8::1]:12345", "2001:0DB8::1", "[2001:0DB8::1]:12345"),
            ("[2001:0DB8::1]::12345", "[2001:0DB8::1]::12345", "[2001:0DB8::1]::12345"),
        ]
        for (host, withoutPort, withoutDomain) in hosts {
            assertRenders("{{ \"\(host)\" | stripPort }}", withoutPort)
            assertRenders("{{ \"\(host)\" | stripDomain }}", withoutDomain)
        }
        assertRenders("{{ define \"x\" }}{{ .arg0 }} {{ .arg1 }}{{ end }}{{ template \"x\" (args 1 \"2\") }}", "1 2")
    }

    func testRegularExpressions() {
        assertRenders("{{ match \"a+\" \"aa\" }} {{ match \"a+\" \"b\" }} {{ match \"^prod\" \"xprod\" }} {{ match \"(?m)^b$\" \"a\\nb\" }}",
                      "true false false true")
        assertRenders("{{ reReplaceAll \"(a)b\" \"x$1\" \"ab\" }}", "xa")
        assertRenders("{{ reReplaceAll \"^(.*):[0-9]+$\" \"$1\" $labels.instance }}", "host", data: data(labels: ["instance": "host:9100"]))
        assertRenders("{{ reReplaceAll \"a*\" \"-\" \"baaac\" }}", "-b-c-")
        assertRenders("{{ reReplaceAll \"(?P<first>\\\\w+) (?P<last>\\\\w+)\" \"${last} $first $$\" \"John Smith\" }}", "Smith John $")
        assertRenders("{{ reReplaceAll \"(.*?)(\\\\d*)$\" \"$1|$2\" \"ab12\" }} {{ reReplaceAll \"(a)\" \"$1x ${1}x\" \"a\" }}", "ab|12  ax")
        assertRenders("{{ match \"\\\\bfoo\\\\b\" \"a foo\" }} {{ match \"\\\\bfoo\\\\b\" \"afoo\" }}", "true false")
        assertFails("{{ match \"(\" \"a\" }}",
                    "template: test:1:3: executing \"test\" at <match \"(\" \"a\">: error calling match: error parsing regexp: missing closing ): `(`")
    }

    // MARK: Go's language and built-ins

    func testControlStructures() {
        assertRenders("{{ if eq 1 2 }}a{{ else if eq 1 1 }}b{{ else }}c{{ end }}", "b")
        assertRenders("{{ with 0 }}x{{ else with 2 }}{{ . }}{{ end }}", "2")
        assertRenders("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", "2")
        assertRenders("{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ $x }}{{ end }}{{ $x }}", "21")
        assertRenders("{{ range query \"x\" }}x{{ else }}empty{{ end }}", "empty")
        assertRenders("{{ range $i, $s := query \"x\" }}{{ if eq $i 1 }}{{ break }}{{ end }}{{ $s.Value }}{{ end }}", "11",
                      data: data(samples: [instanceA, instanceB, instanceA]))
        assertRenders("{{ range $i, $s := query \"x\" }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ $s.Value }}{{ end }}", "1111",
                      data: data(samples: [instanceA, instanceB, instanceA]))
        assertRenders("{{ range 3 }}{{ . }}{{ end }}", "012")
        assertRenders("{{ block \"b\" . }}[{{ .Labels.job }}]{{ end }}", "[node]", data: data(labels: ["job": "node"]))
    }

    func testBuiltins() {
        assertRenders("{{ eq 1 1 }} {{ eq 1 2 3 1 }} {{ eq \"a\" \"b\" }} {{ ne 1 2 }} {{ lt 1 2 }} {{ le 2 2 }} {{ gt \"b\" \"a\" }} {{ ge 1.5 2 }}",
                      "true true false true true true true false")
        assertRenders("{{ eq $value 3.0 }} {{ eq $value 3 }} {{ gt $value 2 }}", "true true true", data: data(value: 3))
        assertRenders("{{ and 1 0 2 }} {{ and 1 2 }} {{ or 0 \"\" }} {{ or 0 \"x\" }} {{ not 0 }}", "0 2  x true")
        assertRenders("{{ index $labels \"job\" }} {{ len $labels }} {{ len \"héllo\" }} {{ slice \"abcdef\" 1 3 }} {{ index \"abc\" 1 }}",
                      "node 1 6 bc 98", data: data(labels: ["job": "node"]))
    }

    func testCompileErrors() {
        assertFails("{{", "template: test:1: unclosed action")
        assertFails("{{ end }}", "template: test:1: unexpected {{end}}")
        assertFails("{{ if 1 }}\nx\n", "template: test:3: unexpected EOF")
        assertFails("{{ foo }}", "template: test:1: function \"foo\" not defined")
        assertFails("{{ tmpl \"a\" . }}", "template: test:1: function \"tmpl\" not defined")
        assertFails("{{ if }}{{ end }}", "template: test:1: missing value for if")
        assertFails("{{ 1 | 2 }}", "template: test:1: non executable command in pipeline stage 2")
        assertFails("{{ break }}", "template: test:1: {{break}} outside {{range}}")
        assertFails("{{ \"abc }}", "template: test:1: unterminated quoted string")
        assertFails("{{ 3x }}", "template: test:1: bad number syntax: \"3x\"")
        assertFails("{{\u{00A0}}}", "template: test:1: unrecognized character in action: U+00A0")
        assertFails("{{ if 1 }}{{ else }}{{ else }}{{ end }}", "template: test:1: expected end; found {{else}}")
    }

    func testRuntimeErrors() {
        assertFails("{{ index \"abc\" 5 }}", "template: test:1:3: executing \"test\" at <index \"abc\" 5>: error calling index: index out of range: 5")
        assertFails("{{ humanize }}", "template: test:1:3: executing \"test\" at <humanize>: wrong number of args for humanize: want 1 got 0")
        assertFails("{{ (query \"missing\").banana }}",
                    "template: test:1:10: executing \"test\" at <\"missing\">: can't evaluate field banana in type template.queryResult")
        assertFails("{{ $value | toUpper }}",
                    "template: test:1:12: executing \"test\" at <toUpper>: wrong type for value; expected string; got float64")
        assertFails("{{ lt 1 \"a\" }}", "template: test:1:3: executing \"test\" at <lt 1 \"a\">: error calling lt: incompatible types for comparison")
        assertFails("{{ nil }}", "template: test:1:3: executing \"test\" at <nil>: nil is not a command")
        assertFails("{{ template \"nope\" }}", "template: test:1:12: executing \"test\" at <{{template \"nope\"}}>: template \"nope\" not defined")
    }

    // MARK: Robustness

    func testConstantTemplates() throws {
        let constant = try Template("no actions here", name: "c")
        XCTAssertTrue(constant.isConstant)
        XCTAssertEqual(try constant.render(data()), "no actions here")
        XCTAssertFalse(try Template("{{ 1 }}", name: "c").isConstant)
    }

    func testLimits() {
        assertFails("{{ define \"r\" }}{{ template \"r\" }}{{ end }}{{ template \"r\" }}",
                    "template: test:1:28: executing \"r\" at <{{template \"r\"}}>: exceeded maximum template depth (40)")
        assertFails("{{ range 2000000 }}{{ end }}",
                    "template: test:1:9: executing \"test\" at <{{range 2000000}}>: template execution exceeds 1000000 steps")
        assertFails("{{ range 100000 }}0123456789abcdefghij{{ end }}",
                    "template: test:1:9: executing \"test\" at <{{range 100000}}>: template output exceeds 1048576 bytes")
        assertFails("{{ " + String(repeating: "(", count: 200) + "1" + String(repeating: ")", count: 200) + " }}",
                    "template: test:1: max expression depth exceeded")
        XCTAssertThrowsError(try Template(String(repeating: "{{ if 1 }}", count: 5000), name: "deep"))
    }

    /// Random mutations of realistic templates either compile or throw, and rendering either succeeds or throws.
    func testFuzz() {
        var random = SeededRandom(seed: 20_240_601)
        let seeds = [
            "Instance {{ $labels.instance }} down",
            "{{ $value | humanize }} {{ printf \"%.2f\" $value }} {{ humanizePercentage $value }}",
            "{{ if gt $value 80.0 }}high{{ else }}ok{{ end }}",
            "{{ range $k, $v := $labels }}{{ $k }}={{ $v }} {{ end }}",
            "{{ with query \"up\" }}{{ . | first | value }}{{ end }}{{/* c */}}{{- $externalLabels.cluster -}}",
            "{{ reReplaceAll \"(.*):([0-9]+)\" \"$1\" $labels.instance }} {{ match \"^db[0-9]+$\" .Labels.job }}",
            "{{ define \"x\" }}{{ . }}{{ end }}{{ template \"x\" (args 1 2) }}",
        ]
        let pieces = ["{{", "}}", "{{-", "-}}", "(", ")", "|", "$", ".", "\"", "`", "'", "$x := ", "range ", "end", "else", "if ",
                      "\n", "*", "[", "\\", "%", "printf ", "1e9", "-", "/*", "*/", "é", "\u{0}", "{{ template \"x\" . }}", "{{ break }}"]
        let input = data(value: 3.5, labels: ["instance": "db1:9100", "job": "db12"], samples: [instanceA])
        for _ in 0..<20_000 {
            var text = Array(seeds[Int.random(in: 0..<seeds.count, using: &random)].unicodeScalars)
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let position = Int.random(in: 0...text.count, using: &random)
                switch Int.random(in: 0..<4, using: &random) {
                case 0: text.insert(contentsOf: pieces[Int.random(in: 0..<pieces.count, using: &random)].unicodeScalars, at: position)
                case 1 where position < text.count: text.remove(at: position)
                case 2: text = Array(text.prefix(position))
                default: text.insert(Unicode.Scalar(UInt8.random(in: 0x20...0x7E, using: &random)), at: position)
                }
            }
            do {
                _ = try Template(String(String.UnicodeScalarView(text)), name: "fuzz").render(input)
            } catch {
                XCTAssertTrue(error.message.hasPrefix("template: fuzz"), error.message)
            }
        }
    }
}
