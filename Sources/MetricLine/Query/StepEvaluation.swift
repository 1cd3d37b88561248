#if canImport(Glibc)
import Glibc
#endif

/// Range queries evaluated over every step at once, series by series, for the expressions most
/// range queries are made of: selectors, the window functions of a range selector (`rate`,
/// `avg_over_time`…), functions of one number, `histogram_quantile`, aggregations without a
/// parameter, and arithmetic or comparison with a scalar. A selector's samples are walked once
/// with moving windows instead of being searched at every step, and labels are grouped and
/// matched once instead of at every step. Each value is computed by the same code as in
/// step-by-step evaluation (the window reducers, `kahanSum`, `bucketQuantile`…), in the same
/// order, so both give the same numbers; anything else is evaluated step by step.
extension Evaluator {
    /// The steps of a range query.
    struct StepGrid {
        var start: Int64
        var step: Int64
        var count: Int

        func time(_ index: Int) -> Int64 { start + Int64(index) * step }
    }

    /// One series of an expression's value over the steps: its labels, whether its metric name is
    /// to be dropped at the end, and its value at each step where it has one.
    struct StepSeries: Sendable {
        var labels: LabelSet
        var dropsName: Bool
        /// A value per step; meaningless where `present` is false.
        var values: [Double]
        var present: [Bool]
    }

    /// An expression's value over the steps.
    enum StepValue {
        case scalar([Double])
        case vector([StepSeries])
    }

    /// Whether `expression` can be evaluated over all steps at once.
    static func stepEvaluable(_ expression: QueryExpression) -> Bool {
        switch expression {
        case .number:
            return true
        case .parenthesized(let inner), .negate(let inner):
            return stepEvaluable(inner)
        case .vector(let selector):
            return selector.at == nil
        case .call(let name, let arguments):
            if name == "time" { return arguments.isEmpty }
            if mathFunctions[name] != nil { return arguments.count == 1 && stepEvaluable(arguments[0]) }
            if windowReducers[name] != nil, arguments.count == 1, case .matrix(let selector, _) = unwrapped(arguments[0]) {
                return selector.at == nil
            }
            if name == "histogram_quantile", arguments.count == 2, case .number = unwrapped(arguments[0]) {
                return stepEvaluable(arguments[1])
            }
            return false
        case .aggregate(let operation, let parameter, let inner, _, _):
            // Nested aggregations (and aggregations of histogram_quantile, which groups too) stay
            // step by step: there the order of the inner groups, and so the order of an outer
            // sum, may change from step to step.
            guard parameter == nil, [.sum, .avg, .count, .group, .min, .max, .stddev, .stdvar].contains(operation) else { return false }
            return stepEvaluable(inner) && !containsAggregation(inner)
        case .binary(let operation, let left, let right, _, _):
            guard ![.and, .or, .unless].contains(operation), left.type == .scalar || right.type == .scalar else { return false }
            return stepEvaluable(left) && stepEvaluable(right)
        case .string, .matrix, .subquery:
            return false
        }
    }

    private static func containsAggregation(_ expression: QueryExpression) -> Bool {
        switch expression {
        case .aggregate: true
        case .parenthesized(let inner), .negate(let inner): containsAggregation(inner)
        case .call(let name, let arguments): name == "histogram_quantile" || arguments.contains(where: containsAggregation)
        case .binary(_, let left, let right, _, _): containsAggregation(left) || containsAggregation(right)
        default: false
        }
    }

