/// A chart of a range query's result as a self-contained SVG document: lines, stacked areas, a
/// heatmap of histogram buckets over time, or one big number per series (a stat, or a gauge).
public struct SVGChart {
    /// What the chart draws.
    public enum Kind: String, CaseIterable, Sendable {
        /// One line per series.
        case line
        /// Series stacked on one another, each a filled band.
        case area
        /// Histogram buckets (series with an `le` label) as rows of cells, darker for more.
        case heatmap
        /// The latest value of each series, large, over a sparkline of the range.
        case stat
        /// The latest value of each series on a half-circle dial.
        case gauge
    }

    public var kind = Kind.line
    /// The size of the document in pixels.
    public var width = 800
    public var height = 320
    public var title = ""
    /// How values are printed on the axis, the legend and the stat tiles.
    public var unit = ValueUnit("")
    /// The zone of the times under the x-axis.
    public var timeZone = TimeZone.utc

    public init() {}

    /// At most this many legend rows; the rest are counted.
    static let legendRows = 8

    public func render(_ series: [RangeSeries]) -> String {
        var canvas = SVGCanvas(width: width, height: height)
        if !title.isEmpty { canvas.text(12, 20, title, extra: #"font-size="14" font-weight="bold""#) }
        let top = title.isEmpty ? 16.0 : 36.0
        guard series.contains(where: { $0.values.contains(where: \.isFinite) }) else {
            canvas.text(60, top + 20, "no data")
            return canvas.finish()
        }
        switch kind {
        case .line, .area:
            // A lone series without labels needs no legend: the title names it.
            // Legend rows as many as fit under a plot at least 60 pixels high.
            let fitting = max(0, Int((Double(height) - top - 40 - 60) / 16))
            let legend = series.count == 1 && series[0].labels.isEmpty ? 0 : min(series.count, SVGChart.legendRows, fitting)
            let frame = Frame(left: 70, top: top, width: Double(width) - 90, height: max(20, Double(height) - top - 40 - Double(legend) * 16))
            drawTimeChart(series, in: frame, on: &canvas)
            if legend > 0 { drawLegend(series, rows: legend, below: frame, on: &canvas) }
        case .heatmap:
            drawHeatmap(series, in: Frame(left: 70, top: top, width: Double(width) - 90, height: Double(height) - top - 56), on: &canvas)
        case .stat, .gauge:
            drawTiles(series, in: Frame(left: 0, top: top, width: Double(width), height: Double(height) - top), on: &canvas)
        }
        return canvas.finish()
    }

    /// The plot area of a chart, in pixels from the document's top left corner.
    struct Frame {
        var left: Double
        var top: Double
        var width: Double
        var height: Double
        var right: Double { left + width }
        var bottom: Double { top + height }
    }

    /// Lines, or stacked areas, over a value axis and a time axis.
    private func drawTimeChart(_ series: [RangeSeries], in frame: Frame, on canvas: inout SVGCanvas) {
        let times = Array(Set(series.flatMap(\.timestamps))).sorted()
        // Stacked areas: each series' band lies between the running totals before and after it.
        // A missing or non-finite value counts as zero in the stack.
        var totals: [[Double]] = []
        if kind == .area {
            var running = [Double](repeating: 0, count: times.count)
            totals.append(running)
            let position = Dictionary(uniqueKeysWithValues: times.enumerated().map { ($1, $0) })
            for one in series {
                for (index, time) in one.timestamps.enumerated() where one.values[index].isFinite {
                    running[position[time]!] += one.values[index]
                }
                totals.append(running)
            }
        }
        let finite = (kind == .area ? totals.flatMap { $0 } : series.flatMap(\.values)).filter(\.isFinite)
        guard let low = finite.min(), let high = finite.max() else {
            canvas.text(frame.left, frame.top + 20, "no finite values to draw")
            return
        }
        let (ticks, minimum, maximum) = unit.ticks(low, high)
        let first = times.first!, last = times.last!
        let span = Double(max(last - first, 1))
        func x(_ time: Int64) -> Double { frame.left + Double(time - first) / span * frame.width }
        func y(_ value: Double) -> Double { frame.top + (maximum - value) / (maximum - minimum) * frame.height }
        for tick in ticks {
            canvas.line(frame.left, y(tick), frame.right, y(tick), stroke: "#e0e0e0")
            canvas.text(frame.left - 6, y(tick), unit.format(tick), anchor: "end", extra: #"dominant-baseline="middle""#)
        }
        drawTimeAxis(from: first, to: last, in: frame, on: &canvas)
        if kind == .area {
            for number in series.indices.reversed() {
                let upper = times.indices.map { (x(times[$0]), y(totals[number + 1][$0])) }
                let lower = times.indices.reversed().map { (x(times[$0]), y(totals[number][$0])) }
                canvas.polygon(upper + lower, fill: SVGCanvas.color(number), opacity: 0.75)
                canvas.polyline(upper, stroke: SVGCanvas.color(number), width: 1)
            }
        } else {
            for (number, one) in series.enumerated() {
                // One polyline per run of finite values; a lone point is a dot.
                var run: [(Double, Double)] = []
                func flush() {
                    if run.count == 1 { canvas.circle(run[0].0, run[0].1, radius: 1.5, fill: SVGCanvas.color(number)) }
                    if run.count > 1 { canvas.polyline(run, stroke: SVGCanvas.color(number)) }
                    run.removeAll()
                }
                for (index, value) in one.values.enumerated() {
                    if value.isFinite { run.append((x(one.timestamps[index]), y(value))) } else { flush() }
                }
                flush()
            }
        }
        canvas.rect(frame.left, frame.top, frame.width, frame.height, fill: "none", stroke: "#555")
    }

    /// Ticks and times under `frame` at round local times (every 5 minutes, every hour, every
    /// day...), at most one per 100 pixels, with seconds on charts shorter than an hour and dates on
    /// charts longer than a day.
    func drawTimeAxis(from first: Int64, to last: Int64, in frame: Frame, on canvas: inout SVGCanvas) {
        let ticks = TimeTicks(from: first, to: last, most: max(2, Int(frame.width / 100)), zone: timeZone)
        let span = Double(max(last - first, 1))
        for tick in ticks.times {
            let position = frame.left + Double(tick - first) / span * frame.width
            canvas.line(position, frame.bottom, position, frame.bottom + 4, stroke: "#555")
            // A label that would run off the document's edge is aligned to the tick instead.
            let label = timeLabel(tick, span: last - first), half = Double(label.count) * 3.2
            let anchor = position + half > Double(width) ? "end" : (position - half < 0 ? "start" : "middle")
            canvas.text(position, frame.bottom + 16, label, anchor: anchor)
        }
    }

    /// `time` in the chart's zone: `HH:MM:SS` under an hour, `HH:MM` under a day, else the date too.
    func timeLabel(_ time: Int64, span: Int64) -> String {
        TimeTicks.label(time, span: span, step: 0, zone: timeZone)
    }

    private func drawLegend(_ series: [RangeSeries], rows: Int, below frame: Frame, on canvas: inout SVGCanvas) {
        for (number, one) in series.prefix(rows).enumerated() {
            let row = frame.bottom + 32 + Double(number) * 16
            canvas.rect(frame.left, row - 8, 14, 4, fill: SVGCanvas.color(number))
            canvas.text(frame.left + 20, row, SVGChart.name(one.labels))
        }
        if series.count > rows {
            canvas.text(frame.left + 300, frame.bottom + 32, "… and \(series.count - rows) more series")
        }
    }

    /// A series' name in a legend: its labels as PromQL writes them.
    static func name(_ labels: LabelSet) -> String {
        labels.isEmpty ? "{}" : labels.description
    }
}
