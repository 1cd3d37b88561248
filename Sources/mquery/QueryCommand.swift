import Glibc
import MetricLine

/// What `mquery` does: read the options, parse the expression, evaluate it, print the result; with
/// `--watch`, again every interval until interrupted.
struct QueryCommand {
    let spec: CommandSpec
    let arguments: ParsedArguments
    private let diagnostics: Diagnostics

    init(spec: CommandSpec, arguments: ParsedArguments) {
        self.spec = spec
        self.arguments = arguments
        diagnostics = Diagnostics(tool: spec.tool, strict: arguments.has("--strict"))
    }

    func run() -> Int32 {
        guard arguments.positionals.count == 1 else { spec.usageFailure(UsageError("want exactly one expression")) }
        guard let text = arguments.value("--watch") else { return runOnce(now: Clock.nowMilliseconds()) }
        guard let interval = Duration.milliseconds(text), interval >= 100 else { spec.usageFailure(UsageError("--watch wants a duration of at least 100ms, not '\(text)'")) }
        guard arguments.has("--store") else { spec.usageFailure(UsageError("--watch reads a store (-s DIR): stdin is read once")) }
        let clear = isatty(1) == 1
        while !Interrupt.requested {
            let now = Clock.nowMilliseconds()
            if clear { Diagnostics.writeStandardOutput("\u{1B}[H\u{1B}[2J") }
            Diagnostics.writeStandardOutput("Every \(text): \(arguments.positionals[0])    \(Timestamp.rfc3339(now / 1000 * 1000))\n\n")
            let status = runOnce(now: now)
            if status != ExitStatus.success { return status }
            // Sleep to the next interval boundary, waking early for a signal.
            let next = (now / interval + 1) * interval
            while !Interrupt.requested, Clock.nowMilliseconds() < next { usleep(UInt32(min(100, max(1, next - Clock.nowMilliseconds())) * 1000)) }
        }
        return Interrupt.exitStatus
    }

    /// One evaluation with `now` as the time relative times count from.
    private func runOnce(now: Int64) -> Int32 {
        // Helper threads start while the store is opened, ready when series are read.
        if arguments.has("--store") { Workers.prepare() }
        let text = arguments.positionals[0]
        func time(_ option: String, _ fallback: Int64) -> Int64 {
            guard let value = arguments.value(option) else { return fallback }
            guard let parsed = Timestamp.parse(value, now: now) else { spec.usageFailure(UsageError("\(option): cannot read '\(value)' as a time")) }
            return parsed
        }
        // `prom`, the other tools' name of the line format, is the lines mquery prints.
        let formatName = arguments.value("--output-format").map { $0 == "prom" ? "lines" : $0 }
        guard let format = ResultWriter.Format(rawValue: formatName ?? (arguments.has("--chart") ? "svg" : "lines")) else {
            spec.usageFailure(UsageError("--output-format wants lines (or prom), json, csv, table or svg"))
        }
        var stages: [(String, Int64)] = []
        var stageStart = Clock.monotonicMicroseconds()
        func stage(_ name: String) {
            let now = Clock.monotonicMicroseconds()
            stages.append((name, now - stageStart))
            stageStart = now
        }
        let expression: QueryExpression
        do {
            defer { stage("parse") }
            expression = try Parser.parse(text)
        } catch {
            diagnostics.warn("parse error: " + error.explained(in: text))
            return ExitStatus.failure
        }
        let source: SeriesSource
        var store: StoreReader?
        var linesRead: Int?
        if let directory = arguments.value("--store") {
            do {
                store = try StoreReader(directory: directory)
                source = StoreSource(reader: store!)
                stage("open store (\(store!.segmentFiles) segment files, \(store!.heads.count) head logs)")
            } catch {
                diagnostics.warn(error.message)
                return ExitStatus.failure
            }
        } else {
            guard let (memory, lines) = readStandardInput(now: now) else { return ExitStatus.failure }
            linesRead = lines
            source = memory
            stage("read stdin")
        }
        let evaluator = Evaluator(source: source)
        if let zone = arguments.value("--tz") ?? Environment.value("TZ").map({ $0.hasPrefix(":") ? String($0.dropFirst()) : $0 }), !zone.isEmpty {
            do { evaluator.timeZone = try TimeZone.load(zone) } catch {
                diagnostics.warn(error.message)
                return ExitStatus.failure
            }
        }
        var output = OutputBuffer(tool: spec.tool)
        do {
            if arguments.has("--from") || arguments.has("--plot") || format == .svg {
                let start = time("--from", now - 3_600_000), end = time("--to", now)
                guard end >= start else { spec.usageFailure(UsageError("--to is before --from")) }
                var step = max(1000, (end - start) / 250 / 1000 * 1000)
                if let text = arguments.value("--step") {
                    // A duration, or seconds as a number, as Prometheus's HTTP API takes it.
                    let seconds = Double(text).flatMap { $0.isFinite && $0 < 1e12 ? Int64(($0 * 1000).rounded()) : nil }
                    guard let parsed = Duration.milliseconds(text) ?? seconds, parsed > 0 else {
                        spec.usageFailure(UsageError("--step wants a duration (30s, 5m) or seconds, not '\(text)'"))
                    }
                    step = parsed
                }
                // Long steps read rollups of at least five buckets a step and a window, the
                // coarsest there are, where they exist (unless --raw).
                evaluator.rollupsForLongSteps = !arguments.has("--raw")
                evaluator.restrict(to: evaluator.sampleWindow(of: expression, start: start, end: end))
                let result = try evaluator.range(expression, start: start, end: end, step: step)
                stage("evaluate \((end - start) / step + 1) steps (selection included)")
                if format == .svg {
                    output.bytes.append(contentsOf: svgChart(timeZone: evaluator.timeZone).render(result).utf8)
                } else if arguments.has("--plot") {
                    var chart = TerminalChart()
                    chart.width = Terminal.columns()
                    chart.color = Terminal.wantsColor()
                    chart.timeZone = evaluator.timeZone
                    chart.unit = ValueUnit(arguments.value("--unit") ?? "")
                    output.bytes.append(contentsOf: chart.render(result).utf8)
                } else {
                    ResultWriter.range(result, format: format, to: &output)
                }
            } else {
                let at = time("--at", now)
                evaluator.restrict(to: evaluator.sampleWindow(of: expression, start: at, end: at))
                let value = try evaluator.instant(expression, at: at)
                stage("evaluate (selection included)")
                ResultWriter.instant(value, at: at, format: format, to: &output.bytes)
            }
        } catch {
            diagnostics.warn(error.explained(in: text))
            return ExitStatus.failure
        }
        output.flush()
        stage("write output")
        evaluator.warnings.forEach { diagnostics.warn("warning: \($0)") }
        // Damaged files the reads met: named; the answer went without what they hold.
        let problems = store?.problems ?? []
        problems.forEach { diagnostics.warn($0) }
        if arguments.has("--explain") {
            var lines = ["explain: \(text)"]
            for selection in evaluator.selectionReport {
                lines.append("  selector \(selection.selector): \(selection.series) series, \(selection.samples) samples, fetched in \(FloatFormatter.string(Double(selection.microseconds) / 1000)) ms")
            }
            if let store {
                lines.append("  segments opened: \(store.openedSegments) of \(store.segmentFiles); chunks decoded: \(store.chunksRead)")
                let filled = (source as? StoreSource)?.filledSamples ?? 0
                let tiers = store.tiers.map { Duration.text($0.step) }.joined(separator: ", ")
                if let longest = (source as? StoreSource)?.rollupLimitsUsed.max(), let tier = store.tiers.map(\.step).filter({ $0 <= longest }).max() {
                    lines.append(filled > 0 ? "  rollups (\(tiers)): \(filled) samples of rollups up to \(Duration.text(tier)) stand in for raw samples (the step and windows allow buckets up to \(Duration.text(longest)); --raw to read raw samples)"
                                            : "  rollups: none of the \(Duration.text(tier)) rollups cover the range (raw samples read)")
                } else {
                    lines.append(filled > 0 ? "  rollups (\(tiers)): \(filled) samples stand in where raw samples are gone"
                                            : "  rollups: none needed (raw samples cover the range)")
                }
            }
            for (name, microseconds) in stages { lines.append("  \(name): \(FloatFormatter.string(Double(microseconds) / 1000)) ms") }
            Diagnostics.writeStandardError(lines.joined(separator: "\n") + "\n")
        }
        // Bad lines of stdin were skipped: the answer went without them (a summary, exit 1).
        let input = linesRead.map { diagnostics.finish(linesRead: $0) } ?? ExitStatus.success
        return problems.isEmpty && input == ExitStatus.success ? ExitStatus.success : ExitStatus.failure
    }

