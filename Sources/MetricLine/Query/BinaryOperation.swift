#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Binary operators between scalars and vectors, with Prometheus's vector matching.
extension Evaluator {
    func binary(_ operation: BinaryOperator, _ leftExpression: QueryExpression, _ rightExpression: QueryExpression,
                matching: VectorMatching?, returnBool: Bool, at time: Int64) throws(QueryError) -> QueryValue {
        let left = try evaluate(leftExpression, at: time)
        let right = try evaluate(rightExpression, at: time)
        switch (left, right) {
        case (.scalar(let a), .scalar(let b)):
            let (value, keep) = Evaluator.apply(operation, a, b)
            return .scalar(operation.isComparison ? (keep ? 1 : 0) : value)
        case (.vector(let elements), .scalar(let scalar)):
            return .vector(scalarBinary(operation, elements, scalar, scalarOnLeft: false, returnBool: returnBool))
        case (.scalar(let scalar), .vector(let elements)):
            return .vector(scalarBinary(operation, elements, scalar, scalarOnLeft: true, returnBool: returnBool))
        case (.vector(let leftElements), .vector(let rightElements)):
            let matching = matching ?? VectorMatching()
            switch operation {
            case .and: return .vector(intersect(leftElements, rightElements, matching))
            case .or: return .vector(union(leftElements, rightElements, matching))
            case .unless: return .vector(subtract(leftElements, rightElements, matching))
            default: return .vector(try vectorBinary(operation, leftElements, rightElements, matching, returnBool: returnBool))
            }
        default:
            throw QueryError("binary expression must contain only scalar and instant vector types")
        }
    }

    /// The value of `a op b`, and for comparisons whether it holds (the value is then `a`).
    static func apply(_ operation: BinaryOperator, _ a: Double, _ b: Double) -> (Double, Bool) {
        switch operation {
        case .add: (a + b, true)
        case .subtract: (a - b, true)
        case .multiply: (a * b, true)
        case .divide: (a / b, true)
        case .modulo: (fmod(a, b), true)
        case .power: (pow(a, b), true)
        case .atan2: (Glibc.atan2(a, b), true)
        case .equal: (a, a == b)
        case .notEqual: (a, a != b)
        case .less: (a, a < b)
        case .lessOrEqual: (a, a <= b)
        case .greater: (a, a > b)
        case .greaterOrEqual: (a, a >= b)
        case .and, .or, .unless: (a, true)
        }
    }

    private func scalarBinary(_ operation: BinaryOperator, _ elements: [VectorElement], _ scalar: Double, scalarOnLeft: Bool,
                              returnBool: Bool) -> [VectorElement] {
        var result: [VectorElement] = []
        let dropName = !operation.isComparison || returnBool
        for element in elements {
            let (a, b) = scalarOnLeft ? (scalar, element.value) : (element.value, scalar)
            var (value, keep) = Evaluator.apply(operation, a, b)
            // A comparison keeps the vector's value, whichever side it is on.
            if operation.isComparison && scalarOnLeft { value = element.value }
            if returnBool {
                value = keep ? 1 : 0
            } else if !keep {
                continue
            }
            result.append(VectorElement(labels: element.labels, value: value, dropsName: dropName || element.dropsName))
        }
        return result
    }

    /// The labels that identify a match: `on(...)` keeps these, `ignoring(...)` and the default
    /// drop these and the metric name.
    static func signature(_ labels: LabelSet, _ matching: VectorMatching) -> String {
        if matching.on {
            return labels.filter { matching.labels.contains($0.name) }.key
        }
        return labels.filter { $0.name != Segment.nameLabel && !matching.labels.contains($0.name) }.key
    }

    private func intersect(_ left: [VectorElement], _ right: [VectorElement], _ matching: VectorMatching) -> [VectorElement] {
        let signatures = Set(right.map { Evaluator.signature($0.labels, matching) })
        return left.filter { signatures.contains(Evaluator.signature($0.labels, matching)) }
    }

    private func union(_ left: [VectorElement], _ right: [VectorElement], _ matching: VectorMatching) -> [VectorElement] {
        let signatures = Set(left.map { Evaluator.signature($0.labels, matching) })
        return left + right.filter { !signatures.contains(Evaluator.signature($0.labels, matching)) }
    }

    private func subtract(_ left: [VectorElement], _ right: [VectorElement], _ matching: VectorMatching) -> [VectorElement] {
        let signatures = Set(right.map { Evaluator.signature($0.labels, matching) })
        return left.filter { !signatures.contains(Evaluator.signature($0.labels, matching)) }
    }

    private func vectorBinary(_ operation: BinaryOperator, _ left: [VectorElement], _ right: [VectorElement], _ matching: VectorMatching,
                              returnBool: Bool) throws(QueryError) -> [VectorElement] {
        // The "many" side is walked; the "one" side is looked up by signature.
        let oneToMany = matching.cardinality == .oneToMany
        let (many, one) = oneToMany ? (right, left) : (left, right)
        var lookup: [String: VectorElement] = [:]
        for element in one {
            let signature = Evaluator.signature(element.labels, matching)
            if lookup[signature] != nil {
                throw QueryError("found duplicate series for the match group \(signature.isEmpty ? "{}" : element.labels.description) on the \(oneToMany ? "left" : "right") hand-side of the operation: many-to-many matching not allowed: matching labels must be unique on one side")
            }
            lookup[signature] = element
        }
        var matchedOneToOne = Set<String>()
        var result: [VectorElement] = []
        var outputs = Set<String>()
        for element in many {
            let signature = Evaluator.signature(element.labels, matching)
            guard let other = lookup[signature] else { continue }
            if matching.cardinality == .oneToOne && !matchedOneToOne.insert(signature).inserted {
                throw QueryError("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)")
            }
            let (a, b) = oneToMany ? (other.value, element.value) : (element.value, other.value)
            var (value, keep) = Evaluator.apply(operation, a, b)
            if returnBool {
                value = keep ? 1 : 0
            } else if !keep {
                continue
            }
            var labels = element.labels
            let dropsName = !operation.isComparison || returnBool || element.dropsName
            if matching.cardinality == .oneToOne {
                labels = matching.on ? labels.filter { matching.labels.contains($0.name) } : labels.filter { !matching.labels.contains($0.name) }
            }
            for name in matching.include {
                labels = labels.setting(name, other.labels.value(of: name))
            }
            if matching.cardinality != .oneToOne && !outputs.insert((dropsName ? labels.removing(Segment.nameLabel) : labels).key).inserted {
                throw QueryError("multiple matches for labels: grouping labels must ensure unique matches")
            }
            result.append(VectorElement(labels: labels, value: value, dropsName: dropsName))
        }
        return result
    }
}