    /// The value of a step-evaluable expression over `grid`.
    func evaluateSteps(_ expression: QueryExpression, _ grid: StepGrid) throws(QueryError) -> StepValue {
        switch expression {
        case .number(let value):
            return .scalar([Double](repeating: value, count: grid.count))
        case .parenthesized(let inner):
            return try evaluateSteps(inner, grid)
        case .negate(let inner):
            switch try evaluateSteps(inner, grid) {
            case .scalar(let values): return .scalar(values.map { -$0 })
            case .vector(let series): return .vector(series.map { StepSeries(labels: $0.labels, dropsName: true, values: $0.values.map { -$0 }, present: $0.present) })
            }
        case .vector(let selector):
            return .vector(try instantSteps(selector, grid))
        case .call(let name, let arguments):
            return try withFillStatistic(for: name) { () throws(QueryError) in try callSteps(name, arguments, grid) }
        case .aggregate(let operation, _, let inner, let grouping, let without):
            if let folded = try foldedAggregation(operation, inner, grouping: grouping, without: without, grid) { return .vector(folded) }
            guard case .vector(let series) = try evaluateSteps(inner, grid) else { throw QueryError("expected instant vector in aggregation") }
            return .vector(aggregateSteps(operation, series, grouping: grouping, without: without, grid))
        case .binary(let operation, let leftExpression, let rightExpression, _, let returnBool):
            return binarySteps(operation, try evaluateSteps(leftExpression, grid), try evaluateSteps(rightExpression, grid), returnBool: returnBool)
        case .string, .matrix, .subquery:
            throw QueryError("expression cannot be evaluated over steps")
        }
    }

    /// A function call over all steps (see `stepEvaluable` for which).
    private func callSteps(_ name: String, _ arguments: [QueryExpression], _ grid: StepGrid) throws(QueryError) -> StepValue {
        if name == "time" { return .scalar((0..<grid.count).map { Double(grid.time($0)) / 1000 }) }
        if let function = Evaluator.mathFunctions[name] {
            guard case .vector(let series) = try evaluateSteps(arguments[0], grid) else { throw QueryError("expected an instant vector") }
            return .vector(series.map { StepSeries(labels: $0.labels, dropsName: true, values: $0.values.map(function), present: $0.present) })
        }
        if let reducer = Evaluator.windowReducers[name], case .matrix(let selector, let range) = Evaluator.unwrapped(arguments[0]) {
            return .vector(try windowSteps(selector, range: range, reducer, grid))
        }
        guard case .number(let q) = Evaluator.unwrapped(arguments[0]), case .vector(let buckets) = try evaluateSteps(arguments[1], grid) else {
            throw QueryError("function \"\(name)\" cannot be evaluated over steps")
        }
        return .vector(histogramQuantileSteps(q, buckets, grid))
    }

    // MARK: Selectors

    /// An instant selector at every step: each series' latest sample at or before the step (after
    /// `offset`), within the lookback and not a staleness marker.
    private func instantSteps(_ selector: VectorSelector, _ grid: StepGrid) throws(QueryError) -> [StepSeries] {
        try withRollupLimit(step: grid.step, window: nil) { () throws(QueryError) in try mapSelected(selector.matchers, instantTransform(selector, grid)) }
    }

    /// What `instantSteps` makes of one series.
    private func instantTransform(_ selector: VectorSelector, _ grid: StepGrid) -> @Sendable (RangeSeries) -> StepSeries? {
        let lookback = self.lookback, offset = selector.offset
        return { one in
            var values = [Double](repeating: 0, count: grid.count)
            var present = [Bool](repeating: false, count: grid.count)
            var any = false
            // `next` is the first sample after the step's reference time.
            var next = 0
            let timestamps = one.timestamps
            for index in 0..<grid.count {
                let reference = grid.time(index) - offset
                while next < timestamps.count && timestamps[next] <= reference { next += 1 }
                guard next > 0, timestamps[next - 1] >= reference - lookback else { continue }
                let value = one.values[next - 1]
                if value.bitPattern == StaleMarker.bitPattern { continue }
                values[index] = value
                present[index] = true
                any = true
            }
            return any ? StepSeries(labels: one.labels, dropsName: false, values: values, present: present) : nil
        }
    }

    /// A window function of a range selector at every step: the window `[t - range, t]` (after
    /// `offset`) moves along each series' samples; staleness markers are left out of it.
    private func windowSteps(_ selector: VectorSelector, range: Int64, _ reducer: WindowReducer, _ grid: StepGrid) throws(QueryError) -> [StepSeries] {
        try withRollupLimit(step: grid.step, window: range) { () throws(QueryError) in try mapSelected(selector.matchers, windowTransform(selector, range: range, reducer, grid)) }
    }

