/// When groups are evaluated: at multiples of their interval, so that runs from cron, a replay
/// and a stream all evaluate at the same instants, and a run picks up the instants missed since
/// the last one.
public enum RuleSchedule {
    /// The evaluation times of a group with `interval` after `last` (exclusive) up to `now`
    /// (inclusive), at most `catchUp` back from `now`; without a last evaluation, only the latest.
    public static func due(interval: Int64, last: Int64?, now: Int64, catchUp: Int64) -> [Int64] {
        let latest = floor(now, interval)
        guard let last else { return [latest] }
        var time = max(floor(last, interval) + interval, floor(now - catchUp, interval) + interval)
        var times: [Int64] = []
        while time <= latest {
            times.append(time)
            time += interval
        }
        return times
    }

    /// The evaluation times of a group with `interval` in [from, to].
    public static func between(interval: Int64, from: Int64, to: Int64) -> [Int64] {
        var time = floor(from - 1, interval) + interval
        var times: [Int64] = []
        while time <= to {
            times.append(time)
            time += interval
        }
        return times
    }

    /// The largest multiple of `interval` at or before `time`.
    public static func floor(_ time: Int64, _ interval: Int64) -> Int64 {
        let remainder = time % interval
        return remainder < 0 ? time - remainder - interval : time - remainder
    }
}

/// Writes what evaluations produce: sample lines (recording rules, `ALERTS`, `ALERTS_FOR_STATE`)
/// and alert event lines, or only Alertmanager's JSON.
public struct EvaluationWriter {
    public enum Format: String, Sendable {
        /// Sample lines and `# ALERT` event lines.
        case events
        /// One JSON array per evaluation with notifications, for Alertmanager's `/api/v2/alerts`.
        case alertmanager
    }

    public var format: Format
    /// Whether sample lines are written (events format only).
    public var samples = true
    /// Whether staleness markers are written, for series that stopped (`--no-stale`: not).
    public var staleMarkers = true

    public init(format: Format) {
        self.format = format
    }

    public func append(_ evaluation: GroupEvaluation, to output: inout [UInt8]) {
        switch format {
        case .events:
            if samples {
                for sample in evaluation.samples where staleMarkers || sample.value.bitPattern != StaleMarker.bitPattern {
                    let name = sample.labels.value(of: Segment.nameLabel)
                    ExpositionWriter.appendSeriesKey(name: name, labels: sample.labels.removing(Segment.nameLabel), to: &output)
                    ExpositionWriter.appendValueAndTimestamp(sample.value, sample.timestamp, to: &output)
                }
            }
            for notification in evaluation.notifications { AlertEvent.append(notification, to: &output) }
        case .alertmanager:
            if !evaluation.notifications.isEmpty { AlertmanagerJSON.append(evaluation.notifications, to: &output) }
        }
    }
}
