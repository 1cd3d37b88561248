/// The types a PromQL expression can have.
public enum ValueType: String, Sendable {
    case scalar, string
    case instantVector = "instant vector"
    case rangeVector = "range vector"
}

/// `@` on a selector or subquery: a fixed time, or the start or end of the query.
public enum AtModifier: Equatable, Sendable {
    case time(Int64)
    case start
    case end
}

/// A series selector with its modifiers: `name{matchers} offset D @ T`.
public struct VectorSelector: Equatable, Sendable {
    public var matchers: [LabelMatcher]
    /// Milliseconds to look back (negative looks ahead).
    public var offset: Int64 = 0
    public var at: AtModifier?
}

/// How the two sides of a binary operator between vectors are matched.
public struct VectorMatching: Equatable, Sendable {
    public enum Cardinality: Equatable, Sendable {
        case oneToOne, manyToOne, oneToMany, manyToMany
    }

    public var cardinality: Cardinality = .oneToOne
    /// The labels of `on(...)` or `ignoring(...)`.
    public var labels: [String] = []
    /// True for `on`, false for `ignoring`.
    public var on = false
    /// The extra labels of `group_left(...)` / `group_right(...)`.
    public var include: [String] = []
}

/// The binary operators, by precedence from loosest: `or`; `and unless`; comparisons; `+ -`;
/// `* / % atan2`; `^` (right-associative).
public enum BinaryOperator: String, Sendable, CaseIterable {
    case or, and, unless
    case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    case add = "+", subtract = "-", multiply = "*", divide = "/", modulo = "%", atan2, power = "^"

    var precedence: Int {
        switch self {
        case .or: 1
        case .and, .unless: 2
        case .equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual: 3
        case .add, .subtract: 4
        case .multiply, .divide, .modulo, .atan2: 5
        case .power: 6
        }
    }

    public var isComparison: Bool { precedence == 3 }
    public var isSetOperator: Bool { self == .or || self == .and || self == .unless }
}

/// The aggregation operators.
public enum AggregationOperator: String, Sendable, CaseIterable {
    case sum, avg, count, min, max, group, stddev, stdvar, topk, bottomk, quantile
    case countValues = "count_values"
    case limitk
    case limitRatio = "limit_ratio"

    /// Whether it takes a parameter before the expression.
    var hasParameter: Bool {
        switch self {
        case .topk, .bottomk, .quantile, .countValues, .limitk, .limitRatio: true
        default: false
        }
    }
}

/// A parsed PromQL expression.
public indirect enum QueryExpression: Equatable, Sendable {
    case number(Double)
    case string(String)
    case vector(VectorSelector)
    /// A range selector: a vector selector over a window of `range` milliseconds.
    case matrix(VectorSelector, range: Int64)
    /// `expr[range:step]`; a nil step means the evaluation's default.
    case subquery(QueryExpression, range: Int64, step: Int64?, offset: Int64, at: AtModifier?)
    case call(function: String, arguments: [QueryExpression])
    case aggregate(AggregationOperator, parameter: QueryExpression?, expression: QueryExpression, grouping: [String], without: Bool)
    case binary(BinaryOperator, QueryExpression, QueryExpression, matching: VectorMatching?, returnBool: Bool)
    case negate(QueryExpression)
    case parenthesized(QueryExpression)

    public static func == (lhs: QueryExpression, rhs: QueryExpression) -> Bool {
        switch (lhs, rhs) {
        case (.number(let a), .number(let b)): a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN)
        case (.string(let a), .string(let b)): a == b
        case (.vector(let a), .vector(let b)): a == b
        case (.matrix(let a, let r), .matrix(let b, let s)): a == b && r == s
        case (.subquery(let a, let r, let s, let o, let t), .subquery(let b, let r2, let s2, let o2, let t2)):
            a == b && r == r2 && s == s2 && o == o2 && t == t2
        case (.call(let f, let a), .call(let g, let b)): f == g && a == b
        case (.aggregate(let o, let p, let e, let g, let w), .aggregate(let o2, let p2, let e2, let g2, let w2)):
            o == o2 && p == p2 && e == e2 && g == g2 && w == w2
        case (.binary(let o, let l, let r, let m, let b), .binary(let o2, let l2, let r2, let m2, let b2)):
            o == o2 && l == l2 && r == r2 && m == m2 && b == b2
        case (.negate(let a), .negate(let b)): a == b
        case (.parenthesized(let a), .parenthesized(let b)): a == b
        default: false
        }
    }

    /// The type of the expression's value.
    public var type: ValueType {
        switch self {
        case .number: .scalar
        case .string: .string
        case .vector: .instantVector
        case .matrix, .subquery: .rangeVector
        case .call(let name, _): Functions.table[name]?.returns ?? .instantVector
        case .aggregate: .instantVector
        case .binary(_, let left, let right, _, _):
            left.type == .scalar && right.type == .scalar ? .scalar : .instantVector
        case .negate(let inner), .parenthesized(let inner): inner.type
        }
    }
}
