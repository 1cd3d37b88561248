/// Evaluates rule groups the way Prometheus's rule manager does: each rule of a group in order at
/// the group's evaluation time, recording rules writing their results back so later rules see them,
/// alerting rules moving alerts through pending, firing and inactive, writing `ALERTS` and
/// `ALERTS_FOR_STATE`, and handing out notifications when they are due.
public final class RuleEngine {
    /// Settings shared by every group.
    public struct Options: Sendable {
        /// Labels templates see as `$externalLabels`.
        public var externalLabels: [String: String] = [:]
        /// What templates see as `$externalURL`; also the start of `generatorURL`.
        public var externalURL = ""
        /// The least time between two notifications of the same alert (Prometheus's `--rules.alert.resend-delay`).
        public var resendDelay: Int64 = 60_000
        /// The interval of a group that names none.
        public var defaultInterval: Int64 = 60_000
        /// How long a resolved alert is still handed out (Prometheus keeps 15 minutes).
        public var resolvedRetention: Int64 = 900_000
        /// Flap damping for every alerting rule that does not set its own.
        public var flapping: FlapDamping?

        public init() {}
    }

    public let groups: [RuleGroup]
    public var options: Options
    /// Where rules read series from, with what the rules themselves wrote on top.
    private let source: RuleSource
    /// The state of every group, parallel to `groups`.
    public var states: [GroupState]

    public init(groups: [RuleGroup], source: SeriesSource, options: Options = Options()) {
        self.groups = groups
        self.options = options
        self.source = RuleSource(base: source)
        states = groups.map { GroupState(ruleCount: $0.rules.count) }
    }

    /// Samples newer than this stay invisible to rules (a unit test loads its input as time passes).
    public var visibleUntil: Int64 {
        get { source.visibleUntil }
        set { source.visibleUntil = newValue }
    }

    /// Forgets what the rules wrote before `time` (a stream keeps a bounded window).
    public func forget(before time: Int64) { source.written.prune(before: time) }

    /// How far back from an evaluation time any rule looks (ranges, offsets, the lookback).
    public var reach: Int64 {
        var reach: Int64 = 0
        for (index, group) in groups.enumerated() {
            for rule in group.rules {
                let evaluator = Evaluator(source: source)
                evaluator.defaultSubqueryStep = interval(ofGroup: index)
                let window = evaluator.sampleWindow(of: rule.expression, start: 0, end: 0)
                if window.from != .min { reach = max(reach, -window.from + group.queryOffset) }
            }
        }
        return reach
    }

    /// The source rules read, with their own output: for queries outside rule evaluation (unit tests).
    public var series: SeriesSource { source }

    /// The interval of group `index`.
    public func interval(ofGroup index: Int) -> Int64 { groups[index].interval ?? options.defaultInterval }

    /// Evaluates every rule of group `index` at `time` (milliseconds).
    public func evaluate(group index: Int, at time: Int64) -> GroupEvaluation {
        let group = groups[index]
        var evaluation = GroupEvaluation(group: group.name, time: time)
        let interval = interval(ofGroup: index)
        let evaluationTime = time - group.queryOffset
        for (position, rule) in group.rules.enumerated() {
            var state = states[index].rules[position]
            do throws(QueryError) {
                let vector = try query(rule.expression, at: evaluationTime, subqueryStep: interval)
                let output: [EmittedSample]
                switch rule.kind {
                case .recording:
                    output = try record(rule, group: group, vector: vector, at: evaluationTime)
                case .alerting:
                    output = try alert(rule, group: group, vector: vector, at: evaluationTime, state: &state)
                    evaluation.notifications += notifications(of: rule, state: &state, at: evaluationTime, interval: interval)
                }
                write(output, at: evaluationTime, state: &state, into: &evaluation)
                state.lastError = nil
            } catch {
                state.lastError = error.message
                evaluation.errors.append(RuleEvaluationError(rule: rule.name, time: time, message: error.message))
            }
            states[index].rules[position] = state
        }
        states[index].lastEvaluation = time
        return evaluation
    }

