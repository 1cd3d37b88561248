#if canImport(Glibc)
import Glibc
#endif

/// The rule engine's state between runs, as JSON: per group its last evaluation, per alerting rule
/// its alerts with their times, per rule the series it wrote last (for staleness markers) and its
/// flap history. Groups are matched by file and name, rules by name and occurrence, so editing a
/// rule file keeps the state of the rules that did not change.
public enum RuleStateFile {
    /// Fills `engine.states` from the file at `path`. A missing, unreadable or corrupt file means a
    /// fresh start; the reason is returned as a warning.
    public static func load(_ path: String, into engine: RuleEngine) -> String? {
        guard FileSystem.exists(path) else { return "no state file at \(path); starting afresh (it is written at the end of this run)" }
        let bytes: [UInt8]
        do { bytes = try StoreFile.readAll(path) } catch { return "cannot read state file: \(error.message); starting afresh" }
        let groups: [JSONValue]
        switch savedGroups(bytes, path: path) {
        case .success(let saved): groups = saved
        case .failure(let error): return error.message + "; starting afresh"
        }
        for saved in groups {
            guard case .string(let file)? = saved["file"], case .string(let name)? = saved["name"],
                  let index = engine.groups.firstIndex(where: { fileKey($0.file) == file && $0.name == name }) else { continue }
            var state = GroupState(ruleCount: engine.groups[index].rules.count)
            state.lastEvaluation = integer(saved["lastEvaluation"])
            guard case .array(let rules)? = saved["rules"] else { continue }
            let keys = ruleKeys(engine.groups[index])
            for savedRule in rules {
                guard case .string(let key)? = savedRule["key"], let position = keys.firstIndex(of: key) else { continue }
                state.rules[position] = ruleState(savedRule)
            }
            engine.states[index] = state
        }
        return nil
    }

    /// The alerts kept in the state file at `path`, pending and firing (and, with `inactive`, those
    /// resolved and still remembered), without the rule files: what `malert alerts` lists.
    public static func alerts(in path: String, inactive: Bool = false) throws(StoreError) -> [Alert] {
        let groups = try savedGroups(try StoreFile.readAll(path), path: path).get()
        var alerts: [Alert] = []
        for group in groups {
            guard case .array(let rules)? = group["rules"] else { continue }
            for rule in rules {
                alerts += ruleState(rule).alerts.values.filter { inactive || $0.state != .inactive }
            }
        }
        return alerts
    }

    /// The groups saved in a state file's bytes, or what is wrong with them.
    private static func savedGroups(_ bytes: [UInt8], path: String) -> Result<[JSONValue], StoreError> {
        let root: JSONValue
        do { root = try bytes.withUnsafeBufferPointer { buffer throws(LineError) in try JSONParser.parse(buffer) } } catch {
            return .failure(StoreError("\(path): state file is corrupt (\(error.reason) at byte \(error.column))"))
        }
        guard case .array(let groups)? = root["groups"], root["version"] == .number("1") else {
            return .failure(StoreError("\(path): not a malert state file (version 1)"))
        }
        return .success(groups)
    }

