#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The evaluation of PromQL's functions: a table of small named functions.
extension Evaluator {
    typealias Implementation = @Sendable (Evaluator, [QueryExpression], Int64) throws -> QueryValue

    func call(_ name: String, _ arguments: [QueryExpression], at time: Int64) throws(QueryError) -> QueryValue {
        guard let implementation = Evaluator.functions[name] else { throw QueryError("function \"\(name)\" is not supported yet") }
        return try withFillStatistic(for: name) { () throws(QueryError) in
            do {
                return try implementation(self, arguments, time)
            } catch let error as QueryError {
                throw error
            } catch {
                throw QueryError("\(error)")
            }
        }
    }

    // MARK: Argument helpers

    func vectorArgument(_ expression: QueryExpression, at time: Int64) throws(QueryError) -> [VectorElement] {
        guard case .vector(let elements) = try evaluate(expression, at: time) else { throw QueryError("expected an instant vector") }
        return elements
    }

    func matrixArgument(_ expression: QueryExpression, at time: Int64) throws(QueryError) -> [RangeSeries] {
        guard case .matrix(let series) = try evaluate(expression, at: time) else { throw QueryError("expected a range vector") }
        return series
    }

    func scalarArgument(_ expression: QueryExpression, at time: Int64) throws(QueryError) -> Double {
        guard case .scalar(let value) = try evaluate(expression, at: time) else { throw QueryError("expected a scalar") }
        return value
    }

    func stringArgument(_ expression: QueryExpression, at time: Int64) throws(QueryError) -> String {
        guard case .string(let value) = try evaluate(expression, at: time) else { throw QueryError("expected a string") }
        return value
    }

    /// The window a range argument covers at `time`: its start and end (for extrapolation).
    func window(of expression: QueryExpression, at time: Int64) -> (start: Int64, end: Int64, range: Int64) {
        switch Evaluator.unwrapped(expression) {
        case .matrix(let selector, let range):
            let end = resolve(selector.at, default: time) - selector.offset
            return (end - range, end, range)
        case .subquery(_, let range, _, let offset, let at):
            let end = resolve(at, default: time) - offset
            return (end - range, end, range)
        default:
            return (time, time, 0)
        }
    }

    // MARK: Building blocks

    /// A function of each element's value; the metric name is dropped.
    static func mapValues(_ transform: @escaping @Sendable (Double) -> Double) -> Implementation {
        { evaluator, arguments, time in
            .vector(try evaluator.vectorArgument(arguments[0], at: time).map {
                .withoutName($0.labels, transform($0.value))
            })
        }
    }

    /// A function of each series' samples in a window; the metric name is dropped unless `keepName`.
    static func overTime(keepName: Bool = false, _ reduce: @escaping @Sendable (ArraySlice<Int64>, ArraySlice<Double>) -> Double?) -> Implementation {
        { evaluator, arguments, time in
            let rangeArgument = arguments.first { $0.type == .rangeVector } ?? arguments[arguments.count - 1]
            return .vector(try evaluator.windows(rangeArgument, at: time).compactMap { window in
                reduce(window.timestamps, window.values).map {
                    VectorElement(labels: window.labels, value: $0, dropsName: !keepName)
                }
            })
        }
    }

    /// One series' samples in a window, sliced from the selected series without copying
    /// (unless staleness markers must be left out).
    struct Window {
        var labels: LabelSet
        var timestamps: ArraySlice<Int64>
        var values: ArraySlice<Double>
    }

    /// The windows a range argument covers at `time`: a range selector is sliced straight from
    /// the series selected for the query; anything else is evaluated.
    func windows(_ argument: QueryExpression, at time: Int64) throws(QueryError) -> [Window] {
        guard case .matrix(let selector, let range) = Evaluator.unwrapped(argument) else {
            return try matrixArgument(argument, at: time).map { Window(labels: $0.labels, timestamps: $0.timestamps[...], values: $0.values[...]) }
        }
        return try windows(selector, range: range, at: time)
    }

    /// A date function of each element's value (a Unix time), or of the evaluation time.
    static func date(_ part: @escaping @Sendable (Int64, Int64, Int64, Int64, Int64, Int64) -> Double) -> Implementation {
        { evaluator, arguments, time in
            func apply(_ seconds: Double) -> Double {
                guard seconds.isFinite, abs(seconds) < 1e15 else { return .nan }
                let utc = Int64(seconds.rounded(.down))
                // Local time of the evaluator's zone (UTC unless --tz says otherwise).
                let whole = utc + evaluator.timeZone.offset(at: utc)
                let days = whole >= 0 ? whole / 86_400 : -((-whole + 86_399) / 86_400)
                let (year, month, day) = Timestamp.civil(fromDays: days)
                let secondOfDay = whole - days * 86_400
                let weekday = ((days % 7) + 11) % 7  // 1970-01-01 was a Thursday (4)
                return part(year, month, day, secondOfDay, weekday, days)
            }
            if arguments.isEmpty {
                return .vector([VectorElement(labels: [], value: apply(Double(time) / 1000))])
            }
            return .vector(try evaluator.vectorArgument(arguments[0], at: time).map {
                .withoutName($0.labels, apply($0.value))
            })
        }
    }

