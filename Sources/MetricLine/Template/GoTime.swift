extension Template {
    /// A UTC time with millisecond resolution, as Prometheus's `model.Time` gives it.
    struct GoTime: Sendable {
        /// Seconds since the epoch.
        var seconds: Int64
        /// Nanoseconds into the second, 0 up to a billion.
        var nanoseconds: Int64

        /// Prometheus's floatToTime: the time `seconds` after the epoch, cut to milliseconds.
        init(seconds value: Double) throws(TemplateError) {
            guard !value.isNaN && !value.isInfinite else { throw TemplateError("value is NaN or Inf") }
            let nanoseconds = value * 1e9
            guard nanoseconds < 9.223372036854775807e18 && nanoseconds >= -9.223372036854775808e18 else {
                throw TemplateError("\(GoFormat.string(.float(value))) cannot be represented as a nanoseconds timestamp since it overflows int64")
            }
            let milliseconds = Int64(nanoseconds) / 1_000_000
            seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
            self.nanoseconds = (milliseconds - seconds * 1000) * 1_000_000
        }

        /// The time `milliseconds` after the epoch.
        init(milliseconds: Int64) {
            seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
            nanoseconds = (milliseconds - seconds * 1000) * 1_000_000
        }

        /// Go's Time.String for UTC.
        var description: String { format("2006-01-02 15:04:05.999999999 -0700 MST") }

        private var days: Int64 { seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400 }
        private var secondOfDay: Int64 { seconds - days * 86400 }

        /// The proleptic Gregorian date of `days` after 1970-01-01.
        private var date: (year: Int64, month: Int, day: Int) {
            let (year, month, day) = Timestamp.civil(fromDays: days)
            return (year, Int(month), Int(day))
        }

        private var yearDay: Int {
            let (year, month, day) = date
            let cumulative = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
            return cumulative[month - 1] + day + (leap && month > 2 ? 1 : 0)
        }

        private var weekday: Int { Int(((days % 7) + 11) % 7) }

        private static let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
        private static let weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

        /// Go's Time.Format with a reference-time layout such as `2006-01-02 15:04`.
        func format(_ layout: String) -> String {
            let bytes = Array(layout.utf8)
            var output: [UInt8] = []
            var index = 0
            while index < bytes.count {
                if let (length, text) = element(bytes, at: index) {
                    output.append(contentsOf: text.utf8)
                    index += length
                } else {
                    output.append(bytes[index])
                    index += 1
                }
            }
            return String(decoding: output, as: UTF8.self)
        }

        /// The layout element at `index` and its text, as Go's nextStdChunk finds them.
        private func element(_ layout: [UInt8], at index: Int) -> (Int, String)? {
            func has(_ text: String) -> Bool { layout[index...].starts(with: text.utf8) }
            func lowercaseAt(_ offset: Int) -> Bool { offset < layout.count && layout[offset] >= 0x61 && layout[offset] <= 0x7A }
            func digitAt(_ offset: Int) -> Bool { offset < layout.count && layout[offset] >= 0x30 && layout[offset] <= 0x39 }
            func padded(_ value: Int64, _ width: Int, _ pad: Character = "0") -> String {
                let digits = String(value.magnitude)
                return (value < 0 ? "-" : "") + String(repeating: pad, count: max(0, width - digits.count)) + digits
            }
            let (year, month, day) = date
            let hour = secondOfDay / 3600, minute = secondOfDay / 60 % 60, second = secondOfDay % 60
            let hour12 = hour % 12 == 0 ? 12 : hour % 12
            switch layout[index] {
            case UInt8(ascii: "J"):
                if has("January") { return (7, Self.months[month - 1]) }
                if has("Jan") && !lowercaseAt(index + 3) { return (3, String(Self.months[month - 1].prefix(3))) }
            case UInt8(ascii: "M"):
                if has("Monday") { return (6, Self.weekdays[weekday]) }
                if has("Mon") && !lowercaseAt(index + 3) { return (3, String(Self.weekdays[weekday].prefix(3))) }
                if has("MST") { return (3, "UTC") }
            case UInt8(ascii: "0"):
                if index + 1 < layout.count, layout[index + 1] >= UInt8(ascii: "1"), layout[index + 1] <= UInt8(ascii: "6") {
                    let values = [Int64(month), Int64(day), hour12, minute, second, year % 100]
                    return (2, padded(values[Int(layout[index + 1] - UInt8(ascii: "1"))], 2))
                }
                if has("002") { return (3, padded(Int64(yearDay), 3)) }
            case UInt8(ascii: "1"):
                if has("15") { return (2, padded(hour, 2)) }
                return (1, String(month))
            case UInt8(ascii: "2"):
                if has("2006") { return (4, padded(year, 4)) }
                return (1, String(day))
            case UInt8(ascii: "_"):
                if has("_2006") { return (5, "_" + padded(year, 4)) }
                if has("_2") { return (2, padded(Int64(day), 2, " ")) }
                if has("__2") { return (3, padded(Int64(yearDay), 3, " ")) }
            case UInt8(ascii: "3"): return (1, String(hour12))
            case UInt8(ascii: "4"): return (1, String(minute))
            case UInt8(ascii: "5"): return (1, String(second))
            case UInt8(ascii: "P"):
                if has("PM") { return (2, hour >= 12 ? "PM" : "AM") }
            case UInt8(ascii: "p"):
                if has("pm") { return (2, hour >= 12 ? "pm" : "am") }
            case UInt8(ascii: "-"):
                for (zone, text) in [("-070000", "+000000"), ("-07:00:00", "+00:00:00"), ("-0700", "+0000"), ("-07:00", "+00:00"), ("-07", "+00")] where has(zone) {
                    return (zone.utf8.count, text)
                }
            case UInt8(ascii: "Z"):
                for zone in ["Z070000", "Z07:00:00", "Z0700", "Z07:00", "Z07"] where has(zone) { return (zone.utf8.count, "Z") }
            case UInt8(ascii: "."), UInt8(ascii: ","):
                guard index + 1 < layout.count, layout[index + 1] == UInt8(ascii: "0") || layout[index + 1] == UInt8(ascii: "9") else { break }
                let digit = layout[index + 1]
                var end = index + 1
                while end < layout.count && layout[end] == digit { end += 1 }
                guard !digitAt(end) else { break }
                let count = end - index - 1
                var fraction = Array(padded(nanoseconds, 9).utf8.prefix(count))
                if digit == UInt8(ascii: "9") {
                    while fraction.last == UInt8(ascii: "0") { fraction.removeLast() }
                    if fraction.isEmpty { return (end - index, "") }
                }
                return (end - index, String(decoding: [layout[index]] + fraction, as: UTF8.self))
            default:
                break
            }
            return nil
        }

        /// A method templates can call on a time.
        struct Method: Sendable {
            var signature: Signature
            var body: @Sendable (GoTime, [Value]) throws(TemplateError) -> Value
        }

        /// The methods of `*time.Time` a template is likely to call.
        static let methods: [String: Method] = {
            var table: [String: Method] = [:]
            func add(_ name: String, _ parameters: [Parameter] = [], _ body: @escaping @Sendable (GoTime, [Value]) -> Value) {
                table[name] = Method(signature: Signature(parameters: parameters, variadic: nil), body: body)
            }
            add("Format", [.string]) { time, arguments in .string(time.format(arguments[0].text)) }
            add("String") { time, _ in .string(time.description) }
            add("UTC") { time, _ in .time(time) }
            add("Local") { time, _ in .time(time) }
            add("Unix") { time, _ in .int(Int(time.seconds)) }
            add("UnixMilli") { time, _ in .int(Int(time.seconds) * 1000 + Int(time.nanoseconds / 1_000_000)) }
            add("UnixNano") { time, _ in .int(Int(time.seconds) &* 1_000_000_000 &+ Int(time.nanoseconds)) }
            add("Year") { time, _ in .int(Int(time.date.year)) }
            add("Month") { time, _ in .string(GoTime.months[time.date.month - 1]) }
            add("Day") { time, _ in .int(time.date.day) }
            add("YearDay") { time, _ in .int(time.yearDay) }
            add("Weekday") { time, _ in .string(GoTime.weekdays[time.weekday]) }
            add("Hour") { time, _ in .int(Int(time.secondOfDay / 3600)) }
            add("Minute") { time, _ in .int(Int(time.secondOfDay / 60 % 60)) }
            add("Second") { time, _ in .int(Int(time.secondOfDay % 60)) }
            add("Nanosecond") { time, _ in .int(Int(time.nanoseconds)) }
            return table
        }()
    }
}
