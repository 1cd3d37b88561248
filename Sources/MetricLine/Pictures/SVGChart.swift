/// A line chart as a self-contained SVG document: one polyline per series, a y-axis with round
/// ticks in k/M/G, time ticks along the x-axis, and a legend.
public struct SVGChart {
    public var width = 800
    public var height = 320
    public var title = ""
    public var timeZone = TimeZone.utc

    public init() {}

    private static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    public func render(_ series: [RangeSeries]) -> String {
        let legendRows = min(series.count, 8)
        let left = 60.0, right = 20.0, top = title.isEmpty ? 20.0 : 40.0
        let bottom = 40.0 + Double(legendRows) * 16
        let plotWidth = Double(width) - left - right
        let plotHeight = Double(height) - top - bottom
        var svg = ##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(width)" height="\##(height)" viewBox="0 0 \##(width) \##(height)" font-family="sans-serif" font-size="11">"##
        svg += "\n" + ##"<rect width="100%" height="100%" fill="white"/>"##
        if !title.isEmpty { svg += "\n" + ##"<text x="\##(left)" y="20" font-size="14" font-weight="bold">\##(SVGChart.escape(title))</text>"## }
        let finite = series.flatMap { $0.values.filter(\.isFinite) }
        let times = series.flatMap(\.timestamps)
        guard let low = finite.min(), let high = finite.max(), let first = times.min(), let last = times.max() else {
            return svg + "\n" + ##"<text x="\##(left)" y="\##(top + 20)">no data</text>"## + "\n</svg>\n"
        }
        let (ticks, minimum, maximum) = SVGChart.niceTicks(low, high)
        let span = Double(max(last - first, 1))
        func x(_ time: Int64) -> Double { left + Double(time - first) / span * plotWidth }
        func y(_ value: Double) -> Double { top + (maximum - value) / (maximum - minimum) * plotHeight }
        // Grid and y-axis labels.
        for tick in ticks {
            let position = SVGChart.number(y(tick))
            svg += "\n" + ##"<line x1="\##(left)" y1="\##(position)" x2="\##(left + plotWidth)" y2="\##(position)" stroke="#e0e0e0"/>"##
            svg += "\n" + ##"<text x="\##(left - 6)" y="\##(position)" text-anchor="end" dominant-baseline="middle">\##(TerminalChart.humanize(tick))</text>"##
        }
        // Time ticks: about one per 100 pixels.
        let count = max(2, Int(plotWidth / 100))
        for index in 0...count {
            let time = first + Int64(Double(last - first) * Double(index) / Double(count))
            let position = SVGChart.number(x(time))
            let seconds = time / 1000
            let text = Timestamp.rfc3339((seconds + timeZone.offset(at: seconds)) * 1000)
            let label = last - first < 86_400_000 ? String(text.dropFirst(11).prefix(last - first < 3_600_000 ? 8 : 5)) : String(text.prefix(16)).replacingFirst("T", with: " ")
            svg += "\n" + ##"<line x1="\##(position)" y1="\##(top + plotHeight)" x2="\##(position)" y2="\##(top + plotHeight + 4)" stroke="#555"/>"##
            svg += "\n" + ##"<text x="\##(position)" y="\##(top + plotHeight + 16)" text-anchor="middle">\##(label)</text>"##
        }
        svg += "\n" + ##"<rect x="\##(left)" y="\##(top)" width="\##(SVGChart.number(plotWidth))" height="\##(SVGChart.number(plotHeight))" fill="none" stroke="#555"/>"##
        // One polyline per run of finite values.
        for (number, one) in series.enumerated() {
            let color = SVGChart.palette[number % SVGChart.palette.count]
            var points: [String] = []
            func flush() {
                if points.count == 1 {
                    let parts = points[0].split(separator: ",")
                    svg += "\n" + ##"<circle cx="\##(parts[0])" cy="\##(parts[1])" r="1.5" fill="\##(color)"/>"##
                } else if points.count > 1 {
                    svg += "\n" + ##"<polyline fill="none" stroke="\##(color)" stroke-width="1.5" points="\##(points.joined(separator: " "))"/>"##
                }
                points.removeAll()
            }
            for index in one.timestamps.indices {
                guard one.values[index].isFinite else {
                    flush()
                    continue
                }
                points.append(SVGChart.number(x(one.timestamps[index])) + "," + SVGChart.number(y(one.values[index])))
            }
            flush()
        }
        // Legend.
        for (number, one) in series.prefix(legendRows).enumerated() {
            let row = top + plotHeight + 32 + Double(number) * 16
            let color = SVGChart.palette[number % SVGChart.palette.count]
            svg += "\n" + ##"<rect x="\##(left)" y="\##(row - 8)" width="14" height="4" fill="\##(color)"/>"##
            svg += "\n" + ##"<text x="\##(left + 20)" y="\##(row)">\##(SVGChart.escape(one.labels.isEmpty ? "{}" : one.labels.description))</text>"##
        }
        if series.count > legendRows {
            svg += "\n" + ##"<text x="\##(left + 300)" y="\##(top + plotHeight + 32)">… and \##(series.count - legendRows) more series</text>"##
        }
        return svg + "\n</svg>\n"
    }

    /// Round tick values covering [low, high]: steps of 1, 2 or 5 times a power of ten.
    static func niceTicks(_ low: Double, _ high: Double) -> (ticks: [Double], minimum: Double, maximum: Double) {
        var (minimum, maximum) = low == high ? (low - 1, high + 1) : (low, high)
        let rough = (maximum - minimum) / 5
        var power = 1.0
        while power * 10 <= rough { power *= 10 }
        while power > rough && power > 1e-12 { power /= 10 }
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= rough } ?? power * 10
        minimum = (minimum / step).rounded(.down) * step
        maximum = (maximum / step).rounded(.up) * step
        var ticks: [Double] = []
        var tick = minimum
        while tick <= maximum + step / 2 && ticks.count < 50 {
            ticks.append((tick / step).rounded() * step)
            tick += step
        }
        return (ticks, minimum, maximum)
    }

    static func number(_ value: Double) -> String {
        FloatFormatter.string((value * 10).rounded() / 10)
    }

    static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
