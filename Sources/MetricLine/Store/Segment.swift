#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A sealed segment: the immutable file holding the compressed samples of many series over one
/// time range, with a label index. Writer and reader sit side by side.
///
/// File: the magic `MSTSEG03` (`MSTSEG01`, `MSTSEG02` for earlier versions); the chunks, back to back (see `ChunkCodec`); the index; a footer of
/// 48 bytes: `u64` index offset, `u64` index length, `u32` crc32c of the index, `i64` min and max
/// time, `u32` crc32c of the footer's first 36 bytes, and the magic `MSTSEGE1`.
///
/// The index: `varint` format version (3; 1 and 2 are read too: they differ only in how chunks
/// code integers, see `IntegerModel` and `ResidualTable`), `varint` generation, `varint` count and the generations
/// this segment replaces (a compaction's inputs); the symbol table (`varint` count, then strings);
/// the series in order of their canonical keys, each `varint` name symbol, `varint` label count and
/// (name, value) symbol pairs, `varint` chunk count and per chunk `varint` offset, `varint` length,
/// `varint` samples, `zigzag` first time minus the segment's min time, `varint` last minus first
/// time, `u32` crc32c of the chunk's bytes; then the postings: per label name (`__name__` for
/// metric names) its symbol and per value the symbol and the series numbers as deltas.
public enum Segment {
    /// The magic a segment of `version` starts with: a reader of version 1 alone refuses a
    /// version-2 segment as of an unknown version, rather than as damaged.
    static func magic(version: Int) -> [UInt8] { Array("MSTSEG0\(version)".utf8) }
    static let magicLength = 8
    static let footerMagic: [UInt8] = Array("MSTSEGE1".utf8)
    static let footerLength = 48
    /// The version written, which is also the chunks' format (`ChunkCodec.currentFormat`).
    public static let formatVersion = ChunkCodec.currentFormat
    /// The versions read.
    static let readableVersions: ClosedRange<UInt64> = 1...3
    /// The label name under which postings list metric names.
    public static let nameLabel = "__name__"

    /// One series to write: its key and its samples, sorted by time without duplicates.
    public struct Series {
        public var key: ExpositionParser.SeriesKey
        public var timestamps: [Int64]
        public var values: [Double]

        public init(key: ExpositionParser.SeriesKey, timestamps: [Int64], values: [Double]) {
            self.key = key
            self.timestamps = timestamps
            self.values = values
        }
    }

    /// What a written segment holds.
    public struct Summary: Sendable {
        public var path: String
        public var series: Int
        public var samples: Int
        public var bytes: Int64
        public var minTime: Int64
        public var maxTime: Int64
    }

    /// Writes `series` (sorted by canonical key) to `path` through a temporary file, fsync and
    /// rename, so that a reader sees the whole segment or none of it.
    public static func write(_ series: [Series], to path: String, generation: UInt64, replaces: [UInt64] = [],
                             version: Int = formatVersion) throws(StoreError) -> Summary {
        try write(keys: series.map(\.key), to: path, generation: generation, replaces: replaces, version: version) {
            (series[$0].timestamps, series[$0].values)
        }
    }

