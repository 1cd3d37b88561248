import Glibc

extension Template {
    /// The parts of Go's strconv, strings, net/url and template escapers that templates parse and print with.
    enum GoText {
        /// Keys in Go's order: by bytes.
        static func sortedKeys<V>(_ dictionary: [String: V]) -> [String] {
            dictionary.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        }

        /// strconv.Quote (or QuoteRune with `'`).
        static func quote(_ text: String, delimiter: Character = "\"") -> String {
            var output = String(delimiter)
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\u{07}": output += "\\a"
                case "\u{08}": output += "\\b"
                case "\u{0C}": output += "\\f"
                case "\n": output += "\\n"
                case "\r": output += "\\r"
                case "\t": output += "\\t"
                case "\u{0B}": output += "\\v"
                case "\\": output += "\\\\"
                default:
                    if Character(scalar) == delimiter {
                        output += "\\" + String(delimiter)
                    } else if Runes.isPrint(scalar) {
                        output.unicodeScalars.append(scalar)
                    } else if scalar.value < 0x80 {
                        output += "\\x" + hex(scalar.value, 2)
                    } else if scalar.value < 0x10000 {
                        output += "\\u" + hex(scalar.value, 4)
                    } else {
                        output += "\\U" + hex(scalar.value, 8)
                    }
                }
            }
            return output + String(delimiter)
        }

        private static func hex(_ value: UInt32, _ width: Int) -> String {
            zeroPadded(String(value, radix: 16), width)
        }

        static func zeroPadded(_ digits: String, _ width: Int) -> String {
            String(repeating: "0", count: max(0, width - digits.count)) + digits
        }

        static func canBackquote(_ text: String) -> Bool {
            text.unicodeScalars.allSatisfy { scalar in
                scalar != "`" && scalar != "\u{FEFF}" && (scalar == "\t" || (scalar.value >= 0x20 && scalar.value != 0x7F))
            }
        }

        /// How regexp's messages quote a pattern.
        static func backquoteOrQuote(_ text: String) -> String {
            canBackquote(text) ? "`" + text + "`" : quote(text)
        }

        /// strconv.Unquote of a "..." or `...` token; nil when it is malformed.
        static func unquote(_ token: String) -> String? {
            let bytes = Array(token.utf8)
            guard bytes.count >= 2, let delimiter = bytes.first, bytes.last == delimiter else { return nil }
            let body = bytes[1..<(bytes.count - 1)]
            if delimiter == UInt8(ascii: "`") { return String(decoding: body.filter { $0 != 0x0D }, as: UTF8.self) }
            guard delimiter == UInt8(ascii: "\"") else { return nil }
            var output: [UInt8] = []
            var index = body.startIndex
            while index < body.endIndex {
                let byte = body[index]
                guard byte != UInt8(ascii: "\""), byte != 0x0A else { return nil }
                guard byte == UInt8(ascii: "\\") else {
                    output.append(byte)
                    index += 1
                    continue
                }
                guard let (value, next) = escape(body, after: index, delimiter: delimiter) else { return nil }
                output += value
                index = next
            }
            return String(decoding: output, as: UTF8.self)
        }

        /// The value of a character constant such as `'a'` or `'\n'`.
        static func characterValue(_ token: String) throws(TemplateError) -> Int64 {
            let bytes = Array(token.utf8)
            guard bytes.count >= 3, bytes.first == UInt8(ascii: "'"), bytes.last == UInt8(ascii: "'") else { throw TemplateError("invalid syntax") }
            let body = bytes[1..<(bytes.count - 1)]
            let value: Int64
            let next: Int
            if body.first == UInt8(ascii: "\\") {
                guard let (escaped, end) = escape(body, after: body.startIndex, delimiter: UInt8(ascii: "'")) else { throw TemplateError("invalid syntax") }
                let scalars = String(decoding: escaped, as: UTF8.self).unicodeScalars
                // \x and octal escapes give a byte value, the others a character.
                value = escaped.count == 1 ? Int64(escaped[0]) : Int64(scalars.first?.value ?? 0xFFFD)
                next = end
            } else {
                guard body.first != UInt8(ascii: "'") else { throw TemplateError("invalid syntax") }
                let scalar = String(decoding: body, as: UTF8.self).unicodeScalars.first ?? "\u{FFFD}"
                value = Int64(scalar.value)
                next = body.startIndex + UTF8.width(scalar)
            }
            guard next == body.endIndex else { throw TemplateError("malformed character constant: \(token)") }
            return value
        }

        /// One escape after the backslash at `index`: its bytes and where the text goes on.
        private static func escape(_ bytes: ArraySlice<UInt8>, after index: Int, delimiter: UInt8) -> ([UInt8], Int)? {
            let start = index + 1
            guard start < bytes.endIndex else { return nil }
            func hexValue(_ count: Int) -> UInt32? {
                guard start + count < bytes.endIndex else { return nil }
                var value: UInt32 = 0
                for byte in bytes[(start + 1)...(start + count)] {
                    guard let digit = Character(Unicode.Scalar(byte)).hexDigitValue else { return nil }
                    value = value * 16 + UInt32(digit)
                }
                return value
            }
            let simple: [UInt8: UInt8] = [
                UInt8(ascii: "a"): 7, UInt8(ascii: "b"): 8, UInt8(ascii: "f"): 12, UInt8(ascii: "n"): 10,
                UInt8(ascii: "r"): 13, UInt8(ascii: "t"): 9, UInt8(ascii: "v"): 11, UInt8(ascii: "\\"): 92,
            ]
            let code = bytes[start]
            if let value = simple[code] { return ([value], start + 1) }
            switch code {
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                return code == delimiter ? ([code], start + 1) : nil
            case UInt8(ascii: "x"):
                guard let value = hexValue(2) else { return nil }
                return ([UInt8(value)], start + 3)
            case UInt8(ascii: "u"), UInt8(ascii: "U"):
                let count = code == UInt8(ascii: "u") ? 4 : 8
                guard let value = hexValue(count), let scalar = Unicode.Scalar(value) else { return nil }
                return (Array(String(Character(scalar)).utf8), start + 1 + count)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                guard start + 2 < bytes.endIndex else { return nil }
                var value = 0
                for byte in bytes[start...(start + 2)] {
                    guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "7") else { return nil }
                    value = value * 8 + Int(byte - UInt8(ascii: "0"))
                }
                guard value <= 255 else { return nil }
                return ([UInt8(value)], start + 3)
            default:
                return nil
            }
        }

        /// A number token as Go's parser reads it (strconv.ParseUint, ParseInt and ParseFloat, in that order).
        static func numberLiteral(_ text: String, isCharacter: Bool) throws(TemplateError) -> NumberLiteral {
            var number = NumberLiteral(text: text)
            if isCharacter {
                let value = try characterValue(text)
                number.integer = value
                number.float = Double(value)
                return number
            }
            if text.hasSuffix("i") { throw TemplateError("complex numbers are not supported: \(quote(text))") }
            let (signed, unsigned) = integer(text)
            if let signed {
                number.integer = signed
                number.float = Double(signed)
            } else if let unsigned {
                // Too big for int: Go evaluates it to an "overflows int" error.
                number.float = Double(unsigned)
            } else if case .value(let float) = readFloat(text) {
                guard text.contains(where: { ".eEpP".contains($0) }) else { throw TemplateError("integer overflow: \(quote(text))") }
                number.float = float
                if float == float.rounded(.towardZero) && abs(float) < 9.2e18 { number.integer = Int64(float) }
            } else {
                throw TemplateError("illegal number syntax: \(quote(text))")
            }
            let isHexInteger = text.hasPrefix("0x") || text.hasPrefix("0X") ? !text.contains(where: { $0 == "p" || $0 == "P" }) : false
            number.looksFloat = number.float != nil && !isHexInteger && text.contains(where: { ".eEpP".contains($0) })
            return number
        }

        /// strconv.ParseInt and ParseUint with base 0: prefixes 0x, 0o, 0b and 0, and underscores.
        private static func integer(_ text: String) -> (Int64?, UInt64?) {
            var bytes = Array(text.utf8)[...]
            var negative = false
            var signed = false
            if let first = bytes.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
                negative = first == UInt8(ascii: "-")
                signed = true
                bytes = bytes.dropFirst()
            }
            guard !bytes.isEmpty, underscoresFit(bytes) else { return (nil, nil) }
            var base: UInt64 = 10
            if bytes.first == UInt8(ascii: "0") {
                let second = bytes.count >= 3 ? bytes[bytes.startIndex + 1] | 0x20 : 0
                switch second {
                case UInt8(ascii: "b"): base = 2
                case UInt8(ascii: "o"): base = 8
                case UInt8(ascii: "x"): base = 16
                default: base = 8
                }
                bytes = bytes.dropFirst(base == 8 && second != UInt8(ascii: "o") ? 1 : 2)
            }
            var magnitude: UInt64 = 0
            for byte in bytes where byte != UInt8(ascii: "_") {
                guard let digit = Character(Unicode.Scalar(byte)).hexDigitValue, UInt64(digit) < base else { return (nil, nil) }
                let (times, overflow) = magnitude.multipliedReportingOverflow(by: base)
                let (sum, carry) = times.addingReportingOverflow(UInt64(digit))
                guard !overflow && !carry else { return (nil, nil) }
                magnitude = sum
            }
            let unsigned = signed ? nil : magnitude
            if negative { return (magnitude <= 1 << 63 ? Int64(bitPattern: 0 &- magnitude) : nil, unsigned) }
            return (magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil, unsigned)
        }

        /// Go's underscoreOK: underscores only between digits (or after a base prefix).
        private static func underscoresFit(_ bytes: ArraySlice<UInt8>) -> Bool {
            guard bytes.contains(UInt8(ascii: "_")) else { return true }
            var saw: UInt8 = UInt8(ascii: "^")
            var index = bytes.startIndex
            var hex = false
            if bytes.count >= 2, bytes[index] == UInt8(ascii: "0"), "box".utf8.contains(bytes[index + 1] | 0x20) {
                hex = bytes[index + 1] | 0x20 == UInt8(ascii: "x")
                saw = UInt8(ascii: "0")
                index += 2
            }
            while index < bytes.endIndex {
                let byte = bytes[index]
                if (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (hex && (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "f")) {
                    saw = UInt8(ascii: "0")
                } else if byte == UInt8(ascii: "_") {
                    guard saw == UInt8(ascii: "0") else { return false }
                    saw = byte
                } else {
                    guard saw != UInt8(ascii: "_") else { return false }
                    saw = UInt8(ascii: "!")
                }
                index += 1
            }
            return saw != UInt8(ascii: "_")
        }

        enum FloatReading {
            case value(Double)
            case syntax
            case range
        }

        /// strconv.ParseFloat's syntax: decimal or hexadecimal (with a `p` exponent), Inf, Infinity and NaN.
        static func readFloat(_ text: String) -> FloatReading {
            var bytes = Array(text.utf8)[...]
            var sign = ""
            if let first = bytes.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
                sign = first == UInt8(ascii: "-") ? "-" : ""
                bytes = bytes.dropFirst()
            }
            let lower = String(decoding: bytes.map { $0 | 0x20 }, as: UTF8.self)
            if lower == "inf" || lower == "infinity" { return .value(sign.isEmpty ? .infinity : -.infinity) }
            if lower == "nan" && text.count == 3 { return .value(.nan) }
            guard underscoresFit(bytes) else { return .syntax }
            let hex = bytes.count >= 2 && bytes.first == UInt8(ascii: "0") && bytes[bytes.startIndex + 1] | 0x20 == UInt8(ascii: "x")
            var index = bytes.startIndex + (hex ? 2 : 0)
            var digits = 0
            var sawPoint = false
            while index < bytes.endIndex {
                let byte = bytes[index]
                if byte == UInt8(ascii: "_") {
                } else if byte == UInt8(ascii: ".") {
                    guard !sawPoint else { return .syntax }
                    sawPoint = true
                } else if let digit = Character(Unicode.Scalar(byte)).hexDigitValue, hex || digit < 10 {
                    digits += 1
                } else {
                    break
                }
                index += 1
            }
            guard digits > 0 else { return .syntax }
            if index < bytes.endIndex && (bytes[index] | 0x20) == (hex ? UInt8(ascii: "p") : UInt8(ascii: "e")) {
                index += 1
                if index < bytes.endIndex && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) { index += 1 }
                var exponentDigits = 0
                while index < bytes.endIndex && ((bytes[index] >= UInt8(ascii: "0") && bytes[index] <= UInt8(ascii: "9")) || bytes[index] == UInt8(ascii: "_")) {
                    if bytes[index] != UInt8(ascii: "_") { exponentDigits += 1 }
                    index += 1
                }
                guard exponentDigits > 0 else { return .syntax }
            } else if hex {
                return .syntax
            }
            guard index == bytes.endIndex else { return .syntax }
            let cleaned = sign + String(decoding: bytes.filter { $0 != UInt8(ascii: "_") }, as: UTF8.self)
            let value = cleaned.withCString { strtod($0, nil) }
            return value.isInfinite ? .range : .value(value)
        }

        static func parseFloat(_ text: String) throws(TemplateError) -> Double {
            switch readFloat(text) {
            case .value(let value): return value
            case .syntax: throw TemplateError("strconv.ParseFloat: parsing \(quote(text)): invalid syntax")
            case .range: throw TemplateError("strconv.ParseFloat: parsing \(quote(text)): value out of range")
            }
        }

        /// Prometheus's model.ParseDuration (`1h30m`, units y w d h m s ms, largest first), in seconds.
        static func parseDuration(_ text: String) throws(TemplateError) -> Double {
            if text == "0" { return 0 }
            guard !text.isEmpty else { throw TemplateError("empty duration string") }
            let invalid = TemplateError("not a valid duration string: \(quote(text))")
            let units: [String: (order: Int, nanoseconds: UInt64)] = [
                "y": (1, 365 * 86_400_000_000_000), "w": (2, 7 * 86_400_000_000_000), "d": (3, 86_400_000_000_000),
                "h": (4, 3_600_000_000_000), "m": (5, 60_000_000_000), "s": (6, 1_000_000_000), "ms": (7, 1_000_000),
            ]
            var rest = Array(text.utf8)[...]
            var total: UInt64 = 0
            var lastOrder = 0
            func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
            while let first = rest.first {
                guard isDigit(first) else { throw invalid }
                let digits = rest.prefix(while: isDigit)
                rest = rest.dropFirst(digits.count)
                guard let value = UInt64(String(decoding: digits, as: UTF8.self)) else { throw invalid }
                let unitBytes = rest.prefix { !isDigit($0) }
                rest = rest.dropFirst(unitBytes.count)
                guard !unitBytes.isEmpty else { throw invalid }
                let unitName = String(decoding: unitBytes, as: UTF8.self)
                guard let unit = units[unitName] else { throw TemplateError("unknown unit \(quote(unitName)) in duration \(quote(text))") }
                guard unit.order > lastOrder else { throw invalid }
                lastOrder = unit.order
                guard value <= (1 << 63) / unit.nanoseconds else { throw TemplateError("duration out of range") }
                total += value * unit.nanoseconds
                guard total <= UInt64(Int64.max) else { throw TemplateError("duration out of range") }
            }
            return Double(Int64(total)) / 1e9
        }

        /// template.HTMLEscapeString.
        static func htmlEscape(_ text: String) -> String {
            var output = ""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": output += "&#34;"
                case "'": output += "&#39;"
                case "&": output += "&amp;"
                case "<": output += "&lt;"
                case ">": output += "&gt;"
                case "\0": output += "\u{FFFD}"
                default: output.unicodeScalars.append(scalar)
                }
            }
            return output
        }

        /// template.JSEscapeString.
        static func jsEscape(_ text: String) -> String {
            var output = ""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\\": output += "\\\\"
                case "'": output += "\\'"
                case "\"": output += "\\\""
                case "<": output += "\\u003C"
                case ">": output += "\\u003E"
                case "&": output += "\\u0026"
                case "=": output += "\\u003D"
                default:
                    if scalar.value < 0x20 {
                        output += "\\u00" + GoText.zeroPadded(String(scalar.value, radix: 16, uppercase: true), 2)
                    } else if scalar.value >= 0x80 && !Runes.isPrint(scalar) {
                        output += "\\u" + GoText.zeroPadded(String(scalar.value, radix: 16, uppercase: true), 4)
                    } else {
                        output.unicodeScalars.append(scalar)
                    }
                }
            }
            return output
        }

        /// url.QueryEscape.
        static func queryEscape(_ text: String) -> String {
            var output: [UInt8] = []
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                     UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                    output.append(byte)
                case UInt8(ascii: " "):
                    output.append(UInt8(ascii: "+"))
                default:
                    output += Array("%".utf8) + Array(GoText.zeroPadded(String(byte, radix: 16, uppercase: true), 2).utf8)
                }
            }
            return String(decoding: output, as: UTF8.self)
        }

        /// The first letter of each word in title case, the rest as it is (cases.Title with NoLower);
        /// an apostrophe, `.` or `:` between letters does not start a word.
        static func title(_ text: String) -> String {
            let scalars = Array(text.unicodeScalars)
            var output = String.UnicodeScalarView()
            for (index, scalar) in scalars.enumerated() {
                var startsWord = true
                if index > 0 {
                    let previous = scalars[index - 1]
                    if Runes.isAlphaNumeric(previous) || Runes.isMark(previous) {
                        startsWord = false
                    } else if "'’.:".unicodeScalars.contains(previous), index >= 2, Runes.isLetter(scalars[index - 2]), Runes.isLetter(scalar) {
                        startsWord = false
                    }
                }
                if startsWord {
                    output.append(contentsOf: scalar.properties.titlecaseMapping.unicodeScalars)
                } else {
                    output.append(scalar)
                }
            }
            return String(output)
        }

        /// strings.ToUpper and ToLower: each character's simple (one-character) mapping.
        static func changeCase(_ text: String, upper: Bool) -> String {
            var output = String.UnicodeScalarView()
            for scalar in text.unicodeScalars {
                let mapped = (upper ? scalar.properties.uppercaseMapping : scalar.properties.lowercaseMapping).unicodeScalars
                output.append(mapped.count == 1 ? mapped.first! : scalar)
            }
            return String(output)
        }
    }
}
