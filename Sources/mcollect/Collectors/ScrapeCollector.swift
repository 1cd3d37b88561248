import Glibc
import MetricLine

/// Scrapes a Prometheus or OpenMetrics endpoint over HTTP or HTTPS, adding `job` and `instance`
/// labels and the synthetic `up`, `scrape_duration_seconds` and `scrape_samples_scraped`, as
/// Prometheus does.
struct ScrapeCollector: Collector {
    let url: String
    let job: String
    /// Milliseconds before the scrape is abandoned.
    let timeout: Int64
    /// How an https:// target is checked, and the client certificate shown to it.
    var tls = TLSSettings()
    /// Labels of the target (from a file_sd file), put on every sample; they win over the
    /// scraped ones, as Prometheus's target labels do.
    var targetLabels: [Label] = []
    /// `honor_labels`: a page's own labels win over the target's (federation, Pushgateway).
    var honorLabels = false
    var name: String { "scrape " + url }

    func collect(root: String, into samples: inout [Sample]) throws(CollectError) {
        let start = Clock.monotonicMicroseconds()
        var scraped: [Sample] = []
        var up = 1.0
        let instance = (try? HTTPTarget(url).hostAndPort) ?? url
        do throws(CollectError) {
            let response = try networkStep { () throws(NetworkError) in
                try HTTPClient.get(try HTTPTarget(url), accept: "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1",
                                   timeout: timeout, tls: tls)
            }
            guard response.status == 200 else { throw CollectError("\(url): HTTP status \(response.status)") }
            let openMetrics = response.header("content-type")?.hasPrefix("application/openmetrics-text") ?? false
            var decoder: any SampleLineDecoder = openMetrics ? OpenMetricsDecoder() : PrometheusTextDecoder()
            var records: [ExpositionLine] = []
            for (number, line) in response.body.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                var copy = String(line)
                let result = copy.withUTF8 { bytes in Result { () throws(LineError) in try decoder.decode(bytes, into: &records) } }
                if case .failure(let error) = result {
                    throw CollectError("\(url):\(number + 1): \(error.reason) (column \(error.column))")
                }
            }
            // An OpenMetrics page without its `# EOF` was cut short: none of it is kept.
            do { try decoder.finish() } catch { throw CollectError("\(url): \(error.reason)") }
            let added = Sample.canonicalLabels([Label("job", job), Label("instance", instance)] + targetLabels)
            for record in records {
                guard case .sample(var sample) = record else { continue }
                sample.labels = Self.attaching(added, to: sample.labels, honoring: honorLabels)
                scraped.append(sample)
            }
        } catch {
            Diagnostics.writeStandardError("mcollect: \(error.message)\n")
            up = 0
            scraped = []
        }
        let labels = Sample.canonicalLabels([Label("instance", instance), Label("job", job)] + targetLabels)
        samples += scraped
        samples.append(Sample(name: "up", labels: labels, value: up))
        samples.append(Sample(name: "scrape_duration_seconds", labels: labels, value: Double(Clock.monotonicMicroseconds() - start) / 1e6))
        samples.append(Sample(name: "scrape_samples_scraped", labels: labels, value: Double(scraped.count)))
    }

    /// The target's labels on a scraped sample, as Prometheus attaches them. With `honoring`
    /// (`honor_labels`) the page's own labels win; without, each scraped label a target label replaces is kept under the first free
    /// name of `exported_NAME`, `exported_exported_NAME`, ..., shortest names first. An empty
    /// value counts as no label.
    static func attaching(_ targetLabels: [Label], to scraped: [Label], honoring: Bool = false) -> [Label] {
        var labels: [String: String] = [:]
        for label in scraped where !label.value.isEmpty { labels[label.name] = label.value }
        if honoring {
            // With honor_labels, the target's labels fill in only what the page does not say.
            for target in targetLabels where labels[target.name] == nil && !target.value.isEmpty { labels[target.name] = target.value }
            return Sample.canonicalLabels(labels.map { Label($0.key, $0.value) })
        }
        var replaced: [Label] = []
        for target in targetLabels {
            if let value = labels[target.name] { replaced.append(Label(target.name, value)) }
            labels[target.name] = target.value.isEmpty ? nil : target.value
        }
        for label in replaced.enumerated().sorted(by: { ($0.element.name.count, $0.offset) < ($1.element.name.count, $1.offset) }).map(\.element) {
            var name = label.name
            repeat { name = "exported_" + name } while labels[name] != nil
            labels[name] = label.value
        }
        return Sample.canonicalLabels(labels.map { Label($0.key, $0.value) })
    }
}

/// `http://host[:port]/path`, the part of a URL a plain HTTP/1.1 request needs.
