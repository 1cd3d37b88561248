import XCTest
@testable import MetricLine

/// PromQL's regular expressions: RE2 syntax, matched against the whole string.
final class RegexTests: XCTestCase {
    private func check(_ pattern: String, matches: [String], rejects: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let regex = try Regex(pattern)
        for text in matches { XCTAssertTrue(regex.matches(text), "\(pattern) should match \(text.debugDescription)", file: file, line: line) }
        for text in rejects { XCTAssertFalse(regex.matches(text), "\(pattern) should not match \(text.debugDescription)", file: file, line: line) }
    }

    func testWholeStringMatching() throws {
        try check("api", matches: ["api"], rejects: ["apis", "xapi", ""])
        try check("5..", matches: ["500", "503"], rejects: ["50", "5000", "404"])
        try check("", matches: [""], rejects: ["a"])
        try check(".*", matches: ["", "anything", "new\nline"], rejects: [])
        try check("^foo$", matches: ["foo"], rejects: ["foox"])
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
        try check("(ab)+", matches: ["ab", "abab"], rejects: ["aba", ""])
        try check("(?:dev|prod)-[0-9]+", matches: ["dev-1", "prod-42"], rejects: ["test-1", "dev-"])
        try check("a.*?b", matches: ["ab", "axxb"], rejects: ["a"])
    }

    func testClassesAndEscapes() throws {
        try check("[a-c]+", matches: ["abcabc"], rejects: ["abd"])
        try check("[^0-9]+", matches: ["abc"], rejects: ["a1"])
        try check("[]a]", matches: ["]", "a"], rejects: ["b"])
        try check("[a-]", matches: ["a", "-"], rejects: ["b"])
        try check("\\d+\\.\\d+", matches: ["1.5", "10.25"], rejects: ["1x5", "1."])
        try check("\\w+\\s\\S", matches: ["ab_1 x"], rejects: ["ab  "])
        try check("[[:alpha:]]+[[:digit:]]", matches: ["abc1"], rejects: ["abc"])
        try check("/api/v1/.*", matches: ["/api/v1/query", "/api/v1/"], rejects: ["/api/v2/query"])
        try check("日本.", matches: ["日本語"], rejects: ["日本"])
    }

    func testCaseInsensitiveFlag() throws {
        try check("(?i)error", matches: ["error", "ERROR", "Error"], rejects: ["err"])
        try check("(?i:a)b", matches: ["ab", "Ab"], rejects: ["AB"])
        try check("(?i)[a-c]x", matches: ["Bx", "bX"], rejects: ["dx"])
    }

    func testSyntaxErrorsHaveAPosition() {
        for (pattern, position) in [("a(b", 4), ("a)b", 2), ("*a", 1), ("a**", 3), ("[a", 3), ("a\\", 3), ("(?Q)", 3), ("[z-a]", 5)] {
            XCTAssertThrowsError(try Regex(pattern), pattern) { error in
                XCTAssertEqual((error as? Regex.SyntaxError)?.position, position, "\(pattern): \((error as? Regex.SyntaxError)?.message ?? "")")
            }
        }
        XCTAssertThrowsError(try Regex("((a{1000}){1000})"))
    }

    func testCapturesPreferTheFirstAlternativeAsRE2Does() throws {
        XCTAssertEqual(try Regex("(a+)(a*)").captures("aaa"), ["aaa", "aaa", ""])
        XCTAssertEqual(try Regex("(a|ab)(c|bcd)?(d*)").captures("abcd"), ["abcd", "a", "bcd", ""])
        XCTAssertEqual(try Regex("(?P<host>[^:]+):(?P<port>\\d+)").captures("web:9100"), ["web:9100", "web", "9100"])
        XCTAssertEqual(try Regex("(?P<host>[^:]+):(?P<port>\\d+)").groupNames, ["host": 1, "port": 2])
        XCTAssertEqual(try Regex("(x)?y").captures("y"), ["y", nil])
        XCTAssertNil(try Regex("a(b)").captures("ac"))
        XCTAssertEqual(Evaluator.expand("$1-${2}x $host $$ $9", groups: ["a:1", "a", "1"], names: ["host": 1]), "a-1x a $ ")
    }

    func testMatchingTimeIsLinear() throws {
        // The classic backtracking killer: (a+)+b against a long run of a's.
        let regex = try Regex("(a+)+b")
        XCTAssertFalse(regex.matches(String(repeating: "a", count: 5_000)))
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
        }
    }
}
