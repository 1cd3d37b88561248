import MetricLine

/// `malert RULES...`: evaluates rule files over a store (from cron, with a state file, or a replay
/// of history) or over samples streaming in on stdin, and writes alert events and samples.
struct EvaluateCommand {
    static let spec = CommandSpec(
        tool: "malert",
        summary: "evaluate Prometheus alerting and recording rules over a store or a stream",
        usage: ["[-s DIR] [--state FILE] [--at T] RULES...",
                "-s DIR --replay --from T [--to T] RULES...",
                "[--state FILE] RULES... < samples",
                "check FILE...",
                "test FILE...",
                "alerts [-s DIR | --state FILE]"],
        options: [
            OptionSpec(["-s", "--store"], argument: "DIR", help: "evaluate over the store DIR (default: samples streaming in on stdin)"),
            OptionSpec(["--state"], argument: "FILE", help: "keep alert state between runs in FILE (default with a store: DIR/malert.state)"),
            OptionSpec(["--at"], argument: "T", help: "evaluate as if it were T (default now): RFC 3339, Unix seconds, -1h"),
            OptionSpec(["--replay"], help: "evaluate history from --from to --to with fresh state (no state file)"),
            OptionSpec(["--from"], argument: "T", help: "start of a replay"),
            OptionSpec(["--to"], argument: "T", help: "end of a replay (default now)"),
            OptionSpec(["--catch-up"], argument: "D", help: "evaluate instants missed since the last run, at most D back (default 1h)"),
            OptionSpec(["--output-format"], argument: "F", help: "events (default: sample lines and '# ALERT' event lines) or alertmanager (JSON for /api/v2/alerts)"),
            OptionSpec(["--no-samples"], help: "write only alert events, not recording rule results and ALERTS series"),
            OptionSpec(["--no-stale"], help: "leave out the staleness markers written when a recorded series or an ALERTS series stops"),
            OptionSpec(["--external-label"], argument: "NAME=VALUE", help: "a label templates see as $externalLabels (repeatable)"),
            OptionSpec(["--external-url"], argument: "URL", help: "what templates see as $externalURL; generatorURL starts with it"),
            OptionSpec(["--resend-delay"], argument: "D", help: "re-send a firing alert at most this often (default 1m)"),
            OptionSpec(["--flap-changes"], argument: "N", help: "hold an alert firing, labelled flapping=\"true\", after more than N changes within --flap-window"),
            OptionSpec(["--flap-window"], argument: "D", help: "the window of --flap-changes (default 1h)"),
            .inputFormat, .strict,
        ],
        examples: [
            "malert -s /var/lib/metrics /etc/malert/rules.yml | mnotify -c /etc/mnotify.yml",
            "malert -s /var/lib/metrics --replay --from -7d rules.yml | grep '^# ALERT firing'",
            "mcollect --interval 15s | malert rules.yml | mnotify -c notify.yml",
            "malert -s /var/lib/metrics rules.yml --output-format alertmanager | curl -s -H 'Content-Type: application/json' --data-binary @- http://127.0.0.1:9093/api/v2/alerts",
            "malert check rules.yml",
            "malert test rules.test.yml",
            "malert alerts -s /var/lib/metrics",
        ],
        notes: [
            "Groups are evaluated at multiples of their interval; a run evaluates every such instant since the last run (up to --catch-up).",
            "Output: recording rule results, ALERTS and ALERTS_FOR_STATE as sample lines, and one '# ALERT firing|resolved {labels} startsAt=... endsAt=... value=... fingerprint=... annotations={...}' line per notification. Sample readers (mstore) skip the event lines as comments.",
            "Exit status: 0 ok, 1 a rule file is invalid, a rule failed to evaluate or the store has damaged files (named; rules are evaluated without them), 2 usage.",
        ]
    )

    let arguments: ParsedArguments
    let diagnostics: Diagnostics

    init(arguments: ParsedArguments) {
        self.arguments = arguments
        diagnostics = Diagnostics(tool: "malert", strict: arguments.has("--strict"))
    }

