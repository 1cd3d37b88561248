/// The signatures of PromQL's functions: what each takes and returns, for the parser's checks.
/// Their evaluation lives with the evaluator.
public enum Functions {
    /// A function's parameters and result.
    public struct Signature: Sendable {
        public var arguments: [ValueType]
        /// How many of the trailing arguments may be left out.
        public var optional: Int = 0
        /// Whether the last argument may repeat (label_join's source labels).
        public var variadic = false
        public var returns: ValueType
    }

    private static let vector = ValueType.instantVector
    private static let range = ValueType.rangeVector

    public static let table: [String: Signature] = {
        var table: [String: Signature] = [:]
        func add(_ names: [String], _ arguments: [ValueType], optional: Int = 0, variadic: Bool = false, returns: ValueType = .instantVector) {
            for name in names { table[name] = Signature(arguments: arguments, optional: optional, variadic: variadic, returns: returns) }
        }
        add(["abs", "ceil", "exp", "floor", "ln", "log2", "log10", "sqrt", "sgn", "timestamp", "sort", "sort_desc",
             "acos", "acosh", "asin", "asinh", "atan", "atanh", "cos", "cosh", "sin", "sinh", "tan", "tanh", "deg", "rad",
             "absent", "histogram_count", "histogram_sum", "histogram_avg", "histogram_stddev", "histogram_stdvar"], [vector])
        add(["rate", "irate", "increase", "delta", "idelta", "deriv", "changes", "resets",
             "avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "count_over_time", "last_over_time",
             "stddev_over_time", "stdvar_over_time", "present_over_time", "absent_over_time", "mad_over_time"], [range])
        add(["quantile_over_time"], [.scalar, range])
        add(["predict_linear"], [range, .scalar])
        add(["holt_winters"], [range, .scalar, .scalar])
        add(["histogram_quantile"], [.scalar, vector])
        add(["histogram_fraction"], [.scalar, .scalar, vector])
        add(["clamp"], [vector, .scalar, .scalar])
        add(["clamp_min", "clamp_max"], [vector, .scalar])
        add(["round"], [vector, .scalar], optional: 1)
        add(["day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour", "minute", "month", "year"], [vector], optional: 1)
        add(["label_replace"], [vector, .string, .string, .string, .string])
        add(["label_join"], [vector, .string, .string, .string], optional: 1, variadic: true)
        add(["sort_by_label", "sort_by_label_desc"], [vector, .string], optional: 1, variadic: true)
        add(["scalar"], [vector], returns: .scalar)
        add(["vector"], [.scalar])
        add(["time", "pi"], [], returns: .scalar)
        return table
    }()
}
