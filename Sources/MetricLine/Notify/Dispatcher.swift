/// Groups alerts by route and group labels and decides when each group is notified, as
/// Alertmanager does: a new group after `group_wait`, a changed one at most every
/// `group_interval`, an unchanged firing one again after `repeat_interval`; inhibited alerts and
/// muted routes hold back. The state survives restarts (`save`, `load`), so a run from cron
/// continues where the last one stopped and does not send a group twice.
public final class Dispatcher {
    public let config: NotifyConfig
    public private(set) var groups: [String: AlertGroup] = [:]
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

    /// The groups due at `now`, marked as notified. With `flush`, new and changed groups do not
    /// wait out `group_wait` / `group_interval` (the input is complete, as at the end of a cron run).
    public func due(now: Int64, flush: Bool = false) -> [GroupNotification] {
        var result: [GroupNotification] = []
        let firingAlerts = groups.values.flatMap { $0.alerts.values.filter { $0.status == .firing } }
        for key in groups.keys.sorted() {
            guard var group = groups[key], let route = routes[group.routePath] else { continue }
            group.expire(now: now)
            groups[key] = group
            guard group.isDue(now: now, route: route, flush: flush), !muted(route, at: now) else { continue }
            let alerts = group.alerts.values.filter { !inhibited($0, by: firingAlerts) }
                .sorted { ($0.status == .firing ? 0 : 1, $0.labels.key) < ($1.status == .firing ? 0 : 1, $1.labels.key) }
            group.lastNotified = now
            group.notified = group.alerts.mapValues(\.status)
            group.alerts = group.alerts.filter { $0.value.status == .firing }
            groups[key] = group.alerts.isEmpty ? nil : group
            if !alerts.isEmpty {
                result.append(GroupNotification(receiver: group.receiver, groupKey: group.groupKey, groupLabels: group.groupLabels, alerts: alerts))
            }
        }
        return result
    }

    /// When the next group may become due (for a long-running loop to sleep until).
    public func nextDue(now: Int64) -> Int64? {
        groups.values.compactMap { group in routes[group.routePath].map { group.nextDue(route: $0) } }.min()
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
            NotificationRecord(fields: fields, alerts: group.alerts.values.sorted { $0.labels.key < $1.labels.key }).append(to: &output)
        }
        try AtomicFile.write(output, to: path)
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
            for alert in record.alerts { group.alerts[alert.fingerprint] = alert }
            groups[receiver + "\u{0}" + groupKey] = group
        }
        return problems.isEmpty ? nil : "\(path): damaged (\(problems.joined(separator: "; "))); kept what could be read"
    }
}

/// The alerts of one group for one receiver, and when the group was last notified.
public struct AlertGroup: Sendable {
    public var receiver: String
    /// The route the group belongs to (`Route.path`).
    public var routePath: String
    public var groupKey: String
    public var groupLabels: LabelSet
    /// The alerts by fingerprint; resolved ones stay until they have been notified.
    public var alerts: [String: AlertNotification] = [:]
    /// When the group's first alert came.
    public var firstSeen: Int64
    public var lastNotified: Int64?
    /// Each alert's status at the last notification, by fingerprint.
    public var notified: [String: AlertNotification.Status] = [:]

    /// Whether the alerts changed since the last notification (new, resolved, or gone).
    var changed: Bool { alerts.mapValues(\.status) != notified.filter { alerts[$0.key] != nil || $0.value == .firing } }

    /// A firing alert whose `endsAt` has passed without a newer state is resolved then, as
    /// Alertmanager resolves alerts whose sender went quiet.
    mutating func expire(now: Int64) {
        for (fingerprint, alert) in alerts where alert.status == .firing && alert.endsAt > 0 && alert.endsAt <= now {
            var resolved = alert
            resolved.status = .resolved
            alerts[fingerprint] = resolved
        }
    }

    func isDue(now: Int64, route: Route, flush: Bool) -> Bool {
        guard let lastNotified else { return flush || now >= firstSeen + route.groupWait }
        if changed { return flush || now >= lastNotified + route.groupInterval }
        return alerts.values.contains { $0.status == .firing } && now >= lastNotified + route.repeatInterval
    }

    func nextDue(route: Route) -> Int64 {
        guard let lastNotified else { return firstSeen + route.groupWait }
        return lastNotified + (changed ? route.groupInterval : route.repeatInterval)
    }
}
