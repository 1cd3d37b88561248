/// A time zone read from the system's tz database (TZif files under /usr/share/zoneinfo): the
/// offset from UTC at any instant, from the file's transitions and, past the last of them, its
/// POSIX rule (`CET-1CEST,M3.5.0,M10.5.0/3`).
public struct TimeZone: Sendable {
    public let name: String
    /// Transition instants (seconds) and the offset (seconds east of UTC) in force from each.
    private let transitions: [(time: Int64, offset: Int64)]
    /// The offset before the first transition.
    private let initialOffset: Int64
    private let rule: PosixRule?

    public static let utc = TimeZone(name: "UTC", transitions: [], initialOffset: 0, rule: nil)

    private init(name: String, transitions: [(time: Int64, offset: Int64)], initialOffset: Int64, rule: PosixRule?) {
        self.name = name
        self.transitions = transitions
        self.initialOffset = initialOffset
        self.rule = rule
    }

    /// Loads `name` (`Europe/Berlin`) from `directory`.
    public static func load(_ name: String, directory: String = "/usr/share/zoneinfo") throws(StoreError) -> TimeZone {
        if name == "UTC" || name == "Etc/UTC" { return .utc }
        guard !name.contains(".."), !name.hasPrefix("/") else { throw StoreError("\(name): not a time zone name") }
        let bytes: [UInt8]
        do { bytes = try FileSystem.readAll(directory + "/" + name) } catch {
            throw StoreError("\(name): unknown time zone (no \(directory)/\(name))")
        }
        guard let zone = parse(bytes, name: name) else { throw StoreError("\(directory)/\(name): not a TZif file") }
        return zone
    }

    /// `milliseconds` as local wall-clock time in this zone, `2024-01-01 12:00:00` (whole seconds).
    public func localText(_ milliseconds: Int64) -> String {
        let seconds = milliseconds / 1000
        return String(Timestamp.rfc3339((seconds + offset(at: seconds)) * 1000).prefix(19)).replacingFirst("T", with: " ")
    }

    /// Seconds east of UTC at `seconds` since the epoch.
    public func offset(at seconds: Int64) -> Int64 {
        if let last = transitions.last, seconds >= last.time, let rule { return rule.offset(at: seconds) }
        if transitions.isEmpty { return rule?.offset(at: seconds) ?? initialOffset }
        let index = transitions.partitionIndex { $0.time > seconds } - 1
        return index < 0 ? initialOffset : transitions[index].offset
    }

    static func parse(_ bytes: [UInt8], name: String) -> TimeZone? {
        var reader = TZifReader(bytes: bytes)
        guard let first = reader.header() else { return nil }
        // Version 2 and later repeat the data with 64-bit times; skip the 32-bit block.
        var header = first
        var timeSize = 4
        if first.version >= 2 {
            reader.offset += first.dataLength(timeSize: 4)
            guard let second = reader.header() else { return nil }
            header = second
            timeSize = 8
        }
        var times: [Int64] = []
        for _ in 0..<header.timeCount { times.append(timeSize == 8 ? reader.int64() : Int64(reader.int32())) }
        var indexes: [Int] = []
        for _ in 0..<header.timeCount { indexes.append(Int(reader.byte())) }
        var offsets: [Int64] = []
        for _ in 0..<header.typeCount {
            offsets.append(Int64(reader.int32()))
            reader.offset += 2
        }
        guard reader.valid, indexes.allSatisfy({ $0 < offsets.count }), !offsets.isEmpty else { return nil }
        reader.offset += header.charCount + header.leapCount * (timeSize + 4) + header.standardCount + header.utcCount
        var rule: PosixRule?
        if header.version >= 2, reader.offset < bytes.count, bytes[reader.offset] == 0x0A {
            let start = reader.offset + 1
            let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
            rule = PosixRule(String(decoding: bytes[start..<end], as: UTF8.self))
        }
        let transitions = zip(times, indexes).map { ($0, offsets[$1]) }
        return TimeZone(name: name, transitions: transitions, initialOffset: offsets[0], rule: rule)
    }
}

/// Reads the big-endian fields of a TZif file, remembering whether it ran past the end.
private struct TZifReader {
    let bytes: [UInt8]
    var offset = 0
    var valid = true

    struct Header {
        var version: Int
        var utcCount = 0, standardCount = 0, leapCount = 0, timeCount = 0, typeCount = 0, charCount = 0

        func dataLength(timeSize: Int) -> Int {
            timeCount * timeSize + timeCount + typeCount * 6 + charCount + leapCount * (timeSize + 4) + standardCount + utcCount
        }
    }

    mutating func header() -> Header? {
        guard offset + 44 <= bytes.count, bytes[offset..<(offset + 4)].elementsEqual("TZif".utf8) else { return nil }
        let versionByte = bytes[offset + 4]
        var header = Header(version: versionByte == 0 ? 1 : Int(versionByte) - 0x30)
        offset += 20
        header.utcCount = Int(int32())
        header.standardCount = Int(int32())
        header.leapCount = Int(int32())
        header.timeCount = Int(int32())
        header.typeCount = Int(int32())
        header.charCount = Int(int32())
        return [header.utcCount, header.standardCount, header.leapCount, header.timeCount, header.typeCount, header.charCount].allSatisfy { $0 >= 0 && $0 < 1 << 20 }
            ? header : nil
    }