    func run() -> Int32 {
        guard !arguments.positionals.isEmpty else { Self.spec.usageFailure(UsageError("want at least one rule file")) }
        var groups: [RuleGroup] = []
        var invalid = false
        for path in arguments.positionals {
            do { groups += try RuleFile.load(path).groups } catch {
                error.errors.forEach { diagnostics.warn($0.description) }
                invalid = true
            }
        }
        if invalid { return ExitStatus.failure }
        guard let format = EvaluationWriter.Format(rawValue: arguments.value("--output-format") ?? "events") else {
            Self.spec.usageFailure(UsageError("--output-format wants events or alertmanager"))
        }
        var writer = EvaluationWriter(format: format)
        writer.samples = !arguments.has("--no-samples")
        writer.staleMarkers = !arguments.has("--no-stale")
        let now = Clock.nowMilliseconds()
        let options = engineOptions()
        if let directory = arguments.value("--store") {
            let reader: StoreReader
            do { reader = try StoreReader(directory: directory) } catch {
                diagnostics.warn(error.message)
                return ExitStatus.failure
            }
            // Rules read the same series again and again (one per rule on the same metrics).
            reader.cacheBudget = 1 << 21
            let engine = RuleEngine(groups: groups, source: StoreSource(reader: reader), options: options)
            let status: Int32
            if arguments.has("--replay") {
                guard arguments.has("--from") else { Self.spec.usageFailure(UsageError("--replay needs --from")) }
                let from = time("--from", now), to = time("--to", now)
                guard from <= to else { Self.spec.usageFailure(UsageError("--to is before --from")) }
                status = evaluate(engine, writer: writer) { RuleSchedule.between(interval: engine.interval(ofGroup: $0), from: from, to: to) }
            } else {
                let statePath = arguments.value("--state") ?? directory + "/malert.state"
                status = scheduled(engine, writer: writer, statePath: statePath, now: time("--at", now))
            }
            // Damaged files the rules' reads met: named, and the evaluation went on without them.
            reader.problems.forEach { diagnostics.warn($0) }
            return reader.problems.isEmpty ? status : ExitStatus.failure
        }
        if arguments.has("--replay") { Self.spec.usageFailure(UsageError("--replay needs a store (-s DIR)")) }
        return streamed(groups, options: options, writer: writer, now: now)
    }

    /// A run from cron: every instant due since the last run, then the state saved.
    private func scheduled(_ engine: RuleEngine, writer: EvaluationWriter, statePath: String, now: Int64) -> Int32 {
        if let warning = RuleStateFile.load(statePath, into: engine) { diagnostics.warn(warning) }
        var catchUp: Int64 = 3_600_000
        if let text = arguments.value("--catch-up") {
            guard let value = RuleDuration.milliseconds(text) else { Self.spec.usageFailure(UsageError("--catch-up wants a duration, not '\(text)'")) }
            catchUp = value
        }
        let states = engine.states
        let status = evaluate(engine, writer: writer) { index in
            RuleSchedule.due(interval: engine.interval(ofGroup: index), last: states[index].lastEvaluation, now: now, catchUp: catchUp)
        }
        do { try RuleStateFile.save(engine, to: statePath) } catch {
            diagnostics.warn("cannot save state: \(error.message)")
            return ExitStatus.failure
        }
        return status
    }

    /// Evaluates each group at the times `dueTimes(group)` gives, all groups in time order.
    private func evaluate(_ engine: RuleEngine, writer: EvaluationWriter, dueTimes: (Int) -> [Int64]) -> Int32 {
        var schedule: [(time: Int64, group: Int)] = []
        for index in engine.groups.indices { schedule += dueTimes(index).map { ($0, index) } }
        schedule.sort { ($0.time, $0.group) < ($1.time, $1.group) }
        var output = OutputBuffer(tool: "malert")
        var failed = false
        for (time, group) in schedule {
            if Interrupt.requested { break }
            let evaluation = engine.evaluate(group: group, at: time)
            report(evaluation.errors, group: engine.groups[group].name)
            failed = failed || !evaluation.errors.isEmpty
            writer.append(evaluation, to: &output.bytes)
            output.flushIfFull()
        }
        output.flush()
        return failed ? ExitStatus.failure : ExitStatus.success
    }

