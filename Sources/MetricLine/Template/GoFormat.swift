import Glibc

extension Template {
    /// Go's fmt: how values print in actions and in `print`, `printf` and `println`.
    enum GoFormat {
        /// The flags, width and precision of one verb.
        struct Flags {
            var plus = false
            var minus = false
            var sharp = false
            var space = false
            /// Pad with zeros (never set together with `minus`).
            var zero = false
            var width: Int?
            var precision: Int?
            /// `%+v` and `%#v`, which Go keeps apart from `+` and `#`.
            var plusV = false
            var sharpV = false
        }

        /// A value as an action prints it: `<no value>` for a missing one, pointers followed.
        static func printable(_ value: Value) -> String {
            if case .missing = value { return "<no value>" }
            return format(value, "v", Flags(), pointer: false)
        }

        /// `%v`.
        static func string(_ value: Value) -> String {
            format(value, "v", Flags(), pointer: true)
        }

        /// One float with a verb and an optional precision, such as `%.4g`.
        static func float(_ value: Double, verb: Unicode.Scalar, precision: Int?) -> String {
            var flags = Flags()
            flags.precision = precision
            return formatFloat(value, verb, flags) ?? ""
        }

        /// What `html`, `js` and `urlquery` escape: a lone string as it is, else the arguments as `print` joins them.
        static func escapeInput(_ values: [Value]) -> String {
            if values.count == 1, case .string(let text) = values[0] { return text }
            return sprint(values.map { value in
                if case .missing = value { return .string("<no value>") }
                return value
            }, pointer: false)
        }

        /// `print`: spaces between operands when neither is a string.
        static func sprint(_ values: [Value], pointer: Bool = true) -> String {
            var output = ""
            var previousIsString = false
            for (index, value) in values.enumerated() {
                let isString = if case .string = value { true } else { false }
                if index > 0 && !isString && !previousIsString { output += " " }
                output += format(value, "v", Flags(), pointer: pointer)
                previousIsString = isString
            }
            return output
        }

        /// `println`: spaces between all operands and a newline.
        static func sprintln(_ values: [Value]) -> String {
            values.map { format($0, "v", Flags(), pointer: true) }.joined(separator: " ") + "\n"
        }