    /// A function of one series' samples in a window, and of the window's bounds: what `rate`,
    /// `avg_over_time` and the other functions of a range selector compute per series. Both the
    /// instant evaluation and the range evaluation (`StepEvaluation`) call these, so they agree.
    struct WindowReducer: Sendable {
        /// Whether the result keeps the metric name (`last_over_time`).
        var keepsName = false
        /// For `max_over_time` and `min_over_time`: which way is better, so a window moving along
        /// a series without NaN can keep its best in a queue instead of looking at every sample.
        var extreme: Extreme? = nil
        /// For `rate` and `increase`: which one, so a window known to hold no counter reset can
        /// be extrapolated from its ends without looking for one (the answer is the same).
        var counter: CounterFunction? = nil
        /// For `sum_over_time` and `avg_over_time`: which one, so windows can be summed several
        /// at a time (`SumWindows`, the same bits).
        var sum: SumFunction? = nil
        var reduce: @Sendable (_ timestamps: ArraySlice<Int64>, _ values: ArraySlice<Double>, _ bounds: WindowBounds) -> Double?
    }

    enum CounterFunction: Sendable {
        case rate, increase
    }

    enum SumFunction: Sendable {
        case sum, mean
    }

    enum Extreme: Sendable {
        case maximum, minimum

        /// Whether `value` beats `other` (strictly: of equal values, the first one stays).
        @inline(__always)
        func beats(_ value: Double, _ other: Double) -> Bool {
            self == .maximum ? value > other : value < other
        }
    }

    /// Where a window starts and ends (after `@` and `offset`), and its length, in milliseconds.
    struct WindowBounds {
        var start: Int64
        var end: Int64
        var range: Int64
    }

    /// The functions of one number, applied to each element of an instant vector.
    static let mathFunctions: [String: @Sendable (Double) -> Double] = {
        let list: [(String, @Sendable (Double) -> Double)] = [
            ("abs", { abs($0) }), ("ceil", { ceil($0) }), ("floor", { floor($0) }), ("exp", { Glibc.exp($0) }), ("sqrt", { Glibc.sqrt($0) }),
            ("ln", { log($0) }), ("log2", { Glibc.log2($0) }), ("log10", { Glibc.log10($0) }),
            ("sgn", { $0 > 0 ? 1 : ($0 < 0 ? -1 : $0) }),
            ("acos", { Glibc.acos($0) }), ("acosh", { Glibc.acosh($0) }), ("asin", { Glibc.asin($0) }), ("asinh", { Glibc.asinh($0) }),
            ("atan", { Glibc.atan($0) }), ("atanh", { Glibc.atanh($0) }), ("cos", { Glibc.cos($0) }), ("cosh", { Glibc.cosh($0) }),
            ("sin", { Glibc.sin($0) }), ("sinh", { Glibc.sinh($0) }), ("tan", { Glibc.tan($0) }), ("tanh", { Glibc.tanh($0) }),
            ("deg", { $0 * 180 / Double.pi }), ("rad", { $0 * Double.pi / 180 }),
        ]
        return Dictionary(uniqueKeysWithValues: list)
    }()

    /// The window functions without parameters, by name.
    static let windowReducers: [String: WindowReducer] = {
        var table: [String: WindowReducer] = [:]
        func over(_ reduce: @escaping @Sendable (ArraySlice<Int64>, ArraySlice<Double>) -> Double?) -> WindowReducer {
            WindowReducer { timestamps, values, _ in reduce(timestamps, values) }
        }
        table["rate"] = WindowReducer(counter: .rate) { extrapolated($0, $1, $2, counter: true, rate: true) }
        table["increase"] = WindowReducer(counter: .increase) { extrapolated($0, $1, $2, counter: true, rate: false) }
        table["delta"] = WindowReducer { extrapolated($0, $1, $2, counter: false, rate: false) }
        table["irate"] = over { timestamps, values in instant(timestamps, values, rate: true) }
        table["idelta"] = over { timestamps, values in instant(timestamps, values, rate: false) }
        table["avg_over_time"] = WindowReducer(sum: .mean) { _, values, _ in mean(values) }
        table["sum_over_time"] = WindowReducer(sum: .sum) { _, values, _ in kahanSum(values) }
        table["count_over_time"] = over { _, values in Double(values.count) }
        table["min_over_time"] = WindowReducer(extreme: .minimum) { _, values, _ in values.dropFirst().reduce(values.first!) { $0.isNaN || $1 < $0 ? $1 : $0 } }
        table["max_over_time"] = WindowReducer(extreme: .maximum) { _, values, _ in values.dropFirst().reduce(values.first!) { $0.isNaN || $1 > $0 ? $1 : $0 } }
        table["last_over_time"] = WindowReducer(keepsName: true) { _, values, _ in values.last }
        table["present_over_time"] = over { _, _ in 1 }
        table["stddev_over_time"] = over { _, values in Glibc.sqrt(variance(values)) }
        table["stdvar_over_time"] = over { _, values in variance(values) }
        table["mad_over_time"] = over { _, values in
            let median = quantile(0.5, values)
            return quantile(0.5, values.map { abs($0 - median) })
        }
        table["changes"] = over { _, values in
            var changes = 0.0
            for (previous, value) in zip(values, values.dropFirst()) where value != previous && !(value.isNaN && previous.isNaN) { changes += 1 }
            return changes
        }
        table["resets"] = over { _, values in
            var resets = 0.0
            for (previous, value) in zip(values, values.dropFirst()) where value < previous { resets += 1 }
            return resets
        }
        table["deriv"] = over { timestamps, values in
            guard values.count >= 2 else { return nil }
            return linearRegression(timestamps, values, at: timestamps.first!).slope
        }
        return table
    }()

