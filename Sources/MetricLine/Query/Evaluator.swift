#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Evaluates PromQL with the semantics of Prometheus 2.55: 5-minute lookback, staleness
/// markers, closed range windows `[t - range, t]`, `offset` and `@`, subqueries aligned to
/// multiples of their step.
public final class Evaluator {
    public let source: SeriesSource
    /// How far back an instant selector looks for a sample.
    public var lookback: Int64 = 300_000
    /// The step of a subquery written without one (`x[30m:]`).
    public var defaultSubqueryStep: Int64 = 60_000
    /// The zone `hour()`, `day_of_week()` and the other date functions answer in.
    public var timeZone = TimeZone.utc
    /// Warnings raised while evaluating (a quantile outside [0, 1], …).
    public private(set) var warnings: [String] = []

    /// The query's start, where 2.x evaluates aggregation parameters.
    var queryStartTime: Int64 { queryStart }

    /// The query's start and end, for `@ start()` and `@ end()`.
    private var queryStart: Int64 = 0
    private var queryEnd: Int64 = 0
    /// Selected series per selector, so a range query selects once.
    private var selections: [String: [RangeSeries]] = [:]
    /// What each selector fetched, in order: the selector, its series and samples, and the time
    /// the fetch took in microseconds (for --explain).
    public private(set) var selectionReport: [(selector: String, series: Int, samples: Int, microseconds: Int64)] = []
    /// The sample times selectors fetch (everything unless restricted).
    var selectionWindow: (from: Int64, to: Int64) = (.min, .max)
    /// The rollup statistic that stands in for raw samples where those are gone, for the
    /// selectors of the function being evaluated (see `rollupStatistic(for:)`).
    var fillStatistic: Rollup.Statistic? = .last
    /// Evaluate range queries step by step even where they could be evaluated over all steps at
    /// once (`StepEvaluation`): the reference the tests compare the faster way with.
    var alwaysStepByStep = false
    /// Range queries read rollups in place of raw samples where a tier's buckets are at most a
    /// fifth of both the step and the selector's window (so a window still holds five buckets
    /// or more), and the statistic the function needs is kept (mquery, unless --raw).
    public var rollupsForLongSteps = false
    /// The longest rollup bucket the selection under way may read in place of raw samples.
    private var rollupStepLimit: Int64? = nil

    /// `body` with the selections in it reading rollups as `rollupsForLongSteps` allows, for
    /// steps of `step` and windows of `window` (nil for an instant selector).
    func withRollupLimit<T>(step: Int64, window: Int64?, _ body: () throws(QueryError) -> T) throws(QueryError) -> T {
        guard rollupsForLongSteps else { return try body() }
        let outer = rollupStepLimit
        rollupStepLimit = min(step, window ?? step) / 5
        defer { rollupStepLimit = outer }
        return try body()
    }

    public init(source: SeriesSource) {
        self.source = source
    }

    /// Evaluates `expression` at one instant (milliseconds).
    public func instant(_ expression: QueryExpression, at time: Int64) throws(QueryError) -> QueryValue {
        queryStart = time
        queryEnd = time
        warnings = []
        selections = [:]
        var value = try evaluate(expression, at: time)
        if case .vector(let elements) = value {
            let finished = elements.map(\.finished)
            try checkUnique(finished)
            value = .vector(finished)
        }
        return value
    }