        /// `printf`, with Go's verbs, flags, `*` widths, `[n]` indexes and its complaints:
        /// `%!d(float64=1.5)`, `%!d(MISSING)`, `%!(EXTRA int=1)`.
        static func sprintf(_ format: String, _ arguments: [Value]) -> String {
            let bytes = Array(format.utf8)
            var output = ""
            var argument = 0
            var reordered = false
            var index = 0
            while index < bytes.count {
                let literalStart = index
                while index < bytes.count && bytes[index] != UInt8(ascii: "%") { index += 1 }
                output += String(decoding: bytes[literalStart..<index], as: UTF8.self)
                guard index < bytes.count else { break }
                index += 1
                var flags = Flags()
                flagLoop: while index < bytes.count {
                    switch bytes[index] {
                    case UInt8(ascii: "#"): flags.sharp = true
                    case UInt8(ascii: "0"): flags.zero = !flags.minus
                    case UInt8(ascii: "+"): flags.plus = true
                    case UInt8(ascii: "-"):
                        flags.minus = true
                        flags.zero = false
                    case UInt8(ascii: " "): flags.space = true
                    default: break flagLoop
                    }
                    index += 1
                }
                var good = true
                var afterIndex = false
                (argument, index, afterIndex) = argumentNumber(bytes, index, argument, arguments.count, &reordered, &good)
                if index < bytes.count && bytes[index] == UInt8(ascii: "*") {
                    index += 1
                    (flags.width, argument) = intArgument(arguments, argument)
                    if flags.width == nil { output += "%!(BADWIDTH)" }
                    if let width = flags.width, width < 0 {
                        flags.width = -width
                        flags.minus = true
                        flags.zero = false
                    }
                    afterIndex = false
                } else {
                    (flags.width, index) = number(bytes, index)
                    if afterIndex && flags.width != nil { good = false }
                }
                if index + 1 < bytes.count && bytes[index] == UInt8(ascii: ".") {
                    index += 1
                    if afterIndex { good = false }
                    (argument, index, afterIndex) = argumentNumber(bytes, index, argument, arguments.count, &reordered, &good)
                    if index < bytes.count && bytes[index] == UInt8(ascii: "*") {
                        index += 1
                        (flags.precision, argument) = intArgument(arguments, argument)
                        if let precision = flags.precision, precision < 0 { flags.precision = nil }
                        if flags.precision == nil { output += "%!(BADPREC)" }
                        afterIndex = false
                    } else {
                        (flags.precision, index) = number(bytes, index)
                        if flags.precision == nil { flags.precision = 0 }
                    }
                }
                if !afterIndex {
                    (argument, index, afterIndex) = argumentNumber(bytes, index, argument, arguments.count, &reordered, &good)
                }
                guard index < bytes.count else {
                    output += "%!(NOVERB)"
                    break
                }
                var decoder = UTF8()
                var iterator = bytes[index...].makeIterator()
                var verb: Unicode.Scalar = "\u{FFFD}"
                if case .scalarValue(let scalar) = decoder.decode(&iterator) { verb = scalar }
                index += max(1, verb == "\u{FFFD}" ? 1 : UTF8.width(verb))
                if verb == "%" {
                    output += "%"
                } else if !good {
                    output += "%!\(Character(verb))(BADINDEX)"
                } else if argument >= arguments.count {
                    output += "%!\(Character(verb))(MISSING)"
                } else {
                    if verb == "v" {
                        flags.sharpV = flags.sharp
                        flags.sharp = false
                        flags.plusV = flags.plus
                        flags.plus = false
                    }
                    output += verb == "T" ? pad(arguments[argument].typeName, flags) : self.format(arguments[argument], verb, flags, pointer: true)
                    argument += 1
                }
            }
            if !reordered && argument < arguments.count {
                let extra = arguments[argument...].map { value in
                    if case .missing = value { return "<nil>" }
                    return value.typeName + "=" + self.format(value, "v", Flags(), pointer: true)
                }
                output += "%!(EXTRA " + extra.joined(separator: ", ") + ")"
            }
            return output
        }

        /// Digits at `index`, and where they end; nil when there are none or too many.
        private static func number(_ bytes: [UInt8], _ index: Int) -> (Int?, Int) {
            var value = 0
            var end = index
            while end < bytes.count && bytes[end] >= UInt8(ascii: "0") && bytes[end] <= UInt8(ascii: "9") {
                // Go gives up on absurd widths; so do we, a little earlier, to bound the output.
                if value > Limits.outputBytes { return (nil, bytes.count) }
                value = value * 10 + Int(bytes[end] - UInt8(ascii: "0"))
                end += 1
            }
            return (end > index ? value : nil, end)
        }

        /// An explicit argument index `[n]`: the argument it names, where the format goes on, and whether there was one.
        private static func argumentNumber(_ bytes: [UInt8], _ index: Int, _ argument: Int, _ count: Int,
                                           _ reordered: inout Bool, _ good: inout Bool) -> (Int, Int, Bool) {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "[") else { return (argument, index, false) }
            reordered = true
            guard bytes.count - index >= 3 else {
                good = false
                return (argument, index + 1, false)
            }
            var close = index + 1
            while close < bytes.count && bytes[close] != UInt8(ascii: "]") { close += 1 }
            guard close < bytes.count else {
                good = false
                return (argument, index + 1, false)
            }
            let (value, end) = number(bytes, index + 1)
            guard let value, end == close else {
                good = false
                return (argument, close + 1, false)
            }
            guard value >= 1 && value <= count else {
                good = false
                return (argument, close + 1, true)
            }
            return (value - 1, close + 1, true)
        }

        /// A `*` width or precision taken from the arguments.
        private static func intArgument(_ arguments: [Value], _ argument: Int) -> (Int?, Int) {
            guard argument < arguments.count else { return (nil, argument) }
            guard case .int(let value) = arguments[argument], value.magnitude <= UInt(Limits.outputBytes) else { return (nil, argument + 1) }
            return (value, argument + 1)
        }

