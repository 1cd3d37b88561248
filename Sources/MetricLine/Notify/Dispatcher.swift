/// Groups alerts by route and group labels and decides when each group is notified, as
/// Alertmanager does: a new group after `group_wait`, a changed one at most every
/// `group_interval`, an unchanged firing one again after `repeat_interval`. Silenced and
/// inhibited alerts are held back, muted routes wait, acknowledged alerts are left out of repeats,
/// and alerts that fire unacknowledged for a route's `escalate_after` go once to its
/// `escalate_to` receiver. The state survives restarts (`save`, `load`), so a run from cron
/// continues where the last one stopped and does not send a group twice.
public final class Dispatcher {
    public let config: NotifyConfig
    public private(set) var groups: [String: AlertGroup] = [:]
    /// The silences in force (a running mnotify reloads them before each pass).
    public var silences: [Silence] = []
    /// The fingerprints of acknowledged alerts.
    public var acknowledged: Set<String> = []
    private var routes: [String: Route] = [:]

    public init(config: NotifyConfig) {
        self.config = config
        func index(_ route: Route) {
            routes[route.path] = route
            route.routes.forEach(index)
        }
        index(config.route)
    }

    /// Files an alert into every group its routes give it; a newer state of the same alert
    /// (by fingerprint) replaces the older one.
    public func ingest(_ alert: AlertNotification, now: Int64) {
        for route in config.route.routes(for: alert.labels) {
            let groupKey = route.groupKey(of: alert.labels)
            let key = route.receiver + "\u{0}" + groupKey
            var group = groups[key] ?? AlertGroup(receiver: route.receiver, routePath: route.path, groupKey: groupKey,
                                                  groupLabels: route.groupLabels(of: alert.labels), firstSeen: now)
            if let known = group.alerts[alert.fingerprint], known.status == .resolved, alert.status == .firing, known.startsAt == alert.startsAt {
                continue  // a late repeat of an alert already resolved
            }
            group.alerts[alert.fingerprint] = alert
            groups[key] = group
        }
    }

    /// The notifications due at `now`, with their groups marked as notified. With `flush`, new
    /// and changed groups do not wait out `group_wait` / `group_interval` (the input is complete,
    /// as at the end of a cron run).
    public func due(now: Int64, flush: Bool = false) -> [GroupNotification] {
        var result: [GroupNotification] = []
        let firing = firingAlerts
        for key in groups.keys.sorted() {
            guard var group = groups[key], let route = routes[group.routePath] else { continue }
            group.expire(now: now)
            let visible = group.alerts.filter { !held($0.value, at: now, firing: firing) }
            // A resolution under a silence is never sent, then or after the silence.
            group.forget(group.alerts.values.filter { $0.status == .resolved && visible[$0.fingerprint] == nil }.map(\.fingerprint))
            if !muted(route, at: now) {
                if group.isDue(now: now, route: route, flush: flush, visible: visible, acknowledged: acknowledged),
                   let notification = group.flush(visible, now: now, acknowledged: acknowledged) {
                    result.append(notification)
                }
                if let notification = escalation(of: &group, route: route, visible: visible, now: now) { result.append(notification) }
            }
            groups[key] = group.alerts.isEmpty ? nil : group
        }
        return result
    }

    /// When the next group may become due (for a long-running loop to sleep until); nil when
    /// only new input can make one due.
    public func nextDue(now: Int64) -> Int64? {
        let firing = firingAlerts
        return groups.values.compactMap { group -> Int64? in
            guard let route = routes[group.routePath] else { return nil }
            let visible = group.alerts.filter { !held($0.value, at: now, firing: firing) }
            let times = [group.dueTime(route: route, visible: visible, acknowledged: acknowledged)?.time,
                         escalationTime(of: group, route: route, visible: visible)]
            guard let time = times.compactMap({ $0 }).min() else { return nil }
            // A muted route is looked at again a second later, not in a busy loop.
            return muted(route, at: now) ? max(time, now + 1000) : time
        }.min()
    }

    /// The firing alerts of every group (the sources of inhibition).
    private var firingAlerts: [AlertNotification] { groups.values.flatMap { $0.alerts.values.filter { $0.status == .firing } } }

    /// Whether an alert is held back: silenced (firing or resolved), or inhibited (firing).
    private func held(_ alert: AlertNotification, at time: Int64, firing: [AlertNotification]) -> Bool {
        silences.contains { $0.mutes(alert.labels, at: time) } || inhibited(alert, by: firing)
    }

    /// Whether a route is muted at `time` by its mute or active time intervals.
    private func muted(_ route: Route, at time: Int64) -> Bool {
        func inside(_ name: String) -> Bool { config.timeIntervals[name]?.contains { $0.contains(time) } ?? false }
        if route.muteTimeIntervals.contains(where: inside) { return true }
        return !route.activeTimeIntervals.isEmpty && !route.activeTimeIntervals.contains(where: inside)
    }

