#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The aggregation operators.
extension Evaluator {
    func aggregate(_ operation: AggregationOperator, parameter: QueryExpression?, _ inner: QueryExpression, grouping: [String],
                   without: Bool, at time: Int64) throws(QueryError) -> QueryValue {
        var scalarParameter = Double.nan
        var labelParameter = ""
        if let parameter {
            // Prometheus 2.x evaluates a scalar parameter once, at the start of a range query.
            let parameterTime = parameter.type == .scalar ? queryStartTime : time
            switch try evaluate(parameter, at: parameterTime) {
            case .scalar(let value): scalarParameter = value
            case .string(let value): labelParameter = value
            default: throw QueryError("aggregation parameter must be a scalar or a string")
            }
        }
        guard case .vector(let elements) = try evaluate(inner, at: time) else {
            throw QueryError("expected instant vector in aggregation")
        }
        if operation == .countValues && !Names.isLegacyLabelName(labelParameter) {
            throw QueryError("invalid label name \"\(labelParameter)\"")
        }
        // Groups in order of first appearance.
        var order: [String] = []
        var groups: [String: (labels: LabelSet, members: [VectorElement])] = [:]
        for element in elements {
            let labels = Evaluator.groupLabels(element.labels, grouping, without: without)
            let key = labels.key
            if groups[key] == nil {
                groups[key] = (labels, [])
                order.append(key)
            }
            groups[key]!.members.append(element)
        }
        var result: [VectorElement] = []
        // count_values counts across groups by the final label set (its label may replace a grouping one).
        var valueCounts: [String: (LabelSet, Double)] = [:]
        var valueOrder: [String] = []
        for key in order {
            let (labels, members) = groups[key]!
            let values = members.map(\.value)
            // A name kept by `by (__name__)` is still dropped at the end if its members' were.
            let groupDropsName = !without && grouping.contains(Segment.nameLabel) && members.contains(where: \.dropsName)
            let before = result.count
            defer { if groupDropsName { for index in before..<result.count { result[index].dropsName = true } } }
            switch operation {
            case .sum: result.append(VectorElement(labels: labels, value: Evaluator.kahanSum(values)))
            case .avg: result.append(VectorElement(labels: labels, value: Evaluator.mean(values)))
            case .count: result.append(VectorElement(labels: labels, value: Double(values.count)))
            case .group: result.append(VectorElement(labels: labels, value: 1))
            case .min: result.append(VectorElement(labels: labels, value: values.dropFirst().reduce(values[0]) { $0.isNaN || $1 < $0 ? $1 : $0 }))
            case .max: result.append(VectorElement(labels: labels, value: values.dropFirst().reduce(values[0]) { $0.isNaN || $1 > $0 ? $1 : $0 }))
            case .stddev: result.append(VectorElement(labels: labels, value: sqrt(Evaluator.variance(values))))
            case .stdvar: result.append(VectorElement(labels: labels, value: Evaluator.variance(values)))
            case .quantile:
                warnUnlessQuantile(scalarParameter)
                result.append(VectorElement(labels: labels, value: Evaluator.quantile(scalarParameter, values)))
            case .topk, .bottomk, .limitk:
                guard !scalarParameter.isNaN else { throw QueryError("Parameter value is NaN") }
                let count = Int(clamping: Int64(min(max(scalarParameter, -9e18), 9e18)))
                guard count > 0 else { continue }
                if operation == .limitk {
                    result += members.prefix(count)
                    continue
                }
                let top = operation == .topk
                // NaN sorts last either way; ties keep input order.
                let sorted = members.enumerated().sorted { a, b in
                    let x = a.element.value, y = b.element.value
                    if x.isNaN != y.isNaN { return !x.isNaN }
                    if x != y && !x.isNaN { return top ? x > y : x < y }
                    return a.offset < b.offset
                }.map(\.element)
                result += sorted.prefix(count)
            case .countValues:
                for value in values {
                    let labelsWithValue = labels.setting(labelParameter, Evaluator.goFormat(value))
                    let valueKey = labelsWithValue.key
                    if valueCounts[valueKey] == nil {
                        valueCounts[valueKey] = (labelsWithValue, 0)
                        valueOrder.append(valueKey)
                    }
                    valueCounts[valueKey]!.1 += 1
                }
            case .limitRatio:
                guard !scalarParameter.isNaN else { throw QueryError("Ratio value is NaN") }
                var ratio = scalarParameter
                if ratio < -1 || ratio > 1 {
                    warn("ratio value should be between -1 and 1")
                    ratio = Swift.max(-1, Swift.min(1, ratio))
                }
                // A series is picked by where its label hash falls in [0, 1): below the ratio, or
                // (negative ratio) at or above 1 + ratio, so r and r - 1 pick complements.
                result += members.filter { member in
                    let offset = Double(XXHash64.hash(member.labels)) / Double(UInt64.max)
                    return (ratio >= 0 && offset < ratio) || (ratio < 0 && offset >= 1 + ratio)
                }
            }
        }
        result += valueOrder.map { VectorElement(labels: valueCounts[$0]!.0, value: valueCounts[$0]!.1) }
        return .vector(result)
    }

