import Glibc
import MetricLine

/// `/proc/pressure/*`: pressure stall information, as seconds stalled.
struct PressureCollector: Collector {
    let name = "pressure"

    func collect(root: String, into samples: inout [Sample]) throws(CollectError) {
        // resource, line kind, metric
        let wanted: [(String, String, String)] = [
            ("cpu", "some", "node_pressure_cpu_waiting_seconds_total"), ("io", "some", "node_pressure_io_waiting_seconds_total"),
            ("io", "full", "node_pressure_io_stalled_seconds_total"), ("memory", "some", "node_pressure_memory_waiting_seconds_total"),
            ("memory", "full", "node_pressure_memory_stalled_seconds_total"), ("irq", "full", "node_pressure_irq_stalled_seconds_total"),
        ]
        var found = false
        for (resource, kind, metric) in wanted {
            // A kernel without PSI, or without the irq file, simply has fewer of these.
            guard let lines = try? ProcFile.fields(root + "/proc/pressure/" + resource) else { continue }
            for fields in lines where fields.first.map(String.init) == kind {
                guard let total = fields.first(where: { $0.hasPrefix("total=") }), let microseconds = Double(total.dropFirst(6)) else { continue }
                samples.append(Sample(name: metric, value: microseconds / 1e6))
                found = true
            }
        }
        if !found { throw CollectError("\(root)/proc/pressure: no pressure stall information (a kernel without PSI?)") }
    }
}

/// `/proc/sys/fs/file-nr`: allocated and maximum file handles.
struct FileDescriptorCollector: Collector {
    let name = "filefd"

    func collect(root: String, into samples: inout [Sample]) throws(CollectError) {
        let fields = try ProcFile.read(root + "/proc/sys/fs/file-nr").split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
        guard fields.count >= 3, let allocated = Double(fields[0]), let maximum = Double(fields[2]) else {
            throw CollectError("\(root)/proc/sys/fs/file-nr: unexpected contents")
        }
        samples.append(Sample(name: "node_filefd_allocated", value: allocated))
        samples.append(Sample(name: "node_filefd_maximum", value: maximum))
    }
}

/// `/proc/vmstat`: node_exporter's default fields (`^(oom_kill|pgpg|pswp|pg.*fault).*`).
struct VMStatCollector: Collector {
    let name = "vmstat"
    static let fields = try! Regex("(oom_kill|pgpg|pswp|pg.*fault).*")

    func collect(root: String, into samples: inout [Sample]) throws(CollectError) {
        for fields in try ProcFile.fields(root + "/proc/vmstat") where fields.count == 2 {
            let field = String(fields[0])
            guard VMStatCollector.fields.matches(field), let value = Double(fields[1]) else { continue }
            samples.append(Sample(name: "node_vmstat_" + field, value: value))
        }
    }
}

/// `uname(2)`: `node_uname_info{sysname,release,version,machine,nodename,domainname} 1`.
struct UnameCollector: Collector {
    let name = "uname"

    func collect(root: String, into samples: inout [Sample]) throws(CollectError) {
        var names = utsname()
        guard uname(&names) == 0 else { throw CollectError("uname: \(String(cString: strerror(errno)))") }
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        samples.append(Sample(name: "node_uname_info", labels: [
            Label("sysname", text(names.sysname)), Label("release", text(names.release)), Label("version", text(names.version)),
            Label("machine", text(names.machine)), Label("nodename", text(names.nodename)), Label("domainname", text(names.__domainname)),
        ], value: 1))
    }
}
