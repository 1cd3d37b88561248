/// A line chart drawn with Unicode braille characters (each character cell holds 2 × 4 dots), with
/// a y-axis, marks at round times under the x-axis, the first and last times, and a legend. Colours only when asked
/// (on a terminal, without NO_COLOR).
public struct TerminalChart {
    /// Characters across, the y-axis labels included.
    public var width = 80
    /// Character rows of the plot area.
    public var height = 12
    public var color = false
    public var timeZone = TimeZone.utc
    /// How values are printed on the y-axis.
    public var unit = ValueUnit("")

    public init() {}

    private static let colors = ["\u{1B}[32m", "\u{1B}[33m", "\u{1B}[34m", "\u{1B}[35m", "\u{1B}[36m", "\u{1B}[31m"]
    private static let reset = "\u{1B}[0m"

    public func render(_ series: [RangeSeries]) -> String {
        let finite = series.flatMap { $0.values.filter(\.isFinite) }
        let times = series.flatMap(\.timestamps)
        guard let low = finite.min(), let high = finite.max(), let first = times.min(), let last = times.max() else {
            return "(no data to plot)\n"
        }
        let minimum = low == high ? low - 1 : low
        let maximum = low == high ? high + 1 : high
        let labels = [maximum, (maximum + minimum) / 2, minimum].map(unit.format)
        let labelWidth = labels.map(\.count).max()! + 1
        let columns = max(10, width - labelWidth - 1)
        let dotsAcross = columns * 2, dotsDown = height * 4
        // Per character cell: the braille bits set, and the series that set them last.
        var cells = [UInt8](repeating: 0, count: columns * height)
        var owners = [Int](repeating: -1, count: columns * height)
        func plot(_ x: Int, _ y: Int, _ owner: Int) {
            guard x >= 0, x < dotsAcross, y >= 0, y < dotsDown else { return }
            let cell = (y / 4) * columns + x / 2
            let bits: [[UInt8]] = [[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]]
            cells[cell] |= bits[y % 4][x % 2]
            owners[cell] = owner
        }
        let span = Double(max(last - first, 1))
        for (number, one) in series.enumerated() {
            var previous: (x: Int, y: Int)?
            for index in one.timestamps.indices {
                let value = one.values[index]
                guard value.isFinite else {
                    previous = nil
                    continue
                }
                let x = Int((Double(one.timestamps[index] - first) / span * Double(dotsAcross - 1)).rounded())
                let y = Int(((maximum - value) / (maximum - minimum) * Double(dotsDown - 1)).rounded())
                if let previous, x - previous.x <= max(2, dotsAcross / max(one.timestamps.count, 1) * 3) {
                    // Join neighbouring points with a straight run of dots.
                    let steps = max(abs(x - previous.x), abs(y - previous.y), 1)
                    for step in 0...steps {
                        plot(previous.x + (x - previous.x) * step / steps, previous.y + (y - previous.y) * step / steps, number)
                    }
                } else {
                    plot(x, y, number)
                }
                previous = (x, y)
            }
        }
        var text = ""
        for row in 0..<height {
            let label = row == 0 ? labels[0] : (row == height / 2 ? labels[1] : (row == height - 1 ? labels[2] : ""))
            text += String(repeating: " ", count: labelWidth - label.count) + label + "┤"
            for column in 0..<columns {
                let cell = row * columns + column
                let character = Character(Unicode.Scalar(0x2800 + UInt32(cells[cell]))!)
                if color && owners[cell] >= 0 {
                    text += TerminalChart.colors[owners[cell] % TerminalChart.colors.count] + String(character) + TerminalChart.reset
                } else {
                    text.append(character)
                }
            }
            text += "\n"
        }
        text += timeAxis(from: first, to: last, columns: columns, indent: labelWidth)
        // Seconds matter on short charts.
        let precision = last - first < 3_600_000 ? 19 : 16
        let startText = localTime(first, precision), endText = localTime(last, precision)
        text += String(repeating: " ", count: labelWidth + 1) + startText
            + String(repeating: " ", count: max(1, columns - startText.count - endText.count)) + endText + "\n"
        for (number, one) in series.enumerated() {
            let mark = color ? TerminalChart.colors[number % TerminalChart.colors.count] + "━━" + TerminalChart.reset : ["━━", "──", "┅┅", "┄┄", "╍╍", "╌╌"][number % 6]
            text += "  " + mark + " " + (one.labels.isEmpty ? "{}" : one.labels.description) + "\n"
        }
        return text
    }

    /// The x-axis with a mark (`┬`) at each round time, and under it those times where they fit
    /// without running into each other or off the chart.
    private func timeAxis(from first: Int64, to last: Int64, columns: Int, indent: Int) -> String {
        let sample = TimeTicks.label(first, span: last - first, step: 3_600_000, zone: timeZone, short: true)
        let ticks = TimeTicks(from: first, to: last, most: columns / (sample.count + 2), zone: timeZone)
        var axis = [Character](repeating: "─", count: columns)
        var labels = [Character](repeating: " ", count: columns)
        var free = 0  // the first column a label may use
        let span = Double(max(last - first, 1))
        for tick in ticks.times {
            let column = min(columns - 1, Int((Double(tick - first) / span * Double(columns * 2 - 1)).rounded()) / 2)
            axis[column] = "┬"
            let label = Array(TimeTicks.label(tick, span: last - first, step: ticks.step, zone: timeZone, short: true))
            let start = min(max(column - label.count / 2, 0), columns - label.count)
            guard start >= free, start >= 0 else { continue }
            labels.replaceSubrange(start..<(start + label.count), with: label)
            free = start + label.count + 2
        }
        let margin = String(repeating: " ", count: indent)
        return margin + "└" + String(axis) + "\n" + margin + " " + String(String(labels).reversed().drop { $0 == " " }.reversed()) + "\n"
    }

    /// `2024-01-01 12:00` (or with seconds, for `length` 19) in the chart's time zone.
    private func localTime(_ milliseconds: Int64, _ length: Int) -> String {
        String(timeZone.localText(milliseconds).prefix(length))
    }
}

extension String {
    /// The string with its first `target` replaced.
    func replacingFirst(_ target: Character, with replacement: String) -> String {
        guard let index = firstIndex(of: target) else { return self }
        return String(self[..<index]) + replacement + String(self[self.index(after: index)...])
    }
}