    /// The labels an aggregation groups a series by: `by` keeps the grouping labels, `without`
    /// drops them and the metric name.
    static func groupLabels(_ labels: LabelSet, _ grouping: [String], without: Bool) -> LabelSet {
        without ? labels.filter { $0.name != Segment.nameLabel && !grouping.contains($0.name) } : labels.filter { grouping.contains($0.name) }
    }

    /// A sum with Kahan's compensation, as Prometheus sums.
    static func kahanSum<Values: Collection<Double>>(_ values: Values) -> Double {
        var sum = KahanSum()
        for value in values { sum.add(value) }
        return sum.result
    }

    /// The mean, falling back to an incremental mean when the plain sum would overflow.
    static func mean<Values: Collection<Double>>(_ values: Values) -> Double {
        let sum = kahanSum(values)
        if sum.isFinite || values.contains(where: { $0.isInfinite || $0.isNaN }) {
            return sum / Double(values.count)
        }
        var mean = 0.0
        for (index, value) in values.enumerated() { mean += value / Double(index + 1) - mean / Double(index + 1) }
        return mean
    }

    /// The population variance, by Welford's method.
    static func variance<Values: Collection<Double>>(_ values: Values) -> Double {
        var count = 0.0, mean = 0.0, squares = 0.0
        for value in values {
            count += 1
            let delta = value - mean
            mean += delta / count
            squares += delta * (value - mean)
        }
        return squares / count
    }

    /// Prometheus's quantile: linear interpolation between the closest ranks.
    static func quantile<Values: Collection<Double>>(_ q: Double, _ values: Values) -> Double {
        if values.isEmpty || q.isNaN { return .nan }
        if q < 0 { return -.infinity }
        if q > 1 { return .infinity }
        let sorted = values.sorted { a, b in a.isNaN ? false : (b.isNaN ? true : a < b) }
        let rank = q * Double(sorted.count - 1)
        let lower = max(0, Int(rank.rounded(.down)))
        let upper = min(sorted.count - 1, lower + 1)
        let weight = rank - rank.rounded(.down)
        return sorted[lower] * (1 - weight) + sorted[upper] * weight
    }

    /// Go's `strconv.FormatFloat(value, 'f', -1, 64)`, as Prometheus writes values: the shortest
    /// digits, never an exponent.
    static func goFormat(_ value: Double) -> String {
        var bytes: [UInt8] = []
        appendGoFormat(value, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    static func appendGoFormat(_ value: Double, to output: inout [UInt8]) {
        // Between 1e-6 and 1e21 the canonical writer prints the same plain shortest digits, faster.
        let magnitude = abs(value)
        if magnitude >= 1e-6 && magnitude < 1e21 { return FloatFormatter.append(value, to: &output) }
        if value.isNaN { return output.append(contentsOf: "NaN".utf8) }
        if value.isInfinite { return output.append(contentsOf: (value < 0 ? "-Inf" : "+Inf").utf8) }
        if value < 0 || (value == 0 && value.sign == .minus) { output.append(UInt8(ascii: "-")) }
        if value == 0 { return output.append(UInt8(ascii: "0")) }
        var digits = Digits()
        digits.readShortest(value)
        let k = digits.count, n = digits.pointPosition
        if n <= 0 {
            output.append(contentsOf: "0.".utf8)
            output.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: -n))
            for index in 0..<k { output.append(digits[index]) }
        } else if n >= k {
            for index in 0..<k { output.append(digits[index]) }
            output.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: n - k))
        } else {
            for index in 0..<n { output.append(digits[index]) }
            output.append(UInt8(ascii: "."))
            for index in n..<k { output.append(digits[index]) }
        }
    }
}

/// A running sum with Kahan's compensation, as Prometheus sums: one value at a time, so sums can
/// also be kept side by side (a step each) and come out the same.
struct KahanSum {
    private var sum = 0.0
    private var compensation = 0.0

    mutating func add(_ value: Double) {
        let total = sum + value
        if total.isInfinite {
            compensation = 0
        } else if abs(sum) >= abs(value) {
            compensation += (sum - total) + value
        } else {
            compensation += (value - total) + sum
        }
        sum = total
    }

    var result: Double { sum.isInfinite ? sum : sum + compensation }
}