    /// What `windowSteps` makes of one series.
    private func windowTransform(_ selector: VectorSelector, range: Int64, _ reducer: WindowReducer, _ grid: StepGrid) -> @Sendable (RangeSeries) -> StepSeries? {
        let offset = selector.offset
        return { one in
            let timestamps = one.timestamps, samples = one.values
            // One pass over the values: whether any is a staleness marker, and for rate/increase
            // whether any falls below the one before (a counter reset). Series with resets count
            // them up to each sample, so a window without one skips looking.
            let (hasNaN, hasDecrease) = samples.withUnsafeBufferPointer(Self.scan)
            // Staleness markers are NaN, so only series with NaN are looked at for them.
            let hasMarkers = hasNaN && samples.contains { $0.bitPattern == StaleMarker.bitPattern }
            let hasResets = reducer.counter != nil && hasDecrease
            var resetsThrough: [Int32] = []
            if hasResets && !hasMarkers {
                resetsThrough.reserveCapacity(samples.count)
                var resets: Int32 = 0, previous = samples[0]
                for value in samples {
                    if value < previous { resets += 1 }
                    resetsThrough.append(resets)
                    previous = value
                }
            }
            // Staleness markers before each sample, only for series that have any.
            var markersBefore: [Int32] = []
            if hasMarkers {
                markersBefore.reserveCapacity(samples.count + 1)
                var count: Int32 = 0
                markersBefore.append(0)
                for value in samples {
                    if value.bitPattern == StaleMarker.bitPattern { count += 1 }
                    markersBefore.append(count)
                }
            }
            // rate/increase of a window free of resets and markers, from its ends alone.
            let counter = hasMarkers ? nil : reducer.counter
            // Written through pointers: an array written at each step checks each time that it
            // is not shared.
            var valueArray = [Double](repeating: 0, count: grid.count), presentArray = [Bool](repeating: false, count: grid.count)
            var any = false
            valueArray.withUnsafeMutableBufferPointer { values in
                presentArray.withUnsafeMutableBufferPointer { present in
                    // max/min_over_time of a series without NaN or staleness markers: the window's best
                    // is the head of a queue of candidates, each beating every later one (of equal
                    // values the first stays, as when every sample is looked at).
                    let extreme = hasNaN ? nil : reducer.extreme
                    var queue: [Int] = [], queueHead = 0
                    var lower = 0, upper = 0
                    // Samples evenly spaced by an interval that divides the step: every window's edges are
                    // the first window's moved by step / interval samples, with no search.
                    let edges = extreme == nil ? WindowEdges(timestamps, first: grid.time(0) - offset, range: range, step: grid.step) : nil
                    // Reset-free rate/increase windows wait here to be computed a batch at a time.
                    let windows = Evaluator.CounterWindows()
                    // Those shaped as the first one, the usual case, go here (set at the first).
                    let alike = Evaluator.AlikeCounterWindows()
                    var shaped = false
                    // So do sum_over_time/avg_over_time windows of a series without staleness markers.
                    let sumFunction = markersBefore.isEmpty ? reducer.sum : nil
                    let sums = Evaluator.SumWindows()
                    func store(_ step: Int, _ answer: Double) {
                        values[step] = answer
                        present[step] = true
                        any = true
                    }
                    timestamps.withUnsafeBufferPointer { times in
                        samples.withUnsafeBufferPointer { sampled in
                            // Reset-free rate/increase over evenly spaced samples: the whole windows, all
                            // shaped alike, are computed at once straight from the samples.
                            let wholeWindows = edges?.wholeWindows(grid.count)
                            var whole = 0..<0
                            if let counter, let edges, let wholeWindows, resetsThrough.isEmpty, let number = wholeWindows.first {
                                let (lower, upper) = edges.window(number)
                                if upper - lower >= 2 {
                                    whole = wholeWindows
                                    let end = grid.time(number) - offset
                                    alike.shape(first: times[lower], last: times[upper - 1], samples: upper - lower,
                                                WindowBounds(start: end - range, end: end, range: range))
                                    shaped = true
                                    let moved = number * edges.stride
                                    alike.computeEvery(whole, of: sampled, first: lower - moved, last: upper - 1 - moved, stride: edges.stride,
                                                       range: range, rate: counter == .rate, into: values)
                                    present[whole].update(repeating: true)
                                    any = true
                                }
                            }
                            // The steps before and after the whole windows (all of them when there are none).
                            for index in [0..<whole.lowerBound, whole.upperBound..<grid.count].joined() {
                                let end = grid.time(index) - offset
                                let start = end - range
                                if let edges {
                                    (lower, upper) = edges.window(index)
                                } else {
                                    while lower < times.count && times[lower] < start { lower += 1 }
                                    if upper < lower { upper = lower }
                                    while upper < times.count && times[upper] <= end {
                                        if let extreme {
                                            while queue.count > queueHead && extreme.beats(sampled[upper], sampled[queue[queue.count - 1]]) { queue.removeLast() }
                                            queue.append(upper)
                                        }
                                        upper += 1
                                    }
                                }
                                guard lower < upper else { continue }
                                if extreme != nil {
                                    while queue[queueHead] < lower { queueHead += 1 }
                                    store(index, sampled[queue[queueHead]])
                                    continue
                                }
                                if let sumFunction {
                                    if sums.add(step: index, start: lower, end: upper) { sums.flush(sampled, sumFunction, store) }
                                    continue
                                }
                                let bounds = WindowBounds(start: start, end: end, range: range)
                                if let counter, resetsThrough.isEmpty || resetsThrough[upper - 1] == resetsThrough[lower] {
                                    guard upper - lower >= 2 else { continue }
                                    let first = times[lower], last = times[upper - 1]
                                    // Over evenly spaced samples, the shape of whole windows (the series
                                    // may begin or end within the first and last).
                                    if !shaped && wholeWindows?.contains(index) != false {
                                        alike.shape(first: first, last: last, samples: upper - lower, bounds)
                                        shaped = true
                                    }
                                    if alike.fits(first: first, last: last, samples: upper - lower, bounds) {
                                        if alike.add(step: index, start: sampled[lower], end: sampled[upper - 1]) { alike.flush(range: range, rate: counter == .rate, store) }
                                        continue
                                    }
                                    let full = windows.add(step: index, first: (first, sampled[lower]), last: (last, sampled[upper - 1]),
                                                           samples: upper - lower, bounds)
                                    if full { windows.flush(range: range, rate: counter == .rate, store) }
                                    continue
                                }
                                let reduced: Double?
                                if !markersBefore.isEmpty && markersBefore[upper] != markersBefore[lower] {
                                    let kept = Evaluator.withoutStaleMarkers(timestamps, samples, lower..<upper)
                                    reduced = kept.timestamps.isEmpty ? nil : reducer.reduce(kept.timestamps[...], kept.values[...], bounds)
                                } else {
                                    reduced = reducer.reduce(timestamps[lower..<upper], samples[lower..<upper], bounds)
                                }
                                guard let reduced else { continue }
                                store(index, reduced)
                            }
                            if let sumFunction { sums.flush(sampled, sumFunction, store) }
                        }
                    }
                    if let counter = reducer.counter {
                        windows.flush(range: range, rate: counter == .rate, store)
                        alike.flush(range: range, rate: counter == .rate, store)
                    }
                }
            }
            return any ? StepSeries(labels: one.labels, dropsName: !reducer.keepsName, values: valueArray, present: presentArray) : nil
        }
    }