    /// A window function as an implementation: the reducer applied to each window of the range
    /// argument at `time`; the metric name is dropped unless the reducer keeps it.
    static func windowFunction(_ reducer: WindowReducer) -> Implementation {
        { evaluator, arguments, time in
            let rangeArgument = arguments.first { $0.type == .rangeVector } ?? arguments[arguments.count - 1]
            let bounds = evaluator.window(of: rangeArgument, at: time)
            return .vector(try evaluator.windows(rangeArgument, at: time).compactMap { window in
                reducer.reduce(window.timestamps, window.values, WindowBounds(start: bounds.start, end: bounds.end, range: bounds.range)).map {
                    VectorElement(labels: window.labels, value: $0, dropsName: !reducer.keepsName)
                }
            })
        }
    }

    static let functions: [String: Implementation] = {
        var table: [String: Implementation] = [:]
        for (name, function) in mathFunctions { table[name] = mapValues(function) }

        for (name, reducer) in windowReducers { table[name] = windowFunction(reducer) }
        table["quantile_over_time"] = { evaluator, arguments, time in
            let q = try evaluator.scalarArgument(arguments[0], at: time)
            evaluator.warnUnlessQuantile(q)
            return try overTime { _, values in quantile(q, values) }(evaluator, arguments, time)
        }
        table["predict_linear"] = { evaluator, arguments, time in
            let seconds = try evaluator.scalarArgument(arguments[1], at: time)
            return .vector(try evaluator.windows(arguments[0], at: time).compactMap { window in
                guard window.values.count >= 2 else { return nil }
                // The prediction starts from the evaluation time, even under `@`.
                let (slope, intercept) = linearRegression(window.timestamps, window.values, at: time)
                return .withoutName(window.labels, slope * seconds + intercept)
            })
        }
        table["holt_winters"] = { evaluator, arguments, time in
            let smoothing = try evaluator.scalarArgument(arguments[1], at: time)
            let trend = try evaluator.scalarArgument(arguments[2], at: time)
            guard smoothing > 0 && smoothing < 1 else { throw QueryError("invalid smoothing factor. Expected: 0 < sf < 1, got: \(FloatFormatter.string(smoothing))") }
            guard trend > 0 && trend < 1 else { throw QueryError("invalid trend factor. Expected: 0 < tf < 1, got: \(FloatFormatter.string(trend))") }
            return try overTime { _, values in holtWinters(values, smoothing, trend) }(evaluator, arguments, time)
        }
        table["absent_over_time"] = { evaluator, arguments, time in
            let series = try evaluator.matrixArgument(arguments[0], at: time)
            guard series.isEmpty else { return .vector([]) }
            return .vector([VectorElement(labels: absentLabels(arguments[0]), value: 1)])
        }
        table["absent"] = { evaluator, arguments, time in
            guard try evaluator.vectorArgument(arguments[0], at: time).isEmpty else { return .vector([]) }
            return .vector([VectorElement(labels: absentLabels(arguments[0]), value: 1)])
        }

        table["time"] = { _, _, time in .scalar(Double(time) / 1000) }
        table["pi"] = { _, _, _ in .scalar(Double.pi) }
        table["vector"] = { evaluator, arguments, time in
            .vector([VectorElement(labels: [], value: try evaluator.scalarArgument(arguments[0], at: time))])
        }
        table["scalar"] = { evaluator, arguments, time in
            let elements = try evaluator.vectorArgument(arguments[0], at: time)
            return .scalar(elements.count == 1 ? elements[0].value : .nan)
        }
        table["timestamp"] = { evaluator, arguments, time in
            // The time of the sample each element came from.
            guard case .vector(let selector) = unwrapped(arguments[0]) else {
                return .vector(try evaluator.vectorArgument(arguments[0], at: time).map {
                    .withoutName($0.labels, Double(time) / 1000)
                })
            }
            return .vector(try evaluator.sampleTimes(selector, at: time))
        }
        table["sort"] = { evaluator, arguments, time in
            .vector(try evaluator.vectorArgument(arguments[0], at: time).sorted { a, b in a.value.isNaN ? false : (b.value.isNaN || a.value < b.value) })
        }
        table["sort_desc"] = { evaluator, arguments, time in
            .vector(try evaluator.vectorArgument(arguments[0], at: time).sorted { a, b in a.value.isNaN ? false : (b.value.isNaN || a.value > b.value) })
        }
        for (name, descending) in [("sort_by_label", false), ("sort_by_label_desc", true)] {
            table[name] = { evaluator, arguments, time in
                var labels: [String] = []
                for argument in arguments.dropFirst() { labels.append(try evaluator.stringArgument(argument, at: time)) }
                let elements = try evaluator.vectorArgument(arguments[0], at: time)
                return .vector(elements.sorted { a, b in
                    for label in labels {
                        let x = a.labels.value(of: label), y = b.labels.value(of: label)
                        if x != y { return descending ? naturalLess(y, x) : naturalLess(x, y) }
                    }
                    return descending ? b.labels.key < a.labels.key : a.labels.key < b.labels.key
                })
            }
        }
        table["clamp"] = { evaluator, arguments, time in
            let low = try evaluator.scalarArgument(arguments[1], at: time), high = try evaluator.scalarArgument(arguments[2], at: time)
            guard !(high < low) else { return .vector([]) }
            return try mapValues { goMax(low, goMin(high, $0)) }(evaluator, arguments, time)
        }
        table["clamp_min"] = { evaluator, arguments, time in
            let low = try evaluator.scalarArgument(arguments[1], at: time)
            return try mapValues { goMax(low, $0) }(evaluator, arguments, time)
        }
        table["clamp_max"] = { evaluator, arguments, time in
            let high = try evaluator.scalarArgument(arguments[1], at: time)
            return try mapValues { goMin(high, $0) }(evaluator, arguments, time)
        }
        table["round"] = { evaluator, arguments, time in
            let step = arguments.count > 1 ? try evaluator.scalarArgument(arguments[1], at: time) : 1
            let inverse = 1 / step
            return try mapValues { floor($0 * inverse + 0.5) / inverse }(evaluator, arguments, time)
        }
        table["year"] = date { year, _, _, _, _, _ in Double(year) }
        table["month"] = date { _, month, _, _, _, _ in Double(month) }
        table["day_of_month"] = date { _, _, day, _, _, _ in Double(day) }
        table["day_of_week"] = date { _, _, _, _, weekday, _ in Double(weekday) }
        table["day_of_year"] = date { year, _, _, _, _, days in Double(days - Timestamp.daysFromCivil(year: year, month: 1, day: 1) + 1) }
        table["days_in_month"] = date { year, month, _, _, _, _ in
            let next = month == 12 ? Timestamp.daysFromCivil(year: year + 1, month: 1, day: 1) : Timestamp.daysFromCivil(year: year, month: month + 1, day: 1)
            return Double(next - Timestamp.daysFromCivil(year: year, month: month, day: 1))
        }
        table["hour"] = date { _, _, _, second, _, _ in Double(second / 3600) }
        table["minute"] = date { _, _, _, second, _, _ in Double(second / 60 % 60) }
        table["label_replace"] = { evaluator, arguments, time in try evaluator.labelReplace(arguments, at: time) }
        table["label_join"] = { evaluator, arguments, time in try evaluator.labelJoin(arguments, at: time) }
        table["histogram_quantile"] = { evaluator, arguments, time in try evaluator.histogramQuantile(arguments, at: time) }
        return table
    }()

