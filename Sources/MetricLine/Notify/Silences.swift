/// A silence: while it is active, alerts that its matchers hold for are not notified, neither
/// firing nor resolved, as in Alertmanager.
public struct Silence: Sendable, Equatable {
    /// Random hex digits; commands take it whole or as a unique prefix.
    public var id: String
    /// Alertmanager's matchers; every one must hold.
    public var matchers: [LabelMatcher]
    /// Unix milliseconds: active from `startsAt` until just before `endsAt`.
    public var startsAt: Int64
    public var endsAt: Int64
    /// Who added it (the user, or the user behind sudo).
    public var createdBy: String
    public var comment: String

    public init(id: String, matchers: [LabelMatcher], startsAt: Int64, endsAt: Int64, createdBy: String, comment: String) {
        self.id = id
        self.matchers = matchers
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.createdBy = createdBy
        self.comment = comment
    }

    public func isActive(at time: Int64) -> Bool { startsAt <= time && time < endsAt }

    /// Whether the silence holds back an alert with `labels` at `time`.
    public func mutes(_ labels: LabelSet, at time: Int64) -> Bool { isActive(at: time) && AlertMatchers.matches(matchers, labels) }

    /// `{alertname="DiskFull",instance=~"web.*"}`, which `AlertMatchers.parse` reads back.
    public var matcherText: String { NotifyConfigReader.matcherText(matchers) }

    var record: NotificationRecord {
        NotificationRecord(fields: [("id", .string(id)), ("matchers", .string(matcherText)), ("startsAt", .string(Timestamp.rfc3339(startsAt))),
                                    ("endsAt", .string(Timestamp.rfc3339(endsAt))), ("createdBy", .string(createdBy)), ("comment", .string(comment))],
                           alerts: [])
    }

    init?(_ record: NotificationRecord) {
        guard let id = record.string("id"), let text = record.string("matchers"), let matchers = try? AlertMatchers.parse(text),
              let startsAt = record.string("startsAt").flatMap(Timestamp.parseRFC3339),
              let endsAt = record.string("endsAt").flatMap(Timestamp.parseRFC3339) else { return nil }
        self.init(id: id, matchers: matchers, startsAt: startsAt, endsAt: endsAt, createdBy: record.string("createdBy") ?? "",
                  comment: record.string("comment") ?? "")
    }
}

/// The silences of a state directory, in `STATE/silences`: one JSON line each, changed under a
/// lock by `mnotify silence` and read by a running mnotify before each pass over its groups.
/// Expired silences are kept for `retention` so that `silence list --all` can show them.
public struct Silences: Sendable {
    public let path: String
    /// How long an expired silence stays listed (Alertmanager keeps them 120h).
    public static let retention: Int64 = 120 * 3_600_000

    public init(stateDirectory: String) {
        path = stateDirectory + "/silences"
    }

    /// Every silence, active or not, in the order they were added.
    public func all() throws(StoreError) -> [Silence] {
        var silences: [Silence] = []
        for record in try RecordFile.read(path) {
            guard let silence = Silence(record) else { throw StoreError("\(path): damaged silence \(record.string("id") ?? "without id"); repair or remove it") }
            silences.append(silence)
        }
        return silences
    }

    /// Adds a silence from `startsAt` to `endsAt` with a new id, and returns it.
    public func add(_ matchers: [LabelMatcher], startsAt: Int64, endsAt: Int64, createdBy: String, comment: String) throws(StoreError) -> Silence {
        let silence = Silence(id: Self.newID(), matchers: matchers, startsAt: startsAt, endsAt: endsAt, createdBy: createdBy, comment: comment)
        try RecordFile.edit(path) { records in
            records = records.filter { Silence($0).map { $0.endsAt + Self.retention > startsAt } ?? true }
            records.append(silence.record)
        }
        return silence
    }

    /// Ends the silence whose id is `id`, or the only one whose id starts with it, at `now`.
    public func expire(_ id: String, now: Int64) throws(NotifyError) -> Silence {
        let result: Result<Silence, NotifyError>
        do {
            result = try RecordFile.edit(path) { records in
                let found = records.indices.filter { records[$0].string("id").map { $0 == id || (id.count >= 4 && $0.hasPrefix(id)) } ?? false }
                let exact = found.filter { records[$0].string("id") == id }
                guard let index = exact.first ?? (found.count == 1 ? found[0] : nil), var silence = Silence(records[index]) else {
                    return .failure(NotifyError(found.isEmpty ? "no silence \(id)" : "\(id) names \(found.count) silences; give more of the id"))
                }
                guard silence.endsAt > now else { return .failure(NotifyError("silence \(silence.id) has already expired")) }
                silence.endsAt = now
                silence.startsAt = min(silence.startsAt, now)
                records[index] = silence.record
                return .success(silence)
            }
        } catch {
            throw NotifyError(error.message)
        }
        return try result.get()
    }

    /// Matchers a silence may have: at least one must not match the empty value, or the silence
    /// would hold back every alert (Alertmanager refuses such silences too).
    public static func check(_ matchers: [LabelMatcher]) throws(NotifyError) {
        guard !matchers.isEmpty else { throw NotifyError("a silence needs at least one matcher, such as alertname=DiskFull") }
        guard matchers.contains(where: { !$0.matches("") }) else {
            throw NotifyError("at least one matcher must not match the empty value, or the silence would hold back every alert")
        }
    }

    /// 16 random hex digits from the system's random source.
    static func newID() -> String {
        let digits = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