    /// Whether any value is NaN, and whether any falls below the one before it; four at a time.
    static func scan(_ values: UnsafeBufferPointer<Double>) -> (nan: Bool, decrease: Bool) {
        guard let base = values.baseAddress, values.count > 1 else { return (values.first?.isNaN ?? false, false) }
        let memory = UnsafeRawPointer(base)
        var nan = SIMDMask<SIMD4<Int64>>(repeating: false), decrease = nan
        var index = 1
        while index + 4 <= values.count {
            let current = memory.loadUnaligned(fromByteOffset: index * 8, as: SIMD4<Double>.self)
            let previous = memory.loadUnaligned(fromByteOffset: (index - 1) * 8, as: SIMD4<Double>.self)
            nan .|= current .!= current
            decrease .|= current .< previous
            index += 4
        }
        var hasNaN = any(nan) || base[0].isNaN, hasDecrease = any(decrease)
        while index < values.count {
            hasNaN = hasNaN || base[index].isNaN
            hasDecrease = hasDecrease || base[index] < base[index - 1]
            index += 1
        }
        return (hasNaN, hasDecrease)
    }

    /// Where the windows of evenly spaced steps fall in a series whose samples are evenly spaced
    /// too, by an interval dividing the step: window n holds the samples from `lower + n·move` up
    /// to (not including) `upper + n·move`, cut to the samples there are.
    struct WindowEdges {
        private let lower: Int
        private let upper: Int
        private let move: Int
        private let count: Int

