/// How long a store keeps what: raw samples and rollups (per-step min, max, sum, count and last),
/// each tier with a default retention and overrides for the series a selector picks.
///
/// The policy file has one rule per line; `#` starts a comment:
/// ```
/// raw 15d                       # raw samples: 15 days
/// rollup 5m 90d                 # 5-minute rollups: 90 days
/// rollup 1h 2y                  # 1-hour rollups: 2 years
/// {job="batch"} raw 2d          # but batch jobs' raw samples only 2 days
/// ```
/// For a series, the last rule whose selector matches it decides; a rule without a selector
/// matches every series. A tier no rule gives a retention to is kept for ever.
public struct RetentionPolicy: Sendable {
    /// What a rule is about: raw samples, or the rollups of one step (milliseconds).
    public enum Tier: Hashable, Sendable {
        case raw
        case rollup(Int64)
    }

    public struct Rule: Sendable {
        /// The series the rule is for; nil for every series.
        public var selector: [LabelMatcher]?
        public var tier: Tier
        /// Milliseconds.
        public var retention: Int64

        public init(selector: [LabelMatcher]?, tier: Tier, retention: Int64) {
            self.selector = selector
            self.tier = tier
            self.retention = retention
        }
    }

    public var rules: [Rule] = []

    public init(rules: [Rule] = []) {
        self.rules = rules
    }

    /// The rollup steps the policy asks for, ascending.
    public var rollupSteps: [Int64] {
        Array(Set(rules.compactMap { rule -> Int64? in
            if case .rollup(let step) = rule.tier { return step }
            return nil
        })).sorted()
    }

    /// How long `tier` of series `key` is kept, or nil for ever.
    public func retention(of tier: Tier, for key: ExpositionParser.SeriesKey) -> Int64? {
        var result: Int64?
        for rule in rules where rule.tier == tier {
            if let selector = rule.selector, !selector.allSatisfy({ $0.matches(key) }) { continue }
            result = rule.retention
        }
        return result
    }

    /// Parses a policy file's text; errors name `source` and the line.
    public static func parse(_ text: String, source: String) throws(StoreError) -> RetentionPolicy {
        var policy = RetentionPolicy()
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let trimmed = String(line.map { $0 == "\t" ? " " : $0 }).trimmingBlanks
            if trimmed.isEmpty { continue }
            func failure(_ reason: String) -> StoreError { StoreError("\(source):\(offset + 1): \(reason): \(trimmed)") }
            var rest = Substring(trimmed)
            var selector: [LabelMatcher]?
            if rest.first == "{" || (rest.first.map { $0.isLetter || $0 == "_" } ?? false) && !rest.hasPrefix("raw") && !rest.hasPrefix("rollup") {
                // The selector runs up to the first blank outside quotes and braces.
                var depth = 0
                var quoted = false
                var escaped = false
                var end = rest.startIndex
                while end < rest.endIndex {
                    let character = rest[end]
                    if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == "\"" { quoted.toggle() } else if !quoted {
                        if character == "{" { depth += 1 } else if character == "}" { depth -= 1 } else if character == " " && depth == 0 { break }
                    }
                    end = rest.index(after: end)
                }
                do {
                    selector = try SelectorParser.parse(String(rest[..<end]))
                } catch {
                    throw failure("bad selector (\(error.reason))")
                }
                rest = rest[end...]
            }
            let words = rest.split(separator: " ", omittingEmptySubsequences: true)
            switch words.first {
            case "raw":
                guard words.count == 2, let retention = Duration.milliseconds(String(words[1])) else { throw failure("want 'raw DURATION'") }
                policy.rules.append(Rule(selector: selector, tier: .raw, retention: retention))
            case "rollup":
                guard words.count == 3, let step = Duration.milliseconds(String(words[1])), step >= 1000, 86_400_000 % step == 0,
                      let retention = Duration.milliseconds(String(words[2])) else {
                    throw failure("want 'rollup STEP DURATION' with a step that divides a day")
                }
                policy.rules.append(Rule(selector: selector, tier: .rollup(step), retention: retention))
            default:
                throw failure("want a rule: raw DURATION or rollup STEP DURATION, after an optional selector")
            }
        }
        return policy
    }
}

extension String {
    /// Without leading and trailing blanks (spaces and tabs).
    var trimmingBlanks: String {
        let characters = Substring(self).drop { $0 == " " || $0 == "\t" || $0 == "\r" }
        var end = characters.endIndex
        while end > characters.startIndex, [" ", "\t", "\r"].contains(characters[characters.index(before: end)]) {
            end = characters.index(before: end)
        }
        return String(characters[..<end])
    }
}