    /// Whether a firing alert is held back by an inhibit rule: some other firing alert matches the
    /// rule's source and has the same values of its `equal` labels.
    private func inhibited(_ alert: AlertNotification, by firing: [AlertNotification]) -> Bool {
        guard alert.status == .firing else { return false }
        for rule in config.inhibitRules where AlertMatchers.matches(rule.target, alert.labels) {
            if firing.contains(where: { source in
                source.fingerprint != alert.fingerprint && AlertMatchers.matches(rule.source, source.labels)
                    && rule.equal.allSatisfy { source.labels.value(of: $0) == alert.labels.value(of: $0) }
            }) { return true }
        }
        return false
    }

    // MARK: Escalation

    /// The alerts of `group` that have fired unacknowledged for the route's `escalate_after`
    /// since they started, and that the route's own receiver has been told of, sent once to
    /// `escalate_to` under the group key plus `/escalated`.
    private func escalation(of group: inout AlertGroup, route: Route, visible: [String: AlertNotification], now: Int64) -> GroupNotification? {
        guard let target = route.escalateTo else { return nil }
        let alerts = escalating(group, route: route, visible: visible).filter { now >= $0.startsAt + route.escalateAfter }
        guard !alerts.isEmpty else { return nil }
        group.escalated.formUnion(alerts.map(\.fingerprint))
        return GroupNotification(receiver: target, groupKey: group.groupKey + "/escalated", groupLabels: group.groupLabels,
                                 alerts: alerts.sortedByLabels())
    }

    /// When the next alert of `group` escalates.
    private func escalationTime(of group: AlertGroup, route: Route, visible: [String: AlertNotification]) -> Int64? {
        guard route.escalateTo != nil else { return nil }
        return escalating(group, route: route, visible: visible).map { $0.startsAt + route.escalateAfter }.min()
    }

    /// The alerts of `group` that will escalate if they keep firing unacknowledged.
    private func escalating(_ group: AlertGroup, route: Route, visible: [String: AlertNotification]) -> [AlertNotification] {
        visible.values.filter {
            $0.status == .firing && group.notified[$0.fingerprint] == .firing && !acknowledged.contains($0.fingerprint)
                && !group.escalated.contains($0.fingerprint)
        }
    }

    // MARK: State between runs

    /// Writes the groups to `path` atomically (new file, fsync, rename), readable by the owner only.
    public func save(to path: String) throws(StoreError) {
        var output: [UInt8] = []
        for key in groups.keys.sorted() {
            let group = groups[key]!
            var fields: [(String, JSONValue)] = [("receiver", .string(group.receiver)), ("route", .string(group.routePath)),
                                                 ("groupKey", .string(group.groupKey)), ("groupLabels", .labels(group.groupLabels)),
                                                 ("firstSeen", .integer(group.firstSeen))]
            if let last = group.lastNotified { fields.append(("lastNotified", .integer(last))) }
            fields.append(("notified", .object(group.notified.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value.rawValue)) })))
            if !group.escalated.isEmpty { fields.append(("escalated", .array(group.escalated.sorted().map { .string($0) }))) }
            NotificationRecord(fields: fields, alerts: Array(group.alerts.values).sortedByLabels()).append(to: &output)
        }
        try AtomicFile.write(output, to: path, mode: StateDirectory.fileMode(for: path))
    }

    /// Reads the groups saved by `save`; groups of routes no longer in the configuration are dropped.
    /// Returns a warning for a damaged file (what could be read is kept).
    public func load(from path: String) -> String? {
        guard FileSystem.exists(path) else { return nil }
        let bytes: [UInt8]
        do { bytes = try StoreFile.readAll(path) } catch { return "cannot read \(path): \(error.message); starting without group state" }
        let (records, problems) = NotificationRecord.records(in: String(decoding: bytes, as: UTF8.self))
        for record in records {
            guard let receiver = record.string("receiver"), let routePath = record.string("route"), routes[routePath] != nil,
                  let groupKey = record.string("groupKey"), let firstSeen = record.integer("firstSeen") else { continue }
            var group = AlertGroup(receiver: receiver, routePath: routePath, groupKey: groupKey, groupLabels: record.labels("groupLabels"), firstSeen: firstSeen)
            group.lastNotified = record.integer("lastNotified")
            if case .object(let members)? = record["notified"] {
                for case (let fingerprint, .string(let status)) in members { group.notified[fingerprint] = AlertNotification.Status(rawValue: status) }
            }
            if case .array(let items)? = record["escalated"] {
                for case .string(let fingerprint) in items { group.escalated.insert(fingerprint) }
            }
            for alert in record.alerts { group.alerts[alert.fingerprint] = alert }
            groups[receiver + "\u{0}" + groupKey] = group
        }
        return problems.isEmpty ? nil : "\(path): damaged (\(problems.joined(separator: "; "))); kept what could be read"
    }

    /// The firing alerts in a group state file written by `save`, for commands that look at the
    /// state without a configuration (`mnotify ack`).
    public static func firingAlerts(inStateFile path: String) throws(StoreError) -> [AlertNotification] {
        guard FileSystem.exists(path) else { return [] }
        let (records, _) = NotificationRecord.records(in: String(decoding: try FileSystem.readAll(path), as: UTF8.self))
        var seen: Set<String> = []
        return records.flatMap(\.alerts).filter { $0.status == .firing && seen.insert($0.fingerprint).inserted }
    }
}

