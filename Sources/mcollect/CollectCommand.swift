import Glibc
import MetricLine

/// What `mcollect` does with its options.
struct CollectCommand {
    let spec: CommandSpec
    let arguments: ParsedArguments

    func run() -> Int32 {
        let inputs = arguments.values("--input")
        let outputFormat: SampleFormat
        do { outputFormat = try arguments.format("--output-format") } catch { spec.usageFailure(error) }
        let diagnostics = Diagnostics(tool: spec.tool, strict: arguments.has("--strict"))
        if !inputs.isEmpty {
            let filter: SampleFilter
            do {
                filter = SampleFilter(inputFormat: try arguments.format("--input-format"), outputFormat: outputFormat, diagnostics: diagnostics)
            } catch {
                spec.usageFailure(error)
            }
            let defaultTimestamp = arguments.has("--no-timestamp-fill") ? nil : Clock.nowMilliseconds()
            return filter.run(inputs.map(InputSource.init(path:)), defaultTimestamp: defaultTimestamp)
        }
        let collectors = selectedCollectors()
        var targetFiles = arguments.values("--file-sd").map(FileSDTargets.init)
        let root = arguments.value("--root").map { $0 == "/" ? "" : $0 } ?? ""
        if let text = arguments.value("--interval") {
            guard let interval = Duration.milliseconds(text), interval >= 100 else { spec.usageFailure(UsageError("--interval wants a duration of at least 100ms, not '\(text)'")) }
            Reload.install()
            return every(interval, collectors, targetFiles: &targetFiles, root: root, format: outputFormat, diagnostics: diagnostics)
        }
        guard arguments.has("--once") else { spec.usageFailure(UsageError("say --once, --interval D or --input FILE")) }
        var output = OutputBuffer(tool: spec.tool)
        var once: [String: Sample]?
        let ok = collect(collectors + scrapes(&targetFiles, force: true, diagnostics: diagnostics), root: root, format: outputFormat,
                         diagnostics: diagnostics, written: &once, into: &output)
        output.flush()
        return ok ? ExitStatus.success : ExitStatus.failure
    }

    private func selectedCollectors() -> [Collector] {
        let names = SystemCollectors.all.map(\.name)
        func list(_ option: String) -> [String]? {
            guard let text = arguments.value(option) else { return nil }
            let wanted = text.split(separator: ",").map(String.init)
            for name in wanted where !names.contains(name) {
                spec.usageFailure(UsageError("unknown collector '\(name)' (known: \(names.joined(separator: ",")))"))
            }
            return wanted
        }
        let only = list("--collect"), without = list("--no-collect") ?? []
        var chosen = SystemCollectors.all.filter { (only?.contains($0.name) ?? true) && !without.contains($0.name) }
        if let directory = arguments.value("--textfile-dir") {
            var ttl: Int64?
            if let text = arguments.value("--textfile-ttl") {
                guard let duration = Duration.milliseconds(text), duration > 0 else { spec.usageFailure(UsageError("--textfile-ttl wants a duration, not '\(text)'")) }
                ttl = duration
            }
            chosen.append(TextfileCollector(directory: directory, ttl: ttl))
        }
        var timeout: Int64 = 10_000
        if let text = arguments.value("--exec-timeout") {
            guard let duration = Duration.milliseconds(text), duration > 0 else { spec.usageFailure(UsageError("--exec-timeout wants a duration, not '\(text)'")) }
            timeout = duration
        }
        for command in arguments.values("--exec") { chosen.append(CommandCollector(command: command, timeout: timeout)) }
        let scrapeTimeout = scrapeTimeout  // checked here, whether or not anything is scraped
        let tls = tls
        check(tls)
        for url in arguments.values("--scrape") { chosen.append(ScrapeCollector(url: url, job: job, timeout: scrapeTimeout, tls: tls, honorLabels: arguments.has("--honor-labels"))) }
        for target in arguments.values("--probe-tcp") { chosen.append(ProbeCollector(kind: .tcp, target: target, timeout: scrapeTimeout)) }
        for target in arguments.values("--probe-http") { chosen.append(ProbeCollector(kind: .http, target: target, timeout: scrapeTimeout, tls: tls)) }
        return chosen
    }

    /// `--scrape-timeout`: how long a scrape or probe may take (default 10s).
    private var scrapeTimeout: Int64 {
        guard let text = arguments.value("--scrape-timeout") else { return 10_000 }
        guard let duration = Duration.milliseconds(text), duration > 0 else { spec.usageFailure(UsageError("--scrape-timeout wants a duration, not '\(text)'")) }
        return duration
    }

    /// `--job`: the job label of scraped samples whose target names none.
    private var job: String { arguments.value("--job") ?? "mcollect" }

