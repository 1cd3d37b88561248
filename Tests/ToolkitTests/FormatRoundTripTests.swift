import XCTest
@testable import MetricLine

/// Every format reads back what it writes, wherever it can carry the data.
final class FormatRoundTripTests: XCTestCase {
    /// Writes `samples` in `format` and reads them back; returns what came back and how many were left out.
    private func roundTrip(_ samples: [Sample], _ format: SampleFormat) throws -> (back: [Sample], leftOut: Int) {
        var encoder = format.makeEncoder()
        var output: [UInt8] = []
        var leftOut = 0
        encoder.start(into: &output)
        for sample in samples where !encoder.encode(.sample(sample), into: &output) { leftOut += 1 }
        encoder.end(into: &output)
        var decoder = format.makeDecoder()
        let records = try decoder.decodeAll(String(decoding: output, as: UTF8.self))
        let back = records.compactMap { record -> Sample? in
            if case .sample(let sample) = record { return sample }
            return nil
        }
        return (back, leftOut)
    }

    private func check(_ format: SampleFormat, nameStyle: RandomSamples.NameStyle, valueStyle: RandomSamples.ValueStyle = .any,
                       seed: UInt64, canCarry: (Sample) -> Bool, file: StaticString = #filePath, line: UInt = #line) throws {
        var random = SeededRandom(seed: seed)
        let samples = (0..<5_000).map { _ in RandomSamples.sample(&random, nameStyle: nameStyle, valueStyle: valueStyle) }
        let carried = samples.filter(canCarry)
        let (back, leftOut) = try roundTrip(samples, format)
        XCTAssertEqual(leftOut, samples.count - carried.count, "left out", file: file, line: line)
        XCTAssertEqual(back.count, carried.count, file: file, line: line)
        for (sent, received) in zip(carried, back) where sent != received {
            XCTFail("\(format): sent \(ExpositionWriter.line(sent)) got \(ExpositionWriter.line(received))", file: file, line: line)
            return
        }
        XCTAssertGreaterThan(carried.count, 1_000, "the test should exercise the format", file: file, line: line)
    }

    func testPrometheusText() throws {
        try check(.prometheus, nameStyle: .any, seed: 10) { _ in true }
    }

    func testJSONLines() throws {
        try check(.jsonLines, nameStyle: .any, seed: 11) { !$0.isStale }
    }

    func testCSV() throws {
        try check(.csv, nameStyle: .any, seed: 12) { !$0.name.contains("\n") }
    }

    func testOpenMetrics() throws {
        try check(.openMetrics, nameStyle: .legacy, seed: 13) { !$0.isStale }
    }

    func testInflux() throws {
        try check(.influx, nameStyle: .legacy, seed: 14) { sample in
            sample.value.isFinite && !sample.labels.contains { $0.value.contains("\n") }
        }
    }

    func testGraphite() throws {
        var random = SeededRandom(seed: 15)
        // Graphite always carries a time; give every sample one so the comparison is exact.
        let samples = (0..<5_000).map { _ -> Sample in
            var sample = RandomSamples.sample(&random, nameStyle: .legacy)
            sample.timestamp = sample.timestamp ?? 1_700_000_000_123
            return sample
        }
        let carried = samples.filter { sample in
            !sample.value.isNaN && sample.labels.allSatisfy { label in
                !label.value.contains(where: { ";~ \t\n".contains($0) })
            }
        }
        let (back, leftOut) = try roundTrip(samples, .graphite)
        XCTAssertEqual(leftOut, samples.count - carried.count)
        XCTAssertEqual(back, carried)
        XCTAssertGreaterThan(carried.count, 500)
    }

    func testConvertingBetweenFormatsKeepsTheSamples() throws {
        var random = SeededRandom(seed: 16)
        let samples = (0..<2_000).map { _ in
            RandomSamples.sample(&random, nameStyle: .legacy, valueStyle: .finite)
        }.filter { !$0.labels.contains { $0.value.contains("\n") } }
        // prom -> jsonl -> csv -> influx -> openmetrics -> prom
        var records = samples.map { ExpositionLine.sample($0) }
        for format in [SampleFormat.jsonLines, .csv, .influx, .openMetrics, .prometheus] {
            var encoder = format.makeEncoder()
            let text = encoder.encodeAll(records)
            var decoder = format.makeDecoder()
            records = try decoder.decodeAll(text)
        }
        XCTAssertEqual(records, samples.map { .sample($0) })
    }

