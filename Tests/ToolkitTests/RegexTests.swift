import Foundation
import XCTest
@testable import MetricLine

/// Go's regular expressions: matched against the whole string for PromQL (`^(?s:pattern)$`), and
/// searched anywhere in the text for templates.
final class RegexTests: XCTestCase {
    private func check(_ pattern: String, matches: [String], rejects: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let regex = try Regex(pattern)
        for text in matches { XCTAssertTrue(regex.matches(text), "\(pattern) should match \(text.debugDescription)", file: file, line: line) }
        for text in rejects { XCTAssertFalse(regex.matches(text), "\(pattern) should not match \(text.debugDescription)", file: file, line: line) }
    }

    /// The text of the first match of a search pattern, or nil.
    private func search(_ pattern: String, _ text: String) throws -> String? {
        guard let match = try Regex(searching: pattern).firstMatch(in: text), let range = match.ranges[0] else { return nil }
        return String(text[range])
    }

    func testWholeStringMatching() throws {
        try check("api", matches: ["api"], rejects: ["apis", "xapi", ""])
        try check("5..", matches: ["500", "503"], rejects: ["50", "5000", "404"])
        try check("", matches: [""], rejects: ["a"])
        try check(".*", matches: ["", "anything", "new\nline"], rejects: [])
        try check("(?-s:.*)", matches: ["one line"], rejects: ["new\nline"])
        try check("^foo$", matches: ["foo"], rejects: ["foox"])
        // Plain text is compared scalar by scalar, not as canonically equivalent strings.
        try check("caf\u{E9}", matches: ["caf\u{E9}"], rejects: ["cafe\u{301}"])
    }

    func testOperators() throws {
        try check("a|bc|", matches: ["a", "bc", ""], rejects: ["b", "abc"])
        try check("ab*c", matches: ["ac", "abc", "abbbc"], rejects: ["a", "abd"])
        try check("ab+c", matches: ["abc", "abbc"], rejects: ["ac"])
        try check("ab?c", matches: ["ac", "abc"], rejects: ["abbc"])
        try check("a{2,3}", matches: ["aa", "aaa"], rejects: ["a", "aaaa"])
        try check("a{2}", matches: ["aa"], rejects: ["a", "aaa"])
        try check("a{2,}", matches: ["aa", "aaaaa"], rejects: ["a"])
        try check("x{a", matches: ["x{a"], rejects: ["x"])
        try check("x{01}", matches: ["x{01}"], rejects: ["x"])
        try check("(ab)+", matches: ["ab", "abab"], rejects: ["aba", ""])
        try check("(?:dev|prod)-[0-9]+", matches: ["dev-1", "prod-42"], rejects: ["test-1", "dev-"])
        try check("a.*?b", matches: ["ab", "axxb"], rejects: ["a"])
    }

    func testClassesAndEscapes() throws {
        try check("[a-c]+", matches: ["abcabc"], rejects: ["abd"])
        try check("[^0-9]+", matches: ["abc", "\n"], rejects: ["a1"])
        try check("[]a]", matches: ["]", "a"], rejects: ["b"])
        try check("[a-]", matches: ["a", "-"], rejects: ["b"])
        try check("\\d+\\.\\d+", matches: ["1.5", "10.25"], rejects: ["1x5", "1."])
        try check("\\w+\\s\\S", matches: ["ab_1 x"], rejects: ["ab  "])
        try check("[[:alpha:]]+[[:digit:]]", matches: ["abc1"], rejects: ["abc"])
        try check("[\\d\\s]+", matches: ["1 2"], rejects: ["1a"])
        try check("/api/v1/.*", matches: ["/api/v1/query", "/api/v1/"], rejects: ["/api/v2/query"])
        try check("日本.", matches: ["日本語"], rejects: ["日本"])
        try check("\\pL+\\p{Nd}", matches: ["äbc1"], rejects: ["ä_1"])
        try check("\\x41\\x{1F600}\\101\\_", matches: ["A\u{1F600}A_"], rejects: [])
        try check("\\Q.*\\E+", matches: [".*", ".**"], rejects: ["abc", ".*.*"])
    }

    func testCaseInsensitiveFlag() throws {
        try check("(?i)error", matches: ["error", "ERROR", "Error"], rejects: ["err"])
        try check("(?i:a)b", matches: ["ab", "Ab"], rejects: ["AB"])
        try check("(?i)[a-c]x", matches: ["Bx", "bX"], rejects: ["dx"])
        try check("(?i)a(?-i)b", matches: ["Ab"], rejects: ["AB"])
        try check("(?)a", matches: ["a"], rejects: [])
    }