    /// The expression inside any parentheses.
    static func unwrapped(_ expression: QueryExpression) -> QueryExpression {
        if case .parenthesized(let inner) = expression { return unwrapped(inner) }
        return expression
    }

    /// The labels `absent` and `absent_over_time` give: the selector's equality matchers.
    static func absentLabels(_ expression: QueryExpression) -> LabelSet {
        let selector: VectorSelector
        switch unwrapped(expression) {
        case .vector(let vector): selector = vector
        case .matrix(let vector, _): selector = vector
        default: return []
        }
        var labels: LabelSet = []
        var seen = Set<String>()
        var repeated = Set<String>()
        for matcher in selector.matchers where matcher.name != Segment.nameLabel {
            if !seen.insert(matcher.name).inserted { repeated.insert(matcher.name) }
        }
        for matcher in selector.matchers where matcher.operation == .equal && matcher.name != Segment.nameLabel && !repeated.contains(matcher.name) {
            labels = labels.setting(matcher.name, matcher.value)
        }
        return labels
    }

    /// For `timestamp(selector)`: each element's sample time, in seconds.
    func sampleTimes(_ selector: VectorSelector, at time: Int64) throws(QueryError) -> [VectorElement] {
        var withTimes = selector
        withTimes.offset = 0
        let reference = resolve(selector.at, default: time) - selector.offset
        var result: [VectorElement] = []
        for one in try source.select(selector.matchers, from: reference - lookback, to: reference) {
            guard let index = one.timestamps.indices.last, one.values[index].bitPattern != StaleMarker.bitPattern else { continue }
            result.append(.withoutName(one.labels, Double(one.timestamps[index]) / 1000))
        }
        return result
    }

    // MARK: Rates