    func testReadsForeignSpellings() throws {
        var influx = InfluxDecoder()
        XCTAssertEqual(try influx.decodeAll(#"cpu,host=web\ 01,region=eu usage_user=12.5,usage_system=3i,up=true,note="a, b=c" 1712345678000000000"#), [
            .sample(Sample(name: "cpu_usage_user", labels: [Label("host", "web 01"), Label("region", "eu")], value: 12.5, timestamp: 1_712_345_678_000)),
            .sample(Sample(name: "cpu_usage_system", labels: [Label("host", "web 01"), Label("region", "eu")], value: 3, timestamp: 1_712_345_678_000)),
            .sample(Sample(name: "cpu_up", labels: [Label("host", "web 01"), Label("region", "eu")], value: 1, timestamp: 1_712_345_678_000)),
        ])
        var graphite = GraphiteDecoder()
        XCTAssertEqual(try graphite.decodeAll("servers.web01.load1 0.42 1712345678\nload;host=a;dc=x 1 1712345678.5"), [
            .sample(Sample(name: "servers_web01_load1", value: 0.42, timestamp: 1_712_345_678_000)),
            .sample(Sample(name: "load", labels: [Label("dc", "x"), Label("host", "a")], value: 1, timestamp: 1_712_345_678_500)),
        ])
        var openMetrics = OpenMetricsDecoder()
        XCTAssertEqual(try openMetrics.decodeAll("""
            # TYPE mq_jobs counter
            # HELP mq_jobs Jobs "processed".
            mq_jobs_total{queue="default"} 1027 1520879607.789
            mq_latency_seconds_bucket{le="1.0"} 30 # {trace_id="7f3a"} 0.42
            # EOF
            """), [
            .type(metric: "mq_jobs", type: .counter),
            .help(metric: "mq_jobs", text: #"Jobs "processed"."#),
            .sample(Sample(name: "mq_jobs_total", labels: [Label("queue", "default")], value: 1027, timestamp: 1_520_879_607_789)),
            .sample(Sample(name: "mq_latency_seconds_bucket", labels: [Label("le", "1.0")], value: 30)),
        ])
        var truncated = OpenMetricsDecoder()
        XCTAssertThrowsError(try truncated.decodeAll("up 1\n"))
        var afterEnd = OpenMetricsDecoder()
        XCTAssertThrowsError(try afterEnd.decodeAll("# EOF\nup 1\n"))
        var json = JSONLinesDecoder()
        XCTAssertEqual(try json.decodeAll(#"{"metric":{"__name__":"up","job":"node"},"values":[1,"NaN"],"timestamps":[1000,2000]}"#).count, 2)
        // VictoriaMetrics' own spelling of non-finite values: bare words.
        let bare = try json.decodeAll(#"{"metric":{"__name__":"up"},"values":[+Inf,-Inf,NaN],"timestamps":[1,2,3]}"#)
        XCTAssertEqual(bare.compactMap { if case .sample(let s) = $0 { return ExpositionWriter.line(s) } else { return nil } },
                       ["up +Inf 1", "up -Inf 2", "up NaN 3"])
        XCTAssertEqual(try json.decodeAll(#"{"metric":{"__name__":"up"},"values":[nan,-inf,+NaN,INF],"timestamps":[1,2,3,4]}"#)
            .compactMap { if case .sample(let s) = $0 { return ExpositionWriter.line(s) } else { return nil } },
                       ["up NaN 1", "up -Inf 2", "up NaN 3", "up +Inf 4"], "any case, any sign, as VictoriaMetrics reads them")
        for wrong in ["[Infinity]", "[NaNx]", "[-nan1]", "[in]"] {
            XCTAssertThrowsError(try Array(wrong.utf8).withUnsafeBufferPointer { bytes throws(LineError) in try JSONParser.parse(bytes, specialNumbers: true) }, wrong)
        }
        XCTAssertThrowsError(try Array("[NaN]".utf8).withUnsafeBufferPointer { bytes throws(LineError) in try JSONParser.parse(bytes) }, "plain JSON has no such words")
        var csv = CSVDecoder()
        XCTAssertEqual(try csv.decodeAll("name,labels,value,timestamp\nup,\"job=\"\"a\"\"\",1,5\n"),
                       [.sample(Sample(name: "up", labels: [Label("job", "a")], value: 1, timestamp: 5))])
    }

    func testWritesWhatPeersExpect() {
        let sample = Sample(name: "http_requests_total", labels: [Label("code", "200"), Label("path", "/a b")], value: 1027, timestamp: 1_712_345_678_900)
        func text(_ format: SampleFormat) -> String {
            var encoder = format.makeEncoder()
            return encoder.encodeAll([.type(metric: "http_requests_total", type: .counter), .sample(sample)])
        }
        XCTAssertEqual(text(.prometheus), "# TYPE http_requests_total counter\n" + #"http_requests_total{code="200",path="/a b"} 1027 1712345678900"# + "\n")
        XCTAssertEqual(text(.openMetrics), "# TYPE http_requests counter\n" + #"http_requests_total{code="200",path="/a b"} 1027 1712345678.9"# + "\n# EOF\n")
        XCTAssertEqual(text(.influx), #"http_requests_total,code=200,path=/a\ b value=1027 1712345678900000000"# + "\n")
        XCTAssertEqual(text(.graphite), "", "a blank in a label value cannot be carried")
        XCTAssertEqual(text(.jsonLines), #"{"metric":{"__name__":"http_requests_total","code":"200","path":"/a b"},"values":[1027],"timestamps":[1712345678900]}"# + "\n")
        XCTAssertEqual(text(.csv), "name,labels,value,timestamp\n" + #"http_requests_total,"code=""200"",path=""/a b""",1027,1712345678900"# + "\n")
        // HELP and TYPE name the same family: a counter's without `_total`; a HELP with no TYPE
        // after it, or at the end, keeps its name.
        var encoder = SampleFormat.openMetrics.makeEncoder()
        XCTAssertEqual(encoder.encodeAll([.help(metric: "jobs_total", text: "Jobs \"done\"."), .type(metric: "jobs_total", type: .counter),
                                          .sample(Sample(name: "jobs_total", value: 3)), .help(metric: "g", text: "A gauge."),
                                          .sample(Sample(name: "g", value: 1)), .help(metric: "last", text: "The end.")]),
                       "# HELP jobs Jobs \\\"done\\\".\n# TYPE jobs counter\njobs_total 3\n# HELP g A gauge.\ng 1\n# HELP last The end.\n# EOF\n")
        var typeFirst = SampleFormat.openMetrics.makeEncoder()
        XCTAssertEqual(typeFirst.encodeAll([.type(metric: "jobs_total", type: .counter), .help(metric: "jobs_total", text: "J.")]),
                       "# TYPE jobs counter\n# HELP jobs J.\n# EOF\n", "TYPE before HELP, as the text format allows")
    }
}
