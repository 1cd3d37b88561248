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
            // What udev knows of the device (nothing where udev does not run, as in containers).
            var udev: [String: String] = [:]
            for line in (try? ProcFile.read(root + "/run/udev/data/b\(fields[0]):\(fields[1])"))?.split(separator: "\n") ?? [] where line.hasPrefix("E:") {
                guard let equals = line.firstIndex(of: "=") else { continue }
                udev[String(line[line.index(line.startIndex, offsetBy: 2)..<equals])] = String(line[line.index(after: equals)...])
            }
            samples.append(Sample(name: "node_disk_info", labels: [
                Label("device", device), Label("major", String(fields[0])), Label("minor", String(fields[1])),
                Label("model", udev["ID_MODEL"] ?? ""), Label("path", udev["ID_PATH"] ?? ""), Label("revision", udev["ID_REVISION"] ?? ""),
                Label("serial", udev["ID_SERIAL_SHORT"] ?? ""), Label("wwn", udev["ID_WWN"] ?? ""),
            ], value: 1))
            for (index, name, scale) in counters where index < fields.count {
                guard let value = Double(fields[index]) else { continue }
                samples.append(Sample(name: name, labels: [Label("device", device)], value: value * scale))
            }
        }
    }
}

/// `/sys/class/net/<device>/`: each interface's link properties, as node_exporter's netclass
/// collector names them: `node_network_up` (operstate is up), `node_network_mtu_bytes`,
/// `node_network_speed_bytes` (where the link reports a speed), `node_network_info` with the
/// address, broadcast, duplex, alias and operstate, and the other numeric properties. A property
/// the kernel will not give for a device (the speed of a virtual one) is left out.
struct NetworkClassCollector: Collector {
    let name = "netclass"

    /// Metric name (after `node_network_`) by sysfs file, and the factor applied.
    static let properties: [(file: String, metric: String, scale: Double)] = [
        ("addr_assign_type", "address_assign_type", 1), ("carrier", "carrier", 1), ("carrier_changes", "carrier_changes_total", 1),
        ("carrier_down_count", "carrier_down_changes_total", 1), ("carrier_up_count", "carrier_up_changes_total", 1),
        ("dev_id", "device_id", 1), ("dormant", "dormant", 1), ("flags", "flags", 1), ("ifindex", "iface_id", 1),
        ("iflink", "iface_link", 1), ("link_mode", "iface_link_mode", 1), ("mtu", "mtu_bytes", 1),
        ("name_assign_type", "name_assign_type", 1), ("netdev_group", "net_dev_group", 1), ("type", "protocol_type", 1),
        ("speed", "speed_bytes", 125_000), ("tx_queue_len", "transmit_queue_length", 1),
    ]

    func collect(root: String, into samples: inout [Sample]) throws(CollectError) {
        let directory = root + "/sys/class/net"
        guard let listing = opendir(directory) else { throw CollectError("\(directory): \(String(cString: strerror(errno)))") }
        var devices: [String] = []
        while let entry = readdir(listing) {
            let device = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            // Devices are links to directories; files such as bonding_masters are not devices.
            if !device.hasPrefix("."), entry.pointee.d_type != UInt8(DT_REG) { devices.append(device) }
        }
        closedir(listing)
        for device in devices.sorted() {
            let path = directory + "/" + device + "/"
            /// A property's text, or nil where the kernel refuses it (EINVAL for a down or virtual link).
            func text(_ file: String) -> String? {
                (try? ProcFile.read(path + file)).map { String($0.split(separator: "\n").first ?? "") }
            }
            let labels = [Label("device", device)]
            for property in NetworkClassCollector.properties {
                guard let value = text(property.file).flatMap(NetworkClassCollector.number), value >= 0 || property.file != "speed" else { continue }
                samples.append(Sample(name: "node_network_" + property.metric, labels: labels, value: value * property.scale))
            }
            let operstate = text("operstate") ?? ""
            samples.append(Sample(name: "node_network_info", labels: [
                Label("address", text("address") ?? ""), Label("broadcast", text("broadcast") ?? ""), Label("device", device),
                Label("duplex", text("duplex") ?? ""), Label("ifalias", text("ifalias") ?? ""), Label("operstate", operstate),
            ], value: 1))
            samples.append(Sample(name: "node_network_up", labels: labels, value: operstate == "up" ? 1 : 0))
        }
    }

    /// A decimal or `0x` hexadecimal sysfs number.
    static func number(_ text: String) -> Double? {
        if text.hasPrefix("0x"), let value = Int64(text.dropFirst(2), radix: 16) { return Double(value) }
        return Int64(text).map(Double.init)
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