        /// Nil unless the samples are evenly spaced and the interval divides `step`; `first` is
        /// the end of the first window, each window is `range` long and closed at both ends.
        init?(_ timestamps: [Int64], first end: Int64, range: Int64, step: Int64) {
            guard timestamps.count >= 2 else { return nil }
            let origin = timestamps[0], interval = timestamps[1] &- origin
            guard interval > 0, step > 0, step % interval == 0 else { return nil }
            // One pass with no early exit, so it runs on vector lanes.
            let uneven = timestamps.withUnsafeBufferPointer { times in
                var uneven: Int64 = 0
                for index in 1..<times.count { uneven |= (times[index] &- times[index - 1]) ^ interval }
                return uneven
            }
            guard uneven == 0 else { return nil }
            // The first sample at or after the start, and the first after the end (far-off times
            // that would overflow take the search instead).
            let (start, startOverflow) = end.subtractingReportingOverflow(range)
            let (fromStart, fromStartOverflow) = start.subtractingReportingOverflow(origin)
            let (fromEnd, fromEndOverflow) = end.subtractingReportingOverflow(origin)
            guard !startOverflow, !fromStartOverflow, !fromEndOverflow else { return nil }
            lower = Self.quotientRoundingUp(fromStart, interval)
            upper = Self.quotientRoundingDown(fromEnd, interval) + 1
            move = Int(step / interval)
            count = timestamps.count
        }

        /// The windows among the first `windows` that lie within the samples, not cut at either
        /// end: they all hold the same number of samples, as far from their window's edges.
        func wholeWindows(_ windows: Int) -> Range<Int> {
            // Far-off times whose distances overflow get none (the step loop takes them one by one).
            let (fromStart, startOverflow) = Int(0).subtractingReportingOverflow(lower)
            let (toEnd, endOverflow) = count.subtractingReportingOverflow(upper)
            guard move > 0, !startOverflow, !endOverflow else { return 0..<0 }
            let first = max(Self.quotientRoundingUp(Int64(fromStart), Int64(move)), 0)
            let last = min(Self.quotientRoundingDown(Int64(toEnd), Int64(move)), windows - 1)
            return first <= last ? first..<(last + 1) : 0..<0
        }

        /// Samples from one window to the next.
        var stride: Int { move }

        @inline(__always)
        func window(_ number: Int) -> (lower: Int, upper: Int) {
            let moved = number &* move
            return (min(max(lower &+ moved, 0), count), min(max(upper &+ moved, 0), count))
        }

        private static func quotientRoundingDown(_ dividend: Int64, _ divisor: Int64) -> Int {
            let quotient = dividend / divisor
            return Int(dividend % divisor != 0 && dividend < 0 ? quotient - 1 : quotient)
        }

        private static func quotientRoundingUp(_ dividend: Int64, _ divisor: Int64) -> Int {
            let quotient = dividend / divisor
            return Int(dividend % divisor != 0 && dividend > 0 ? quotient + 1 : quotient)
        }
    }

    // MARK: Functions, aggregations and operators

    /// `histogram_quantile(q, buckets)` at every step: buckets are grouped once by their labels
    /// without `le`, and each step's quantile comes from the buckets present then.
    private func histogramQuantileSteps(_ q: Double, _ buckets: [StepSeries], _ grid: StepGrid) -> [StepSeries] {
        warnUnlessQuantile(q)
        var order: [LabelSet] = []
        var groups: [LabelSet: [(bound: Double, series: Int)]] = [:]
        for (number, one) in buckets.enumerated() {
            guard let (bound, labels) = Evaluator.bucket(one.labels) else { continue }
            if groups[labels] == nil { order.append(labels) }
            groups[labels, default: []].append((bound, number))
        }
        var result: [StepSeries] = []
        var present: [(bound: Double, count: Double)] = []
        for labels in order {
            let members = groups[labels]!
            var series = StepSeries(labels: labels, dropsName: true, values: [Double](repeating: 0, count: grid.count),
                                    present: [Bool](repeating: false, count: grid.count))
            for index in 0..<grid.count {
                present.removeAll(keepingCapacity: true)
                for member in members where buckets[member.series].present[index] {
                    present.append((member.bound, buckets[member.series].values[index]))
                }
                guard !present.isEmpty else { continue }
                series.values[index] = Evaluator.bucketQuantile(q, present)
                series.present[index] = true
            }
            result.append(series)
        }
        return result
    }