    /// rate / increase / delta of one window, with Prometheus's extrapolation to the window's
    /// edges; nil with fewer than two samples.
    static func extrapolated(_ timestamps: ArraySlice<Int64>, _ values: ArraySlice<Double>, _ window: WindowBounds,
                             counter: Bool, rate: Bool) -> Double? {
        guard values.count >= 2 else { return nil }
        var correction = 0.0
        if counter {
            var previous = values.first!
            for value in values.dropFirst() {
                if value < previous { correction += previous }
                previous = value
            }
        }
        return extrapolated(first: (timestamps.first!, values.first!), last: (timestamps.last!, values.last!), count: values.count,
                            correction: correction, window, counter: counter, rate: rate)
    }

    /// The extrapolation itself, from a window's first and last samples, how many it holds (at
    /// least two) and the counter resets' correction. Range evaluation computes windows it knows
    /// to be free of resets in `CounterWindows`, which repeats these operations lane by lane
    /// (a test compares the two on random and awkward windows).
    @inline(__always)
    static func extrapolated(first firstSample: (time: Int64, value: Double), last lastSample: (time: Int64, value: Double), count: Int,
                             correction: Double, _ window: WindowBounds, counter: Bool, rate: Bool) -> Double {
        let firstValue = firstSample.value
        var increase = lastSample.value - firstValue + correction
        let first = Double(firstSample.time), last = Double(lastSample.time)
        var durationToStart = (first - Double(window.start)) / 1000
        let durationToEnd = (Double(window.end) - last) / 1000
        let sampled = (last - first) / 1000
        let average = sampled / Double(count - 1)
        let threshold = average * 1.1
        if durationToStart >= threshold { durationToStart = average / 2 }
        if counter && increase > 0 && firstValue >= 0 {
            // A counter cannot have been below zero: start no earlier than where it was zero.
            let durationToZero = sampled * (firstValue / increase)
            if durationToZero < durationToStart { durationToStart = durationToZero }
        }
        let extrapolateTo = sampled + durationToStart + (durationToEnd < threshold ? durationToEnd : average / 2)
        increase *= extrapolateTo / sampled
        if rate { increase /= Double(window.range) / 1000 }
        return increase
    }

    /// rate or increase of reset-free windows, computed a batch at a time: four lanes at once,
    /// each lane the operations of `extrapolated(first:last:count:correction:_:counter:rate:)`
    /// with `counter` true and no correction, in the same order, so each answer has the scalar's
    /// bits. A window's answer is a chain of dependent divisions with branches between them;
    /// in lanes, four chains share each division and the branches become selections.
    final class CounterWindows {
        static let capacity = 64
        /// Per window: first and last sample's time and value, start and end (times as the
        /// scalar code converts them), samples minus one, and the step it answers for.
        private let columns: UnsafeMutablePointer<Double>
        private let steps: UnsafeMutablePointer<Int>
        /// Windows waiting.
        private(set) var count = 0

        init() {
            columns = .allocate(capacity: 7 * Self.capacity)
            steps = .allocate(capacity: Self.capacity)
        }

        deinit {
            columns.deallocate()
            steps.deallocate()
        }

        private func column(_ number: Int) -> UnsafeMutablePointer<Double> { columns + number * Self.capacity }

        /// Adds a window of at least two samples; true when the batch is full.
        @inline(__always)
        func add(step: Int, first: (time: Int64, value: Double), last: (time: Int64, value: Double), samples: Int, _ window: WindowBounds) -> Bool {
            column(0)[count] = Double(first.time)
            column(1)[count] = Double(last.time)
            column(2)[count] = first.value
            column(3)[count] = last.value
            column(4)[count] = Double(window.start)
            column(5)[count] = Double(window.end)
            column(6)[count] = Double(samples - 1)
            steps[count] = step
            count += 1
            return count == Self.capacity
        }

        /// Computes the batch, hands each answer to `store` with its step, and empties it.
        @inline(__always)
        func flush(range: Int64, rate: Bool, _ store: (Int, Double) -> Void) {
            guard count > 0 else { return }
            // Unused lanes of the last group compute on copies of a real window.
            for index in count..<((count + 3) & ~3) {
                for number in 0..<7 { column(number)[index] = column(number)[0] }
            }
            let thousand = SIMD4<Double>(repeating: 1000), zero = SIMD4<Double>(repeating: 0)
            let rangeSeconds = SIMD4<Double>(repeating: Double(range) / 1000)
            func load(_ number: Int, _ index: Int) -> SIMD4<Double> {
                UnsafeRawPointer(column(number) + index).loadUnaligned(as: SIMD4<Double>.self)
            }
            var index = 0
            while index < count {
                let first = load(0, index), last = load(1, index), firstValues = load(2, index)
                var increase = load(3, index) - firstValues + zero
                var durationToStart = (first - load(4, index)) / thousand
                let durationToEnd = (load(5, index) - last) / thousand
                let sampled = (last - first) / thousand
                let average = sampled / load(6, index)
                let threshold = average * 1.1
                let half = average / 2
                durationToStart.replace(with: half, where: durationToStart .>= threshold)
                let durationToZero = sampled * (firstValues / increase)
                durationToStart.replace(with: durationToZero, where: (increase .> zero) .& (firstValues .>= zero) .& (durationToZero .< durationToStart))
                let extrapolateTo = sampled + durationToStart + half.replacing(with: durationToEnd, where: durationToEnd .< threshold)
                increase *= extrapolateTo / sampled
                if rate { increase /= rangeSeconds }
                for lane in 0..<min(4, count - index) { store(steps[index + lane], increase[lane]) }
                index += 4
            }
            count = 0
        }
    }

