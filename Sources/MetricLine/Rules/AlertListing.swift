/// The alerts `malert alerts` prints from a state file: an aligned table for a person, tab-separated
/// fields for a script (the dashboard reads them), or the `data` part of Prometheus's
/// `/api/v1/alerts` answer.
public enum AlertListing {
    public enum Format: String, CaseIterable, Sendable {
        case table, tsv, json
    }

    public static func render(_ alerts: [Alert], format: Format) -> String {
        // Firing before pending, the oldest first.
        let sorted = alerts.sorted {
            ($0.state == .firing ? 0 : 1, $0.activeAt, $0.labels.key) < ($1.state == .firing ? 0 : 1, $1.activeAt, $1.labels.key)
        }
        switch format {
        case .json: return json(sorted)
        case .tsv: return sorted.map { row($0).map(flattened).joined(separator: "\t") + "\n" }.joined()
        case .table: return table(sorted)
        }
    }

    static let header = ["STATE", "ACTIVE SINCE", "ALERTNAME", "VALUE", "LABELS", "SUMMARY"]

    /// An alert's fields in the order of `header`; the summary is the `summary` annotation, else
    /// the `description`.
    static func row(_ alert: Alert) -> [String] {
        let others = alert.labels.filter { $0.name != "alertname" }
        let summary = alert.annotations.value(of: "summary")
        return [alert.state.rawValue, Timestamp.rfc3339(alert.activeAt), alert.labels.value(of: "alertname"),
                FloatFormatter.string(alert.value), others.isEmpty ? "" : others.description,
                summary.isEmpty ? alert.annotations.value(of: "description") : summary]
    }

    private static func flattened(_ field: String) -> String {
        // By scalar: "\r\n" is one Character, equal to neither "\r" nor "\n".
        String(String.UnicodeScalarView(field.unicodeScalars.map { $0 == "\t" || $0 == "\n" || $0 == "\r" ? " " : $0 }))
    }

    private static func table(_ alerts: [Alert]) -> String {
        guard !alerts.isEmpty else { return "no alerts pending or firing\n" }
        let rows = [header] + alerts.map { row($0).map(flattened) }
        var widths = header.map { _ in 0 }
        for row in rows {
            for (column, cell) in row.enumerated() { widths[column] = max(widths[column], cell.count) }
        }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count + 2)
            }.joined() + "\n"
        }.joined()
    }

    private static func json(_ alerts: [Alert]) -> String {
        var output: [UInt8] = []
        output.append(contentsOf: #"{"alerts":["#.utf8)
        for (index, alert) in alerts.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            output.append(contentsOf: #"{"labels":"#.utf8)
            JSONText.appendObject(alert.labels, to: &output)
            output.append(contentsOf: #","annotations":"#.utf8)
            JSONText.appendObject(alert.annotations, to: &output)
            output.append(contentsOf: #","state":"\#(alert.state.rawValue)","activeAt":"\#(Timestamp.rfc3339(alert.activeAt))","value":"\#(exponent(alert.value))"}"#.utf8)
        }
        output.append(contentsOf: "]}\n".utf8)
        return String(decoding: output, as: UTF8.self)
    }

    /// Go's `strconv.FormatFloat(value, 'e', -1, 64)`, as Prometheus prints an alert's value:
    /// `1e+00`, `4.2e-01`.
    static func exponent(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Inf" : "+Inf" }
        if value == 0 { return value.sign == .minus ? "-0e+00" : "0e+00" }
        let (digits, point) = Template.GoFormat.shortestDigits(abs(value))
        let exponent = point - 1
        var text = (value < 0 ? "-" : "") + String(digits.prefix(1))
        if digits.count > 1 { text += "." + digits.dropFirst() }
        let magnitude = String(abs(exponent))
        return text + "e" + (exponent < 0 ? "-" : "+") + (magnitude.count < 2 ? "0" : "") + magnitude
    }
}
