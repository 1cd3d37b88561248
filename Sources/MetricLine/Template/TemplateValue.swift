extension Template {
    /// A value as Go's reflection sees it while a template runs.
    enum Value {
        /// Go's invalid value (a nil interface): prints `<no value>` in an action.
        case missing
        case bool(Bool)
        case int(Int)
        case float(Double)
        case string(String)
        /// `map[string]string`, such as `.Labels`.
        case labels([String: String])
        /// `map[string]interface {}`, from `args`.
        case map([String: Value])
        /// `*template.sample`; nil is a nil pointer.
        case sample(TemplateSample?)
        /// `template.queryResult`, from `query`.
        case samples([TemplateSample])
        /// `*time.Time`, from `toTime`.
        case time(GoTime)
        /// The data the template runs on, a struct to Go.
        case data(TemplateData)
        /// A list, a struct, or a string map with methods from a caller's `TemplateValue`; what is
        /// inside becomes a `Value` as it is read.
        case tree(TemplateValue)

        /// `value` as templates see it: scalars, times and plain string maps as Go's own types.
        init(_ value: TemplateValue) {
            switch value {
            case .bool(let truth): self = .bool(truth)
            case .int(let number): self = .int(number)
            case .float(let number): self = .float(number)
            case .string(let text): self = .string(text)
            case .time(let milliseconds): self = .time(GoTime(milliseconds: milliseconds))
            case .strings(let map, let methods) where methods.isEmpty: self = .labels(map)
            default: self = .tree(value)
            }
        }

        /// Go's type name, as `%T` and messages print it.
        var typeName: String {
            switch self {
            case .missing: "<nil>"
            case .bool: "bool"
            case .int: "int"
            case .float: "float64"
            case .string: "string"
            case .labels: "map[string]string"
            case .map: "map[string]interface {}"
            case .sample: "*template.sample"
            case .samples: "template.queryResult"
            case .time: "*time.Time"
            case .data: "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }"
            case .tree(.strings): "map[string]string"
            case .tree(.object(let type, _, _)): type
            case .tree: "[]interface {}"
            }
        }

        /// Truth as `if`, `with`, `and`, `or` and `not` see it: false, 0, nil and empty values are false.
        var isTrue: Bool {
            switch self {
            case .missing: false
            case .bool(let value): value
            case .int(let value): value != 0
            case .float(let value): value != 0
            case .string(let value): !value.isEmpty
            case .labels(let value): !value.isEmpty
            case .map(let value): !value.isEmpty
            case .sample(let value): value != nil
            case .samples(let value): !value.isEmpty
            case .time, .data: true
            case .tree(.strings(let map, _)): !map.isEmpty
            case .tree(.list(let list, _)): !list.isEmpty
            case .tree: true
            }
        }
    }
}

extension Template.Value {
    /// The string inside, for arguments already checked to be strings.
    var text: String {
        if case .string(let text) = self { return text }
        return ""
    }
}

extension TemplateValue {
    /// The value's methods (none for scalars and times).
    var methods: [String: TemplateValue] {
        switch self {
        case .strings(_, let methods), .list(_, let methods), .object(_, _, let methods): methods
        default: [:]
        }
    }
}