    /// Windows of one series waiting to be computed a batch at a time, in columns: two numbers
    /// each, what a kind of batch keeps of a window's start and end, and the step it answers for.
    class WindowColumns<Number> {
        static var capacity: Int { 64 }
        let starts: UnsafeMutablePointer<Number>
        let ends: UnsafeMutablePointer<Number>
        let steps: UnsafeMutablePointer<Int>
        /// Windows waiting.
        var count = 0

        init() {
            starts = .allocate(capacity: Self.capacity)
            ends = .allocate(capacity: Self.capacity)
            steps = .allocate(capacity: Self.capacity)
        }

        deinit {
            starts.deallocate()
            ends.deallocate()
            steps.deallocate()
        }

        /// Adds a window; true when the batch is full.
        @inline(__always)
        final func add(step: Int, start: Number, end: Number) -> Bool {
            starts[count] = start
            ends[count] = end
            steps[count] = step
            count += 1
            return count == Self.capacity
        }
    }

    /// Reset-free rate/increase windows that all sit alike on their samples: the same distance
    /// from the window's start to the first sample and from the last sample to its end, and the
    /// same number of samples (every whole window over evenly spaced samples whose interval
    /// divides the step). The times' part of `extrapolated` (the durations, the average gap and
    /// its threshold) is then the same for all of them and is computed once, with the same
    /// operations; the lanes compute only what depends on the values, as `CounterWindows` does.
    /// A window that `fits` is added as its first and last values.
    final class AlikeCounterWindows: WindowColumns<Double> {
        /// What the windows share: first sample - start, end - last sample, samples (none at
        /// first: the first window added sets it).
        private var shape: (toFirst: Int64, fromLast: Int64, samples: Int) = (0, 0, 0)
        /// Where the first window's extrapolation starts unless the counter reaches zero later,
        /// the span the samples cover, and what is added after the last sample (all in seconds).
        private var durationToStart = 0.0
        private var sampled = 0.0
        private var durationAfter = 0.0
        /// What the increase is multiplied by when the counter is not found to reach zero after
        /// the window's start (`extrapolateTo / sampled` then, the same for every window).
        private var factor = 1.0
        /// A window's counter cannot reach zero after its start if its first value exceeds its
        /// increase times this (`durationToStart / sampled` with a margin far above rounding).
        private var zeroBound = 0.0

        /// Takes the shape of the window from `start` to `end` whose first and last samples are
        /// at `first` and `last`, holding `samples` of them (at least two). Only while empty.
        func shape(first firstTime: Int64, last lastTime: Int64, samples: Int, _ window: WindowBounds) {
            precondition(count == 0)
            shape = (firstTime - window.start, window.end - lastTime, samples)
            // As extrapolated(first:last:count:...) computes them.
            let first = Double(firstTime), last = Double(lastTime)
            var durationToStart = (first - Double(window.start)) / 1000
            let durationToEnd = (Double(window.end) - last) / 1000
            sampled = (last - first) / 1000
            let average = sampled / Double(samples - 1)
            let threshold = average * 1.1
            if durationToStart >= threshold { durationToStart = average / 2 }
            self.durationToStart = durationToStart
            durationAfter = durationToEnd < threshold ? durationToEnd : average / 2
            factor = (sampled + durationToStart + durationAfter) / sampled
            zeroBound = durationToStart / sampled * (1 + 1e-9)
        }

        /// Whether a window from `start` to `end` with these first and last samples is shaped so
        /// (never before a shape is taken: windows hold at least two samples).
        @inline(__always)
        func fits(first: Int64, last: Int64, samples: Int, _ window: WindowBounds) -> Bool {
            samples == shape.samples && first - window.start == shape.toFirst && window.end - last == shape.fromLast
        }

        /// Computes the batch as `CounterWindows.flush` would, hands each answer to `store` with
        /// its step, and empties it.
        @inline(__always)
        func flush(range: Int64, rate: Bool, _ store: (Int, Double) -> Void) {
            // Stored properties read once (each read of a class's variable is checked for
            // exclusive access).
            let count = self.count, firstValues = starts, lastValues = ends, steps = self.steps
            guard count > 0 else { return }
            self.count = 0
            for index in count..<((count + 3) & ~3) {
                firstValues[index] = firstValues[0]
                lastValues[index] = lastValues[0]
            }
            var index = 0
            while index < count {
                let answers = lanes(first: UnsafeRawPointer(firstValues + index).loadUnaligned(as: SIMD4<Double>.self),
                                    last: UnsafeRawPointer(lastValues + index).loadUnaligned(as: SIMD4<Double>.self), range: range, rate: rate)
                for lane in 0..<min(4, count - index) { store(steps[index + lane], answers[lane]) }
                index += 4
            }
        }