    /// The alerts of rule `rule` in group `group` that are pending or firing.
    public func activeAlerts(group: Int, rule: Int) -> [Alert] {
        states[group].rules[rule].alerts.values.filter { $0.state != .inactive }.sorted { $0.labels.key < $1.labels.key }
    }

    // MARK: - Evaluating one rule

    /// The rule's expression at `time`; a scalar becomes one element without labels, as in Prometheus.
    private func query(_ expression: QueryExpression, at time: Int64, subqueryStep: Int64) throws(QueryError) -> [VectorElement] {
        let evaluator = Evaluator(source: source)
        evaluator.defaultSubqueryStep = subqueryStep
        evaluator.restrict(to: evaluator.sampleWindow(of: expression, start: time, end: time))
        switch try evaluator.instant(expression, at: time) {
        case .vector(let elements): return elements
        case .scalar(let value): return [VectorElement(labels: [], value: value)]
        case .string, .matrix: throw QueryError("rule result is not a vector or scalar")
        }
    }

    /// A recording rule's output: each element renamed to the record, with the rule's labels.
    private func record(_ rule: Rule, group: RuleGroup, vector: [VectorElement], at time: Int64) throws(QueryError) -> [EmittedSample] {
        var output: [EmittedSample] = []
        var seen = Set<LabelSet>()
        for element in vector {
            var labels = element.labels.setting(Segment.nameLabel, rule.name)
            for label in group.labels { labels = labels.setting(label.name, label.value) }
            for label in rule.labels { labels = labels.setting(label.name, label.text) }
            guard seen.insert(labels).inserted else {
                throw QueryError("vector contains metrics with the same labelset after applying rule labels")
            }
            output.append(EmittedSample(labels: labels, value: element.value, timestamp: time))
        }
        if group.limit > 0 && output.count > group.limit {
            throw QueryError("exceeded limit of \(group.limit) with \(output.count) series")
        }
        return output
    }

