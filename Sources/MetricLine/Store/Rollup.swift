/// Rollups: per series and per step-long bucket of time, the minimum, maximum, sum, count and
/// last value of the raw samples, so long ranges can be answered after raw samples are gone.
///
/// A rollup segment is an ordinary segment in `DIR/rollups/<step>/`. Each raw series becomes five
/// series, its key plus the label `__rollup__` naming the statistic, with one sample per bucket
/// stamped at the bucket's start. Staleness markers are not counted; a NaN makes the sum, min and
/// max NaN as Prometheus's `*_over_time` functions would.
public enum Rollup {
    /// The label that names the statistic of a rollup series.
    public static let label = "__rollup__"

    public enum Statistic: String, CaseIterable, Sendable {
        case min, max, sum, count, last
    }

    /// The statistics of `timestamps`/`values` (sorted by time) per bucket of `step` milliseconds:
    /// the bucket starts and one column per statistic, in `Statistic.allCases` order.
    public static func compute(_ timestamps: [Int64], _ values: [Double], step: Int64) -> (starts: [Int64], columns: [[Double]]) {
        // Decimal values (0.01 s counters, 2-place loads) are summed as exact integers, so the sums
        // are the correctly rounded decimals and compress as such.
        let finite = values.filter { $0.isFinite }
        let places = finite.isEmpty ? nil : ChunkCodec.decimalPlaces(finite).flatMap { $0 <= 9 ? $0 : nil }
        let scale = places.map { FloatParser.exactPowersOfTen[$0] }
        var starts: [Int64] = []
        var columns = [[Double]](repeating: [], count: Statistic.allCases.count)
        var index = 0
        while index < timestamps.count {
            let start = StoreLayout.window(of: timestamps[index], length: step)
            var minimum = Double.infinity, maximum = -Double.infinity, sum = 0.0, count = 0.0, last = Double.nan
            var sawNaN = false
            var scaledSum: Int64 = 0
            var exact = scale != nil
            while index < timestamps.count && timestamps[index] < start + step {
                let value = values[index]
                index += 1
                if value.bitPattern == StaleMarker.bitPattern { continue }
                if value.isNaN { sawNaN = true }
                minimum = Swift.min(minimum, value)
                maximum = Swift.max(maximum, value)
                sum += value
                if exact, let scale {
                    if value.isFinite {
                        let (total, overflow) = scaledSum.addingReportingOverflow(Int64((value * scale).rounded()))
                        if overflow { exact = false } else { scaledSum = total }
                    } else {
                        exact = false  // NaN or an infinity: the plain sum says it
                    }
                }
                count += 1
                last = value
            }
            guard count > 0 else { continue }
            starts.append(start)
            columns[0].append(sawNaN ? .nan : minimum)
            columns[1].append(sawNaN ? .nan : maximum)
            columns[2].append(exact && abs(scaledSum) < 1 << 53 ? Double(scaledSum) / scale! : sum)
            columns[3].append(count)
            columns[4].append(last)
        }
        return (starts, columns)
    }

    /// Writes the rollups at `step` of every series of `segment` to `path`.
    public static func write(from segment: Segment.Reader, step: Int64, to path: String, generation: UInt64) throws(StoreError) -> Segment.Summary {
        var keys: [ExpositionParser.SeriesKey] = []
        for number in 0..<segment.seriesCount {
            let key = segment.key(number)
            for statistic in Statistic.allCases {
                keys.append(ExpositionParser.SeriesKey(name: key.name, labels: Sample.canonicalLabels(key.labels + [Label(label, statistic.rawValue)])))
            }
        }
        // The five statistics of one raw series are written one after another from one reading of it.
        var current: (number: Int, starts: [Int64], columns: [[Double]])?
        return try Segment.write(keys: keys, to: path, generation: generation) { output throws(StoreError) in
            let (number, statistic) = output.quotientAndRemainder(dividingBy: Statistic.allCases.count)
            if current?.number != number {
                let (timestamps, values) = try segment.readSeries(number)
                let (starts, columns) = compute(timestamps, values, step: step)
                current = (number, starts, columns)
            }
            return (current!.starts, current!.columns[statistic])
        }
    }
}
