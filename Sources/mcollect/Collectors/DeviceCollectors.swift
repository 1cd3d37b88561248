import Glibc
import MetricLine

/// Mounted filesystems through statvfs, with node_exporter's default exclusions.
struct FilesystemCollector: Collector {
    let name = "filesystem"
    static let ignoredTypes: Set<String> = ["autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts", "devtmpfs",
                                           "fusectl", "hugetlbfs", "iso9660", "mqueue", "nsfs", "overlay", "proc", "procfs", "pstore",
                                           "rpc_pipefs", "securityfs", "selinuxfs", "squashfs", "erofs", "sysfs", "tracefs"]

    /// `^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)`
    static func ignoredMountPoint(_ path: String) -> Bool {
        for prefix in ["/dev", "/proc", "/sys"] where path == prefix || path.hasPrefix(prefix + "/") { return true }
        for prefix in ["/run/credentials/", "/var/lib/docker/", "/var/lib/containers/storage/"] where path.hasPrefix(prefix) && path.count > prefix.count {
            return true
        }
        return false
    }

    func collect(root: String, into samples: inout [Sample]) throws(CollectError) {
        var seen = Set<String>()
        for fields in try ProcFile.fields(root + "/proc/mounts") where fields.count >= 4 {
            let device = String(fields[0]), mountPoint = FilesystemCollector.unescape(String(fields[1])), type = String(fields[2])
            guard !FilesystemCollector.ignoredTypes.contains(type), !FilesystemCollector.ignoredMountPoint(mountPoint),
                  seen.insert(mountPoint).inserted else { continue }
            let labels = [Label("device", device), Label("fstype", type), Label("mountpoint", mountPoint)]
            var info = statvfs()
            guard statvfs(root + mountPoint, &info) == 0 else {
                samples.append(Sample(name: "node_filesystem_device_error", labels: labels, value: 1))
                continue
            }
            let blockSize = Double(info.f_frsize)
            samples.append(Sample(name: "node_filesystem_size_bytes", labels: labels, value: Double(info.f_blocks) * blockSize))
            samples.append(Sample(name: "node_filesystem_free_bytes", labels: labels, value: Double(info.f_bfree) * blockSize))
            samples.append(Sample(name: "node_filesystem_avail_bytes", labels: labels, value: Double(info.f_bavail) * blockSize))
            samples.append(Sample(name: "node_filesystem_files", labels: labels, value: Double(info.f_files)))
            samples.append(Sample(name: "node_filesystem_files_free", labels: labels, value: Double(info.f_ffree)))
            let readOnly = fields[3].split(separator: ",").contains("ro")
            samples.append(Sample(name: "node_filesystem_readonly", labels: labels, value: readOnly ? 1 : 0))
            samples.append(Sample(name: "node_filesystem_device_error", labels: labels, value: 0))
        }
    }

    /// Mount points escape blanks and backslashes in octal (`\040`).
    static func unescape(_ text: String) -> String {
        guard text.contains("\\") else { return text }
        var bytes: [UInt8] = []
        let source = Array(text.utf8)
        var index = 0
        while index < source.count {
            if source[index] == UInt8(ascii: "\\"), index + 3 < source.count,
               let value = UInt8(String(decoding: source[(index + 1)...(index + 3)], as: UTF8.self), radix: 8) {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(source[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// `/proc/diskstats`, without partitions, loop and ram devices (node_exporter's default).
struct DiskCollector: Collector {
    let name = "diskstats"

    /// `^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$`
    static let ignored = try! Regex(#"(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+"#)

    func collect(root: String, into samples: inout [Sample]) throws(CollectError) {
        let counters: [(Int, String, Double)] = [
            (3, "node_disk_reads_completed_total", 1), (4, "node_disk_reads_merged_total", 1), (5, "node_disk_read_bytes_total", 512),
            (6, "node_disk_read_time_seconds_total", 0.001), (7, "node_disk_writes_completed_total", 1), (8, "node_disk_writes_merged_total", 1),
            (9, "node_disk_written_bytes_total", 512), (10, "node_disk_write_time_seconds_total", 0.001), (11, "node_disk_io_now", 1),
            (12, "node_disk_io_time_seconds_total", 0.001), (13, "node_disk_io_time_weighted_seconds_total", 0.001),
            (14, "node_disk_discards_completed_total", 1), (15, "node_disk_discards_merged_total", 1),
            (16, "node_disk_discarded_sectors_total", 1), (17, "node_disk_discard_time_seconds_total", 0.001),
            (18, "node_disk_flush_requests_total", 1), (19, "node_disk_flush_requests_time_seconds_total", 0.001),
        ]
        for fields in try ProcFile.fields(root + "/proc/diskstats") where fields.count >= 14 {
            let device = String(fields[2])
            if DiskCollector.ignored.matches(device) { continue }
            for (index, name, scale) in counters where index < fields.count {
                guard let value = Double(fields[index]) else { continue }
                samples.append(Sample(name: name, labels: [Label("device", device)], value: value * scale))
            }
        }
    }
}

/// `/proc/net/dev`: receive and transmit counters per interface.
struct NetworkCollector: Collector {
    let name = "netdev"
    static let receive = ["bytes", "packets", "errs", "drop", "fifo", "frame", "compressed", "multicast"]
    static let transmit = ["bytes", "packets", "errs", "drop", "fifo", "colls", "carrier", "compressed"]

    func collect(root: String, into samples: inout [Sample]) throws(CollectError) {
        for line in try ProcFile.read(root + "/proc/net/dev").split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let device = line[..<colon].trimmingBlanks
            let numbers = line[line.index(after: colon)...].split(separator: " ").compactMap { Double($0) }
            guard numbers.count >= 16 else { continue }
            for (index, field) in NetworkCollector.receive.enumerated() {
                samples.append(Sample(name: "node_network_receive_\(field)_total", labels: [Label("device", device)], value: numbers[index]))
            }
            for (index, field) in NetworkCollector.transmit.enumerated() {
                samples.append(Sample(name: "node_network_transmit_\(field)_total", labels: [Label("device", device)], value: numbers[8 + index]))
            }
        }
    }
}

extension Substring {
    var trimmingBlanks: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