        /// Computes every window in `windows` straight from the samples, without a batch: window
        /// n's first sample is `values[first + n·stride]` and its last `values[last + n·stride]`,
        /// and its answer goes to `answers[n]`. All must fit the shape taken, which must be taken.
        func computeEvery(_ windows: Range<Int>, of values: UnsafeBufferPointer<Double>, first: Int, last: Int, stride: Int,
                          range: Int64, rate: Bool, into answers: UnsafeMutableBufferPointer<Double>) {
            precondition(windows.isEmpty || (shape.samples >= 2 && windows.lowerBound >= 0 && first + windows.lowerBound * stride >= 0
                && last + (windows.upperBound - 1) * stride < values.count && windows.upperBound <= answers.count))
            var number = windows.lowerBound
            while number < windows.upperBound {
                // A last group of fewer than four repeats its first window in the other lanes.
                var firstValues = SIMD4<Double>(), lastValues = SIMD4<Double>()
                for lane in 0..<4 {
                    let window = number + lane < windows.upperBound ? number + lane : number
                    firstValues[lane] = values[first + window * stride]
                    lastValues[lane] = values[last + window * stride]
                }
                let computed = lanes(first: firstValues, last: lastValues, range: range, rate: rate)
                for lane in 0..<min(4, windows.upperBound - number) { answers[number + lane] = computed[lane] }
                number += 4
            }
        }

        /// The lanes' part of `extrapolated`, for four windows of this shape.
        @inline(__always)
        private func lanes(first firstValue: SIMD4<Double>, last lastValue: SIMD4<Double>, range: Int64, rate: Bool) -> SIMD4<Double> {
            let zero = SIMD4<Double>(repeating: 0), sampled = SIMD4<Double>(repeating: sampled)
            let start = SIMD4<Double>(repeating: durationToStart), after = SIMD4<Double>(repeating: durationAfter)
            var increase = lastValue - firstValue + zero
            // Most windows: the counter is not found to reach zero after the window's start
            // (durationToZero < start below is false), so the extrapolation's start is the shape's
            // and its factor the same for all: one multiplication, no divisions but the rate's.
            // That holds with no start to move (the first sample at the window's start: the
            // distance to zero is never negative), with no increase, and where the first value
            // clearly exceeds the increase times start / sampled: the margin in `zeroBound` covers
            // the roundings, and products below 1e-290 (where they lose precision) are left out.
            let bound = increase * SIMD4(repeating: zeroBound)
            if durationToStart == 0 || all((increase .<= zero) .| ((firstValue .> bound) .& (bound .> SIMD4(repeating: 1e-290)))) {
                increase *= SIMD4(repeating: factor)
                if rate { increase /= SIMD4<Double>(repeating: Double(range) / 1000) }
                return increase
            }
            let durationToZero = sampled * (firstValue / increase)
            let durationToStart = start.replacing(with: durationToZero, where: (increase .> zero) .& (firstValue .>= zero) .& (durationToZero .< start))
            let extrapolateTo = sampled + durationToStart + after
            increase *= extrapolateTo / sampled
            if rate { increase /= SIMD4<Double>(repeating: Double(range) / 1000) }
            return increase
        }
    }

    /// Windows of one series waiting for `sum_over_time` or `avg_over_time`, summed four at a
    /// time on vector lanes. Each lane adds its window's values in order as `KahanSum` does, so
    /// the bits are the same; a lane whose window is shorter than the others' adds zeros, which
    /// change neither part of a Kahan sum (its sum starts at +0 and so is never -0, and neither
    /// is its compensation). A window is added as its first sample and one past its last (at
    /// least one sample).
    final class SumWindows: WindowColumns<Int> {
        /// Sums the batch over `values`, hands each answer (the mean's, for `.mean`) to `store`
        /// with its step, and empties it.
        @inline(__always)
        func flush(_ values: UnsafeBufferPointer<Double>, _ function: SumFunction, _ store: (Int, Double) -> Void) {
            let lowers = starts, uppers = ends
            let zero = SIMD4<Double>(repeating: 0)
            @inline(__always)
            func magnitude(_ value: SIMD4<Double>) -> SIMD4<Double> {
                unsafeBitCast(unsafeBitCast(value, to: SIMD4<UInt64>.self) & SIMD4(repeating: ~(1 << 63)), to: SIMD4<Double>.self)
            }
            var first = 0
            while first < count {
                let width = min(4, count - first)
                // Lanes past the batch's end repeat its first window; their sums are not used.
                var lower = SIMD4<Int>(repeating: lowers[first]), length = SIMD4<Int>(repeating: uppers[first] - lowers[first])
                for lane in 0..<width {
                    lower[lane] = lowers[first + lane]
                    length[lane] = uppers[first + lane] - lowers[first + lane]
                }
                let shortest = length.min(), longest = length.max()
                var sum = zero, compensation = zero
                @inline(__always)
                func add(_ value: SIMD4<Double>) {
                    let total = sum + value
                    let kept = (sum - total) + value, other = (value - total) + sum
                    // KahanSum.add: |sum| >= |value| keeps the first form (false with NaN, as there).
                    compensation += other.replacing(with: kept, where: magnitude(sum) .>= magnitude(value))
                    // KahanSum zeroes the compensation once the sum is infinite; that cannot show:
                    // the sum then stays infinite or becomes NaN, and either is the answer as it is.
                    sum = total
                }
                for offset in 0..<shortest {
                    add(SIMD4(values[lower[0] + offset], values[lower[1] + offset], values[lower[2] + offset], values[lower[3] + offset]))
                }
                for offset in shortest..<longest {
                    var value = zero
                    for lane in 0..<4 where offset < length[lane] { value[lane] = values[lower[lane] + offset] }
                    add(value)
                }
                for lane in 0..<width {
                    var result = sum[lane].isInfinite ? sum[lane] : sum[lane] + compensation[lane]
                    if function == .mean {
                        // A sum that overflowed takes `mean`'s own way, from the start.
                        result = result.isFinite ? result / Double(length[lane])
                            : Evaluator.mean(values[lower[lane]..<(lower[lane] + length[lane])])
                    }
                    store(steps[first + lane], result)
                }
                first += 4
            }
            count = 0
        }
    }

