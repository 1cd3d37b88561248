extension Template {
    /// Prometheus's humanize functions; all print with Go's `%.4g`.
    enum Humanize {
        private static func fourDigits(_ value: Double) -> String {
            GoFormat.float(value, verb: "g", precision: 4)
        }

        /// With SI prefixes: 1234567 → 1.235M, 0.001234 → 1.234m.
        static func metric(_ value: Double) -> String {
            if value == 0 || value.isNaN || value.isInfinite { return fourDigits(value) }
            var value = value
            var prefix = ""
            if abs(value) >= 1 {
                for next in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
                    if abs(value) < 1000 { break }
                    prefix = next
                    value /= 1000
                }
            } else {
                for next in ["m", "u", "n", "p", "f", "a", "z", "y"] {
                    if abs(value) >= 1 { break }
                    prefix = next
                    value *= 1000
                }
            }
            return fourDigits(value) + prefix
        }

        /// With binary prefixes: 1048576 → 1Mi.
        static func binary(_ value: Double) -> String {
            if abs(value) <= 1 || value.isNaN || value.isInfinite { return fourDigits(value) }
            var value = value
            var prefix = ""
            for next in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
                if abs(value) < 1024 { break }
                prefix = next
                value /= 1024
            }
            return fourDigits(value) + prefix
        }

        /// Seconds as `1d 1h 1m 1s`, `1.5s` or `250ms`.
        static func duration(_ value: Double) -> String {
            if value.isNaN || value.isInfinite { return fourDigits(value) }
            if value == 0 { return fourDigits(value) + "s" }
            if abs(value) >= 1 {
                let sign = value < 0 ? "-" : ""
                let magnitude = abs(value)
                // Go's int64 conversion; beyond its range the result is meaningless anyway.
                let total = magnitude < 9.2e18 ? Int64(magnitude) : Int64.max
                let seconds = total % 60, minutes = total / 60 % 60, hours = total / 3600 % 24, days = total / 86400
                if days != 0 { return "\(sign)\(days)d \(hours)h \(minutes)m \(seconds)s" }
                if hours != 0 { return "\(sign)\(hours)h \(minutes)m \(seconds)s" }
                if minutes != 0 { return "\(sign)\(minutes)m \(seconds)s" }
                return sign + fourDigits(magnitude) + "s"
            }
            var value = value
            var prefix = ""
            for next in ["m", "u", "n", "p", "f", "a", "z", "y"] {
                if abs(value) >= 1 { break }
                prefix = next
                value *= 1000
            }
            return fourDigits(value) + prefix + "s"
        }

        static func percentage(_ value: Double) -> String {
            fourDigits(value * 100) + "%"
        }

        /// Seconds since the epoch as Go prints a UTC time: `2015-06-23 13:19:44.128 +0000 UTC`.
        static func timestamp(_ value: Double) throws(TemplateError) -> String {
            if value.isNaN || value.isInfinite { return fourDigits(value) }
            return try GoTime(seconds: value).description
        }
    }
}
