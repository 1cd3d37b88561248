/// The loop at the heart of a filter: read records from inputs in one format and write them to
/// standard output in another, in canonical form, giving samples without a timestamp a default.
public struct SampleFilter {
    public var inputFormat: SampleFormat
    public var outputFormat: SampleFormat
    public let diagnostics: Diagnostics

    public init(inputFormat: SampleFormat, outputFormat: SampleFormat, diagnostics: Diagnostics) {
        self.inputFormat = inputFormat
        self.outputFormat = outputFormat
        self.diagnostics = diagnostics
    }

    /// Reads every source in turn and writes its records. Returns the exit status: 0, or 1 when a
    /// line was bad, an input could not be read, or a sample could not be written in the output
    /// format. Stops early, flushing what it has, on SIGINT / SIGTERM (status 128 + signal).
    public func run(_ sources: [InputSource], defaultTimestamp: Int64? = nil) -> Int32 {
        var output = OutputBuffer(tool: diagnostics.tool)
        var encoder = outputFormat.makeEncoder()
        let decoder = SampleDecoder()
        var linesRead = 0
        var unwritable = 0
        var failed = false
        encoder.start(into: &output.bytes)
        for source in sources {
            do throws(InputError) {
                if inputFormat == .prometheus && outputFormat == .prometheus {
                    // Fast path: interned series keys are copied out in canonical form, never re-parsed.
                    linesRead += try source.forEachLine(diagnostics: diagnostics) { bytes, _ throws(LineError) in
                        switch try decoder.decode(bytes) {
                        case .sample(let sample):
                            decoder.series.withCanonicalKey(sample.series) { output.bytes.append(contentsOf: $0) }
                            ExpositionWriter.appendValueAndTimestamp(sample.value, sample.timestamp ?? defaultTimestamp, to: &output.bytes)
                        case .other(let record):
                            _ = encoder.encode(record, into: &output.bytes)
                        }
                        output.flushIfFull()
                    }
                } else {
                    linesRead += try source.readRecords(format: inputFormat, diagnostics: diagnostics) { record in
                        var record = record
                        if let defaultTimestamp, case .sample(var sample) = record, sample.timestamp == nil {
                            sample.timestamp = defaultTimestamp
                            record = .sample(sample)
                        }
                        if !encoder.encode(record, into: &output.bytes) { unwritable += 1 }
                        output.flushIfFull()
                    }
                }
            } catch {
                if let message = error.message { diagnostics.warn(message) }
                failed = true
                if error.message == nil { break }  // strict mode stopped at a bad line
            }
            if Interrupt.requested { break }
        }
        encoder.end(into: &output.bytes)
        output.flush()
        if unwritable > 0 {
            diagnostics.warn("left out \(unwritable) sample\(unwritable == 1 ? "" : "s") that \(outputFormat.rawValue) cannot carry (staleness markers, NaN, or names it cannot spell)")
        }
        let status = diagnostics.finish(linesRead: linesRead)
        if Interrupt.requested { return Interrupt.exitStatus }
        return failed || unwritable > 0 ? ExitStatus.failure : status
    }
}

extension ParsedArguments {
    /// The format named by `--input-format` / `--output-format` (`option`), or `fallback`.
    public func format(_ option: String, default fallback: SampleFormat = .prometheus) throws(UsageError) -> SampleFormat {
        guard let name = value(option) else { return fallback }
        guard let format = SampleFormat(name: name) else {
            throw UsageError("unknown format '\(name)' for \(option) (want one of: \(SampleFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return format
    }
}