    mutating func byte() -> UInt8 {
        guard offset < bytes.count else { valid = false; return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func int32() -> Int32 {
        var value: UInt32 = 0
        for _ in 0..<4 { value = value << 8 | UInt32(byte()) }
        return Int32(bitPattern: value)
    }

    mutating func int64() -> Int64 {
        var value: UInt64 = 0
        for _ in 0..<8 { value = value << 8 | UInt64(byte()) }
        return Int64(bitPattern: value)
    }
}

/// A POSIX TZ rule such as `CET-1CEST,M3.5.0,M10.5.0/3` (only the `Mm.w.d` form of dates, which
/// every rule in the tz database uses).
struct PosixRule: Sendable {
    var standardOffset: Int64
    var daylightOffset: Int64?
    var start: (month: Int64, week: Int64, weekday: Int64, time: Int64)?
    var end: (month: Int64, week: Int64, weekday: Int64, time: Int64)?

    init?(_ text: String) {
        var characters = Substring(text)
        func name() -> Bool {
            if characters.first == "<" {
                guard let close = characters.firstIndex(of: ">") else { return false }
                characters = characters[characters.index(after: close)...]
                return true
            }
            let letters = characters.prefix { $0.isLetter }
            characters = characters.dropFirst(letters.count)
            return letters.count >= 3
        }
        func duration() -> Int64? {
            var sign: Int64 = 1
            if characters.first == "-" || characters.first == "+" {
                sign = characters.first == "-" ? -1 : 1
                characters = characters.dropFirst()
            }
            var parts: [Int64] = []
            while true {
                let digits = characters.prefix { $0.isNumber }
                guard let value = Int64(digits) else { break }
                parts.append(value)
                characters = characters.dropFirst(digits.count)
                if characters.first == ":" { characters = characters.dropFirst() } else { break }
            }
            guard !parts.isEmpty else { return nil }
            return sign * (parts[0] * 3600 + (parts.count > 1 ? parts[1] * 60 : 0) + (parts.count > 2 ? parts[2] : 0))
        }
        func date() -> (Int64, Int64, Int64, Int64)? {
            guard characters.first == "M" else { return nil }
            characters = characters.dropFirst()
            let fields = characters.prefix { $0.isNumber || $0 == "." }.split(separator: ".").compactMap { Int64($0) }
            characters = characters.dropFirst(characters.prefix { $0.isNumber || $0 == "." }.count)
            guard fields.count == 3 else { return nil }
            var time: Int64 = 7200
            if characters.first == "/" {
                characters = characters.dropFirst()
                guard let parsed = duration() else { return nil }
                time = parsed
            }
            return (fields[0], fields[1], fields[2], time)
        }
        guard name(), let standard = duration() else { return nil }
        // POSIX offsets are hours west of UTC.
        standardOffset = -standard
        guard !characters.isEmpty else { return }
        guard name() else { return nil }
        daylightOffset = standardOffset + 3600
        if let first = characters.first, first != "," {
            guard let daylight = duration() else { return nil }
            daylightOffset = -daylight
        }
        guard characters.first == "," else { return nil }
        characters = characters.dropFirst()
        guard let startDate = date(), characters.first == "," else { return nil }
        characters = characters.dropFirst()
        guard let endDate = date() else { return nil }
        start = startDate
        end = endDate
    }

    func offset(at seconds: Int64) -> Int64 {
        guard let daylightOffset, let start, let end else { return standardOffset }
        let year = Timestamp.civil(fromDays: Self.floorDivide(seconds + standardOffset, 86_400)).year
        // Transitions are given in local time: the start in standard time, the end in daylight time.
        let startsAt = Self.instant(year, start) - standardOffset
        let endsAt = Self.instant(year, end) - daylightOffset
        let inDaylight = startsAt < endsAt ? (seconds >= startsAt && seconds < endsAt) : !(seconds >= endsAt && seconds < startsAt)
        return inDaylight ? daylightOffset : standardOffset
    }

    /// Local seconds of day `weekday` of week `week` (5 = last) of `month` in `year`, at `time`.
    private static func instant(_ year: Int64, _ date: (month: Int64, week: Int64, weekday: Int64, time: Int64)) -> Int64 {
        let firstOfMonth = Timestamp.daysFromCivil(year: year, month: date.month, day: 1)
        let firstWeekday = ((firstOfMonth % 7) + 11) % 7  // 1970-01-01 was a Thursday
        var day = firstOfMonth + (date.weekday - firstWeekday + 7) % 7 + (date.week - 1) * 7
        let nextMonth = date.month == 12 ? Timestamp.daysFromCivil(year: year + 1, month: 1, day: 1) : Timestamp.daysFromCivil(year: year, month: date.month + 1, day: 1)
        while day >= nextMonth { day -= 7 }
        return day * 86_400 + date.time
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        value >= 0 ? value / divisor : -((-value + divisor - 1) / divisor)
    }
}
