/// Durations as PromQL writes them: `90s`, `5m`, `1h30m`, `2d`, `1w`, `1y`, `500ms`.
public enum Duration {
    /// The length of `text` in milliseconds, or nil when it is not a duration.
    public static func milliseconds(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000),
                                        ("w", 604_800_000), ("y", 31_536_000_000)]
        var rest = Substring(text)
        var total: Int64 = 0
        var previousUnit = Int64.max
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, let number = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            guard let unit = units.first(where: { rest.hasPrefix($0.0) && !(($0.0 == "m") && rest.hasPrefix("ms")) }) else { return nil }
            // Units must go from larger to smaller, each at most once, as in PromQL.
            guard unit.1 < previousUnit else { return nil }
            previousUnit = unit.1
            rest = rest.dropFirst(unit.0.count)
            let (product, overflow) = number.multipliedReportingOverflow(by: unit.1)
            guard !overflow else { return nil }
            total += product
        }
        return total
    }

    /// `milliseconds` in the largest unit that divides it: `5m`, `1h`, `1d`, `90s`, `250ms`.
    public static func text(_ milliseconds: Int64) -> String {
        for (unit, size) in [("y", Int64(31_536_000_000)), ("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)]
        where milliseconds > 0 && milliseconds % size == 0 {
            return "\(milliseconds / size)\(unit)"
        }
        return "\(milliseconds)ms"
    }
}
