import MetricLine

/// `/proc/stat`: CPU time per mode (ticks of 1/100 s), boot time, context switches, interrupts,
/// forks and process counts.
struct CPUCollector: Collector {
    let name = "cpu"
    static let modes = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"]

    func collect(root: String, into samples: inout [Sample]) throws(CollectError) {
        for fields in try ProcFile.fields(root + "/proc/stat") {
            guard let key = fields.first else { continue }
            if key.hasPrefix("cpu") && key.count > 3 {
                let cpu = String(key.dropFirst(3))
                for (index, mode) in CPUCollector.modes.enumerated() where index + 1 < fields.count {
                    guard let ticks = Double(fields[index + 1]) else { continue }
                    samples.append(Sample(name: "node_cpu_seconds_total", labels: [Label("cpu", cpu), Label("mode", mode)], value: ticks / 100))
                }
                // guest and guest_nice (also counted inside user and nice).
                for (index, mode) in ["user", "nice"].enumerated() where index + 9 < fields.count {
                    guard let ticks = Double(fields[index + 9]) else { continue }
                    samples.append(Sample(name: "node_cpu_guest_seconds_total", labels: [Label("cpu", cpu), Label("mode", mode)], value: ticks / 100))
                }
                continue
            }
            guard fields.count > 1, let value = Double(fields[1]) else { continue }
            switch key {
            case "btime": samples.append(Sample(name: "node_boot_time_seconds", value: value))
            case "ctxt": samples.append(Sample(name: "node_context_switches_total", value: value))
            case "intr": samples.append(Sample(name: "node_intr_total", value: value))
            case "processes": samples.append(Sample(name: "node_forks_total", value: value))
            case "procs_running": samples.append(Sample(name: "node_procs_running", value: value))
            case "procs_blocked": samples.append(Sample(name: "node_procs_blocked", value: value))
            default: break
            }
        }
    }
}

/// `/proc/loadavg`.
struct LoadCollector: Collector {
    let name = "loadavg"

    func collect(root: String, into samples: inout [Sample]) throws(CollectError) {
        let fields = try ProcFile.read(root + "/proc/loadavg").split(separator: " ")
        guard fields.count >= 3, let one = Double(fields[0]), let five = Double(fields[1]), let fifteen = Double(fields[2]) else {
            throw CollectError("\(root)/proc/loadavg: unexpected contents")
        }
        samples.append(Sample(name: "node_load1", value: one))
        samples.append(Sample(name: "node_load5", value: five))
        samples.append(Sample(name: "node_load15", value: fifteen))
    }
}

/// `/proc/meminfo`: every field as `node_memory_<Field>_bytes` (page counts without `_bytes`).
struct MemoryCollector: Collector {
    let name = "meminfo"

    func collect(root: String, into samples: inout [Sample]) throws(CollectError) {
        for fields in try ProcFile.fields(root + "/proc/meminfo") {
            guard fields.count >= 2, var key = fields.first, key.hasSuffix(":"), var value = Double(fields[1]) else { continue }
            key = key.dropLast()
            let field = String(key).replacingParentheses()
            if fields.count >= 3 && fields[2] == "kB" {
                value *= 1024
                samples.append(Sample(name: "node_memory_\(field)_bytes", value: value))
            } else {
                samples.append(Sample(name: "node_memory_\(field)", value: value))
            }
        }
    }
}

extension String {
    /// `Active(anon)` as node_exporter spells it: `Active_anon`.
    func replacingParentheses() -> String {
        var result = ""
        for character in self {
            switch character {
            case "(": result.append("_")
            case ")": break
            default: result.append(character)
            }
        }
        return result
    }
}

/// The clock: `node_time_seconds`.
struct TimeCollector: Collector {
    let name = "time"

    func collect(root: String, into samples: inout [Sample]) throws(CollectError) {
        samples.append(Sample(name: "node_time_seconds", value: Double(Clock.nowMilliseconds()) / 1000))
    }
}
