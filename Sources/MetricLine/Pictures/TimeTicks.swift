/// Round local times to mark on a chart's time axis: every 5 minutes, every hour, every day...,
/// the finest step that gives at most `most` marks between `first` and `last` (milliseconds);
/// beyond four weeks, whole weeks.
struct TimeTicks {
    let step: Int64
    let times: [Int64]

    private static let steps: [Int64] = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
                                         86400, 172_800, 604_800, 1_209_600, 2_419_200]

    init(from first: Int64, to last: Int64, most: Int, zone: TimeZone) {
        let most = Int64(max(most, 1))
        let span = max(last - first, 0)
        let week: Int64 = 604_800_000
        step = Self.steps.first { span / ($0 * 1000) <= most }.map { $0 * 1000 } ?? (span / most / week + 1) * week
        // Each mark where the local clock shows a multiple of the step, the zone's offset taken at
        // the mark itself, so marks stay on round local times across a change of daylight saving.
        var times: [Int64] = []
        var local = (first + zone.offset(at: first / 1000) * 1000) / step * step
        while true {
            var tick = local - zone.offset(at: local / 1000) * 1000
            tick = local - zone.offset(at: tick / 1000) * 1000
            if tick > last { break }
            if tick >= first { times.append(tick) }
            local += step
        }
        self.times = times
    }

    /// `time` in `zone`: `HH:MM:SS` on charts under an hour, `HH:MM` under a day, else with the
    /// date (`short`: without the year, unless the chart spans a year or more, and without the
    /// time when marks are days apart).
    static func label(_ time: Int64, span: Int64, step: Int64, zone: TimeZone, short: Bool = false) -> String {
        let text = zone.localText(time)
        let parts = text.split(separator: " ", maxSplits: 1)
        let date = parts.first.map(String.init) ?? text, clock = parts.count > 1 ? String(parts[1]) : ""
        if span < 86_400_000 { return String(clock.prefix(span < 3_600_000 ? 8 : 5)) }
        guard short else { return date + " " + clock.prefix(5) }
        let day = span >= 365 * 86_400_000 ? date : String(date.suffix(5))
        return step % 86_400_000 == 0 ? day : day + " " + clock.prefix(5)
    }
}