    /// Writes the series `keys` (in canonical key order), whose samples `samples` gives one series
    /// at a time, so that the caller need not hold them all in their final form at once.
    /// `version` is for tests that need a segment of an earlier version.
    public static func write(keys: [ExpositionParser.SeriesKey], to path: String, generation: UInt64, replaces: [UInt64] = [],
                             version: Int = formatVersion,
                             samples: (Int) throws(StoreError) -> ([Int64], [Double])) throws(StoreError) -> Summary {
        let temporary = path + ".tmp"
        let descriptor = try FileSystem.open(temporary, O_WRONLY | O_CREAT | O_TRUNC)
        var closed = false
        defer { if !closed { close(descriptor); try? FileSystem.remove(temporary) } }

        var symbols: [String: Int] = [:]
        var symbolList: [String] = []
        func symbol(_ text: String) -> Int {
            if let known = symbols[text] { return known }
            symbols[text] = symbolList.count
            symbolList.append(text)
            return symbolList.count - 1
        }
        struct ChunkEntry { var offset: Int; var length: Int; var samples: Int; var base: Int; var first: Int64; var last: Int64; var crc: UInt32 }
        var entries: [[ChunkEntry]] = []
        var offset = magicLength
        var output = magic(version: version)
        var minTime = Int64.max
        var maxTime = Int64.min
        var totalSamples = 0
        // Series that later series may be coded against are kept until their last dependent is written.
        let bases = ChunkBases.plan(keys)
        var dependents = [Int](repeating: 0, count: keys.count)
        for base in bases { if let base { dependents[base] += 1 } }
        var kept: [Int: (timestamps: [Int64], values: [Double])] = [:]
        for number in keys.indices {
            let (timestamps, values) = try samples(number)
            var chunks: [ChunkEntry] = []
            // A base with the same timestamps splits into chunks at the same places.
            var differences: [Double]?
            if let candidate = bases[number], let baseSamples = kept[candidate], baseSamples.timestamps == timestamps {
                differences = ChunkBases.exactDifferences(values, baseSamples.values)
            }
            var start = 0
            while start < timestamps.count {
                let end = ChunkCodec.chunkEnd(timestamps, from: start)
                let chunkTimes = Array(timestamps[start..<end])
                let chunkValues = Array(values[start..<end])
                // Coded against the base when the estimate says the differences are cheaper.
                var coded = chunkValues
                var base = 0
                if let differences, let candidate = bases[number] {
                    let chunkDifferences = Array(differences[start..<end])
                    if ChunkCodec.estimatedCost(of: chunkDifferences) < ChunkCodec.estimatedCost(of: chunkValues) {
                        coded = chunkDifferences
                        base = candidate + 1
                    }
                }
                let bytes = ChunkCodec.encode(timestamps: chunkTimes, values: coded, format: version)
                chunks.append(ChunkEntry(offset: offset, length: bytes.count, samples: end - start, base: base, first: timestamps[start],
                                         last: timestamps[end - 1], crc: CRC32C.checksum(bytes)))
                minTime = min(minTime, timestamps[start])
                maxTime = max(maxTime, timestamps[end - 1])
                output.append(contentsOf: bytes)
                offset += bytes.count
                if output.count >= 1 << 20 {
                    try FileSystem.write(descriptor, output, path: temporary)
                    output.removeAll(keepingCapacity: true)
                }
                start = end
            }
            if dependents[number] > 0 { kept[number] = (timestamps, values) }
            if let base = bases[number] {
                dependents[base] -= 1
                if dependents[base] == 0 { kept[base] = nil }
            }
            totalSamples += timestamps.count
            entries.append(chunks)
        }
        if minTime > maxTime { (minTime, maxTime) = (0, 0) }

        // Symbols in sorted order, so equal segments are equal files.
        _ = symbol(Segment.nameLabel)
        for key in keys {
            _ = symbol(key.name)
            for label in key.labels {
                _ = symbol(label.name)
                _ = symbol(label.value)
            }
        }
        symbolList.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        for (index, text) in symbolList.enumerated() { symbols[text] = index }

        var index = ByteWriter()
        index.varint(version)
        index.varint(generation)
        index.varint(replaces.count)
        for replaced in replaces { index.varint(replaced) }
        index.varint(symbolList.count)
        for text in symbolList { index.data(text.utf8) }
        index.varint(keys.count)
        var postings: [Int: [Int: [Int]]] = [:]
        for (number, key) in keys.enumerated() {
            let nameSymbol = symbols[key.name]!
            index.varint(nameSymbol)
            postings[symbols[Segment.nameLabel]!, default: [:]][nameSymbol, default: []].append(number)
            index.varint(key.labels.count)
            for label in key.labels {
                let (labelName, labelValue) = (symbols[label.name]!, symbols[label.value]!)
                index.varint(labelName)
                index.varint(labelValue)
                postings[labelName, default: [:]][labelValue, default: []].append(number)
            }
            index.varint(entries[number].count)
            for chunk in entries[number] {
                index.varint(chunk.offset)
                index.varint(chunk.length)
                index.varint(chunk.samples)
                index.varint(chunk.base)
                index.signed(chunk.first &- minTime)
                index.varint(UInt64(bitPattern: chunk.last &- chunk.first))
                index.uint32(chunk.crc)
            }
        }
        index.varint(postings.count)
        for labelName in postings.keys.sorted() {
            index.varint(labelName)
            let values = postings[labelName]!
            index.varint(values.count)
            for labelValue in values.keys.sorted() {
                index.varint(labelValue)
                let list = values[labelValue]!
                index.varint(list.count)
                var previous = 0
                for number in list {
                    index.varint(number - previous)
                    previous = number
                }
            }
        }
        let indexOffset = offset
        output.append(contentsOf: index.bytes)
        var footer = ByteWriter()
        footer.uint64(UInt64(indexOffset))
        footer.uint64(UInt64(index.bytes.count))
        footer.uint32(CRC32C.checksum(index.bytes))
        footer.uint64(UInt64(bitPattern: minTime))
        footer.uint64(UInt64(bitPattern: maxTime))
        footer.uint32(CRC32C.checksum(footer.bytes))
        footer.bytes.append(contentsOf: footerMagic)
        output.append(contentsOf: footer.bytes)
        try FileSystem.write(descriptor, output, path: temporary)
        try FileSystem.sync(descriptor, path: temporary)
        close(descriptor)
        closed = true
        try FileSystem.rename(temporary, path)
        let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        try FileSystem.syncDirectory(directory.isEmpty ? "." : directory)
        return Summary(path: path, series: keys.count, samples: totalSamples, bytes: Int64(indexOffset + index.bytes.count + footerLength),
                       minTime: minTime, maxTime: maxTime)
    }

