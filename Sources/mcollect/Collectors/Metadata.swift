import MetricLine

/// `# HELP` and `# TYPE` for the families the system collectors emit, for `--metadata`: with
/// them the output is a complete exposition that `promtool check metrics` and node_exporter's
/// readers accept.
enum Metadata {
    /// Help text by family; the type follows from the name (counters end in `_total`), except
    /// vmstat's fields, which node_exporter leaves untyped.
    static let help: [String: String] = [
        "node_cpu_seconds_total": "Seconds the CPUs spent in each mode.",
        "node_cpu_guest_seconds_total": "Seconds the CPUs spent in guests (VMs) for each mode.",
        "node_boot_time_seconds": "Node boot time, in unixtime.",
        "node_context_switches_total": "Total number of context switches.",
        "node_intr_total": "Total number of interrupts serviced.",
        "node_forks_total": "Total number of forks.",
        "node_procs_running": "Number of processes in runnable state.",
        "node_procs_blocked": "Number of processes blocked waiting for I/O to complete.",
        "node_load1": "1m load average.",
        "node_load5": "5m load average.",
        "node_load15": "15m load average.",
        "node_filesystem_size_bytes": "Filesystem size in bytes.",
        "node_filesystem_free_bytes": "Filesystem free space in bytes.",
        "node_filesystem_avail_bytes": "Filesystem space available to non-root users in bytes.",
        "node_filesystem_files": "Filesystem total file nodes.",
        "node_filesystem_files_free": "Filesystem total free file nodes.",
        "node_filesystem_readonly": "Filesystem read-only status.",
        "node_filesystem_device_error": "Whether an error occurred while getting statistics for the given device.",
        "node_network_receive_bytes_total": "Network device statistic receive_bytes.",
        "node_network_transmit_bytes_total": "Network device statistic transmit_bytes.",
        "node_network_info": "Non-numeric data from /sys/class/net/<iface>, value is always 1.",
        "node_network_up": "Value is 1 if operstate is 'up', 0 otherwise.",
        "node_disk_info": "Info of /sys/block/<block_device>.",
        "node_pressure_cpu_waiting_seconds_total": "Total time in seconds that processes have waited for CPU time.",
        "node_pressure_io_waiting_seconds_total": "Total time in seconds that processes have waited due to IO congestion.",
        "node_pressure_io_stalled_seconds_total": "Total time in seconds no process could make progress due to IO congestion.",
        "node_pressure_memory_waiting_seconds_total": "Total time in seconds that processes have waited for memory.",
        "node_pressure_memory_stalled_seconds_total": "Total time in seconds no process could make progress due to memory congestion.",
        "node_pressure_irq_stalled_seconds_total": "Total time in seconds no process could make progress due to IRQ congestion.",
        "node_filefd_allocated": "File descriptor statistics: allocated.",
        "node_filefd_maximum": "File descriptor statistics: maximum.",
        "node_uname_info": "Labeled system information as provided by the uname system call.",
        "node_time_seconds": "System time in seconds since epoch (1970).",
        "node_scrape_collector_duration_seconds": "mcollect: duration of a collector scrape.",
        "node_scrape_collector_success": "mcollect: whether a collector succeeded.",
    ]

    static func helpText(_ name: String) -> String {
        if let text = help[name] { return text }
        if name.hasPrefix("node_memory_") { return "Memory information field \(name.dropFirst(12))." }
        if name.hasPrefix("node_disk_") { return "Disk statistic \(name.dropFirst(10))." }
        if name.hasPrefix("node_network_") {
            let field = name.dropFirst(13)
            if NetworkClassCollector.properties.contains(where: { $0.metric == field }) { return "Network device property: \(field)" }
            return "Network device statistic \(field)."
        }
        if name.hasPrefix("node_vmstat_") { return "/proc/vmstat information field \(name.dropFirst(12))." }
        return name
    }

    static func type(_ name: String) -> MetricType {
        if name.hasPrefix("node_vmstat_") { return .untyped }
        return name.hasSuffix("_total") ? .counter : .gauge
    }

    /// The samples grouped by family (in order of first appearance), each family after its
    /// `# HELP` and `# TYPE` lines.
    static func withMetadata(_ samples: [Sample]) -> [ExpositionLine] {
        var order: [String] = []
        var families: [String: [Sample]] = [:]
        for sample in samples {
            if families[sample.name] == nil { order.append(sample.name) }
            families[sample.name, default: []].append(sample)
        }
        var lines: [ExpositionLine] = []
        for name in order {
            lines.append(.help(metric: name, text: helpText(name)))
            lines.append(.type(metric: name, type: type(name)))
            lines += families[name]!.map { .sample($0) }
        }
        return lines
    }
}