    /// An aggregation at every step: each series' group is found once; at each step a group
    /// combines its members present then, in the order step-by-step evaluation sees them.
    private func aggregateSteps(_ operation: AggregationOperator, _ series: [StepSeries], grouping: [String], without: Bool,
                                _ grid: StepGrid) -> [StepSeries] {
        var order: [LabelSet] = []
        var members: [LabelSet: [Int]] = [:]
        for (number, one) in series.enumerated() {
            let labels = Evaluator.groupLabels(one.labels, grouping, without: without)
            if members[labels] == nil { order.append(labels) }
            members[labels, default: []].append(number)
        }
        let groups = order.map { members[$0]! }
        // Each group's steps in ranges, on every processor when there is enough to do: a step's
        // members are still taken in the same order, so the answer is the same to the bit.
        let rangeSteps = 256
        let ranges = (grid.count + rangeSteps - 1) / rangeSteps
        let combined = (0..<groups.count).map { _ in StepBuffers(count: grid.count) }
        let memberSeries = groups.map { group in group.map { series[$0] } }
        let workers = series.count * grid.count < 1 << 16 ? 1 : min(Workers.available, groups.count * ranges)
        Workers.forEach(groups.count * ranges, workers: workers, batch: 1) { _, task in
            let first = task % ranges * rangeSteps
            Evaluator.combine(operation, memberSeries[task / ranges], steps: first..<min(first + rangeSteps, grid.count), into: combined[task / ranges])
        }
        return order.indices.map { number in
            // A name kept by `by (__name__)` is still dropped at the end if its members' were.
            let dropsName = !without && grouping.contains(Segment.nameLabel) && groups[number].contains { series[$0].dropsName }
            return StepSeries(labels: order[number], dropsName: dropsName, values: Array(combined[number].values), present: Array(combined[number].present))
        }
    }

    /// `sum`, `count`, `group`, `min` or `max` of a selector or of a window function of one,
    /// each series folded into its group as it is read, in the order `aggregateSteps` takes
    /// members (so the same bits), without every series' values in memory at once. nil for
    /// other aggregations and operands, which go through `aggregateSteps`.
    private func foldedAggregation(_ operation: AggregationOperator, _ inner: QueryExpression, grouping: [String], without: Bool,
                                   _ grid: StepGrid) throws(QueryError) -> [StepSeries]? {
        guard [.sum, .count, .group, .min, .max].contains(operation) else { return nil }
        let matchers: [LabelMatcher], transform: @Sendable (RangeSeries) -> StepSeries?, function: String?, window: Int64?
        switch Evaluator.unwrapped(inner) {
        case .vector(let selector):
            (matchers, transform, function, window) = (selector.matchers, instantTransform(selector, grid), nil, nil)
        case .call(let name, let arguments):
            guard arguments.count == 1, let reducer = Evaluator.windowReducers[name], case .matrix(let selector, let range) = Evaluator.unwrapped(arguments[0]) else {
                return nil
            }
            (matchers, transform, function, window) = (selector.matchers, windowTransform(selector, range: range, reducer, grid), name, range)
        default:
            return nil
        }
        var order: [LabelSet] = []
        var numbers: [LabelSet: Int] = [:]
        var folds: [GroupFold] = []
        func fold(_ one: StepSeries) {
            let labels = Evaluator.groupLabels(one.labels, grouping, without: without)
            let number: Int
            if let known = numbers[labels] {
                number = known
            } else {
                number = folds.count
                numbers[labels] = number
                order.append(labels)
                folds.append(GroupFold(operation, steps: 0..<grid.count))
            }
            folds[number].add(one)
        }
        try withRollupLimit(step: grid.step, window: window) { () throws(QueryError) in
            if let function {
                try withFillStatistic(for: function) { () throws(QueryError) in try forEachSelected(matchers, transform, consume: fold) }
            } else {
                try forEachSelected(matchers, transform, consume: fold)
            }
        }
        return order.indices.map { number in
            // A name kept by `by (__name__)` is still dropped at the end if its members' were.
            let dropsName = !without && grouping.contains(Segment.nameLabel) && folds[number].anyDropsName
            var values = [Double](repeating: 0, count: grid.count), present = [Bool](repeating: false, count: grid.count)
            folds[number].finish { step, value in
                values[step] = value!  // only avg leaves a step without a value, and it is not folded here
                present[step] = true
            }
            return StepSeries(labels: order[number], dropsName: dropsName, values: values, present: present)
        }
    }

