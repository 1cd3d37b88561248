import MetricLine

/// What `mquery` does: read the options, parse the expression, evaluate it, print the result.
struct QueryCommand {
    let spec: CommandSpec
    let arguments: ParsedArguments

    func run() -> Int32 {
        let diagnostics = Diagnostics(tool: spec.tool)
        guard arguments.positionals.count == 1 else { spec.usageFailure(UsageError("want exactly one expression")) }
        let text = arguments.positionals[0]
        let now = Clock.nowMilliseconds()
        func time(_ option: String, _ fallback: Int64) -> Int64 {
            guard let value = arguments.value(option) else { return fallback }
            guard let parsed = Timestamp.parse(value, now: now) else { spec.usageFailure(UsageError("\(option): cannot read '\(value)' as a time")) }
            return parsed
        }
        guard let format = ResultWriter.Format(rawValue: arguments.value("--output-format") ?? "lines") else {
            spec.usageFailure(UsageError("--output-format wants lines, json, csv, table or svg"))
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
        if let directory = arguments.value("--store") {
            do {
                store = try StoreReader(directory: directory)
                source = StoreSource(reader: store!)
                stage("open store (\(store!.segments.count) segments, \(store!.heads.count) head logs)")
            } catch {
                diagnostics.warn(error.message)
                return ExitStatus.failure
            }
        } else {
            guard let memory = readStandardInput(diagnostics, now: now) else { return ExitStatus.failure }
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
                    guard let parsed = Duration.milliseconds(text), parsed > 0 else { spec.usageFailure(UsageError("--step wants a duration, not '\(text)'")) }
                    step = parsed
                }
                evaluator.restrict(to: evaluator.sampleWindow(of: expression, start: start, end: end))
                let result = try evaluator.range(expression, start: start, end: end, step: step)
                stage("evaluate \((end - start) / step + 1) steps (selection included)")
                if format == .svg {
                    var chart = SVGChart()
                    chart.title = text
                    chart.timeZone = evaluator.timeZone
                    output.bytes.append(contentsOf: chart.render(result).utf8)
                } else if arguments.has("--plot") {
                    var chart = TerminalChart()
                    chart.width = Terminal.columns()
                    chart.color = Terminal.wantsColor()
                    chart.timeZone = evaluator.timeZone
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
        if arguments.has("--explain") {
            var lines = ["explain: \(text)"]
            for selection in evaluator.selectionReport {
                lines.append("  selector \(selection.selector): \(selection.series) series, \(selection.samples) samples")
            }
            if let store { lines.append("  chunks decoded: \(store.chunksRead) (raw samples; rollups are not used yet)") }
            for (name, microseconds) in stages { lines.append("  \(name): \(FloatFormatter.string(Double(microseconds) / 1000)) ms") }
            Diagnostics.writeStandardError(lines.joined(separator: "\n") + "\n")
        }
        return ExitStatus.success
    }

    /// Samples from stdin into memory, sorted per series; missing timestamps become `now`.
    private func readStandardInput(_ diagnostics: Diagnostics, now: Int64) -> MemorySource? {
        let format: SampleFormat
        do { format = try arguments.format("--input-format") } catch { spec.usageFailure(error) }
        var collected: [String: (LabelSet, [(Int64, Double)])] = [:]
        do throws(InputError) {
            try InputSource.standardInput.readRecords(format: format, diagnostics: diagnostics) { record in
                guard case .sample(let sample) = record else { return }
                let labels = LabelSet(ExpositionParser.SeriesKey(name: sample.name, labels: sample.labels))
                collected[labels.key, default: (labels, [])].1.append((sample.timestamp ?? now, sample.value))
            }
        } catch {
            if let message = error.message { diagnostics.warn(message) }
            return nil
        }
        let memory = MemorySource()
        for (labels, points) in collected.values {
            let sorted = points.sorted { $0.0 < $1.0 }
            memory.set(labels, timestamps: sorted.map(\.0), values: sorted.map(\.1))
        }
        return memory
    }
}