    /// Evaluates `expression` at every step from `start` to `end`; the result is a matrix sorted
    /// by label set (a scalar result becomes one series without labels).
    public func range(_ expression: QueryExpression, start: Int64, end: Int64, step: Int64) throws(QueryError) -> [RangeSeries] {
        guard step > 0 else { throw QueryError("zero or negative query resolution step widths are not accepted") }
        queryStart = start
        queryEnd = end
        warnings = []
        selections = [:]
        if !alwaysStepByStep && Evaluator.stepEvaluable(expression) {
            let grid = StepGrid(start: start, step: step, count: end < start ? 0 : Int((end - start) / step) + 1)
            return try rangeResult(evaluateSteps(expression, grid), grid)
        }
        // Series by label set; the label arrays themselves are the keys (hashing them needs no
        // allocation, unlike building a text key per element and step).
        var index: [LabelSet: Int] = [:]
        var series: [RangeSeries] = []
        var time = start
        var stepOfLastUse: [Int] = []
        var stepNumber = 0
        while time <= end {
            switch try evaluate(expression, at: time) {
            case .scalar(let value):
                if series.isEmpty { series.append(RangeSeries(labels: [])) }
                series[0].timestamps.append(time)
                series[0].values.append(value)
            case .vector(let unfinished):
                for raw in unfinished {
                    let element = raw.finished
                    var position = index[element.labels] ?? -1
                    if position < 0 {
                        position = series.count
                        index[element.labels] = position
                        series.append(RangeSeries(labels: element.labels))
                        stepOfLastUse.append(-1)
                    }
                    guard stepOfLastUse[position] != stepNumber else {
                        throw QueryError("vector cannot contain metrics with the same labelset")
                    }
                    stepOfLastUse[position] = stepNumber
                    series[position].timestamps.append(time)
                    series[position].values.append(element.value)
                }
            case .string, .matrix:
                throw QueryError("invalid expression type \"\(expression.type.rawValue)\" for range query, must be Scalar or instant Vector")
            }
            time += step
            stepNumber += 1
        }
        return series.sortedByLabels()
    }

    private func checkUnique(_ elements: [VectorElement]) throws(QueryError) {
        var seen = Set<String>()
        for element in elements where !seen.insert(element.labels.key).inserted {
            throw QueryError("vector cannot contain metrics with the same labelset")
        }
    }

    func warn(_ message: String) {
        if !warnings.contains(message) { warnings.append(message) }
    }

    /// Warns, as Prometheus does, when a quantile (of `quantile`, `quantile_over_time` or
    /// `histogram_quantile`) is outside [0, 1] (NaN included); the answer is computed anyway.
    func warnUnlessQuantile(_ q: Double) {
        if !(0...1).contains(q) { warn("quantile value should be between 0 and 1") }
    }

    // MARK: Expressions

    func evaluate(_ expression: QueryExpression, at time: Int64) throws(QueryError) -> QueryValue {
        switch expression {
        case .number(let value):
            return .scalar(value)
        case .string(let value):
            return .string(value)
        case .parenthesized(let inner):
            return try evaluate(inner, at: time)
        case .negate(let inner):
            switch try evaluate(inner, at: time) {
            case .scalar(let value): return .scalar(-value)
            case .vector(let elements): return .vector(elements.map { .withoutName($0.labels, -$0.value) })
            default: throw QueryError("unary minus needs a scalar or an instant vector")
            }
        case .vector(let selector):
            return .vector(try selectInstant(selector, at: time))
        case .matrix(let selector, let range):
            return .matrix(try selectRange(selector, range: range, at: time))
        case .subquery(let inner, let range, let step, let offset, let at):
            return .matrix(try subquery(inner, range: range, step: step ?? defaultSubqueryStep, offset: offset, at: at, time: time))
        case .call(let name, let arguments):
            return try call(name, arguments, at: time)
        case .aggregate(let operation, let parameter, let inner, let grouping, let without):
            return try aggregate(operation, parameter: parameter, inner, grouping: grouping, without: without, at: time)
        case .binary(let operation, let left, let right, let matching, let returnBool):
            return try binary(operation, left, right, matching: matching, returnBool: returnBool, at: time)
        }
    }

    // MARK: Selectors

    func resolve(_ at: AtModifier?, default time: Int64) -> Int64 {
        switch at {
        case .time(let fixed): fixed
        case .start: queryStart
        case .end: queryEnd
        case nil: time
        }
    }