    /// `--ca-file`, `--cert-file`, `--key-file` and `--insecure`: how https:// targets are
    /// checked and the certificate shown to them.
    private var tls: TLSSettings {
        TLSSettings(caFile: arguments.value("--ca-file"), certificateFile: arguments.value("--cert-file"),
                    keyFile: arguments.value("--key-file"), skipsVerification: arguments.has("--insecure"))
    }

    /// Refuses TLS files that cannot be read, and a certificate without its key (or a key
    /// without its certificate), before anything is collected.
    private func check(_ tls: TLSSettings) {
        for (option, file) in [("--ca-file", tls.caFile), ("--cert-file", tls.certificateFile), ("--key-file", tls.keyFile)] {
            if let file, access(file, R_OK) != 0 { spec.usageFailure(UsageError("\(option): cannot read \(file): \(String(cString: strerror(errno)))")) }
        }
        if (tls.certificateFile == nil) != (tls.keyFile == nil) { spec.usageFailure(UsageError("--cert-file and --key-file go together")) }
    }

    /// The scrapes of the targets in file_sd files, read again where they changed (or all, with `force`).
    private func scrapes(_ files: inout [FileSDTargets], force: Bool, diagnostics: Diagnostics) -> [Collector] {
        var result: [Collector] = []
        for index in files.indices {
            if let warning = files[index].refresh(force: force) { diagnostics.warn(warning) }
            for target in files[index].targets {
                result.append(ScrapeCollector(url: target.url, job: target.job ?? job, timeout: scrapeTimeout, tls: tls, targetLabels: target.labels,
                                              honorLabels: arguments.has("--honor-labels")))
            }
        }
        return result
    }

    /// One collection, stamped with its start time. Returns false if a collector failed. With
    /// `written` (the series of the collection before), a series written then and not now is
    /// ended with a staleness marker, as Prometheus ends the series a target stops exposing (a
    /// failed scrape, an unmounted filesystem, a target gone from its file), and `written`
    /// becomes this collection's series.
    private func collect(_ collectors: [Collector], root: String, format: SampleFormat, diagnostics: Diagnostics,
                         written: inout [String: Sample]?, into output: inout OutputBuffer) -> Bool {
        let time = Clock.nowMilliseconds()
        var encoder = format.makeEncoder()
        encoder.start(into: &output.bytes)
        var unwritable = 0
        let (collected, failures) = SystemCollectors.collect(collectors, root: root, diagnostics: diagnostics)
        var samples = collected.map { sample -> Sample in
            var stamped = sample
            stamped.timestamp = arguments.has("--no-timestamps") ? nil : time
            return stamped
        }
        if let before = written {
            var now: [String: Sample] = [:]
            now.reserveCapacity(samples.count)
            for sample in samples { now[ExpositionWriter.seriesKey(name: sample.name, labels: Sample.canonicalLabels(sample.labels))] = sample }
            for (key, sample) in before where now[key] == nil {
                samples.append(Sample(name: sample.name, labels: sample.labels, value: StaleMarker.value, timestamp: sample.timestamp == nil ? nil : time))
            }
            written = now
        }
        let records: [ExpositionLine] = arguments.has("--metadata") ? Metadata.withMetadata(samples) : samples.map { .sample($0) }
        for record in records where !encoder.encode(record, into: &output.bytes) {
            // Markers a format cannot carry (influx, graphite, openmetrics) are left out without a word.
            if case .sample(let sample) = record, sample.isStale { continue }
            unwritable += 1
        }
        encoder.end(into: &output.bytes)
        if unwritable > 0 { diagnostics.warn("left out \(unwritable) samples that \(format.rawValue) cannot carry") }
        return failures == 0
    }

    /// Collects on every whole multiple of `interval` (so ticks do not drift), until SIGINT/SIGTERM.
    private func every(_ interval: Int64, _ collectors: [Collector], targetFiles: inout [FileSDTargets], root: String, format: SampleFormat,
                       diagnostics: Diagnostics) -> Int32 {
        var output = OutputBuffer(tool: spec.tool)
        var written: [String: Sample]? = arguments.has("--no-stale") ? nil : [:]
        while !Interrupt.requested {
            let now = Clock.nowMilliseconds()
            let next = (now / interval + 1) * interval
            var pause = timespec(tv_sec: Int((next - now) / 1000), tv_nsec: Int((next - now) % 1000) * 1_000_000)
            var remaining = timespec()
            // A signal interrupts the sleep; the loop then sees the request and stops.
            while nanosleep(&pause, &remaining) != 0 && errno == EINTR && !Interrupt.requested { pause = remaining }
            if Interrupt.requested { break }
            let targets = scrapes(&targetFiles, force: Reload.take(), diagnostics: diagnostics)
            _ = collect(collectors + targets, root: root, format: format, diagnostics: diagnostics, written: &written, into: &output)
            output.flush()
        }
        output.flush()
        // Being stopped is how a collecting service ends: that is success.
        return ExitStatus.success
    }
}