    /// The SVG chart the options ask for: `--chart`, `--unit`, `--title` (default the expression)
    /// and `--size`.
    private func svgChart(timeZone: TimeZone) -> SVGChart {
        var chart = SVGChart()
        chart.title = arguments.value("--title") ?? arguments.positionals[0]
        chart.timeZone = timeZone
        chart.unit = ValueUnit(arguments.value("--unit") ?? "")
        if let name = arguments.value("--chart") {
            guard let kind = SVGChart.Kind(rawValue: name) else {
                spec.usageFailure(UsageError("--chart wants " + SVGChart.Kind.allCases.map(\.rawValue).joined(separator: ", ") + ", not '\(name)'"))
            }
            chart.kind = kind
        }
        if let size = arguments.value("--size") {
            let parts = size.split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2, (200...10_000).contains(parts[0]), (100...10_000).contains(parts[1]) else {
                spec.usageFailure(UsageError("--size wants WIDTHxHEIGHT in pixels (200x100 to 10000x10000), not '\(size)'"))
            }
            (chart.width, chart.height) = (parts[0], parts[1])
        }
        return chart
    }

    /// Samples from stdin into memory, sorted per series, and the number of lines read; missing
    /// timestamps become `now`. Nil when the input could not be read or `--strict` met a bad line.
    private func readStandardInput(now: Int64) -> (MemorySource, Int)? {
        let format: SampleFormat
        do { format = try arguments.format("--input-format") } catch { spec.usageFailure(error) }
        var collected: [String: (LabelSet, [(Int64, Double)])] = [:]
        let lines: Int
        do throws(InputError) {
            lines = try InputSource.standardInput.readRecords(format: format, diagnostics: diagnostics) { record in
                guard case .sample(let sample) = record else { return }
                let labels = LabelSet(ExpositionParser.SeriesKey(name: sample.name, labels: sample.labels))
                collected[labels.key, default: (labels, [])].1.append((sample.timestamp ?? now, sample.value))
            }
        } catch {
            if let message = error.message { diagnostics.warn(message) }
            if diagnostics.strict { _ = diagnostics.finish(linesRead: 0) }
            return nil
        }
        let memory = MemorySource()
        for (labels, points) in collected.values {
            let sorted = points.sorted { $0.0 < $1.0 }
            memory.set(labels, timestamps: sorted.map(\.0), values: sorted.map(\.1))
        }
        return (memory, lines)
    }
}
