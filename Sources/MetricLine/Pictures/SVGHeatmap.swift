extension SVGChart {
    /// One row per histogram bucket, one column per step, each cell shaded by what fell into that
    /// bucket: series with an `le` label are summed per bound and taken apart from cumulative
    /// counts (bucket `le="0.5"` less bucket `le="0.25"`), so `rate(x_bucket[5m])` draws as is.
    /// Series without `le` are rows of their own, shaded by value.
    func drawHeatmap(_ series: [RangeSeries], in frame: Frame, on canvas: inout SVGCanvas) {
        let times = Array(Set(series.flatMap(\.timestamps))).sorted()
        let position = Dictionary(uniqueKeysWithValues: times.enumerated().map { ($1, $0) })
        var rows: [(name: String, values: [Double])] = []
        // Bounds read as histogram_quantile reads them; a NaN bound has no row.
        let bounds = series.map { Evaluator.bucket($0.labels).flatMap { $0.bound.isNaN ? nil : $0.bound } }
        if !bounds.contains(where: { $0 == nil }) {
            var sums: [Double: [Double]] = [:]
            for (one, bound) in zip(series, bounds) {
                var sum = sums[bound!] ?? [Double](repeating: 0, count: times.count)
                for (index, time) in one.timestamps.enumerated() where one.values[index].isFinite {
                    sum[position[time]!] += one.values[index]
                }
                sums[bound!] = sum
            }
            var below = [Double](repeating: 0, count: times.count)
            for bound in sums.keys.sorted() {
                let cumulative = sums[bound]!
                rows.append((bound == .infinity ? "+Inf" : unit.format(bound), zip(cumulative, below).map { max(0, $0 - $1) }))
                below = cumulative
            }
        } else {
            for (one, name) in zip(series, SVGChart.distinctNames(series.map(\.labels))) {
                var values = [Double](repeating: .nan, count: times.count)
                for (index, time) in one.timestamps.enumerated() { values[position[time]!] = one.values[index] }
                rows.append((name, values))
            }
        }
        // Room on the left for the longest row name, up to a third of the chart.
        var frame = frame
        let labelWidth = min(frame.width / 3, Double(rows.map(\.name.count).max() ?? 0) * 6.5 + 10)
        if labelWidth > frame.left {
            frame.width -= labelWidth - frame.left
            frame.left = labelWidth
        }
        // Steps are merged (averaged) into cells at least 3 pixels wide.
        let columns = min(times.count, max(1, Int(frame.width / 3)))
        let cellWidth = frame.width / Double(columns), cellHeight = frame.height / Double(rows.count)
        let shaded = rows.map { row in
            (0..<columns).map { column -> Double in
                let range = column * times.count / columns..<max(column * times.count / columns + 1, (column + 1) * times.count / columns)
                let finite = row.values[range].filter(\.isFinite)
                return finite.isEmpty ? .nan : finite.reduce(0, +) / Double(finite.count)
            }
        }
        let largest = shaded.joined().filter(\.isFinite).max() ?? 0
        for (number, row) in shaded.enumerated() {
            // The lowest bucket sits at the bottom, as on a value axis.
            let top = frame.bottom - Double(number + 1) * cellHeight
            for (column, value) in row.enumerated() where value.isFinite && value > 0 {
                // Cells overlap by half a pixel, so no seam of background shows between them.
                canvas.rect(frame.left + Double(column) * cellWidth, top, cellWidth + 0.5, cellHeight + 0.5,
                            fill: SVGChart.shade(largest > 0 ? value / largest : 0))
            }
        }
        // Label at most one row in every 14 pixels.
        let every = max(1, Int((14 / cellHeight).rounded(.up)))
        for (number, row) in rows.enumerated() where number % every == 0 || number == rows.count - 1 {
            let middle = frame.bottom - (Double(number) + 0.5) * cellHeight
            canvas.text(frame.left - 6, middle, row.name, anchor: "end", extra: #"dominant-baseline="middle""#)
        }
        drawTimeAxis(from: times.first!, to: times.last!, in: frame, on: &canvas)
        canvas.rect(frame.left, frame.top, frame.width, frame.height, fill: "none", stroke: "#555")
        // The scale: from nothing to the largest cell.
        let scaleTop = frame.bottom + 30
        for step in 0..<20 {
            canvas.rect(frame.left + 40 + Double(step) * 8, scaleTop, 8.05, 10, fill: SVGChart.shade(Double(step + 1) / 20))
        }
        canvas.text(frame.left + 34, scaleTop + 9, "0", anchor: "end")
        canvas.text(frame.left + 206, scaleTop + 9, unit.format(largest) + (rows.count > 1 ? " per row" : ""))
    }

    /// Names that tell series apart: only the labels whose values differ between them
    /// (`{cpu="0"}` rather than `{cpu="0",mode="idle"}`), or the whole set when nothing differs.
    static func distinctNames(_ sets: [LabelSet]) -> [String] {
        let varying = Set(sets.flatMap { $0.map(\.name) }).filter { name in Set(sets.map { $0.value(of: name) }).count > 1 }
        guard !varying.isEmpty else { return sets.map(name) }
        return sets.map { name($0.filter { varying.contains($0.name) }) }
    }

    /// A blue from pale (a little) to dark (the most), for a fraction from 0 to 1.
    static func shade(_ fraction: Double) -> String {
        let pale = (222.0, 235.0, 247.0), dark = (8.0, 48.0, 107.0)
        let f = min(1, max(0, fraction))
        func channel(_ a: Double, _ b: Double) -> String {
            let value = Int((a + (b - a) * f).rounded())
            let digits = Array("0123456789abcdef")
            return String([digits[value / 16], digits[value % 16]])
        }
        return "#" + channel(pale.0, dark.0) + channel(pale.1, dark.1) + channel(pale.2, dark.2)
    }
}