    /// irate / idelta: from the last two samples.
    static func instant(_ timestamps: ArraySlice<Int64>, _ values: ArraySlice<Double>, rate: Bool) -> Double? {
        guard values.count >= 2 else { return nil }
        let last = values[values.endIndex - 1], previous = values[values.endIndex - 2]
        var result = last - previous
        if rate {
            if last < previous { result = last }
            let interval = Double(timestamps[timestamps.endIndex - 1] - timestamps[timestamps.endIndex - 2]) / 1000
            guard interval != 0 else { return nil }
            result /= interval
        }
        return result
    }

    /// Least squares: slope per second and value at `reference`.
    static func linearRegression(_ timestamps: ArraySlice<Int64>, _ values: ArraySlice<Double>, at reference: Int64) -> (slope: Double, intercept: Double) {
        var n = 0.0, sumX = 0.0, sumY = 0.0, sumXY = 0.0, sumX2 = 0.0
        let firstValue = values.first!
        var constant = true
        for (time, value) in zip(timestamps, values) {
            if value != firstValue { constant = false }
            let x = Double(time - reference) / 1000
            n += 1
            sumX += x
            sumY += value
            sumXY += x * value
            sumX2 += x * x
        }
        if constant && firstValue.isFinite { return (0, firstValue) }
        let covariance = sumXY - sumX * sumY / n
        let variance = sumX2 - sumX * sumX / n
        let slope = covariance / variance
        return (slope, sumY / n - slope * sumX / n)
    }

    /// Double exponential smoothing, as holt_winters computes it.
    static func holtWinters(_ slice: ArraySlice<Double>, _ smoothing: Double, _ trendFactor: Double) -> Double? {
        let values = Array(slice)
        guard values.count >= 2 else { return nil }
        var previous = 0.0
        var level = values[0]
        var trend = values[1] - values[0]
        for index in 1..<values.count {
            if index > 1 { trend = trendFactor * (level - previous) + (1 - trendFactor) * trend }
            let next = smoothing * values[index] + (1 - smoothing) * (level + trend)
            previous = level
            level = next
        }
        return level
    }

    /// Compares strings with runs of digits as numbers ("a2" < "a10", "1.2.3" < "1.11.3").
    static func naturalLess(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var i = 0, j = 0
        while i < x.count && j < y.count {
            let xDigit = x[i] &- UInt8(ascii: "0") < 10, yDigit = y[j] &- UInt8(ascii: "0") < 10
            if xDigit && yDigit {
                var iEnd = i, jEnd = j
                while iEnd < x.count && x[iEnd] &- UInt8(ascii: "0") < 10 { iEnd += 1 }
                while jEnd < y.count && y[jEnd] &- UInt8(ascii: "0") < 10 { jEnd += 1 }
                let xRun = x[i..<iEnd].drop { $0 == UInt8(ascii: "0") }, yRun = y[j..<jEnd].drop { $0 == UInt8(ascii: "0") }
                if xRun.count != yRun.count { return xRun.count < yRun.count }
                if !xRun.elementsEqual(yRun) { return xRun.lexicographicallyPrecedes(yRun) }
                i = iEnd
                j = jEnd
            } else {
                if x[i] != y[j] { return x[i] < y[j] }
                i += 1
                j += 1
            }
        }
        return x.count - i < y.count - j
    }

    /// Go's math.Max and math.Min: a NaN on either side gives NaN.
    static func goMax(_ a: Double, _ b: Double) -> Double { a.isNaN || b.isNaN ? .nan : Swift.max(a, b) }
    static func goMin(_ a: Double, _ b: Double) -> Double { a.isNaN || b.isNaN ? .nan : Swift.min(a, b) }
}