        static func pad(_ text: String, _ flags: Flags) -> String {
            guard let width = flags.width else { return text }
            let count = text.unicodeScalars.count
            guard width > count else { return text }
            let padding = String(repeating: flags.zero ? "0" : " ", count: width - count)
            return flags.minus ? text + padding : padding + text
        }

        /// One operand with one verb. `pointer` marks a top-level `*sample`, which Go prints as `&{...}`.
        static func format(_ value: Value, _ verb: Unicode.Scalar, _ flags: Flags, pointer: Bool) -> String {
            switch value {
            case .missing:
                return verb == "v" ? pad("<nil>", flags) : "%!\(Character(verb))(<nil>)"
            case .bool(let truth):
                guard verb == "t" || verb == "v" else { return badVerb(value, verb, flags) }
                return pad(truth ? "true" : "false", flags)
            case .int(let number):
                return formatInteger(number, verb, flags) ?? badVerb(value, verb, flags)
            case .float(let number):
                return formatFloat(number, verb, flags) ?? badVerb(value, verb, flags)
            case .string(let text):
                return formatString(text, verb, flags) ?? badVerb(value, verb, flags)
            case .time(let time):
                // A Stringer: the verbs that take a string print String().
                guard "vsxXq".unicodeScalars.contains(verb), let text = formatString(time.description, verb, flags) else {
                    return badVerb(value, verb, flags)
                }
                return text
            case .labels(let labels):
                let entries = GoText.sortedKeys(labels).map { key in
                    format(.string(key), verb, flags, pointer: false) + ":" + format(.string(labels[key] ?? ""), verb, flags, pointer: false)
                }
                return "map[" + entries.joined(separator: " ") + "]"
            case .map(let map):
                let entries = GoText.sortedKeys(map).map { key in
                    format(.string(key), verb, flags, pointer: false) + ":" + format(map[key] ?? .missing, verb, flags, pointer: false)
                }
                return "map[" + entries.joined(separator: " ") + "]"
            case .samples(let samples):
                return "[" + samples.map { format(.sample($0), verb, flags, pointer: false) }.joined(separator: " ") + "]"
            case .sample(nil):
                return verb == "v" ? pad("<nil>", flags) : badVerb(value, verb, flags)
            case .sample(let sample?):
                let fields = [("Labels", Value.labels(sample.labels)), ("Value", .float(sample.value))]
                return (pointer ? "&" : "") + structure(fields, verb, flags)
            case .data(let data):
                let fields: [(String, Value)] = [
                    ("Labels", .labels(data.labels)), ("ExternalLabels", .labels(data.externalLabels)),
                    ("ExternalURL", .string(data.externalURL)), ("Value", .float(data.value)),
                ]
                return structure(fields, verb, flags)
            case .tree(.strings(let map, _)):
                return format(.labels(map), verb, flags, pointer: false)
            case .tree(.list(let list, _)):
                return "[" + list.map { format(Value($0), verb, flags, pointer: false) }.joined(separator: " ") + "]"
            case .tree(.object(_, let fields, _)):
                return structure(fields.map { ($0.name, Value($0.value)) }, verb, flags)
            case .tree(let scalar):
                return format(Value(scalar), verb, flags, pointer: false)
            }
        }

        private static func structure(_ fields: [(String, Value)], _ verb: Unicode.Scalar, _ flags: Flags) -> String {
            let parts = fields.map { name, value in
                (flags.plusV ? name + ":" : "") + format(value, verb, flags, pointer: false)
            }
            return "{" + parts.joined(separator: " ") + "}"
        }

        private static func badVerb(_ value: Value, _ verb: Unicode.Scalar, _ flags: Flags) -> String {
            "%!\(Character(verb))(\(value.typeName)=\(format(value, "v", flags, pointer: true)))"
        }