    /// Whether `prefix` is where `whole` starts, compared as bytes (memcmp), as histogram buckets
    /// check every chunk's timestamps against their base's.
    static func samePrefix(_ prefix: UnsafeBufferPointer<Int64>, of whole: UnsafeBufferPointer<Int64>) -> Bool {
        guard prefix.count <= whole.count else { return false }
        return prefix.isEmpty || memcmp(prefix.baseAddress!, whole.baseAddress!, prefix.count * MemoryLayout<Int64>.stride) == 0
    }

    /// What a segment's footer records.
    struct Footer {
        var indexOffset: UInt64, indexLength: UInt64, indexCRC: UInt32
        var minTime: Int64, maxTime: Int64
    }

    /// Reads and checks the footer of the segment open as `descriptor`, `fileSize` bytes long:
    /// its magic, its checksum, and that the index it names lies between the chunks and itself.
    static func readFooter(_ descriptor: Int32, fileSize: Int64, path: String) throws(StoreError) -> Footer {
        guard fileSize >= Int64(magicLength + footerLength) else { throw StoreError("\(path): too short to be a segment (truncated?)") }
        let bytes = try FileSystem.read(descriptor, count: footerLength, at: fileSize - Int64(footerLength), path: path)
        guard Array(bytes.suffix(8)) == footerMagic else { throw StoreError("\(path): not a segment, or of an unknown version (bad magic)") }
        let parsed = bytes.withUnsafeBytes { raw -> (Footer, UInt32, UInt32) in
            var reader = ByteReader(raw)
            let footer = Footer(indexOffset: (try? reader.uint64()) ?? 0, indexLength: (try? reader.uint64()) ?? 0, indexCRC: (try? reader.uint32()) ?? 0,
                                minTime: Int64(bitPattern: (try? reader.uint64()) ?? 0), maxTime: Int64(bitPattern: (try? reader.uint64()) ?? 0))
            return (footer, (try? reader.uint32()) ?? 0, CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<36])))
        }
        guard parsed.1 == parsed.2 else { throw StoreError("\(path): damaged footer (checksum mismatch)") }
        let footer = parsed.0, size = UInt64(fileSize)
        guard footer.indexOffset >= UInt64(magicLength), footer.indexOffset <= size, footer.indexLength <= size,
              footer.indexOffset + footer.indexLength + UInt64(footerLength) == size else {
            throw StoreError("\(path): damaged footer (index out of bounds)")
        }
        return footer
    }

    /// The time range a segment's footer records, read without its index; nil if the footer is
    /// not whole.
    public static func timeRange(path: String) -> (minTime: Int64, maxTime: Int64)? {
        withFooter(path: path) { _, footer in (footer.minTime, footer.maxTime) }
    }

    /// Opens `path`, reads its footer and hands both to `body`; nil if the file does not open or
    /// its footer is not whole.
    private static func withFooter<T>(path: String, _ body: (_ descriptor: Int32, Footer) -> T?) -> T? {
        guard let descriptor = try? FileSystem.open(path, O_RDONLY) else { return nil }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, let footer = try? readFooter(descriptor, fileSize: Int64(info.st_size), path: path) else { return nil }
        return body(descriptor, footer)
    }

    /// The generations a segment's index says it replaces, read from the index's first bytes
    /// without checking the index whole: cheap enough to ask of every segment of a store, and to
    /// be confirmed with a full open before anything is removed on its word. Nil if the footer or
    /// the first bytes do not read.
    public static func claimedReplacements(path: String) -> [UInt64]? {
        withFooter(path: path) { descriptor, footer in claimedReplacements(descriptor, footer, path: path) }
    }

    private static func claimedReplacements(_ descriptor: Int32, _ footer: Footer, path: String) -> [UInt64]? {
        // Version, generation and a count: a few bytes; then up to 10 bytes a generation.
        var prefixLength = min(Int(footer.indexLength), 64)
        while true {
            guard let prefix = try? FileSystem.read(descriptor, count: prefixLength, at: Int64(footer.indexOffset), path: path) else { return nil }
            let parsed = prefix.withUnsafeBytes { raw -> [UInt64]?? in
                var reader = ByteReader(raw)
                do throws(ByteReader.Truncated) {
                    guard readableVersions.contains(try reader.varint()) else { return .some(nil) }
                    _ = try reader.varint()
                    var replaces: [UInt64] = []
                    for _ in 0..<(try reader.count(limit: 1 << 20)) { replaces.append(try reader.varint()) }
                    return .some(replaces)
                } catch {
                    return nil  // read more
                }
            }
            if let parsed { return parsed }
            guard prefixLength < Int(footer.indexLength) else { return nil }
            prefixLength = min(Int(footer.indexLength), prefixLength * 16)
        }
    }

    /// Where one chunk lies in a segment, and what it covers.
    public struct ChunkReference: Sendable {
        public var offset: Int
        public var length: Int
        public var samples: Int
        /// The series whose chunk at the same position this one is coded against, or -1.
        public var base: Int32
        /// The chunk's position among its series' chunks.
        public var ordinal: Int32
        public var minTime: Int64
        public var maxTime: Int64
        public var crc: UInt32
        /// Whether another series' chunk is coded against this one.
        public var isBase = false
    }

    /// Reads a segment: its index at once, its chunks on demand.
    public final class Reader {
        public let path: String
        private let descriptor: Int32
        public let generation: UInt64
        /// Generations of segments this one replaces (a compaction's inputs).
        public let replaces: [UInt64]
        public let minTime: Int64
        public let maxTime: Int64
        public let fileSize: Int64
        /// The format of the segment's chunks (its index's version).
        public let chunkFormat: Int
        private let symbols: [String]
        /// The index, kept whole: each series' entry (name, labels, chunks) is read from it when
        /// asked for, since most queries need few of them. Every entry was checked at opening.
        private let index: [UInt8]
        /// Where each series' entry starts in `index`.
        private let seriesOffsets: [Int32]
        /// Label name -> value -> series numbers (ascending).
        private let postings: [String: [String: [Int32]]]
        /// Per series, whether other series' chunks are coded against its chunks (a histogram's
        /// buckets are): only such chunks are worth keeping in a cache once decoded.
        private let bases: [Bool]

        public init(path: String) throws(StoreError) {
            self.path = path
            descriptor = try FileSystem.open(path, O_RDONLY)
            do throws(StoreError) {
                var info = stat()
                guard fstat(descriptor, &info) == 0 else { throw .system(path, "cannot stat") }
                fileSize = Int64(info.st_size)
                let footer = try Segment.readFooter(descriptor, fileSize: fileSize, path: path)
                let head = try FileSystem.read(descriptor, count: magicLength, at: 0, path: path)
                guard readableVersions.contains(where: { head == magic(version: Int($0)) }) else {
                    throw StoreError("\(path): not a segment, or of an unknown version (bad magic)")
                }
                let (indexOffset, indexLength, indexCRC) = (footer.indexOffset, footer.indexLength, footer.indexCRC)
                minTime = footer.minTime
                maxTime = footer.maxTime
                let index = try FileSystem.read(descriptor, count: Int(indexLength), at: Int64(indexOffset), path: path)
                guard CRC32C.checksum(index) == indexCRC else { throw StoreError("\(path): damaged index (checksum mismatch)") }
                let parsed = index.withUnsafeBytes { raw in Reader.parseIndex(raw, minTime: footer.minTime, chunkLimit: Int(indexOffset)) }
                guard let parsed else { throw StoreError("\(path): damaged index (bad contents)") }
                (chunkFormat, generation, replaces, symbols, seriesOffsets, postings, bases) = parsed
                self.index = index
            } catch {
                close(descriptor)
                throw error
            }
        }

        deinit { close(descriptor) }

        /// Reads the index: symbols and postings whole, series entries only checked and located.
        private static func parseIndex(_ raw: UnsafeRawBufferPointer, minTime: Int64, chunkLimit: Int)
            -> (Int, UInt64, [UInt64], [String], [Int32], [String: [String: [Int32]]], [Bool])? {
            var reader = ByteReader(raw)
            do throws(ByteReader.Truncated) {
                let version = try reader.varint()
                guard readableVersions.contains(version) else { return nil }
                let generation = try reader.varint()
                var replaces: [UInt64] = []
                for _ in 0..<(try reader.count(limit: 1 << 20)) { replaces.append(try reader.varint()) }
                var symbols: [String] = []
                for _ in 0..<(try reader.count()) { symbols.append(String(decoding: try reader.data(), as: UTF8.self)) }
                func symbol() throws(ByteReader.Truncated) -> Int32 {
                    let value = try reader.count()
                    guard value < symbols.count else { throw ByteReader.Truncated() }
                    return Int32(value)
                }
                var offsets: [Int32] = []
                let seriesCount = try reader.count()
                offsets.reserveCapacity(min(seriesCount, raw.count))
                var bases = [Bool](repeating: false, count: min(seriesCount, raw.count))
                for _ in 0..<seriesCount {
                    offsets.append(Int32(reader.offset))
                    _ = try symbol()
                    for _ in 0..<(try reader.count(limit: 1 << 16)) {
                        _ = try symbol()
                        _ = try symbol()
                    }
                    for _ in 0..<(try reader.count(limit: 1 << 24)) {
                        let offset = try reader.count(limit: chunkLimit)
                        let length = try reader.count(limit: chunkLimit)
                        guard offset + length <= chunkLimit else { return nil }
                        _ = try reader.count(limit: ChunkCodec.maximumSamples)
                        let base = try reader.count(limit: seriesCount)
                        guard base <= offsets.count - 1 else { return nil }  // only earlier series
                        if base > 0 { bases[base - 1] = true }
                        _ = try reader.signed()
                        _ = try reader.varint()
                        _ = try reader.uint32()
                    }
                }
                var postings: [String: [String: [Int32]]] = [:]
                for _ in 0..<(try reader.count()) {
                    let labelName = symbols[Int(try symbol())]
                    var values: [String: [Int32]] = [:]
                    for _ in 0..<(try reader.count()) {
                        let labelValue = symbols[Int(try symbol())]
                        var list: [Int32] = []
                        var previous = 0
                        for _ in 0..<(try reader.count(limit: seriesCount)) {
                            previous += try reader.count(limit: seriesCount)
                            guard previous < seriesCount else { return nil }
                            list.append(Int32(previous))
                        }
                        values[labelValue] = list
                    }
                    postings[labelName] = values
                }
                return (Int(version), generation, replaces, symbols, offsets, postings, bases)
            } catch {
                return nil
            }
        }

        /// How many series the segment holds.
        public var seriesCount: Int { seriesOffsets.count }

        /// How many samples the segment holds.
        public var sampleCount: Int { (0..<seriesCount).reduce(0) { $0 + chunks($1).reduce(0) { $0 + $1.samples } } }

        /// The name and labels of series `number`.
        public func key(_ number: Int) -> ExpositionParser.SeriesKey {
            index.withUnsafeBytes { raw in
                var reader = ByteReader(raw, offset: Int(seriesOffsets[number]))
                // Checked when the segment was opened.
                let name = symbols[(try? reader.count()) ?? 0]
                var labels: [Label] = []
                for _ in 0..<((try? reader.count()) ?? 0) {
                    let label = symbols[(try? reader.count()) ?? 0]
                    labels.append(Label(label, symbols[(try? reader.count()) ?? 0]))
                }
                return ExpositionParser.SeriesKey(name: name, labels: labels)
            }
        }

        /// The chunks of series `number`, in time order.
        public func chunks(_ number: Int) -> [ChunkReference] {
            index.withUnsafeBytes { raw in
                var reader = ByteReader(raw, offset: Int(seriesOffsets[number]))
                var chunks: [ChunkReference] = []
                do throws(ByteReader.Truncated) {
                    _ = try reader.count()
                    for _ in 0..<(try reader.count()) {
                        _ = try reader.count()
                        _ = try reader.count()
                    }
                    for ordinal in 0..<(try reader.count()) {
                        let offset = try reader.count(limit: .max)
                        let length = try reader.count(limit: .max)
                        let samples = try reader.count(limit: .max)
                        let base = try reader.count(limit: .max)
                        let first = minTime &+ (try reader.signed())
                        let last = first &+ Int64(bitPattern: try reader.varint())
                        chunks.append(ChunkReference(offset: offset, length: length, samples: samples, base: Int32(base) - 1, ordinal: Int32(ordinal),
                                                     minTime: first, maxTime: last, crc: try reader.uint32(), isBase: bases[number]))
                    }
                } catch {
                    // Checked when the segment was opened.
                }
                return chunks
            }
        }

        /// Series numbers whose label `name` has `value` (`__name__` for the metric name), ascending.
        public func postings(name: String, value: String) -> [Int32] { postings[name]?[value] ?? [] }

        /// Every value of label `name` in this segment, with its series numbers.
        public func postings(name: String) -> [String: [Int32]] { postings[name] ?? [:] }

        /// Every sample of series `number`, all its chunks read in time order.
        public func readSeries(_ number: Int) throws(StoreError) -> (timestamps: [Int64], values: [Double]) {
            var timestamps: [Int64] = []
            var values: [Double] = []
            for chunk in chunks(number) {
                let decoded = try read(chunk)
                timestamps += decoded.timestamps
                values += decoded.values
            }
            return (timestamps, values)
        }

        /// How many decoded samples the reader keeps for reuse, by chunk: a histogram's bases, read
        /// for each of their buckets, and chunks that several queries of one run read (malert's
        /// rules). When the budget is spent, everything is dropped at once.
        public var cacheBudget: Int {
            get { cache.budget }
            set { cache.budget = newValue }
        }
        /// The budget a reader starts with.
        public static let defaultCacheBudget = 1 << 16
        private let cache = ChunkCache(budget: defaultCacheBudget)

        /// Reads and decodes one chunk, checking its checksum, and adds back its base's values;
        /// samples after `limit` need not be decoded (some may come back, from the cache). With
        /// `cache`, decoded chunks are kept there rather than in the reader's own cache: reads
        /// with a cache each never touch the reader's state, so threads may read at once.
        public func read(_ chunk: ChunkReference, through limit: Int64 = .max, cache: ChunkCache? = nil) throws(StoreError) -> (timestamps: [Int64], values: [Double]) {
            let decoded = try read(chunk, through: chunk.maxTime <= limit ? .max : limit, depth: 0, cache: cache ?? self.cache)
            return (Array(decoded.timestamps), Array(decoded.values))
        }

        /// A chunk `read(_:through:cache:into:...)` decoded into the caller's memory that its cache
        /// should keep (another chunk is coded against it): where, and through which time. The
        /// caller hands these to `keep(_:timestamps:values:cache:)` once its arrays are made.
        public struct DecodedInPlace: Sendable {
            let offset: Int
            let start: Int
            let count: Int
            let through: Int64
        }

        /// Keeps chunks decoded in place in `cache` as slices of the arrays they were decoded
        /// into, without copying them; each counts against the cache's budget as its whole array.
        public func keep(_ decoded: [DecodedInPlace], timestamps: [Int64], values: [Double], cache: ChunkCache?) {
            let cache = cache ?? self.cache
            for one in decoded where one.start + one.count <= min(timestamps.count, values.count) {
                let range = one.start..<(one.start + one.count)
                cache.keep(one.offset, timestamps[range], values[range], weight: max(timestamps.count, values.count), through: one.through)
            }
        }

        /// Several chunks as `read(_:through:cache:)` reads them, into memory the caller gives:
        /// each chunk's samples go to `timestamps` and `values` from `filled` on (with room for
        /// `room` samples from the start), `filled` moves past them, and `each` gets where they
        /// begin and how many they are, or the chunk's error. Chunks that lie one after another
        /// in the file (a series' chunks usually do) are read from it together, with one call. A
        /// chunk that is neither coded against another nor kept for others (most are) is decoded
        /// there at once, without arrays of its own.
        public func read(_ chunks: [ChunkReference], through limit: Int64, cache: ChunkCache?,
                         into timestamps: UnsafeMutablePointer<Int64>, _ values: UnsafeMutablePointer<Double>, room: Int,
                         filled: inout Int, keeping: inout [DecodedInPlace], _ each: (Result<(start: Int, count: Int), StoreError>) -> Void) {
            let cache = cache ?? self.cache
            var at = filled
            forEachRead(chunks, through: limit, cache: cache) { chunk, chunkLimit, given in
                each(Result { () throws(StoreError) -> (start: Int, count: Int) in
                    let start = at
                    if let known = cache.decoded(chunk.offset, through: chunkLimit), !known.timestamps.isEmpty {
                        guard known.timestamps.count <= room - start else { throw damaged(chunk, "sample count") }
                        known.timestamps.withUnsafeBufferPointer { (timestamps + start).update(from: $0.baseAddress!, count: $0.count) }
                        known.values.withUnsafeBufferPointer { (values + start).update(from: $0.baseAddress!, count: $0.count) }
                        at += known.timestamps.count
                        return (start, known.timestamps.count)
                    }
                    let kept = try decode(chunk, through: chunkLimit, depth: 0, cache: cache, bytes: given,
                                          into: timestamps + start, values + start, room: room - start)
                    if keeps(chunk, cache) { keeping.append(DecodedInPlace(offset: chunk.offset, start: start, count: kept, through: chunkLimit)) }
                    at += kept
                    return (start, kept)
                })
            }
            filled = at
        }

        /// The decoded chunk `chunk` is coded against (a series' chunk at the same position).
        private func base(of chunk: ChunkReference, through limit: Int64, depth: Int, cache: ChunkCache) throws(StoreError)
            -> (timestamps: ArraySlice<Int64>, values: ArraySlice<Double>) {
            let baseChunks = chunks(Int(chunk.base))
            guard depth < 64, Int(chunk.ordinal) < baseChunks.count else {
                throw StoreError("\(path): damaged index (chunk at byte \(chunk.offset) has no base)")
            }
            return try read(baseChunks[Int(chunk.ordinal)], through: limit, depth: depth + 1, cache: cache)
        }

        /// Adds a base's values to a chunk's decoded differences, after checking that the chunk's
        /// timestamps are the base's first ones.
        private func addBase(_ base: (timestamps: ArraySlice<Int64>, values: ArraySlice<Double>), to chunk: ChunkReference,
                             timestamps: UnsafeBufferPointer<Int64>, values differences: UnsafeMutableBufferPointer<Double>) throws(StoreError) {
            let same = base.values.count >= differences.count && base.timestamps.withUnsafeBufferPointer { Segment.samePrefix(timestamps, of: $0) }
            guard same else { throw StoreError("\(path): damaged chunk at byte \(chunk.offset) (timestamps differ from its base)") }
            base.values.withUnsafeBufferPointer { baseValues in
                for index in differences.indices { differences[index] += baseValues[index] }
            }
        }

        private func damaged(_ chunk: ChunkReference, _ what: String) -> StoreError {
            StoreError("\(path): damaged chunk at byte \(chunk.offset) (\(what))")
        }

        /// Calls `body` for each chunk, with the limit to decode it through and, for chunks that
        /// lie one after another in the file (none decoded already), their bytes, read together.
        private func forEachRead(_ chunks: [ChunkReference], through limit: Int64, cache: ChunkCache,
                                 _ body: (ChunkReference, Int64, UnsafeBufferPointer<UInt8>?) -> Void) {
            func cached(_ chunk: ChunkReference) -> Bool { cache.decoded(chunk.offset, through: chunk.maxTime <= limit ? .max : limit) != nil }
            var first = 0
            while first < chunks.count {
                var end = first + 1
                if !cached(chunks[first]) {
                    while end < chunks.count && chunks[end].offset == chunks[end - 1].offset + chunks[end - 1].length && !cached(chunks[end]) { end += 1 }
                }
                let run = chunks[first..<end]
                let bytes = run.count > 1 ? try? FileSystem.read(descriptor, count: run.reduce(0) { $0 + $1.length }, at: Int64(run[first].offset), path: path) : nil
                var position = 0
                for chunk in run {
                    let chunkLimit = chunk.maxTime <= limit ? .max : limit
                    if let bytes {
                        bytes.withUnsafeBufferPointer { whole in body(chunk, chunkLimit, UnsafeBufferPointer(rebasing: whole[position..<(position + chunk.length)])) }
                    } else {
                        body(chunk, chunkLimit, nil)
                    }
                    position += chunk.length
                }
                first = end
            }
        }

        /// A chunk decoded into arrays of its own, or as the cache has it.
        private func read(_ chunk: ChunkReference, through limit: Int64, depth: Int, cache: ChunkCache) throws(StoreError)
            -> (timestamps: ArraySlice<Int64>, values: ArraySlice<Double>) {
            if let known = cache.decoded(chunk.offset, through: limit) { return (known.timestamps, known.values) }
            var failure: StoreError?, kept = 0
            var values: [Double] = []
            let timestamps = [Int64](unsafeUninitializedCapacity: chunk.samples) { times, timesInitialized in
                values = [Double](unsafeUninitializedCapacity: chunk.samples) { numbers, numbersInitialized in
                    guard let times = times.baseAddress, let numbers = numbers.baseAddress else { return }
                    do throws(StoreError) {
                        kept = try decode(chunk, through: limit, depth: depth, cache: cache, bytes: nil, into: times, numbers, room: chunk.samples)
                    } catch {
                        failure = error
                    }
                    numbersInitialized = kept
                }
                timesInitialized = kept
            }
            if let failure { throw failure }
            if keeps(chunk, cache) { cache.keep(chunk.offset, timestamps[...], values[...], weight: timestamps.count, through: limit) }
            return (timestamps[...], values[...])
        }

        /// Decodes `chunk` through `limit` from `bytes` when they are given (its bytes, read
        /// already), else from the file, into memory with room for `room` samples, checking its
        /// checksum and sample count and adding back its base's values; returns how many samples
        /// it wrote.
        private func decode(_ chunk: ChunkReference, through limit: Int64, depth: Int, cache: ChunkCache, bytes given: UnsafeBufferPointer<UInt8>?,
                            into timestamps: UnsafeMutablePointer<Int64>, _ values: UnsafeMutablePointer<Double>, room: Int) throws(StoreError) -> Int {
            guard let bytes = given else {
                let bytes = try FileSystem.read(descriptor, count: chunk.length, at: Int64(chunk.offset), path: path)
                return try bytes.withUnsafeBufferPointer { bytes throws(StoreError) in
                    try decode(chunk, through: limit, depth: depth, cache: cache, bytes: bytes, into: timestamps, values, room: room)
                }
            }
            guard CRC32C.checksum(UnsafeRawBufferPointer(bytes)) == chunk.crc else { throw damaged(chunk, "checksum mismatch") }
            guard let decoded = ChunkCodec.decode(bytes, through: limit, format: chunkFormat, into: timestamps, values, room: room),
                  decoded.count == chunk.samples else { throw damaged(chunk, "sample count") }
            if chunk.base >= 0 {
                // Coded against another series' chunk: its values added back in place.
                let base = try self.base(of: chunk, through: limit, depth: depth, cache: cache)
                try addBase(base, to: chunk, timestamps: UnsafeBufferPointer(start: timestamps, count: decoded.kept),
                            values: UnsafeMutableBufferPointer(start: values, count: decoded.kept))
            }
            return decoded.kept
        }

        /// Whether `cache` keeps `chunk` once decoded: if another chunk is coded against it, or
        /// if the cache was made larger than the default for reuse (malert's rules read the same
        /// series again and again); one query rarely reads another chunk twice.
        private func keeps(_ chunk: ChunkReference, _ cache: ChunkCache) -> Bool {
            chunk.isBase || cache.budget > Reader.defaultCacheBudget
        }
    }

    /// Decoded chunks of one segment kept for reuse, by offset, up to a budget of samples; when
    /// the budget is spent, the oldest are dropped first (a histogram's next bucket needs the
    /// chunks of the one read just before).
    public final class ChunkCache {
        public var budget: Int
        /// Slices of the arrays chunks were decoded into (their own, or a whole series' read),
        /// and the samples each keeps alive: a slice keeps its whole array.
        private var entries: [Int: (timestamps: ArraySlice<Int64>, values: ArraySlice<Double>, through: Int64, weight: Int)] = [:]
        private var samples = 0
        /// The offsets kept, oldest first.
        private(set) var keptOffsets: [Int] = []

        public init(budget: Int) {
            self.budget = budget
        }

        /// The chunk at `offset`, if kept decoded through `limit` or later.
        func decoded(_ offset: Int, through limit: Int64) -> (timestamps: ArraySlice<Int64>, values: ArraySlice<Double>)? {
            guard let known = entries[offset], known.through >= limit else { return nil }
            return (known.timestamps, known.values)
        }

        /// Keeps a chunk's samples, which keep `weight` samples alive (their arrays' length),
        /// dropping the oldest entries while the budget would be exceeded (a chunk heavier than
        /// the whole budget is still kept, alone); a chunk kept again counts as the newest.
        func keep(_ offset: Int, _ timestamps: ArraySlice<Int64>, _ values: ArraySlice<Double>, weight: Int, through limit: Int64) {
            if let replaced = entries.removeValue(forKey: offset) {
                samples -= replaced.weight
                keptOffsets.removeAll { $0 == offset }
            }
            var dropped = 0
            while samples + weight > budget && dropped < keptOffsets.count {
                samples -= entries.removeValue(forKey: keptOffsets[dropped])?.weight ?? 0
                dropped += 1
            }
            keptOffsets.removeFirst(dropped)
            entries[offset] = (timestamps, values, limit, weight)
            keptOffsets.append(offset)
            samples += weight
        }
    }
}