    /// One group's members folded in, member by member: per step of `steps`, a running
    /// (compensated) sum, a count and the extreme so far, the same operations in the same order
    /// as gathering each step's values first. `combine` folds a range of steps for `sum`, `avg`,
    /// `count`, `group`, `min` and `max`; `foldedAggregation` all steps as series are read.
    private final class GroupFold {
        let operation: AggregationOperator
        let steps: Range<Int>
        /// Per step of `steps`, from its lower bound.
        var sums: [KahanSum]
        var counts: [Int]
        var extremes: [Double]
        var anyDropsName = false

        init(_ operation: AggregationOperator, steps: Range<Int>) {
            self.operation = operation
            self.steps = steps
            sums = operation == .sum || operation == .avg ? [KahanSum](repeating: KahanSum(), count: steps.count) : []
            counts = [Int](repeating: 0, count: steps.count)
            extremes = operation == .min || operation == .max ? [Double](repeating: 0, count: steps.count) : []
        }

        func add(_ one: StepSeries) {
            if one.dropsName { anyDropsName = true }
            let operation = operation, steps = steps
            one.values.withUnsafeBufferPointer { allValues in
                one.present.withUnsafeBufferPointer { allPresent in
                    let memberValues = UnsafeBufferPointer(rebasing: allValues[steps]), memberPresent = UnsafeBufferPointer(rebasing: allPresent[steps])
                    counts.withUnsafeMutableBufferPointer { counts in
                        switch operation {
                        case .sum, .avg:
                            sums.withUnsafeMutableBufferPointer { sums in
                                for slot in memberPresent.indices where memberPresent[slot] {
                                    counts[slot] += 1
                                    sums[slot].add(memberValues[slot])
                                }
                            }
                        case .min, .max:
                            extremes.withUnsafeMutableBufferPointer { extremes in
                                for slot in memberPresent.indices where memberPresent[slot] {
                                    let value = memberValues[slot]
                                    counts[slot] += 1
                                    let better = operation == .min ? value < extremes[slot] : value > extremes[slot]
                                    if counts[slot] == 1 || extremes[slot].isNaN || better { extremes[slot] = value }
                                }
                            }
                        default:
                            for slot in memberPresent.indices where memberPresent[slot] { counts[slot] += 1 }
                        }
                    }
                }
            }
        }

        /// Each step with members and its value; for `avg`, nil where the sum is not finite
        /// (overflow or non-finite members), which the caller works out from the members.
        func finish(_ write: (_ step: Int, _ value: Double?) -> Void) {
            for slot in counts.indices where counts[slot] > 0 {
                let value: Double?
                switch operation {
                case .sum: value = sums[slot].result
                case .avg:
                    let sum = sums[slot].result
                    value = sum.isFinite ? sum / Double(counts[slot]) : nil
                case .count: value = Double(counts[slot])
                case .min, .max: value = extremes[slot]
                default: value = 1
                }
                write(steps.lowerBound + slot, value)
            }
        }
    }

    /// One group's aggregation over `steps`, written into `combined` (whose other steps it
    /// leaves alone).
    private static func combine(_ operation: AggregationOperator, _ members: [StepSeries], steps: Range<Int>, into combined: StepBuffers) {
        let values = combined.values, present = combined.present
        var gathered: [Double] = []
        switch operation {
        case .sum, .avg, .count, .group, .min, .max:
            let fold = GroupFold(operation, steps: steps)
            for one in members { fold.add(one) }
            fold.finish { index, value in
                present[index] = true
                if let value {
                    values[index] = value
                } else {
                    // avg of an overflowing or non-finite sum: the mean as one step's values give it.
                    gathered.removeAll(keepingCapacity: true)
                    for one in members where one.present[index] { gathered.append(one.values[index]) }
                    values[index] = Evaluator.mean(gathered)
                }
            }
        default:
            for index in steps {
                gathered.removeAll(keepingCapacity: true)
                for one in members where one.present[index] { gathered.append(one.values[index]) }
                guard !gathered.isEmpty else { continue }
                present[index] = true
                values[index] = operation == .stddev ? sqrt(Evaluator.variance(gathered)) : Evaluator.variance(gathered)
            }
        }
    }