    /// Every series of a selector, with all its samples (selected once per query).
    func selected(_ matchers: [LabelMatcher]) throws(QueryError) -> [RangeSeries] {
        let key = selectionKey(matchers)
        if let known = selections[key] { return known }
        let started = Clock.monotonicMicroseconds()
        source.preferRollups(upTo: rollupStepLimit)
        let selected = try source.select(matchers, from: selectionWindow.from, to: selectionWindow.to, filling: fillStatistic)
        selections[key] = selected
        selectionReport.append((Evaluator.selectionText(matchers), selected.count, selected.reduce(0) { $0 + $1.timestamps.count },
                                Clock.monotonicMicroseconds() - started))
        return selected
    }

    /// `transform` of every series of a selector, in order, read a series at a time (on several
    /// threads where the source can); series it gives nil for are left out.
    func mapSelected<T: Sendable>(_ matchers: [LabelMatcher], _ transform: @escaping @Sendable (RangeSeries) -> T?) throws(QueryError) -> [T] {
        if let known = selections[selectionKey(matchers)] { return known.compactMap(transform) }
        let started = Clock.monotonicMicroseconds()
        source.preferRollups(upTo: rollupStepLimit)
        let (results, samples) = try source.selectEach(matchers, from: selectionWindow.from, to: selectionWindow.to, filling: fillStatistic, transform)
        selectionReport.append((Evaluator.selectionText(matchers), results.count, samples, Clock.monotonicMicroseconds() - started))
        return results.compactMap { $0 }
    }

    /// As `mapSelected`, each result handed to `consume` in order instead of kept.
    func forEachSelected<T: Sendable>(_ matchers: [LabelMatcher], _ transform: @escaping @Sendable (RangeSeries) -> T?, consume: (T) -> Void) throws(QueryError) {
        if let known = selections[selectionKey(matchers)] {
            for one in known { if let result = transform(one) { consume(result) } }
            return
        }
        let started = Clock.monotonicMicroseconds()
        source.preferRollups(upTo: rollupStepLimit)
        let (series, samples) = try source.selectInOrder(matchers, from: selectionWindow.from, to: selectionWindow.to, filling: fillStatistic, transform) { result in
            if let result { consume(result) }
        }
        selectionReport.append((Evaluator.selectionText(matchers), series, samples, Clock.monotonicMicroseconds() - started))
    }

    /// Which rollup statistic answers best for a function's selectors where raw samples are gone:
    /// the maximum for `max_over_time`, the minimum for `min_over_time`, none for functions whose
    /// answer depends on how many samples there are (`sum_over_time`, `count_over_time`…), and
    /// the last value of each bucket for everything else.
    static func rollupStatistic(for function: String) -> Rollup.Statistic? {
        switch function {
        case "max_over_time": .max
        case "min_over_time": .min
        case "sum_over_time", "count_over_time", "stddev_over_time", "stdvar_over_time", "present_over_time", "absent_over_time": nil
        default: .last
        }
    }

    /// What a selection is cached by: its matchers and the rollup statistic that fills it in.
    private func selectionKey(_ matchers: [LabelMatcher]) -> String {
        matchers.map { $0.name + $0.operation.rawValue + $0.value }.joined(separator: "\u{0}") + "\u{0}" + (fillStatistic?.rawValue ?? "")
            + "\u{0}" + (rollupStepLimit.map(String.init) ?? "")
    }

    /// `body` with the selectors inside function `name` filled in from rollups as it needs (see
    /// `rollupStatistic(for:)`), both when evaluating step by step and over all steps.
    func withFillStatistic<T>(for name: String, _ body: () throws(QueryError) -> T) throws(QueryError) -> T {
        let outer = fillStatistic
        fillStatistic = Evaluator.rollupStatistic(for: name)
        defer { fillStatistic = outer }
        return try body()
    }