    /// `^` and `$` in the middle of a pattern are Go's assertions (start and end of the text, or of a
    /// line with `(?m)`), not the empty string.
    func testAnchorsInsideThePattern() throws {
        try check("a$b", matches: [], rejects: ["ab", "a\nb"])
        try check("a^b", matches: [], rejects: ["ab"])
        try check("a$|^b.*", matches: ["a", "bc"], rejects: ["ab", "cb"])
        try check("(^a|b)c", matches: ["ac", "bc"], rejects: ["c"])
        try check("(?m)a$\n^b", matches: ["a\nb"], rejects: [])
        try check("a$\nb", matches: [], rejects: ["a\nb"])
        try check("\\Aa\\z", matches: ["a"], rejects: ["aa"])
        try check("a\\b.*", matches: ["a", "a b"], rejects: ["ab"])
        try check("a\\B.*", matches: ["ab"], rejects: ["a", "a b"])
    }

    /// Lazy quantifiers prefer fewer repetitions, so captures differ from the greedy ones even when
    /// the whole string matches either way.
    func testLazyQuantifiersChooseTheirCaptures() throws {
        XCTAssertEqual(try Regex("(.*?)(\\d*)").captures("ab12"), ["ab12", "ab", "12"])
        XCTAssertEqual(try Regex("(.*)(\\d*)").captures("ab12"), ["ab12", "ab12", ""])
        XCTAssertEqual(try Regex("(\\w+?)(\\d?)").captures("ab12"), ["ab12", "ab1", "2"])
        XCTAssertEqual(try Regex("(a+?)(a*)").captures("aaa"), ["aaa", "a", "aa"])
        XCTAssertEqual(try Regex("(a{2,3}?)(a*)").captures("aaaa"), ["aaaa", "aa", "aa"])
        XCTAssertEqual(try Regex("(a??)(a*)").captures("aa"), ["aa", "", "aa"])
        // (?U) swaps greedy and lazy.
        XCTAssertEqual(try Regex("(?U)(a+)(a*)").captures("aaa"), ["aaa", "a", "aa"])
        XCTAssertEqual(try Regex("(?U)(a+?)(a*)").captures("aaa"), ["aaa", "aaa", ""])
    }

    func testSyntaxErrorsNameTheProblemAndItsPosition() {
        let cases: [(String, String, Int)] = [
            ("a(b", "missing closing ): `a(b`", 2),
            ("a)b", "unexpected ): `a)b`", 2),
            ("*a", "missing argument to repetition operator: `*`", 1),
            ("a|+?", "missing argument to repetition operator: `+?`", 3),
            ("a**", "invalid nested repetition operator: `**`", 3),
            ("a{2}*?", "invalid nested repetition operator: `{2}*?`", 5),
            ("[a", "missing closing ]: `[a`", 1),
            ("a\\", "trailing backslash at end of expression: ``", 2),
            ("(?Q)", "invalid or unsupported Perl syntax: `(?Q`", 3),
            ("(?i-)", "invalid or unsupported Perl syntax: `(?i-)`", 5),
            ("[z-a]", "invalid character class range: `z-a`", 2),
            ("[[:foo:]]", "invalid character class range: `[:foo:]`", 2),
            ("\\p{Foo}", "invalid character class range: `\\p{Foo}`", 1),
            ("a\\8", "invalid escape sequence: `\\8`", 2),
            ("\\x{110000}", "invalid escape sequence: `\\x{110000`", 1),
            ("[a-\\d]", "invalid escape sequence: `\\d`", 4),
            ("(?P<x", "invalid named capture: `(?P<x`", 1),
            ("(?P<a-b>x)", "invalid named capture: `(?P<a-b>`", 1),
            ("a{1001}", "invalid repeat count: `{1001}`", 2),
            ("a{2,1}", "invalid repeat count: `{2,1}`", 2),
            // Counts nested in counts may not multiply past 1000 copies.
            ("((a{1000}){1000})", "invalid repeat count: `{1000}`", 11),
            ("(a{10}){101}", "invalid repeat count: `{101}`", 8),
        ]
        for (pattern, message, position) in cases {
            XCTAssertThrowsError(try Regex(pattern), pattern) { error in
                XCTAssertEqual((error as? Regex.SyntaxError)?.message, message, pattern)
                XCTAssertEqual((error as? Regex.SyntaxError)?.position, position, pattern)
            }
        }
        XCTAssertNoThrow(try Regex("(a{10}){100}"))
    }

