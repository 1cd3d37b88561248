/// The loop at the heart of every filter: read records from inputs in one format, let the tool
/// change or drop each, and write the rest to standard output in another format.
public struct SampleFilter {
    public var inputFormat: SampleFormat
    public var outputFormat: SampleFormat
    public let diagnostics: Diagnostics

    public init(inputFormat: SampleFormat, outputFormat: SampleFormat, diagnostics: Diagnostics) {
        self.inputFormat = inputFormat
        self.outputFormat = outputFormat
        self.diagnostics = diagnostics
    }

    /// Reads every source in turn and writes what `transform` returns. Returns the exit status:
    /// 0, or 1 when a line was bad, an input could not be read, or a sample could not be written
    /// in the output format. Stops early, flushing what it has, on SIGINT / SIGTERM.
    public func run(_ sources: [InputSource], transform: (ExpositionLine) -> ExpositionLine? = { $0 }) -> Int32 {
        var output = OutputBuffer(tool: diagnostics.tool)
        var encoder = outputFormat.makeEncoder()
        var linesRead = 0
        var unwritable = 0
        var failed = false
        encoder.start(into: &output.bytes)
        for source in sources {
            do throws(InputError) {
                linesRead += try source.readRecords(format: inputFormat, diagnostics: diagnostics) { record in
                    guard let changed = transform(record) else { return }
                    if !encoder.encode(changed, into: &output.bytes) { unwritable += 1 }
                    output.flushIfFull()
                }
            } catch {
                if let message = error.message { diagnostics.warn(message) }
                failed = true
                if diagnostics.strict && error.message == nil { break }
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
