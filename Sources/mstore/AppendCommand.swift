import Glibc
import MetricLine

/// `mstore DIR`: appends samples from stdin or files to a store.
enum AppendCommand {
    static let spec = CommandSpec(
        tool: "mstore",
        summary: "append samples to a durable, compressed store; inspect, check and dump it",
        usage: ["[OPTIONS] DIR [FILE...]", "info DIR", "check DIR", "dump DIR [--from T] [--to T] [--match SELECTOR]... [--rollup STEP] [--no-stale] [--output-format F]",
                "compact DIR [--retention D] [--policy FILE]"],
        options: [
            OptionSpec(["--sync"], argument: "WHEN", help: "fsync the head log: batch (default: every batch of input), none, or an interval like 5s"),
            OptionSpec(["--window"], argument: "D", help: "length of a head window and of a new segment (default 2h)"),
            .inputFormat, .strict,
        ],
        examples: [
            "mcollect --interval 15s | mstore /var/lib/metrics",
            "mstore /var/lib/metrics < yesterday.prom          # backfill history",
            "mstore info /var/lib/metrics",
            "mstore compact /var/lib/metrics --retention 90d",
            "mstore dump /var/lib/metrics --match 'node_load1' --from -1h",
            "mstore dump DIR --output-format openmetrics | promtool tsdb create-blocks-from openmetrics /dev/stdin data/",
        ],
        notes: ["Samples without a timestamp get the time they were read. One writer at a time: a second one gets an error (exit 1)."]
    )

    static func run(_ arguments: [String]) -> Int32 {
        let parsed = spec.parseOrExit(arguments)
        guard let directory = parsed.positionals.first else { spec.usageFailure(UsageError("missing the store directory")) }
        var options = StoreWriter.Options()
        if let sync = parsed.value("--sync") {
            guard let policy = SyncPolicy(sync) else { spec.usageFailure(UsageError("--sync wants batch, none or a duration, not '\(sync)'")) }
            options.sync = policy
        }
        if let window = parsed.value("--window") {
            guard let length = Duration.milliseconds(window), length >= 60_000, length <= 7 * 86_400_000 else {
                spec.usageFailure(UsageError("--window wants a duration from 1m to 7d, not '\(window)'"))
            }
            options.windowLength = length
        }
        let format: SampleFormat
        do { format = try parsed.format("--input-format") } catch { spec.usageFailure(error) }
        let diagnostics = Diagnostics(tool: spec.tool, strict: parsed.has("--strict"))
        let sources = parsed.positionals.count > 1 ? parsed.positionals.dropFirst().map(InputSource.init(path:)) : [.standardInput]

        let writer: StoreWriter
        do {
            writer = try StoreWriter(directory: directory, options: options)
        } catch {
            diagnostics.warn(error.message)
            return ExitStatus.failure
        }
        writer.warnings.forEach(diagnostics.warn)
        let appender = Appender(writer: writer, diagnostics: diagnostics)
        var linesRead = 0
        var failed = false
        for source in sources {
            do throws(InputError) {
                linesRead += try appender.append(from: source, format: format)
            } catch {
                if let message = error.message { diagnostics.warn(message) }
                failed = true
                if error.message == nil { break }
            }
            if appender.storeFailure != nil || Interrupt.requested { break }
        }
        do {
            if appender.storeFailure == nil { try writer.close() }
        } catch {
            appender.storeFailure = error
        }
        writer.warnings.forEach(diagnostics.warn)
        if writer.report.conflicts > 0 {
            diagnostics.warn("kept the first of \(writer.report.conflicts) samples that repeated a timestamp with another value")
        }
        if let failure = appender.storeFailure {
            diagnostics.warn(failure.message)
            return ExitStatus.failure
        }
        let status = diagnostics.finish(linesRead: linesRead)
        if Interrupt.requested { return Interrupt.exitStatus }
        return failed ? ExitStatus.failure : status
    }
}

/// Feeds decoded lines into a store writer and commits at the right moments: when the input
/// pauses (so a live stream is durable as it goes) and every `commitEvery` samples.
final class Appender {
    /// Samples between commits of a continuous stream: few enough that the head log's pending
    /// record and the overlap of windows stay small, many enough that fsyncs stay rare.
    static let commitEvery = 250_000
    let writer: StoreWriter
    let diagnostics: Diagnostics
    private let decoder: SampleDecoder
    private var pending = 0
    /// Samples appended in this run, for the progress line.
    private var appended: Int64 = 0
    private let progress = Progress(tool: "mstore", label: "samples")
    private let readTime = Clock.nowMilliseconds()
    /// The store error that stopped appending, if any.
    var storeFailure: StoreError?

    init(writer: StoreWriter, diagnostics: Diagnostics) {
        self.writer = writer
        self.diagnostics = diagnostics
        decoder = SampleDecoder(series: writer.series)
    }

    func append(from source: InputSource, format: SampleFormat) throws(InputError) -> Int {
        let descriptor: Int32 = source.name == "<stdin>" ? 0 : -1
        let beforeRead = { [self] (bytesRead: Int64, size: Int64?) -> Bool in
            if pending >= Appender.commitEvery || (pending > 0 && (descriptor < 0 || !Appender.inputReady(descriptor))) { commit() }
            progress.update(count: appended, done: bytesRead, total: size)
            return storeFailure == nil
        }
        defer { progress.finish() }
        if format == .prometheus {
            return try source.forEachLine(diagnostics: diagnostics, bufferSize: 1 << 20, beforeRead: beforeRead) { bytes, _ throws(LineError) in
                guard storeFailure == nil else { return }
                if case .sample(let sample) = try decoder.decode(bytes) {
                    add(sample.series, sample.timestamp, sample.value)
                }
            }
        }
        var decoderForFormat = format.makeDecoder()
        var records: [ExpositionLine] = []
        return try source.forEachLine(diagnostics: diagnostics, bufferSize: 1 << 20, beforeRead: beforeRead) { bytes, _ throws(LineError) in
            records.removeAll(keepingCapacity: true)
            defer {
                for record in records {
                    guard case .sample(let sample) = record else { continue }
                    let id = writer.series.intern(ExpositionParser.SeriesKey(name: sample.name, labels: sample.labels), spelling: nil)
                    add(id, sample.timestamp, sample.value)
                }
            }
            try decoderForFormat.decode(bytes, into: &records)
        }
    }

    @inline(__always)
    private func add(_ series: SeriesID, _ timestamp: Int64?, _ value: Double) {
        guard storeFailure == nil else { return }
        do {
            try writer.append(series: series, timestamp: timestamp ?? readTime, value: value)
            pending += 1
            appended += 1
        } catch {
            storeFailure = error
        }
    }

    private func commit() {
        guard storeFailure == nil else { return }
        do {
            try writer.commit()
            pending = 0
        } catch {
            storeFailure = error
        }
    }

    /// Whether reading `descriptor` would return at once (data or end of input waiting).
    static func inputReady(_ descriptor: Int32) -> Bool {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&poller, 1, 0) > 0
    }
}
