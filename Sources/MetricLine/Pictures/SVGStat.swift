extension SVGChart {
    /// At most this many tiles side by side; further series are counted, not drawn.
    static let tileLimit = 6

    /// One tile per series with its latest value: a stat prints it large over a sparkline of the
    /// range; a gauge shows it on a half-circle dial from zero to 100 % (unit `percent` or `%`) or
    /// to the round number above the range's largest value, green below 70 % of the dial, orange
    /// below 90 %, red above.
    func drawTiles(_ series: [RangeSeries], in frame: Frame, on canvas: inout SVGCanvas) {
        let shown = Array(series.prefix(SVGChart.tileLimit))
        let tileWidth = frame.width / Double(shown.count)
        let largest = series.flatMap { $0.values.filter(\.isFinite) }.max() ?? 0
        let full: Double = switch unit.kind {
        case .ratio: 1
        case .percent: 100
        default: largest > 0 ? unit.ticks(0, largest).maximum : 1
        }
        for (number, one) in shown.enumerated() {
            let tile = Frame(left: frame.left + Double(number) * tileWidth, top: frame.top, width: tileWidth, height: frame.height)
            let latest = one.values.lastIndex(where: \.isFinite).map { (one.timestamps[$0], one.values[$0]) }
            let middle = tile.left + tile.width / 2
            let size = min(48, tile.width / 5, tile.height / 4)
            let valueText = latest.map { unit.format($0.1) } ?? "no data"
            if kind == .gauge {
                let radius = min(tile.width * 0.38, (tile.height - 40) * 0.8)
                let centre = tile.top + (tile.height - 20 + radius) / 2
                let fraction = min(1, max(0, (latest?.1 ?? 0) / full))
                let color = fraction < 0.7 ? "#2ca02c" : (fraction < 0.9 ? "#ff7f0e" : "#d62728")
                canvas.arc(middle, centre, radius: radius, from: .pi, to: 0, stroke: "#e6e6e6", width: radius / 4)
                if fraction > 0 {
                    canvas.arc(middle, centre, radius: radius, from: .pi, to: .pi * (1 - fraction), stroke: color, width: radius / 4)
                }
                canvas.text(middle, centre - 4, valueText, anchor: "middle", extra: #"font-size="\#(Int(size * 0.8))" font-weight="bold""#)
                canvas.text(middle - radius, centre + 14, unit.format(0), anchor: "middle")
                canvas.text(middle + radius, centre + 14, unit.format(full), anchor: "middle")
            } else {
                let color = SVGCanvas.color(number)
                // The sparkline fills the lower half of the tile.
                let spark = Frame(left: tile.left + 10, top: tile.top + tile.height / 2, width: tile.width - 20, height: tile.height / 2 - 28)
                let finite = one.values.filter(\.isFinite)
                if finite.count > 1, let first = one.timestamps.first, let last = one.timestamps.last, last > first {
                    let low = finite.min()!, high = finite.max()!
                    let points = zip(one.timestamps, one.values).filter { $0.1.isFinite }.map { time, value in
                        (spark.left + Double(time - first) / Double(last - first) * spark.width,
                         spark.bottom - (high > low ? (value - low) / (high - low) : 0.5) * spark.height)
                    }
                    canvas.polygon(points + [(points.last!.0, spark.bottom), (points[0].0, spark.bottom)], fill: color, opacity: 0.15)
                    canvas.polyline(points, stroke: color)
                }
                canvas.text(middle, tile.top + tile.height / 2 - 8, valueText, anchor: "middle",
                            extra: #"font-size="\#(Int(size))" font-weight="bold" fill="\#(color)""#)
            }
            guard !one.labels.isEmpty else { continue }
            let name = SVGChart.name(one.labels), fits = max(8, Int(tile.width / 6.5))
            canvas.text(middle, tile.bottom - 10, name.count > fits ? String(name.prefix(fits - 1)) + "…" : name, anchor: "middle")
        }
        if series.count > shown.count {
            canvas.text(frame.right - 8, frame.top + 4, "… and \(series.count - shown.count) more", anchor: "end")
        }
    }
}
