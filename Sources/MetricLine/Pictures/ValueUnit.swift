/// How a chart prints its values, named on the command line: `bytes` (binary multiples: KiB,
/// MiB), `seconds` (µs, ms, s, min, h), `percent` (a ratio from 0 to 1 shown as 0–100 %), `%`
/// (values already in percent), any of these with `/s` after it, or any other text, printed after
/// the number (`req/s`). No unit prints short numbers: 1.5k, 2.3M.
public struct ValueUnit: Sendable, Equatable {
    enum Kind: Sendable { case plain, bytes, seconds, ratio, percent }

    /// How numbers are scaled and which prefixes they take.
    let kind: Kind
    /// Printed after the scaled number: `/s`, or free text with its leading space.
    let suffix: String

    public init(_ text: String) {
        var name = text
        var perSecond = ""
        if name.hasSuffix("/s") && name != "/s" {
            name.removeLast(2)
            perSecond = "/s"
        }
        switch name {
        case "": (kind, suffix) = (.plain, "")
        case "bytes", "B": (kind, suffix) = (.bytes, perSecond)
        case "seconds", "s": (kind, suffix) = (.seconds, perSecond)
        case "percent": (kind, suffix) = (.ratio, perSecond)
        case "%": (kind, suffix) = (.percent, perSecond)
        default: (kind, suffix) = (.plain, " " + text)
        }
    }

    /// `value` with its unit, to three significant digits or so: `1.5 GiB`, `250ms`, `42%`.
    public func format(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "+Inf" : "-Inf") }
        let (scaled, prefix) = scale(for: value)
        return ValueUnit.short(value / scaled) + prefix + suffix
    }

    /// Round axis ticks covering [low, high], in steps that read well in this unit (multiples of
    /// a power of 1024 for bytes, of minutes or hours for long durations).
    public func ticks(_ low: Double, _ high: Double) -> (ticks: [Double], minimum: Double, maximum: Double) {
        let (scaled, _) = scale(for: max(abs(low), abs(high)))
        let nice = ValueUnit.niceTicks(low / scaled, high / scaled)
        return (nice.ticks.map { $0 * scaled }, nice.minimum * scaled, nice.maximum * scaled)
    }

    /// The divisor and the prefix for numbers of `value`'s size.
    private func scale(for value: Double) -> (Double, String) {
        let magnitude = abs(value)
        switch kind {
        case .plain:
            for (prefix, size) in [("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)] where magnitude >= size { return (size, prefix) }
            return (1, "")
        case .bytes:
            let prefixes = [" B", " KiB", " MiB", " GiB", " TiB", " PiB"]
            var index = 0, size = 1.0
            while index < prefixes.count - 1 && magnitude >= size * 1024 {
                size *= 1024
                index += 1
            }
            return (size, prefixes[index])
        case .seconds:
            if magnitude >= 3600 { return (3600, "h") }
            if magnitude >= 60 { return (60, "min") }
            if magnitude >= 1 || magnitude == 0 { return (1, "s") }
            if magnitude >= 1e-3 { return (1e-3, "ms") }
            return (1e-6, "µs")
        case .ratio: return (0.01, "%")
        case .percent: return (1, "%")
        }
    }

    /// At most two decimals above 1, three significant digits below.
    static func short(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude >= 1 || magnitude == 0 { return FloatFormatter.string((value * 100).rounded() / 100) }
        var scale = 1.0
        while magnitude * scale < 100 { scale *= 10 }
        return FloatFormatter.string((value * scale).rounded() / scale)
    }

    /// Round tick values covering [low, high]: steps of 1, 2 or 5 times a power of ten.
    static func niceTicks(_ low: Double, _ high: Double) -> (ticks: [Double], minimum: Double, maximum: Double) {
        // A flat line gets room around it (a tenth of its size when that is more than one); a
        // flat zero stays on the axis, as counts and rates do. Beyond what a double can span,
        // the axis is just the two ends.
        let room = max(1, abs(low) / 10)
        var (minimum, maximum) = low == high ? (low == 0 ? (0, 1) : (low - room, high + room)) : (low, high)
        let rough = (maximum - minimum) / 5
        guard rough.isFinite, rough > 0, minimum.isFinite, maximum.isFinite else {
            return ([minimum, maximum].filter(\.isFinite), minimum.isFinite ? minimum : -.greatestFiniteMagnitude,
                    maximum.isFinite ? maximum : .greatestFiniteMagnitude)
        }
        var power = 1.0
        while power * 10 <= rough { power *= 10 }
        while power > rough && power > 1e-12 { power /= 10 }
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= rough } ?? power * 10
        minimum = (minimum / step).rounded(.down) * step
        maximum = (maximum / step).rounded(.up) * step
        var ticks: [Double] = []
        var tick = minimum
        while tick <= maximum + step / 2 && ticks.count < 50 {
            ticks.append((tick / step).rounded() * step)
            tick += step
        }
        return (ticks, minimum, maximum)
    }
}
