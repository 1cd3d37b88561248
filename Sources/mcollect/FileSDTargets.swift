import Glibc
import MetricLine

/// Scrape targets from a file in Prometheus's file_sd format: a list of `{targets: [host:port,
/// ...], labels: {name: value}}`, in JSON or YAML. The file is read again when it changes (its
/// modification time) or on request (SIGHUP); a file that does not parse keeps the last good
/// targets, with a warning naming the place.
struct FileSDTargets {
    let path: String
    private var modified: (Int, Int)?
    /// Each target's URL and labels, from the last good read.
    private(set) var targets: [(url: String, job: String?, labels: [Label])] = []

    init(path: String) {
        self.path = path
    }

    /// Reads the file again if it changed (or `force`); returns a warning when it could not.
    mutating func refresh(force: Bool) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if modified != nil || force || targets.isEmpty { modified = nil }
            return "\(path): \(String(cString: strerror(errno))); keeping \(targets.count) targets"
        }
        let stamp = (info.st_mtim.tv_sec, info.st_mtim.tv_nsec)
        if !force, let modified, modified == stamp { return nil }
        modified = stamp
        let bytes: [UInt8]
        do { bytes = try StoreFile.readAll(path) } catch { return error.message + "; keeping \(targets.count) targets" }
        do {
            targets = try Self.parse(String(decoding: bytes, as: UTF8.self), path: path)
            return nil
        } catch {
            return error.message + "; keeping \(targets.count) targets"
        }
    }

    static func parse(_ text: String, path: String) throws(CollectError) -> [(url: String, job: String?, labels: [Label])] {
        let root: YAMLNode
        do { root = try YAML.parse(text) } catch { throw CollectError("\(path):\(error.position): \(error.message)") }
        if root.isNull { return [] }
        guard let groups = root.sequence else { throw CollectError("\(path):\(root.position): want a list of {targets, labels}") }
        var result: [(url: String, job: String?, labels: [Label])] = []
        for group in groups {
            guard let targets = group["targets"]?.sequence else { throw CollectError("\(path):\(group.position): each entry needs 'targets', a list") }
            var labels: [Label] = []
            var metricsPath = "/metrics"
            var scheme = "http"
            var job: String?
            for entry in group["labels"]?.mapping ?? [] {
                guard let value = entry.value.scalar else { throw CollectError("\(path):\(entry.value.position): label \"\(entry.key)\" wants a string") }
                switch entry.key {
                case "__metrics_path__": metricsPath = value
                case "__scheme__":
                    guard value == "http" || value == "https" else { throw CollectError("\(path):\(entry.value.position): __scheme__ wants http or https, not \"\(value)\"") }
                    scheme = value
                case "job": job = value
                default:
                    guard Names.isLegacyLabelName(entry.key) else { throw CollectError("\(path):\(entry.keyPosition): \"\(entry.key)\" is not a label name") }
                    if !entry.key.hasPrefix("__") { labels.append(Label(entry.key, value)) }
                }
            }
            for target in targets {
                guard let address = target.scalar, !address.isEmpty, !address.contains("/") else {
                    throw CollectError("\(path):\(target.position): a target is host:port")
                }
                result.append((scheme + "://" + address + metricsPath, job, Sample.canonicalLabels(labels)))
            }
        }
        return result
    }
}