    /// Writes `engine.states` to `path` atomically (a new file, synced, renamed over the old one),
    /// readable by its owner only.
    public static func save(_ engine: RuleEngine, to path: String) throws(StoreError) {
        var output: [UInt8] = []
        output.append(contentsOf: #"{"version":1,"groups":["#.utf8)
        for (index, group) in engine.groups.enumerated() {
            if index > 0 { output.append(contentsOf: ",\n".utf8) }
            let state = engine.states[index]
            output.append(contentsOf: #"{"file":"#.utf8)
            JSONText.appendString(fileKey(group.file), to: &output)
            output.append(contentsOf: #","name":"#.utf8)
            JSONText.appendString(group.name, to: &output)
            if let last = state.lastEvaluation { output.append(contentsOf: #","lastEvaluation":\#(last)"#.utf8) }
            output.append(contentsOf: #","rules":["#.utf8)
            for (position, key) in ruleKeys(group).enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                appendRule(state.rules[position], key: key, to: &output)
            }
            output.append(contentsOf: "]}".utf8)
        }
        output.append(contentsOf: "]}\n".utf8)
        try AtomicFile.write(output, to: path)
    }

    /// A rule file's absolute path, so runs from different directories share the state.
    static func fileKey(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// `alert NAME #n` / `record NAME #n`: a rule's identity within its group.
    static func ruleKeys(_ group: RuleGroup) -> [String] {
        var seen: [String: Int] = [:]
        return group.rules.map { rule in
            let base = (rule.kind == .alerting ? "alert " : "record ") + rule.name
            seen[base, default: 0] += 1
            return base + " #\(seen[base]!)"
        }
    }

    private static func appendRule(_ state: RuleState, key: String, to output: inout [UInt8]) {
        output.append(contentsOf: #"{"key":"#.utf8)
        JSONText.appendString(key, to: &output)
        output.append(contentsOf: #","alerts":["#.utf8)
        for (index, alert) in state.alerts.values.sorted(by: { $0.labels.key < $1.labels.key }).enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            output.append(contentsOf: #"{"labels":"#.utf8)
            JSONText.appendObject(alert.labels, to: &output)
            output.append(contentsOf: #","annotations":"#.utf8)
            JSONText.appendObject(alert.annotations, to: &output)
            output.append(contentsOf: #","state":"\#(alert.state.rawValue)","value":"#.utf8)
            var value: [UInt8] = []
            ExpositionWriter.appendValue(alert.value, to: &value)
            JSONText.appendString(String(decoding: value, as: UTF8.self), to: &output)
            output.append(contentsOf: #","activeAt":\#(alert.activeAt),"validUntil":\#(alert.validUntil)"#.utf8)
            for (name, time) in [("firedAt", alert.firedAt), ("resolvedAt", alert.resolvedAt), ("lastSentAt", alert.lastSentAt),
                                 ("keepFiringSince", alert.keepFiringSince)] {
                if let time { output.append(contentsOf: #","\#(name)":\#(time)"#.utf8) }
            }
            if alert.flapping { output.append(contentsOf: #","flapping":true"#.utf8) }
            output.append(UInt8(ascii: "}"))
        }
        output.append(contentsOf: #"],"series":"#.utf8)
        appendLabelSets(state.previousSeries.sorted { $0.key < $1.key }, to: &output)
        output.append(contentsOf: #","present":"#.utf8)
        appendLabelSets(state.present.sorted { $0.key < $1.key }, to: &output)
        output.append(contentsOf: #","toggles":["#.utf8)
        for (index, (labels, times)) in state.toggles.sorted(by: { $0.key.key < $1.key.key }).enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            output.append(contentsOf: #"{"labels":"#.utf8)
            JSONText.appendObject(labels, to: &output)
            output.append(contentsOf: #","times":[\#(times.map(String.init).joined(separator: ","))]}"#.utf8)
        }
        output.append(contentsOf: "]}".utf8)
    }

    private static func appendLabelSets(_ sets: [LabelSet], to output: inout [UInt8]) {
        output.append(UInt8(ascii: "["))
        for (index, labels) in sets.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            JSONText.appendObject(labels, to: &output)
        }
        output.append(UInt8(ascii: "]"))
    }

    private static func ruleState(_ saved: JSONValue) -> RuleState {
        var state = RuleState()
        if case .array(let alerts)? = saved["alerts"] {
            for item in alerts {
                guard let labels = labelSet(item["labels"]), !labels.isEmpty, let activeAt = integer(item["activeAt"]),
                      case .string(let stateName)? = item["state"], let alertState = Alert.State(rawValue: stateName) else { continue }
                var value = Double.nan
                if case .string(var text)? = item["value"] { value = text.withUTF8 { ExpositionParser.parseValue($0) } ?? .nan }
                var alert = Alert(labels: labels, value: value, activeAt: activeAt)
                alert.state = alertState
                alert.annotations = labelSet(item["annotations"]) ?? []
                alert.validUntil = integer(item["validUntil"]) ?? 0
                alert.firedAt = integer(item["firedAt"])
                alert.resolvedAt = integer(item["resolvedAt"])
                alert.lastSentAt = integer(item["lastSentAt"])
                alert.keepFiringSince = integer(item["keepFiringSince"])
                alert.flapping = item["flapping"] == .bool(true)
                state.alerts[labels] = alert
            }
        }
        if case .array(let series)? = saved["series"] { state.previousSeries = Set(series.compactMap(labelSet)) }
        if case .array(let present)? = saved["present"] { state.present = Set(present.compactMap(labelSet)) }
        if case .array(let toggles)? = saved["toggles"] {
            for item in toggles {
                guard let labels = labelSet(item["labels"]), case .array(let times)? = item["times"] else { continue }
                state.toggles[labels] = times.compactMap(integer)
            }
        }
        return state
    }

    private static func integer(_ value: JSONValue?) -> Int64? {
        guard case .number(let text)? = value else { return nil }
        return Int64(text)
    }

    private static func labelSet(_ value: JSONValue?) -> LabelSet? {
        guard case .object(let members)? = value else { return nil }
        var labels: LabelSet = []
        for (name, member) in members {
            guard case .string(let text) = member else { return nil }
            labels = labels.setting(name, text)
        }
        return labels
    }
}
