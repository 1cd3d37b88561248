extension Template {
    /// Go's built-in functions that need more than a line.
    enum GoBuiltins {
        /// Prometheus's convertToFloat: numbers, and strings as strconv.ParseFloat reads them.
        static func float(_ value: Value) throws(TemplateError) -> Double {
            switch value {
            case .float(let number): return number
            case .int(let number): return Double(number)
            case .string(let text): return try GoText.parseFloat(text)
            default: throw TemplateError("can't convert \(value.typeName) to float")
            }
        }

        static func sample(_ value: Value) throws(TemplateError) -> TemplateSample {
            guard case .sample(let sample?) = value else {
                throw TemplateError("runtime error: invalid memory address or nil pointer dereference")
            }
            return sample
        }

        static func length(_ value: Value) throws(TemplateError) -> Value {
            switch value {
            case .string(let text): return .int(text.utf8.count)
            case .labels(let labels): return .int(labels.count)
            case .map(let map): return .int(map.count)
            case .samples(let samples): return .int(samples.count)
            case .tree(.list(let list, _)): return .int(list.count)
            case .tree(.strings(let map, _)): return .int(map.count)
            case .sample(nil): throw TemplateError("len of nil pointer")
            case .missing: throw TemplateError("len of untyped nil")
            case .sample: throw TemplateError("len of type template.sample")
            case .time: throw TemplateError("len of type time.Time")
            default: throw TemplateError("len of type \(value.typeName)")
            }
        }

        static func index(_ item: Value, _ indexes: ArraySlice<Value>) throws(TemplateError) -> Value {
            if case .missing = item { throw TemplateError("index of untyped nil") }
            var item = item
            for index in indexes {
                switch item {
                case .sample(nil):
                    throw TemplateError("index of nil pointer")
                case .string(let text):
                    let bytes = Array(text.utf8)
                    item = .int(Int(bytes[try position(index, count: bytes.count, inclusive: false)]))
                case .samples(let samples):
                    item = .sample(samples[try position(index, count: samples.count, inclusive: false)])
                case .labels(let labels):
                    item = .string(labels[try key(index)] ?? "")
                case .map(let map):
                    item = map[try key(index)] ?? .missing
                case .tree(.list(let list, _)):
                    item = Value(list[try position(index, count: list.count, inclusive: false)])
                case .tree(.strings(let map, _)):
                    item = .string(map[try key(index)] ?? "")
                default:
                    throw TemplateError("can't index item of type \(item.typeName)")
                }
            }
            return item
        }

        static func slice(_ item: Value, _ indexes: [Value]) throws(TemplateError) -> Value {
            if case .missing = item { throw TemplateError("slice of untyped nil") }
            guard indexes.count <= 3 else { throw TemplateError("too many slice indexes: \(indexes.count)") }
            let count: Int
            switch item {
            case .string(let text):
                guard indexes.count < 3 else { throw TemplateError("cannot 3-index slice a string") }
                count = text.utf8.count
            case .samples(let samples):
                count = samples.count
            case .tree(.list(let list, _)):
                count = list.count
            default:
                throw TemplateError("can't slice item of type \(item.typeName)")
            }
            var bounds = [0, count, count]
            for (offset, index) in indexes.enumerated() { bounds[offset] = try position(index, count: count, inclusive: true) }
            guard bounds[0] <= bounds[1] else { throw TemplateError("invalid slice index: \(bounds[0]) > \(bounds[1])") }
            if indexes.count == 3 && bounds[1] > bounds[2] { throw TemplateError("invalid slice index: \(bounds[1]) > \(bounds[2])") }
            switch item {
            case .string(let text): return .string(String(decoding: Array(text.utf8)[bounds[0]..<bounds[1]], as: UTF8.self))
            case .samples(let samples): return .samples(Array(samples[bounds[0]..<bounds[1]]))
            // The methods of the whole list would answer for the slice wrongly, so it has none.
            case .tree(.list(let list, _)): return .tree(.list(Array(list[bounds[0]..<bounds[1]])))
            default: return item
            }
        }

        private static func position(_ index: Value, count: Int, inclusive: Bool) throws(TemplateError) -> Int {
            switch index {
            case .int(let position):
                guard position >= 0, position < count || (inclusive && position == count) else {
                    throw TemplateError("index out of range: \(position)")
                }
                return position
            case .missing:
                throw TemplateError("cannot index slice/array with nil")
            default:
                throw TemplateError("cannot index slice/array with type \(index.typeName)")
            }
        }

        private static func key(_ index: Value) throws(TemplateError) -> String {
            switch index {
            case .string(let key): return key
            case .missing: throw TemplateError("value is nil; should be of type string")
            default: throw TemplateError("value has type \(index.typeName); should be string")
            }
        }

        /// `eq a b c ...`: whether `a` equals any of the others. Ints and floats compare as numbers.
        static func equal(_ first: Value, _ others: ArraySlice<Value>) throws(TemplateError) -> Bool {
            guard !others.isEmpty else { throw TemplateError("missing argument for comparison") }
            for other in others {
                if try equalPair(first, other) { return true }
            }
            return false
        }

        private static func equalPair(_ a: Value, _ b: Value) throws(TemplateError) -> Bool {
            switch (a, b) {
            case (.missing, .missing): return true
            case (.missing, _), (_, .missing): return false
            case (.bool(let x), .bool(let y)): return x == y
            case (.string(let x), .string(let y)): return x.utf8.elementsEqual(y.utf8)
            case (.sample(let x), .sample(let y)): return x?.labels == y?.labels && x?.value == y?.value
            case (.time(let x), .time(let y)): return x.seconds == y.seconds && x.nanoseconds == y.nanoseconds
            default: break
            }
            if let x = number(a), let y = number(b) { return x == y }
            if isBasic(a) || isBasic(b) { throw TemplateError("incompatible types for comparison") }
            if a.typeName == b.typeName { throw TemplateError("non-comparable type \(GoFormat.string(b)): \(b.typeName)") }
            throw TemplateError("non-comparable types \(GoFormat.string(a)): \(a.typeName), \(GoFormat.string(b)): \(b.typeName)")
        }

        /// `lt a b`: numbers with numbers (ints and floats mix) and strings with strings.
        static func less(_ a: Value, _ b: Value) throws(TemplateError) -> Bool {
            if case .string(let x) = a, case .string(let y) = b { return x.utf8.lexicographicallyPrecedes(y.utf8) }
            if case .int(let x) = a, case .int(let y) = b { return x < y }
            if let x = number(a), let y = number(b) { return x < y }
            guard isBasic(a), isBasic(b) else { throw TemplateError("invalid type for comparison") }
            if case .bool = a, case .bool = b { throw TemplateError("invalid type for comparison") }
            throw TemplateError("incompatible types for comparison")
        }

        static func lessOrEqual(_ a: Value, _ b: Value) throws(TemplateError) -> Bool {
            if try less(a, b) { return true }
            return try equal(a, [b])
        }

        private static func number(_ value: Value) -> Double? {
            switch value {
            case .int(let number): Double(number)
            case .float(let number): number
            default: nil
            }
        }

        private static func isBasic(_ value: Value) -> Bool {
            switch value {
            case .bool, .int, .float, .string: true
            default: false
            }
        }
    }
}