    /// Moves an alerting rule's alerts on by one evaluation; returns its `ALERTS` and `ALERTS_FOR_STATE` samples.
    private func alert(_ rule: Rule, group: RuleGroup, vector: [VectorElement], at time: Int64, state: inout RuleState) throws(QueryError) -> [EmittedSample] {
        var current: [LabelSet: Alert] = [:]
        for element in vector {
            var data = TemplateData()
            data.labels = Dictionary(element.labels.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
            data.value = element.value
            data.externalLabels = options.externalLabels
            data.externalURL = options.externalURL
            data.query = templateQuery(at: time)
            var labels = element.labels.removing(Segment.nameLabel)
            for label in group.labels { labels = labels.setting(label.name, label.value) }
            for label in rule.labels { labels = labels.setting(label.name, label.expand(data)) }
            labels = labels.setting("alertname", rule.name)
            var annotations: LabelSet = []
            for annotation in rule.annotations { annotations = annotations.setting(annotation.name, annotation.expand(data)) }
            guard current[labels] == nil else {
                throw QueryError("vector contains metrics with the same labelset after applying alert labels")
            }
            var alert = Alert(labels: labels, value: element.value, activeAt: time)
            alert.annotations = annotations
            current[labels] = alert
        }
        if group.limit > 0 && current.count > group.limit {
            state.alerts = [:]
            throw QueryError("exceeded limit of \(group.limit) with \(current.count) alerts")
        }
        let damping = rule.flapping ?? options.flapping
        if let damping { noteToggles(present: Set(current.keys), at: time, window: damping.window, state: &state) }
        for (labels, fresh) in current {
            if var existing = state.alerts[labels], existing.state != .inactive {
                existing.value = fresh.value
                existing.annotations = fresh.annotations
                state.alerts[labels] = existing
            } else {
                state.alerts[labels] = fresh
            }
        }
        var output: [EmittedSample] = []
        for labels in state.alerts.keys.sorted(by: { $0.key < $1.key }) {
            var alert = state.alerts[labels]!
            if current[labels] == nil {
                var keepFiring = false
                if alert.state == .firing && rule.keepFiringFor > 0 {
                    let since = alert.keepFiringSince ?? time
                    alert.keepFiringSince = since
                    keepFiring = time - since < rule.keepFiringFor
                }
                if alert.state == .firing, let damping, (state.toggles[labels]?.count ?? 0) > damping.changes {
                    keepFiring = true
                    alert.flapping = true
                }
                if alert.state == .pending || (alert.resolvedAt.map { time - $0 > options.resolvedRetention } ?? false) {
                    state.alerts[labels] = nil
                    continue
                }
                if alert.state != .inactive && !keepFiring {
                    alert.state = .inactive
                    alert.resolvedAt = time
                }
                if !keepFiring {
                    state.alerts[labels] = alert
                    continue
                }
            } else {
                alert.keepFiringSince = nil
            }
            if alert.state == .pending && time - alert.activeAt >= rule.holdDuration {
                alert.state = .firing
                alert.firedAt = time
            }
            state.alerts[labels] = alert
            var series = alert.notifiedLabels.setting(Segment.nameLabel, "ALERTS")
            series = series.setting("alertstate", alert.state.rawValue)
            output.append(EmittedSample(labels: series, value: 1, timestamp: time))
            output.append(EmittedSample(labels: alert.notifiedLabels.setting(Segment.nameLabel, "ALERTS_FOR_STATE"),
                                        value: Double(alert.activeAt / 1000), timestamp: time))
        }
        return output
    }

    /// Records when each label set appeared or went away, for flap damping.
    private func noteToggles(present: Set<LabelSet>, at time: Int64, window: Int64, state: inout RuleState) {
        for labels in present.symmetricDifference(state.present) { state.toggles[labels, default: []].append(time) }
        for (labels, times) in state.toggles {
            let recent = times.filter { $0 > time - window }
            state.toggles[labels] = recent.isEmpty ? nil : recent
        }
        state.present = present
    }

    /// The alerts of `rule` due to be handed out at `time` (Prometheus's `sendAlerts`).
    private func notifications(of rule: Rule, state: inout RuleState, at time: Int64, interval: Int64) -> [AlertNotification] {
        var result: [AlertNotification] = []
        for labels in state.alerts.keys.sorted(by: { $0.key < $1.key }) {
            guard var alert = state.alerts[labels], alert.needsSending(at: time, resendDelay: options.resendDelay) else { continue }
            alert.lastSentAt = time
            alert.validUntil = time + 4 * max(options.resendDelay, interval)
            state.alerts[labels] = alert
            result.append(AlertNotification(
                status: alert.resolvedAt == nil ? .firing : .resolved, labels: alert.notifiedLabels, annotations: alert.annotations,
                startsAt: alert.firedAt ?? alert.activeAt, endsAt: alert.resolvedAt ?? alert.validUntil, value: alert.value,
                generatorURL: generatorURL(rule.expressionText), fingerprint: alert.fingerprint))
        }
        return result
    }

    /// Writes a rule's output where later rules see it, with staleness markers for the series it
    /// wrote last time and not this time.
    private func write(_ output: [EmittedSample], at time: Int64, state: inout RuleState, into evaluation: inout GroupEvaluation) {
        var written = Set<LabelSet>()
        for sample in output {
            written.insert(sample.labels)
            source.written.add(sample.labels, timestamp: time, value: sample.value)
            evaluation.samples.append(sample)
        }
        for labels in state.previousSeries.subtracting(written).sorted(by: { $0.key < $1.key }) {
            source.written.add(labels, timestamp: time, value: StaleMarker.value)
            evaluation.samples.append(EmittedSample(labels: labels, value: StaleMarker.value, timestamp: time))
        }
        state.previousSeries = written
    }

    /// `query "expr"` in templates: an instant query at the evaluation time.
    private func templateQuery(at time: Int64) -> (String) throws(TemplateError) -> [TemplateSample] {
        let source = self.source
        return { (text: String) throws(TemplateError) -> [TemplateSample] in
            do throws(QueryError) {
                let evaluator = Evaluator(source: source)
                switch try evaluator.instant(try Parser.parse(text), at: time) {
                case .vector(let elements):
                    return elements.map { TemplateSample(labels: Dictionary($0.labels.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }), value: $0.value) }
                case .scalar(let value):
                    return [TemplateSample(labels: [:], value: value)]
                case .string, .matrix:
                    throw QueryError("query \"\(text)\" is not a vector or scalar")
                }
            } catch {
                throw TemplateError("error executing query: \(error.message)")
            }
        }
    }