    /// Patterns whose program would be huge are refused, whatever their nesting.
    func testExpressionsTooLargeAreRefused() {
        for pattern in [String(repeating: "[a-z]{1000}", count: 25), String(repeating: "(a?)", count: 2_000)] {
            XCTAssertThrowsError(try Regex(pattern)) { error in
                XCTAssertTrue((error as? Regex.SyntaxError)?.message.hasPrefix("expression too large: `") == true, "\(error)")
            }
        }
    }

    /// Nesting is limited, so no pattern can overflow the stack, and the refusal is quick.
    func testDeepNestingIsAnErrorNotACrash() throws {
        let nested = String(repeating: "(", count: 50) + "a" + String(repeating: ")", count: 50)
        XCTAssertEqual(try Regex(nested).captures("a")?.count, 51)
        let hostile = [String(repeating: "(", count: 100_000), String(repeating: "(a|", count: 10_000)]
        for pattern in hostile {
            for wholeText in [true, false] {
                let started = Date()
                XCTAssertThrowsError(try wholeText ? Regex(pattern) : Regex(searching: pattern)) { error in
                    let message = (error as? Regex.SyntaxError)?.message ?? "\(error)"
                    XCTAssertTrue(message.hasPrefix("expression nests too deeply: `("), message)
                    XCTAssertTrue(message.count < 200, "the message quotes a cut fragment")
                }
                XCTAssertLessThan(Date().timeIntervalSince(started), 1)
            }
        }
        // The 101st group is refused, or an earlier one when the stack guard stops a debug build first.
        XCTAssertThrowsError(try Regex(String(repeating: "(", count: 101) + String(repeating: ")", count: 101))) { error in
            XCTAssertEqual((error as? Regex.SyntaxError)?.message.hasPrefix("expression nests too deeply"), true)
            XCTAssertLessThanOrEqual((error as? Regex.SyntaxError)?.position ?? .max, 101)
        }
    }

    func testCapturesPreferTheFirstAlternativeAsGoDoes() throws {
        XCTAssertEqual(try Regex("(a+)(a*)").captures("aaa"), ["aaa", "aaa", ""])
        XCTAssertEqual(try Regex("(a|ab)(c|bcd)?(d*)").captures("abcd"), ["abcd", "a", "bcd", ""])
        XCTAssertEqual(try Regex("(?P<host>[^:]+):(?P<port>\\d+)").captures("web:9100"), ["web:9100", "web", "9100"])
        XCTAssertEqual(try Regex("(?P<host>[^:]+):(?<port>\\d+)").groupNames, ["host": 1, "port": 2])
        XCTAssertEqual(try Regex("(x)?y").captures("y"), ["y", nil])
        XCTAssertNil(try Regex("a(b)").captures("ac"))
    }

    /// Go's Expand: `$1x` names a group "1x" (none here), `${1}x` does not; `$$` is a dollar.
    func testExpandingReplacements() throws {
        let regex = try Regex("(?P<host>a):(1)")
        let groups = try XCTUnwrap(regex.captures("a:1"))
        XCTAssertEqual(regex.expand("$1-${2}x $host $$ $9 $1x ${host} ${ho-st} $", groups: groups), "a-1x a $   a ${ho-st} $")
        // With a repeated name, the first group of that name that took part.
        let repeated = try Regex("(?P<n>a)|(?P<n>b)")
        XCTAssertEqual(repeated.groupNames, ["n": 1])
        XCTAssertEqual(repeated.expand("[$n]", groups: try XCTUnwrap(repeated.captures("b"))), "[b]")
    }

    func testMatchingTimeIsLinear() throws {
        // The classic backtracking killer: (a+)+b against a long run of a's.
        let regex = try Regex("(a+)+b")
        XCTAssertFalse(regex.matches(String(repeating: "a", count: 5_000)))
        XCTAssertNil(regex.captures(String(repeating: "a", count: 5_000)))
    }

