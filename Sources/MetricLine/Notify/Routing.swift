/// Which routes an alert goes to, as Alertmanager decides it: a route takes an alert its matchers
/// hold for; its children are tried in order, the first that takes it wins unless it says
/// `continue`; a route none of whose children take the alert takes it itself.
extension Route {
    /// The routes that take an alert with `labels`; empty only when this route's own matchers fail.
    public func routes(for labels: LabelSet) -> [Route] {
        guard AlertMatchers.matches(matchers, labels) else { return [] }
        var taken: [Route] = []
        for child in routes {
            let found = child.routes(for: labels)
            taken += found
            if !found.isEmpty && !child.continues { break }
        }
        return taken.isEmpty ? [self] : taken
    }

    /// The labels that name the alert's group on this route.
    public func groupLabels(of labels: LabelSet) -> LabelSet {
        let kept = labels.filter { $0.name != Segment.nameLabel }
        return groupByAll ? kept : kept.filter { groupBy.contains($0.name) }
    }

    /// Alertmanager's group key: the route's path, then the group labels.
    public func groupKey(of labels: LabelSet) -> String {
        path + ":" + NotifyConfigReader.matcherText(groupLabels(of: labels).map { LabelMatcher.equal($0.name, $0.value) })
    }

    /// Why an alert with `labels` goes where it goes: each route looked at, with the matcher that
    /// failed or the receiver and timing it leads to.
    public func explain(_ labels: LabelSet, file: String, depth: Int = 0) -> [String] {
        let indent = String(repeating: "  ", count: depth)
        let place = "\(file):\(position.line):\(position.column)"
        let name = depth == 0 ? "root route" : "route \(path)"
        if let failed = matchers.first(where: { !$0.matches(labels.value(of: $0.name)) }) {
            let actual = labels.value(of: failed.name)
            return ["\(indent)\(name) (\(place)): no, \(failed) does not hold (\(failed.name)=\"\(actual)\"\(actual.isEmpty ? ", the alert has no such label" : ""))"]
        }
        var lines = ["\(indent)\(name) (\(place)): yes\(matchers.isEmpty ? "" : ", " + matchers.map(\.description).joined(separator: ", ") + " hold")"]
        var taken = false
        for child in routes {
            let childLines = child.explain(labels, file: file, depth: depth + 1)
            lines += childLines
            if !child.routes(for: labels).isEmpty {
                taken = true
                if !child.continues {
                    if let later = routes.drop(while: { $0.position != child.position }).dropFirst().first {
                        lines.append("\(indent)  (routes after this one, from \(file):\(later.position.line), are not tried: it does not say continue)")
                    }
                    break
                }
            }
        }
        if !taken { lines += timing(labels, indent: indent + "  ") }
        return lines
    }

    /// The receiver, group and timings of this route for an alert with `labels`, in words.
    func timing(_ labels: LabelSet, indent: String) -> [String] {
        var lines = ["\(indent)→ receiver \"\(receiver)\", group \(groupKey(of: labels))"]
        let grouping = groupByAll ? "every label (...)" : groupBy.isEmpty ? "nothing (one group for every alert of this route)" : groupBy.joined(separator: ", ")
        lines.append("\(indent)  grouped by \(grouping)")
        lines.append("\(indent)  group_wait \(Duration.text(groupWait)): a new group's first notification waits this long, to collect alerts that arrive together")
        lines.append("\(indent)  group_interval \(Duration.text(groupInterval)): after that, new or resolved alerts in the group are sent at most this often")
        lines.append("\(indent)  repeat_interval \(Duration.text(repeatInterval)): a group that has not changed is sent again after this long while it fires")
        if !muteTimeIntervals.isEmpty { lines.append("\(indent)  muted during \(muteTimeIntervals.joined(separator: ", "))") }
        if !activeTimeIntervals.isEmpty { lines.append("\(indent)  active only during \(activeTimeIntervals.joined(separator: ", "))") }
        if let escalateTo { lines.append("\(indent)  escalates to \"\(escalateTo)\" when an alert fires \(Duration.text(escalateAfter)) unacknowledged") }
        return lines
    }
}