    /// A link to the expression in the external URL's graph page, as Prometheus builds it.
    private func generatorURL(_ expression: String) -> String {
        guard !options.externalURL.isEmpty else { return "" }
        return options.externalURL + "/graph?g0.expr=" + Template.GoText.queryEscape(expression) + "&g0.tab=1"
    }
}

/// A sample a rule produced, to be written out.
public struct EmittedSample: Sendable, Equatable {
    public var labels: LabelSet
    public var value: Double
    public var timestamp: Int64
}

/// What one evaluation of a group produced.
public struct GroupEvaluation: Sendable {
    public var group: String
    public var time: Int64
    /// Recording rule results, `ALERTS`, `ALERTS_FOR_STATE` and staleness markers, in rule order.
    public var samples: [EmittedSample] = []
    /// Alerts due to be handed out.
    public var notifications: [AlertNotification] = []
    public var errors: [RuleEvaluationError] = []
}

/// A rule whose evaluation failed.
public struct RuleEvaluationError: Sendable, Equatable {
    public var rule: String
    public var time: Int64
    public var message: String
}

/// What the engine keeps about one group between evaluations.
public struct GroupState: Sendable {
    public var lastEvaluation: Int64?
    public var rules: [RuleState]

    public init(ruleCount: Int) {
        rules = Array(repeating: RuleState(), count: ruleCount)
    }
}

/// What the engine keeps about one rule between evaluations.
public struct RuleState: Sendable {
    /// Alerts by label set: pending, firing, and resolved ones still being handed out.
    public var alerts: [LabelSet: Alert] = [:]
    /// The series the rule wrote last time (their staleness is marked when they stop).
    public var previousSeries: Set<LabelSet> = []
    /// Label sets present at the last evaluation, and when each appeared or went away (flap damping).
    public var present: Set<LabelSet> = []
    public var toggles: [LabelSet: [Int64]] = [:]
    public var lastError: String?

    public init() {}
}

/// The rules' view of series: the source, plus what the rules wrote, up to `visibleUntil`.
final class RuleSource: SeriesSource {
    let base: SeriesSource
    let written = MemorySource()
    var visibleUntil: Int64 = .max

    init(base: SeriesSource) { self.base = base }

    func select(_ matchers: [LabelMatcher], from: Int64, to: Int64) throws(QueryError) -> [RangeSeries] {
        let to = min(to, visibleUntil)
        guard from <= to else { return [] }
        let stored = try base.select(matchers, from: from, to: to)
        let own = try written.select(matchers, from: from, to: to)
        if own.isEmpty { return stored }
        if stored.isEmpty { return own }
        var merged: [LabelSet: RangeSeries] = [:]
        for series in stored { merged[series.labels] = series }
        for series in own {
            guard let other = merged[series.labels] else { merged[series.labels] = series; continue }
            merged[series.labels] = Self.merge(other, series)
        }
        return Array(merged.values)
    }

    /// Two sample lists of one series in time order; `newer` wins where both have a time.
    static func merge(_ older: RangeSeries, _ newer: RangeSeries) -> RangeSeries {
        var result = RangeSeries(labels: older.labels)
        var i = 0, j = 0
        while i < older.timestamps.count || j < newer.timestamps.count {
            if j == newer.timestamps.count || (i < older.timestamps.count && older.timestamps[i] < newer.timestamps[j]) {
                result.timestamps.append(older.timestamps[i]); result.values.append(older.values[i]); i += 1
            } else {
                if i < older.timestamps.count && older.timestamps[i] == newer.timestamps[j] { i += 1 }
                result.timestamps.append(newer.timestamps[j]); result.values.append(newer.values[j]); j += 1
            }
        }
        return result
    }
}