    /// Searching, as templates do: leftmost-first, `.` not matching a newline unless `(?s)`.
    func testSearchingAnywhereAsGoDoes() throws {
        XCTAssertEqual(try search("b+", "abbbc"), "bbb")
        XCTAssertEqual(try search("b+?", "abbbc"), "b")
        XCTAssertEqual(try search("a|ab", "xab"), "a")
        XCTAssertEqual(try search("^prod", "xprod"), nil)
        XCTAssertEqual(try search("(?m)^b$", "a\nb"), "b")
        XCTAssertEqual(try search("a.c", "a\nc abc"), "abc")
        XCTAssertEqual(try search("(?s)a.c", "a\nc abc"), "a\nc")
        XCTAssertEqual(try search("\\bfoo\\b", "afoo foo"), "foo")
        XCTAssertEqual(try search("\\pL+", "12äb3"), "äb")
        XCTAssertEqual(try search("\\Qab\\E+", "abbb"), "abbb")
        XCTAssertTrue(try Regex(searching: "o\\b").matches("foo bar"))
        XCTAssertFalse(try Regex(searching: "x").matches("foo bar"))
        let text = "host=web:9100"
        let match = try XCTUnwrap(try Regex(searching: "(\\w+):(\\d+)|(none)").firstMatch(in: text))
        XCTAssertEqual(match.ranges.map { $0.map { String(text[$0]) } }, ["web:9100", "web", "9100", nil])
    }

    func testReplacingAllAsGoDoes() throws {
        XCTAssertEqual(try Regex(searching: "a*").replacingAll(in: "baaac", with: "-"), "-b-c-")
        XCTAssertEqual(try Regex(searching: "(a)b").replacingAll(in: "abab", with: "x$1"), "xaxa")
        XCTAssertEqual(try Regex(searching: "(a)").replacingAll(in: "a", with: "$1x"), "")
        XCTAssertEqual(try Regex(searching: "(a)").replacingAll(in: "a", with: "${1}x"), "ax")
        XCTAssertEqual(try Regex(searching: "\\b").replacingAll(in: "ab cd", with: "|"), "|ab| |cd|")
        XCTAssertEqual(try Regex(searching: "(?P<first>\\w+) (?P<last>\\w+)").replacingAll(in: "John Smith", with: "${last} $first $$"), "Smith John $")
    }

    func testSearchesCanBeGivenAStepLimit() throws {
        let regex = try Regex(searching: "(a|aa)*b")
        let text = String(repeating: "a", count: 100_000)
        XCTAssertThrowsError(try regex.matches(text, stepLimit: 10_000)) { XCTAssertTrue($0 is Regex.StepLimitExceeded) }
        XCTAssertThrowsError(try regex.replacingAll(in: text, with: "", stepLimit: 10_000))
        XCTAssertFalse(try regex.matches("aaa", stepLimit: 10_000))
    }

    func testSelectorsUseThem() throws {
        let matchers = try SelectorParser.parse(#"http_requests_total{code=~"5..",handler!~"/-/.*"}"#)
        XCTAssertEqual(matchers.count, 3)
        let key = ExpositionParser.SeriesKey(name: "http_requests_total", labels: [Label("code", "503"), Label("handler", "/api")])
        XCTAssertTrue(matchers.allSatisfy { $0.matches(key) })
        let health = ExpositionParser.SeriesKey(name: "http_requests_total", labels: [Label("code", "503"), Label("handler", "/-/healthy")])
        XCTAssertFalse(matchers.allSatisfy { $0.matches(health) })
        XCTAssertThrowsError(try SelectorParser.parse(#"up{job=~"a("}"#)) { error in
            XCTAssertEqual((error as? LineError)?.column, 9)
            XCTAssertEqual((error as? LineError)?.reason, "bad regular expression: missing closing ): `a(` at position 2")
        }
    }

    /// A selector with a hostile pattern is a parse error, quickly, in PromQL and in `--match`.
    func testHostileSelectorsAreRefusedQuickly() {
        for pattern in [String(repeating: "(", count: 100_000), String(repeating: "(a|", count: 10_000)] {
            let started = Date()
            XCTAssertThrowsError(try Parser.parse("up{job=~\"" + pattern + "\"}")) { error in
                XCTAssertTrue((error as? QueryError)?.message.hasPrefix("invalid regular expression: expression nests too deeply") == true, "\(error)")
                XCTAssertEqual((error as? QueryError)?.offset, 8)
            }
            XCTAssertThrowsError(try SelectorParser.parse("up{job!~\"" + pattern + "\"}")) { error in
                XCTAssertTrue((error as? LineError)?.reason.hasPrefix("bad regular expression: expression nests too deeply") == true, "\(error)")
            }
            XCTAssertLessThan(Date().timeIntervalSince(started), 1)
        }
    }
}
