/// One entry of an Alertmanager time interval: times of day, weekdays, days of the month, months
/// and years, in a time zone; an instant is inside when every field that is given contains it.
public struct TimeIntervalSpec: Sendable {
    /// Minutes of the day, start inclusive, end exclusive (`09:00`–`17:00`).
    public var times: [Range<Int>] = []
    /// 0 = Sunday … 6 = Saturday.
    public var weekdays: [ClosedRange<Int>] = []
    /// First and last day, 1…31, or negative counting from the end of the month (-1 = the last day).
    public var daysOfMonth: [(first: Int, last: Int)] = []
    /// 1…12.
    public var months: [ClosedRange<Int>] = []
    public var years: [ClosedRange<Int>] = []
    public var zone = TimeZone.utc

    private static let weekdayNames = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
    private static let monthNames = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
                                     "november", "december"]

    public init(_ node: YAMLNode) throws(YAMLError) {
        for entry in node.mapping ?? [] where !["times", "weekdays", "days_of_month", "months", "years", "location"].contains(entry.key) {
            throw YAMLError("unknown key \"\(entry.key)\" in a time interval", at: entry.keyPosition)
        }
        for item in node["times"]?.sequence ?? [] {
            guard let start = item["start_time"], let end = item["end_time"],
                  let from = Self.minutes(start.scalar ?? ""), let to = Self.minutes(end.scalar ?? ""), from < to, to <= 1440 else {
                throw YAMLError("times: want start_time and end_time as HH:MM, start before end", at: item.position)
            }
            times.append(from..<to)
        }
        weekdays = try Self.ranges(node["weekdays"], "weekdays") { Self.weekdayNames.firstIndex(of: $0.lowercased()) }
        daysOfMonth = try Self.pairs(node["days_of_month"], "days_of_month") { text in
            guard let day = Int(text), day != 0, (-31...31).contains(day) else { return nil }
            return day
        }.map { (first: $0.0, last: $0.1) }
        months = try Self.ranges(node["months"], "months") { text in
            if let number = Int(text), (1...12).contains(number) { return number }
            return Self.monthNames.firstIndex(of: text.lowercased()).map { $0 + 1 }
        }
        years = try Self.ranges(node["years"], "years") { Int($0) }
        if let location = node["location"], let name = location.scalar, name != "UTC" {
            do { zone = try TimeZone.load(name == "Local" ? "localtime" : name, directory: name == "Local" ? "/etc" : "/usr/share/zoneinfo") } catch {
                throw YAMLError("location: \(error.message)", at: location.position)
            }
        }
    }

    /// Whether the instant `milliseconds` lies inside this interval.
    public func contains(_ milliseconds: Int64) -> Bool {
        let utcSeconds = milliseconds >= 0 ? milliseconds / 1000 : -((-milliseconds + 999) / 1000)
        let local = utcSeconds + zone.offset(at: utcSeconds)
        let days = local >= 0 ? local / 86_400 : -((-local + 86_399) / 86_400)
        let minute = Int((local - days * 86_400) / 60)
        let (year, month, day) = Timestamp.civil(fromDays: days)
        let weekday = Int(((days % 7) + 11) % 7)  // 1970-01-01 was a Thursday (4)
        if !times.isEmpty && !times.contains(where: { $0.contains(minute) }) { return false }
        if !weekdays.isEmpty && !weekdays.contains(where: { $0.contains(weekday) }) { return false }
        if !months.isEmpty && !months.contains(where: { $0.contains(Int(month)) }) { return false }
        if !years.isEmpty && !years.contains(where: { $0.contains(Int(year)) }) { return false }
        if !daysOfMonth.isEmpty {
            let length = Self.daysIn(month: Int(month), year: Int(year))
            let matches = daysOfMonth.contains { range in
                let lower = range.first < 0 ? length + 1 + range.first : range.first
                let upper = range.last < 0 ? length + 1 + range.last : min(range.last, length)
                return lower <= Int(day) && Int(day) <= upper
            }
            if !matches { return false }
        }
        return true
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// `HH:MM` as minutes of the day (24:00 allowed as an end).
    static func minutes(_ text: String) -> Int? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts[1].count == 2, let hours = Int(parts[0]), let minutes = Int(parts[1]),
              (0...24).contains(hours), (0..<60).contains(minutes), hours < 24 || minutes == 0 else { return nil }
        return hours * 60 + minutes
    }

    /// A list of `value` or `first:last` items, first not after last.
    private static func ranges(_ node: YAMLNode?, _ what: String, _ value: (String) -> Int?) throws(YAMLError) -> [ClosedRange<Int>] {
        var result: [ClosedRange<Int>] = []
        for (index, (first, last)) in try pairs(node, what, value).enumerated() {
            guard first <= last else { throw YAMLError("\(what): \(first) comes after \(last)", at: node!.sequence![index].position) }
            result.append(first...last)
        }
        return result
    }

    /// A list of `value` or `first:last` items, as pairs.
    private static func pairs(_ node: YAMLNode?, _ what: String, _ value: (String) -> Int?) throws(YAMLError) -> [(Int, Int)] {
        var result: [(Int, Int)] = []
        for item in node?.sequence ?? [] {
            let text = item.scalar ?? ""
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { String($0).trimmingBlanks }
            guard (1...2).contains(parts.count), let first = value(parts[0]), let last = value(parts.last!) else {
                throw YAMLError("\(what): cannot read \"\(text)\"", at: item.position)
            }
            result.append((first, last))
        }
        return result
    }
}