/// The alerts of one group for one receiver, and when the group was last notified.
public struct AlertGroup: Sendable {
    public var receiver: String
    /// The route the group belongs to (`Route.path`).
    public var routePath: String
    public var groupKey: String
    public var groupLabels: LabelSet
    /// The alerts by fingerprint; resolved ones stay until the group's next notification.
    public var alerts: [String: AlertNotification] = [:]
    /// When the group's first alert came.
    public var firstSeen: Int64
    /// When the group was last due (whether or not anything was left to send).
    public var lastNotified: Int64?
    /// The firing alerts the receiver was told of in the last notification, by fingerprint.
    public var notified: [String: AlertNotification.Status] = [:]
    /// The alerts already sent to the route's `escalate_to` receiver, until they resolve.
    public var escalated: Set<String> = []

    /// Whether any of the alerts not held back changed since the last notification: a new
    /// firing one, or a resolved one the receiver was told was firing. (A silenced alert or one
    /// that resolved before anyone heard of it is no news.)
    func changed(_ visible: [String: AlertNotification]) -> Bool {
        visible.values.contains { alert in
            alert.status == .firing ? notified[alert.fingerprint] != .firing : notified[alert.fingerprint] == .firing
        }
    }

    /// A firing alert whose `endsAt` has passed without a newer state is resolved then, as
    /// Alertmanager resolves alerts whose sender went quiet.
    mutating func expire(now: Int64) {
        for (fingerprint, alert) in alerts where alert.status == .firing && alert.endsAt > 0 && alert.endsAt <= now {
            var resolved = alert
            resolved.status = .resolved
            alerts[fingerprint] = resolved
        }
    }

    /// When the group is next due: `group_wait` after it appeared, `group_interval` after the last
    /// notification if something changed (or resolved alerts wait to leave), `repeat_interval`
    /// after it while an alert fires unacknowledged; nil when nothing is left to tell. `early`:
    /// the end of the input may bring it forward (it does for news, not for a repeat).
    func dueTime(route: Route, visible: [String: AlertNotification], acknowledged: Set<String>) -> (time: Int64, early: Bool)? {
        guard let lastNotified else { return (firstSeen + route.groupWait, true) }
        if changed(visible) || alerts.values.contains(where: { $0.status == .resolved }) { return (lastNotified + route.groupInterval, true) }
        if visible.values.contains(where: { $0.status == .firing && !acknowledged.contains($0.fingerprint) }) {
            return (lastNotified + route.repeatInterval, false)
        }
        return nil
    }

    func isDue(now: Int64, route: Route, flush: Bool, visible: [String: AlertNotification], acknowledged: Set<String>) -> Bool {
        guard let due = dueTime(route: route, visible: visible, acknowledged: acknowledged) else { return false }
        return now >= due.time || (flush && due.early)
    }

    /// Removes alerts from the group, as if it had never had them.
    mutating func forget(_ fingerprints: [String]) {
        for fingerprint in fingerprints {
            alerts[fingerprint] = nil
            notified[fingerprint] = nil
            escalated.remove(fingerprint)
        }
    }

    /// Marks the group notified at `now` and returns what to send, if anything: after a change,
    /// every alert not held back, as the group stands; a repeat only the firing alerts nobody
    /// acknowledged. Resolved alerts leave the group: they have been told, or need not be.
    mutating func flush(_ visible: [String: AlertNotification], now: Int64, acknowledged: Set<String>) -> GroupNotification? {
        let shown = changed(visible) ? Array(visible.values) : visible.values.filter { $0.status == .firing && !acknowledged.contains($0.fingerprint) }
        lastNotified = now
        if !shown.isEmpty { notified = visible.mapValues(\.status) }
        forget(alerts.values.filter { $0.status == .resolved }.map(\.fingerprint))
        notified = notified.filter { $0.value == .firing && alerts[$0.key] != nil }
        guard !shown.isEmpty else { return nil }
        let sorted = shown.sortedByLabels()
        return GroupNotification(receiver: receiver, groupKey: groupKey, groupLabels: groupLabels,
                                 alerts: sorted.filter { $0.status == .firing } + sorted.filter { $0.status == .resolved })
    }
}

extension Array where Element == AlertNotification {
    /// In the order of their label sets (each set's key built once, not at every comparison).
    func sortedByLabels() -> [AlertNotification] {
        map { ($0.labels.key, $0) }.sorted { $0.0 < $1.0 }.map(\.1)
    }
}
