/// Writes query results: as sample lines (the default), as the `data` part of Prometheus's HTTP
/// API (`json`), or as CSV.
public enum ResultWriter {
    public enum Format: String, Sendable {
        case lines, json, csv, table, svg
    }

    /// An instant query's result at `time`.
    public static func instant(_ value: QueryValue, at time: Int64, format: Format, to output: inout [UInt8]) {
        if format == .table || format == .svg {
            switch value {
            case .scalar(let number): table([([], time, number)], to: &output)
            case .string(let text): output.append(contentsOf: (text + "\n").utf8)
            case .vector(let elements): table(elements.map { ($0.labels, time, $0.value) }, to: &output)
            case .matrix(let series): range(series, format: .table, to: &output)
            }
            return
        }
        switch format {
        case .table, .svg:
            break
        case .lines, .csv:
            if format == .csv { output.append(contentsOf: "name,labels,value,timestamp\n".utf8) }
            switch value {
            case .scalar(let number):
                appendRow(labels: [], value: number, time: time, format: format, to: &output)
            case .string(let text):
                output.append(contentsOf: text.utf8)
                output.append(0x0A)
            case .vector(let elements):
                for element in elements { appendRow(labels: element.labels, value: element.value, time: time, format: format, to: &output) }
            case .matrix(let series):
                for one in series {
                    for index in one.timestamps.indices { appendRow(labels: one.labels, value: one.values[index], time: one.timestamps[index], format: format, to: &output) }
                }
            }
        case .json:
            switch value {
            case .scalar(let number):
                output.append(contentsOf: #"{"resultType":"scalar","result":"#.utf8)
                appendPoint(time, number, to: &output)
            case .string(let text):
                output.append(contentsOf: #"{"resultType":"string","result":["#.utf8)
                appendSeconds(time, to: &output)
                output.append(UInt8(ascii: ","))
                JSONText.appendString(text, to: &output)
                output.append(UInt8(ascii: "]"))
            case .vector(let elements):
                output.append(contentsOf: #"{"resultType":"vector","result":["#.utf8)
                for (index, element) in elements.enumerated() {
                    if index > 0 { output.append(UInt8(ascii: ",")) }
                    appendMetric(element.labels, to: &output)
                    output.append(contentsOf: #","value":"#.utf8)
                    appendPoint(time, element.value, to: &output)
                    output.append(UInt8(ascii: "}"))
                }
                output.append(UInt8(ascii: "]"))
            case .matrix(let series):
                appendMatrix(series, to: &output)
            }
            output.append(contentsOf: "}\n".utf8)
        }
    }

    /// A range query's result, written out series by series so that a large answer is not held
    /// whole in memory.
    public static func range(_ series: [RangeSeries], format: Format, to buffer: inout OutputBuffer) {
        switch format {
        case .svg:
            buffer.bytes.append(contentsOf: SVGChart().render(series).utf8)
        case .table:
            var rows: [(LabelSet, Int64, Double)] = []
            for one in series {
                for index in one.timestamps.indices { rows.append((one.labels, one.timestamps[index], one.values[index])) }
            }
            table(rows, to: &buffer.bytes)
        case .lines, .csv:
            if format == .csv { buffer.bytes.append(contentsOf: "name,labels,value,timestamp\n".utf8) }
            inParallel(series, to: &buffer) { _, one, text in writeRows(one, format: format, to: text) }
        case .json:
            buffer.bytes.append(contentsOf: #"{"resultType":"matrix","result":["#.utf8)
            inParallel(series, to: &buffer) { number, one, text in writeSeries(one, first: number == 0, to: text) }
            buffer.bytes.append(contentsOf: "]}\n".utf8)
        }
    }

    /// Writes each series' text with `write` (given its number), on every processor, a batch of
    /// series at a time: each worker writes a contiguous share of the batch into a buffer of its
    /// own, and the buffers go out in order, so the text is the same as written one by one.
    private static func inParallel(_ series: [RangeSeries], to buffer: inout OutputBuffer,
                                   _ write: @escaping @Sendable (Int, RangeSeries, TextBuffer) -> Void) {
        let batch = 256
        for first in stride(from: 0, to: series.count, by: batch) {
            let part = Array(series[first..<min(first + batch, series.count)])
            let points = part.reduce(0) { $0 + $1.timestamps.count }
            let workers = points < 20_000 ? 1 : min(Workers.available, part.count)
            let texts = WorkerSlots<TextBuffer>(workers)
            Workers.run(workers) { worker in
                let share = (worker * part.count / workers)..<((worker + 1) * part.count / workers)
                // Room for the usual point and labels, so the text is seldom moved as it grows.
                let text = TextBuffer(capacity: share.reduce(0) { $0 + 36 * part[$1].timestamps.count + 256 })
                for index in share { write(first + index, part[index], text) }
                texts[worker] = text
            }
            for worker in 0..<workers { buffer.append(texts[worker]!.bytes) }
            buffer.flushIfFull()
        }
    }

    /// A range query's result, into bytes.
    public static func range(_ series: [RangeSeries], format: Format, to output: inout [UInt8]) {
        var buffer = OutputBuffer(descriptor: -1, tool: "", flushThreshold: Int.max)
        range(series, format: format, to: &buffer)
        output.append(contentsOf: buffer.bytes)
    }

    /// An aligned table for a terminal: time, the metric name, one column per label, the value.
    private static func table(_ rows: [(labels: LabelSet, time: Int64, value: Double)], to output: inout [UInt8]) {
        var names: [String] = []
        for row in rows {
            for label in row.labels where label.name != Segment.nameLabel && !names.contains(label.name) { names.append(label.name) }
        }
        names.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let hasName = rows.contains { !$0.labels.value(of: Segment.nameLabel).isEmpty }
        let header = ["TIME"] + (hasName ? ["NAME"] : []) + names.map { $0.uppercased() } + ["VALUE"]
        var cells: [[String]] = []
        for row in rows {
            var line = [Timestamp.rfc3339(row.time)]
            if hasName { line.append(row.labels.value(of: Segment.nameLabel)) }
            for name in names { line.append(row.labels.value(of: name)) }
            line.append(FloatFormatter.string(row.value))
            cells.append(line)
        }
        var widths = header.map(\.count)
        for line in cells {
            for (column, cell) in line.enumerated() { widths[column] = max(widths[column], cell.count) }
        }
        func append(_ line: [String]) {
            var text = ""
            for (column, cell) in line.enumerated() {
                let last = column == line.count - 1
                // Values are right-aligned, everything else left-aligned.
                if last {
                    text += String(repeating: " ", count: widths[column] - cell.count) + cell
                } else {
                    text += cell + String(repeating: " ", count: widths[column] - cell.count + 2)
                }
            }
            output.append(contentsOf: (text + "\n").utf8)
        }
        append(header)
        cells.forEach(append)
    }

    private static func appendMatrix(_ series: [RangeSeries], to output: inout [UInt8]) {
        let text = TextBuffer()
        for (number, one) in series.enumerated() { writeSeries(one, first: number == 0, to: text) }
        output.append(contentsOf: #"{"resultType":"matrix","result":["#.utf8)
        output.append(contentsOf: text.bytes)
        output.append(UInt8(ascii: "]"))
    }

    /// `{"metric":{...},"values":[[t,"v"],...]}`, after a comma unless it is the `first`.
    private static func writeSeries(_ one: RangeSeries, first: Bool, to text: TextBuffer) {
        var head: [UInt8] = first ? [] : [UInt8(ascii: ",")]
        appendMetric(one.labels, to: &head)
        head.append(contentsOf: #","values":["#.utf8)
        text.append(head)
        // Points a block at a time, each block's room made once.
        let count = one.timestamps.count
        var index = 0
        one.timestamps.withUnsafeBufferPointer { times in
            one.values.withUnsafeBufferPointer { values in
                while index < count {
                    let block = min(count - index, 512)
                    // A value Go writes in full (with hundreds of digits) ends the block, and is
                    // appended alone.
                    var inFull = false
                    text.write(room: block * (longestPoint + 1)) { start in
                        var cursor = start
                        for _ in 0..<block {
                            if index > 0 {
                                cursor.pointee = UInt8(ascii: ",")
                                cursor += 1
                            }
                            guard let written = writePoint(times[index], values[index], to: cursor) else {
                                if index > 0 { cursor -= 1 }
                                inFull = true
                                break
                            }
                            cursor += written
                            index += 1
                        }
                        return cursor - start
                    }
                    if inFull {
                        var point: [UInt8] = index > 0 ? [UInt8(ascii: ",")] : []
                        appendPoint(times[index], values[index], to: &point)
                        text.append(point)
                        index += 1
                    }
                }
            }
        }
        text.append("]}")
    }

    /// `{"metric":{...}` (left open for the value).
    private static func appendMetric(_ labels: LabelSet, to output: inout [UInt8]) {
        output.append(contentsOf: #"{"metric":"#.utf8)
        JSONText.appendObject(labels, to: &output)
    }

    /// `[seconds,"value"]` as Prometheus writes points.
    private static func appendPoint(_ time: Int64, _ value: Double, to output: inout [UInt8]) {
        guard !output.append(writtenBy: { writePoint(time, value, to: $0) }) else { return }
        output.append(UInt8(ascii: "["))
        appendSeconds(time, to: &output)
        output.append(UInt8(ascii: ","))
        output.append(UInt8(ascii: "\""))
        Evaluator.appendGoFormat(value, to: &output)
        output.append(UInt8(ascii: "\""))
        output.append(UInt8(ascii: "]"))
    }

    /// The most bytes `writePoint` puts down: `[`, the seconds, `,"`, the value and `"]`.
    private static let longestPoint = 1 + TimestampText.longestSeconds + 2 + FloatFormatter.longest + 2

    /// Writes `[seconds,"value"]` at `destination`, which has room for `longestPoint` bytes, and
    /// returns how many it wrote; nil, writing nothing, for values Go writes in full: magnitudes
    /// below 1e-6 or from 1e21 up, with as many digits as they take (there the canonical writer,
    /// used here, would take an exponent).
    @inline(__always)
    private static func writePoint(_ time: Int64, _ value: Double, to destination: UnsafeMutablePointer<UInt8>) -> Int? {
        let magnitude = abs(value)
        guard magnitude >= 1e-6 && magnitude < 1e21 || value == 0 || !value.isFinite else { return nil }
        destination[0] = UInt8(ascii: "[")
        var position = 1 + TimestampText.writeSeconds(time, to: destination + 1)
        destination[position] = UInt8(ascii: ",")
        destination[position + 1] = UInt8(ascii: "\"")
        position += 2
        position += FloatFormatter.write(value, to: destination + position)
        destination[position] = UInt8(ascii: "\"")
        destination[position + 1] = UInt8(ascii: "]")
        return position + 2
    }

    private static func appendSeconds(_ milliseconds: Int64, to output: inout [UInt8]) {
        TimestampText.appendSeconds(milliseconds, to: &output)
    }

    /// A series' points as sample lines or CSV rows, as `appendRow` writes each: the series' part
    /// of a row written once, then copied before each point's value and time.
    private static func writeRows(_ one: RangeSeries, format: Format, to text: TextBuffer) {
        let name = one.labels.value(of: Segment.nameLabel)
        let key = Sample(name: name, labels: one.labels.removing(Segment.nameLabel), value: 0)
        var prefix: [UInt8] = []
        if format == .csv {
            guard CSVEncoder().appendSeriesFields(key, to: &prefix) else { return }
        } else {
            if name.isEmpty {
                prefix.append(contentsOf: one.labels.removing(Segment.nameLabel).description.utf8)
            } else {
                ExpositionWriter.appendSeriesKey(name: key.name, labels: key.labels, to: &prefix)
            }
            prefix.append(UInt8(ascii: " "))
        }
        let separator = format == .csv ? UInt8(ascii: ",") : UInt8(ascii: " ")
        let longest = prefix.count + FloatFormatter.longest + 1 + 20 + 1
        let count = one.timestamps.count
        var index = 0
        one.timestamps.withUnsafeBufferPointer { times in
            one.values.withUnsafeBufferPointer { values in
                prefix.withUnsafeBufferPointer { prefix in
                    while index < count {
                        let block = min(count - index, 256)
                        text.write(room: block * longest) { start in
                            var cursor = start
                            for _ in 0..<block {
                                cursor.update(from: prefix.baseAddress!, count: prefix.count)
                                cursor += prefix.count
                                cursor += ExpositionWriter.writeValue(values[index], to: cursor)
                                cursor.pointee = separator
                                cursor += 1
                                cursor += IntegerFormatter.write(times[index], to: cursor)
                                cursor.pointee = UInt8(ascii: "\n")
                                cursor += 1
                                index += 1
                            }
                            return cursor - start
                        }
                    }
                }
            }
        }
    }

    private static func appendRow(labels: LabelSet, value: Double, time: Int64, format: Format, to output: inout [UInt8]) {
        let name = labels.value(of: Segment.nameLabel)
        let rest = labels.removing(Segment.nameLabel)
        if format == .csv {
            var encoder = CSVEncoder()
            _ = encoder.encode(.sample(Sample(name: name, labels: rest, value: value, timestamp: time)), into: &output)
            return
        }
        if name.isEmpty {
            output.append(contentsOf: rest.description.utf8)
            ExpositionWriter.appendValueAndTimestamp(value, time, to: &output)
        } else {
            ExpositionWriter.append(Sample(name: name, labels: rest, value: value, timestamp: time), to: &output)
        }
    }
}