        private static func formatInteger(_ value: Int, _ verb: Unicode.Scalar, _ flags: Flags) -> String? {
            switch verb {
            case "v", "d": return integer(value, base: 10, uppercase: false, verb: verb, flags)
            case "b": return integer(value, base: 2, uppercase: false, verb: verb, flags)
            case "o", "O": return integer(value, base: 8, uppercase: false, verb: verb, flags)
            case "x": return integer(value, base: 16, uppercase: false, verb: verb, flags)
            case "X": return integer(value, base: 16, uppercase: true, verb: verb, flags)
            case "c": return pad(String(Character(rune(value))), flags)
            case "q": return pad(GoText.quote(String(Character(rune(value))), delimiter: "'"), flags)
            case "U":
                let hex = String(UInt64(bitPattern: Int64(value)), radix: 16, uppercase: true)
                return pad("U+" + String(repeating: "0", count: max(0, (flags.precision ?? 4) - hex.count)) + hex, flags)
            default: return nil
            }
        }

        private static func rune(_ value: Int) -> Unicode.Scalar {
            guard value >= 0, value <= 0x10FFFF, let scalar = Unicode.Scalar(UInt32(value)) else { return "\u{FFFD}" }
            return scalar
        }

        /// Go's fmtInteger: precision or zero padding as leading zeros, then prefixes and sign.
        private static func integer(_ value: Int, base: Int, uppercase: Bool, verb: Unicode.Scalar, _ flags: Flags) -> String {
            var flags = flags
            let negative = value < 0
            var digits = String(value.magnitude, radix: base, uppercase: uppercase)
            var precision = 0
            if let wanted = flags.precision {
                precision = wanted
                if wanted == 0 && value == 0 {
                    flags.zero = false
                    return pad("", flags)
                }
            } else if flags.zero, let width = flags.width {
                precision = width - (negative || flags.plus || flags.space ? 1 : 0)
            }
            if digits.count < precision { digits = String(repeating: "0", count: precision - digits.count) + digits }
            if flags.sharp {
                switch base {
                case 2: digits = "0b" + digits
                case 8: if !digits.hasPrefix("0") { digits = "0" + digits }
                case 16: digits = (uppercase ? "0X" : "0x") + digits
                default: break
                }
            }
            if verb == "O" { digits = "0o" + digits }
            if negative {
                digits = "-" + digits
            } else if flags.plus {
                digits = "+" + digits
            } else if flags.space {
                digits = " " + digits
            }
            flags.zero = false
            return pad(digits, flags)
        }

        /// Go's fmtFloat: `%v` and `%g` without a precision print the shortest form that reads back.
        static func formatFloat(_ value: Double, _ verb: Unicode.Scalar, _ flags: Flags) -> String? {
            var flags = flags
            var precision = flags.precision
            let conversion: String
            switch verb {
            case "v": conversion = "g"
            case "g", "G": conversion = String(Character(verb))
            case "e", "E", "f":
                conversion = String(Character(verb))
                precision = precision ?? 6
            case "F":
                conversion = "f"
                precision = precision ?? 6
            case "x": conversion = "a"
            case "X": conversion = "A"
            default: return nil
            }
            var number: String
            if value.isNaN {
                number = "+NaN"
            } else if value.isInfinite {
                number = value < 0 ? "-Inf" : "+Inf"
            } else if (conversion == "g" || conversion == "G") && precision == nil && !flags.sharp {
                number = (value.sign == .minus ? "-" : "+") + shortest(abs(value), exponent: conversion == "G" ? "E" : "e")
            } else {
                let precisionText = precision.map { ".\($0)" } ?? ""
                number = cFormat(value, "%+" + (flags.sharp ? "#" : "") + precisionText + conversion)
                if conversion == "a" || conversion == "A" { number = twoDigitExponent(number) }
            }
            if flags.space && number.hasPrefix("+") && !flags.plus { number = " " + number.dropFirst() }
            if value.isNaN || value.isInfinite {
                if value.isNaN && !flags.space && !flags.plus { number.removeFirst() }
                flags.zero = false
                return pad(number, flags)
            }
            if flags.plus || !number.hasPrefix("+") {
                if flags.zero, let width = flags.width, width > number.count {
                    return String(number.prefix(1)) + String(repeating: "0", count: width - number.count) + number.dropFirst()
                }
                return pad(number, flags)
            }
            return pad(String(number.dropFirst()), flags)
        }