    /// The samples of positions `range` without staleness markers, which end a series and are no
    /// values of it.
    static func withoutStaleMarkers(_ timestamps: [Int64], _ values: [Double], _ range: Range<Int>) -> (timestamps: [Int64], values: [Double]) {
        var kept: (timestamps: [Int64], values: [Double]) = ([], [])
        for index in range where values[index].bitPattern != StaleMarker.bitPattern {
            kept.timestamps.append(timestamps[index])
            kept.values.append(values[index])
        }
        return kept
    }

    private static func selectionText(_ matchers: [LabelMatcher]) -> String {
        "{" + matchers.map { $0.name + $0.operation.rawValue + "\"" + $0.value + "\"" }.joined(separator: ",") + "}"
    }

    func selectInstant(_ selector: VectorSelector, at time: Int64) throws(QueryError) -> [VectorElement] {
        let reference = resolve(selector.at, default: time) - selector.offset
        var elements: [VectorElement] = []
        for one in try selected(selector.matchers) {
            let index = one.timestamps.partitionIndex { $0 > reference } - 1
            guard index >= 0, one.timestamps[index] >= reference - lookback else { continue }
            let value = one.values[index]
            if value.bitPattern == StaleMarker.bitPattern { continue }
            elements.append(VectorElement(labels: one.labels, value: value))
        }
        return elements
    }

    func selectRange(_ selector: VectorSelector, range: Int64, at time: Int64) throws(QueryError) -> [RangeSeries] {
        try windows(selector, range: range, at: time).map { RangeSeries(labels: $0.labels, timestamps: Array($0.timestamps), values: Array($0.values)) }
    }

    /// The samples of each selected series in `[t - range, t]` (t after `@` and `offset`), sliced
    /// from the series selected for the query without copying, unless staleness markers must
    /// be left out.
    func windows(_ selector: VectorSelector, range: Int64, at time: Int64) throws(QueryError) -> [Window] {
        let reference = resolve(selector.at, default: time) - selector.offset
        var result: [Window] = []
        for one in try selected(selector.matchers) {
            let lower = one.timestamps.partitionIndex { $0 >= reference - range }
            let upper = one.timestamps.partitionIndex { $0 > reference }
            guard lower < upper else { continue }
            let values = one.values[lower..<upper]
            if values.contains(where: { $0.bitPattern == StaleMarker.bitPattern }) {
                let kept = Evaluator.withoutStaleMarkers(one.timestamps, one.values, lower..<upper)
                if !kept.timestamps.isEmpty { result.append(Window(labels: one.labels, timestamps: kept.timestamps[...], values: kept.values[...])) }
            } else {
                result.append(Window(labels: one.labels, timestamps: one.timestamps[lower..<upper], values: values))
            }
        }
        return result
    }

    private func subquery(_ inner: QueryExpression, range: Int64, step: Int64, offset: Int64, at: AtModifier?, time: Int64) throws(QueryError) -> [RangeSeries] {
        let reference = resolve(at, default: time) - offset
        var start = reference - range
        // Steps are multiples of the step counted from time 0, inside [reference - range, reference].
        start -= ((start % step) + step) % step
        if start < reference - range { start += step }
        var series: [String: RangeSeries] = [:]
        var order: [String] = []
        let savedStart = queryStart, savedEnd = queryEnd
        var stepTime = start
        while stepTime <= reference {
            switch try evaluate(inner, at: stepTime) {
            case .vector(let elements):
                for element in elements {
                    let key = element.labels.key
                    if series[key] == nil {
                        series[key] = RangeSeries(labels: element.labels)
                        order.append(key)
                    }
                    series[key]!.timestamps.append(stepTime)
                    series[key]!.values.append(element.value)
                }
            case .scalar(let value):
                if series[""] == nil {
                    series[""] = RangeSeries(labels: [])
                    order.append("")
                }
                series[""]!.timestamps.append(stepTime)
                series[""]!.values.append(value)
            default:
                throw QueryError("subquery is only allowed on instant vector")
            }
            stepTime += step
        }
        queryStart = savedStart
        queryEnd = savedEnd
        return order.map { series[$0]! }
    }
}