    /// An aggregated series' values and presence per step while workers fill disjoint ranges
    /// of them.
    private final class StepBuffers: @unchecked Sendable {
        let values: UnsafeMutableBufferPointer<Double>
        let present: UnsafeMutableBufferPointer<Bool>

        init(count: Int) {
            values = .allocate(capacity: count)
            values.initialize(repeating: 0)
            present = .allocate(capacity: count)
            present.initialize(repeating: false)
        }

        deinit {
            values.deallocate()
            present.deallocate()
        }
    }

    /// Arithmetic or comparison where at least one side is a scalar.
    private func binarySteps(_ operation: BinaryOperator, _ left: StepValue, _ right: StepValue, returnBool: Bool) -> StepValue {
        switch (left, right) {
        case (.scalar(let a), .scalar(let b)):
            return .scalar(zip(a, b).map { a, b in
                let (value, keep) = Evaluator.apply(operation, a, b)
                return operation.isComparison ? (keep ? 1 : 0) : value
            })
        case (.vector(let series), .scalar(let scalars)):
            return .vector(series.map { scalarSteps(operation, $0, scalars, scalarOnLeft: false, returnBool: returnBool) })
        case (.scalar(let scalars), .vector(let series)):
            return .vector(series.map { scalarSteps(operation, $0, scalars, scalarOnLeft: true, returnBool: returnBool) })
        case (.vector, .vector):
            // Not step-evaluable (see `stepEvaluable`).
            return .vector([])
        }
    }

    private func scalarSteps(_ operation: BinaryOperator, _ one: StepSeries, _ scalars: [Double], scalarOnLeft: Bool, returnBool: Bool) -> StepSeries {
        var result = one
        result.dropsName = !operation.isComparison || returnBool || one.dropsName
        for index in scalars.indices where one.present[index] {
            let element = one.values[index]
            let (a, b) = scalarOnLeft ? (scalars[index], element) : (element, scalars[index])
            var (value, keep) = Evaluator.apply(operation, a, b)
            // A comparison keeps the vector's value, whichever side it is on.
            if operation.isComparison && scalarOnLeft { value = element }
            if returnBool {
                value = keep ? 1 : 0
            } else if !keep {
                result.present[index] = false
                continue
            }
            result.values[index] = value
        }
        return result
    }

    /// The result of a range query from its value over the steps: series named as the query
    /// returns them, with the steps where they have a value; series whose final names are the same
    /// are one series, unless they have a value at the same step.
    func rangeResult(_ value: StepValue, _ grid: StepGrid) throws(QueryError) -> [RangeSeries] {
        switch value {
        case .scalar(let values):
            return [RangeSeries(labels: [], timestamps: (0..<grid.count).map(grid.time), values: values)]
        case .vector(let series):
            var index: [LabelSet: Int] = [:]
            var merged: [(labels: LabelSet, values: [Double], present: [Bool])] = []
            for one in series where one.present.contains(true) {
                let labels = one.dropsName ? one.labels.removing(Segment.nameLabel) : one.labels
                if let position = index[labels] {
                    for step in 0..<grid.count where one.present[step] {
                        if merged[position].present[step] { throw QueryError("vector cannot contain metrics with the same labelset") }
                        merged[position].present[step] = true
                        merged[position].values[step] = one.values[step]
                    }
                } else {
                    index[labels] = merged.count
                    merged.append((labels, one.values, one.present))
                }
            }
            return merged.map { one in
                var result = RangeSeries(labels: one.labels)
                for step in 0..<grid.count where one.present[step] {
                    result.timestamps.append(grid.time(step))
                    result.values.append(one.values[step])
                }
                return result
            }.sortedByLabels()
        }
    }
}
