extension Template {
    /// Go's encoding/json as Alertmanager's `toJson` runs it: maps with their keys sorted, structs
    /// under their json keys, times in RFC 3339, and strings escaped as Go escapes them (`<`, `>`
    /// and `&` too, so the output is safe inside HTML as well).
    enum GoJSON {
        static func encode(_ value: Value) throws(TemplateError) -> String {
            var output: [UInt8] = []
            try append(value, to: &output)
            return String(decoding: output, as: UTF8.self)
        }

        private static func append(_ value: Value, to output: inout [UInt8]) throws(TemplateError) {
            switch value {
            case .missing, .sample(nil):
                output += "null".utf8
            case .bool(let truth):
                output += (truth ? "true" : "false").utf8
            case .int(let number):
                output += String(number).utf8
            case .float(let number):
                output += try float(number).utf8
            case .string(let text):
                string(text, to: &output)
            case .labels(let map):
                try object(GoText.sortedKeys(map).map { ($0, Value.string(map[$0] ?? "")) }, to: &output)
            case .map(let map):
                try object(GoText.sortedKeys(map).map { ($0, map[$0] ?? .missing) }, to: &output)
            case .sample(let sample?):
                try object([("Labels", .labels(sample.labels)), ("Value", .float(sample.value))], to: &output)
            case .samples(let samples):
                try array(samples.map { Value.sample($0) }, to: &output)
            case .time(let time):
                string(time.format("2006-01-02T15:04:05.999999999Z07:00"), to: &output)
            case .data(let data):
                try object([("Labels", .labels(data.labels)), ("ExternalLabels", .labels(data.externalLabels)),
                            ("ExternalURL", .string(data.externalURL)), ("Value", .float(data.value))], to: &output)
            case .tree(.strings(let map, _)):
                try append(.labels(map), to: &output)
            case .tree(.list(let list, _)):
                try array(list.map(Value.init), to: &output)
            case .tree(.object(_, let fields, _)):
                try object(fields.map { ($0.jsonKey, Value($0.value)) }, to: &output)
            case .tree(let scalar):
                try append(Value(scalar), to: &output)
            }
        }

        private static func object(_ members: [(String, Value)], to output: inout [UInt8]) throws(TemplateError) {
            output.append(UInt8(ascii: "{"))
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                string(key, to: &output)
                output.append(UInt8(ascii: ":"))
                try append(value, to: &output)
                guard output.count <= Limits.outputBytes else { throw TemplateError("result exceeds \(Limits.outputBytes) bytes") }
            }
            output.append(UInt8(ascii: "}"))
        }

        private static func array(_ elements: [Value], to output: inout [UInt8]) throws(TemplateError) {
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                try append(element, to: &output)
                guard output.count <= Limits.outputBytes else { throw TemplateError("result exceeds \(Limits.outputBytes) bytes") }
            }
            output.append(UInt8(ascii: "]"))
        }

        /// Go's floatEncoder: the shortest digits, in exponent form below 1e-6 and from 1e21 on.
        static func float(_ number: Double) throws(TemplateError) -> String {
            guard number.isFinite else { throw TemplateError("json: unsupported value: \(GoFormat.string(.float(number)))") }
            let sign = number.sign == .minus ? "-" : ""
            let magnitude = abs(number)
            if magnitude == 0 { return sign + "0" }
            let (digits, point) = GoFormat.shortestDigits(magnitude)
            if magnitude < 1e-6 || magnitude >= 1e21 {
                let exponent = point - 1
                let mantissa = digits.count > 1 ? String(digits.prefix(1)) + "." + digits.dropFirst() : digits
                // Go writes e-07 and the encoder then drops the zero; positive exponents here have two digits.
                return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + String(abs(exponent))
            }
            if point <= 0 { return sign + "0." + String(repeating: "0", count: -point) + digits }
            if point >= digits.count { return sign + digits + String(repeating: "0", count: point - digits.count) }
            return sign + String(digits.prefix(point)) + "." + digits.dropFirst(point)
        }

        /// A JSON string as Go's encoder writes it with HTML escaping on.
        static func string(_ text: String, to output: inout [UInt8]) {
            let hex = Array("0123456789abcdef".utf8)
            output.append(UInt8(ascii: "\""))
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": output += #"\""#.utf8
                case "\\": output += #"\\"#.utf8
                case "\u{08}": output += #"\b"#.utf8
                case "\u{0C}": output += #"\f"#.utf8
                case "\n": output += #"\n"#.utf8
                case "\r": output += #"\r"#.utf8
                case "\t": output += #"\t"#.utf8
                case "\u{2028}": output += #"\u2028"#.utf8
                case "\u{2029}": output += #"\u2029"#.utf8
                default:
                    let value = scalar.value
                    if value < 0x20 || scalar == "<" || scalar == ">" || scalar == "&" {
                        output += #"\u00"#.utf8
                        output.append(hex[Int(value >> 4)])
                        output.append(hex[Int(value & 15)])
                    } else {
                        output += String(scalar).utf8
                    }
                }
            }
            output.append(UInt8(ascii: "\""))
        }
    }
}