    /// Samples on stdin, kept for as long as the rules look back; each group is evaluated at an
    /// instant once a sample newer than it has arrived.
    private func streamed(_ groups: [RuleGroup], options: RuleEngine.Options, writer: EvaluationWriter, now: Int64) -> Int32 {
        let input = MemorySource()
        let engine = RuleEngine(groups: groups, source: input, options: options)
        let statePath = arguments.value("--state")
        if let statePath, let warning = RuleStateFile.load(statePath, into: engine) { diagnostics.warn(warning) }
        // A rule file may hold no groups: then the input is read and nothing is evaluated.
        let window = engine.reach + (groups.indices.map { engine.interval(ofGroup: $0) }.max() ?? 0)
        var next: [Int64?] = groups.indices.map { index in engine.states[index].lastEvaluation.map { $0 + engine.interval(ofGroup: index) } }
        var output = OutputBuffer(tool: "malert")
        var failed = false
        var newest = Int64.min
        func evaluateDue(before limit: Int64) {
            var evaluated = false
            while true {
                guard let (index, time) = next.enumerated().compactMap({ item in item.element.map { (item.offset, $0) } })
                    .min(by: { ($0.1, $0.0) < ($1.1, $1.0) }), time < limit else { break }
                let evaluation = engine.evaluate(group: index, at: time)
                report(evaluation.errors, group: groups[index].name)
                failed = failed || !evaluation.errors.isEmpty
                writer.append(evaluation, to: &output.bytes)
                next[index] = time + engine.interval(ofGroup: index)
                evaluated = true
            }
            if evaluated {
                output.flush()
                input.prune(before: newest - window)
                engine.forget(before: newest - window)
            }
        }
        let format: SampleFormat
        do { format = try arguments.format("--input-format") } catch { Self.spec.usageFailure(error) }
        var linesRead = 0
        do throws(InputError) {
            linesRead = try InputSource.standardInput.readRecords(format: format, diagnostics: diagnostics) { record in
                guard case .sample(let sample) = record else { return }
                let time = sample.timestamp ?? Clock.nowMilliseconds()
                for index in groups.indices where next[index] == nil {
                    next[index] = RuleSchedule.floor(time - 1, engine.interval(ofGroup: index)) + engine.interval(ofGroup: index)
                }
                if time > newest {
                    newest = time
                    evaluateDue(before: time)
                }
                // With no groups nothing is evaluated, so nothing need be kept.
                if groups.isEmpty { return }
                let labels = LabelSet(ExpositionParser.SeriesKey(name: sample.name, labels: sample.labels))
                if let last = input.lastTimestamp(of: labels), last >= time { return }
                input.add(labels, timestamp: time, value: sample.value)
            }
        } catch {
            if let message = error.message { diagnostics.warn(message) }
            failed = true
        }
        if newest > Int64.min { evaluateDue(before: newest + 1) }
        output.flush()
        if let statePath {
            do { try RuleStateFile.save(engine, to: statePath) } catch {
                diagnostics.warn("cannot save state: \(error.message)")
                failed = true
            }
        }
        if Interrupt.requested { return Interrupt.exitStatus }
        // Bad input lines were skipped (or --strict stopped at one): a summary, exit 1.
        let inputStatus = diagnostics.finish(linesRead: linesRead)
        return failed || inputStatus != ExitStatus.success ? ExitStatus.failure : ExitStatus.success
    }

    private func report(_ errors: [RuleEvaluationError], group: String) {
        for error in errors {
            diagnostics.warn("group \"\(group)\", rule \"\(error.rule)\" at \(Timestamp.rfc3339(error.time)): \(error.message)")
        }
    }

    private func engineOptions() -> RuleEngine.Options {
        var options = RuleEngine.Options()
        for pair in arguments.values("--external-label") {
            guard let equals = pair.firstIndex(of: "="), !pair[..<equals].isEmpty else {
                Self.spec.usageFailure(UsageError("--external-label wants NAME=VALUE, not '\(pair)'"))
            }
            options.externalLabels[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        options.externalURL = arguments.value("--external-url") ?? ""
        if let text = arguments.value("--resend-delay") {
            guard let value = RuleDuration.milliseconds(text) else { Self.spec.usageFailure(UsageError("--resend-delay wants a duration, not '\(text)'")) }
            options.resendDelay = value
        }
        if let text = arguments.value("--flap-changes") {
            guard let changes = Int(text), changes > 0 else { Self.spec.usageFailure(UsageError("--flap-changes wants a positive number, not '\(text)'")) }
            var window: Int64 = 3_600_000
            if let windowText = arguments.value("--flap-window") {
                guard let value = RuleDuration.milliseconds(windowText), value > 0 else { Self.spec.usageFailure(UsageError("--flap-window wants a duration, not '\(windowText)'")) }
                window = value
            }
            options.flapping = FlapDamping(changes: changes, window: window)
        }
        return options
    }

    private func time(_ option: String, _ fallback: Int64) -> Int64 {
        guard let value = arguments.value(option) else { return fallback }
        guard let parsed = Timestamp.parse(value, now: fallback) else { Self.spec.usageFailure(UsageError("\(option): cannot read '\(value)' as a time")) }
        return parsed
    }
}
