/// Round local times to mark on a chart's time axis: every 5 minutes, every hour, every day...,
/// the finest step that gives at most `most` marks between `first` and `last` (milliseconds).
struct TimeTicks {
    let step: Int64
    let times: [Int64]

    private static let steps: [Int64] = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
                                         86400, 172_800, 604_800]

    init(from first: Int64, to last: Int64, most: Int, zone: TimeZone) {
        let most = Int64(max(most, 1))
        step = (Self.steps.first { (last - first) / ($0 * 1000) <= most } ?? 2_419_200) * 1000
        let offset = zone.offset(at: first / 1000) * 1000
        // The first multiple of the step (in local time) at or after `first`.
        var tick = first + offset
        tick = (tick / step + (tick % step > 0 ? 1 : 0)) * step - offset
        var times: [Int64] = []
        while tick <= last {
            times.append(tick)
            tick += step
        }
        self.times = times
    }

    /// `time` in `zone`: `HH:MM:SS` on charts under an hour, `HH:MM` under a day, else with the
    /// date (`short`: without the year, and without the time when marks are days apart).
    static func label(_ time: Int64, span: Int64, step: Int64, zone: TimeZone, short: Bool = false) -> String {
        let text = zone.localText(time)
        if span < 86_400_000 { return String(text.dropFirst(11).prefix(span < 3_600_000 ? 8 : 5)) }
        guard short else { return String(text.prefix(16)) }
        return String(text.dropFirst(5).prefix(step % 86_400_000 == 0 ? 5 : 11))
    }
}