        /// Go pads a hexadecimal float's exponent to two digits: `0x1p+00`.
        private static func twoDigitExponent(_ text: String) -> String {
            guard let marker = text.lastIndex(where: { $0 == "p" || $0 == "P" }) else { return text }
            let signIndex = text.index(after: marker)
            guard signIndex < text.endIndex else { return text }
            let digits = text[text.index(after: signIndex)...]
            return digits.count < 2 ? String(text[...signIndex]) + "0" + digits : text
        }

        private static func formatString(_ text: String, _ verb: Unicode.Scalar, _ flags: Flags) -> String? {
            let truncated = flags.precision.map { String(String.UnicodeScalarView(text.unicodeScalars.prefix($0))) } ?? text
            switch verb {
            case "v":
                return pad(flags.sharpV ? GoText.quote(text) : truncated, flags)
            case "s":
                return pad(truncated, flags)
            case "q":
                if flags.sharp && GoText.canBackquote(truncated) { return pad("`" + truncated + "`", flags) }
                return pad(GoText.quote(truncated), flags)
            case "x", "X":
                var bytes = Array(text.utf8)
                if let precision = flags.precision, precision < bytes.count { bytes = Array(bytes.prefix(precision)) }
                let prefix = flags.sharp ? (verb == "x" ? "0x" : "0X") : ""
                var hex = flags.space ? "" : prefix
                for (index, byte) in bytes.enumerated() {
                    if flags.space {
                        if index > 0 { hex += " " }
                        hex += prefix
                    }
                    let digits = String(byte, radix: 16, uppercase: verb == "X")
                    hex += (digits.count == 1 ? "0" : "") + digits
                }
                return pad(bytes.isEmpty ? "" : hex, flags)
            default:
                return nil
            }
        }

        /// Go's `%g` with the shortest digits that read back: exponent form below 1e-4 and from 1e21 on
        /// (1e+06 for a million, as `%v` prints it).
        static func shortest(_ magnitude: Double, exponent marker: String) -> String {
            if magnitude == 0 { return "0" }
            let (digits, point) = shortestDigits(magnitude)
            let exponent = point - 1
            if exponent < -4 || exponent >= 6 {
                var text = String(digits.prefix(1))
                if digits.count > 1 { text += "." + digits.dropFirst() }
                let magnitudeText = String(abs(exponent))
                return text + marker + (exponent < 0 ? "-" : "+") + (magnitudeText.count < 2 ? "0" : "") + magnitudeText
            }
            if point <= 0 { return "0." + String(repeating: "0", count: -point) + digits }
            if point >= digits.count { return digits + String(repeating: "0", count: point - digits.count) }
            return String(digits.prefix(point)) + "." + digits.dropFirst(point)
        }

        /// The shortest decimal digits that read back as `magnitude` (Swift's description finds the same
        /// ones as Go's strconv), and where the decimal point goes.
        static func shortestDigits(_ magnitude: Double) -> (String, Int) {
            var digits: [UInt8] = []
            var point = 0
            var seenPoint = false
            var exponent = 0
            let text = Array(magnitude.description.utf8)
            var index = 0
            while index < text.count {
                let byte = text[index]
                if byte == UInt8(ascii: ".") {
                    seenPoint = true
                } else if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                    exponent = Int(String(decoding: text[(index + 1)...], as: UTF8.self)) ?? 0
                    break
                } else {
                    digits.append(byte)
                    if !seenPoint { point += 1 }
                }
                index += 1
            }
            point += exponent
            while digits.first == UInt8(ascii: "0") {
                digits.removeFirst()
                point -= 1
            }
            while digits.last == UInt8(ascii: "0") { digits.removeLast() }
            return (String(decoding: digits, as: UTF8.self), point)
        }

        /// C's printf for one double; for finite values its `%e`, `%f`, `%g` and `%a` match Go's.
        private static func cFormat(_ value: Double, _ format: String) -> String {
            var buffer = [CChar](repeating: 0, count: 128)
            let needed = withVaList([value]) { vsnprintf(&buffer, buffer.count, format, $0) }
            if needed >= buffer.count {
                buffer = [CChar](repeating: 0, count: Int(needed) + 1)
                _ = withVaList([value]) { vsnprintf(&buffer, buffer.count, format, $0) }
            }
            return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        }
    }
}
