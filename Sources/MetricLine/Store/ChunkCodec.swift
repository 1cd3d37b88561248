/// One series' samples in a time window, compressed losslessly: every value and timestamp reads
/// back bit for bit.
///
/// Timestamps are coded as the first one and the first delta; then one bit says whether all the
/// rest follow at that interval, and if not, deltas of deltas follow. Values are looked at as a whole first:
/// - all the same bits: stored once;
/// - decimals (every value is an integer m / 10^k for one small k, like 0.01 s counters, 2-place
///   loads or byte counts): the integers m, divided by their common factor (1024 for kB memory,
///   4096 for blocks), coded as differences, differences of differences, or differences from the
///   mean difference, whichever is smallest;
/// - anything else (17-digit floats): differences of the IEEE bit patterns.
/// NaN, infinities, staleness markers and -0 are kept aside as exceptions so they do not push a
/// whole chunk off the decimal path. All of it goes through one adaptive range coder, except, from
/// format 3, residuals a table codes faster for nearly as few bytes (`ResidualTable`).
public enum ChunkCodec {
    /// How values are represented in a chunk.
    enum ValueKind: UInt64 {
        case constant = 0, decimal = 1, float = 2
    }

    /// How residuals are predicted from earlier values.
    enum Predictor: UInt64 {
        /// r = x[i] - x[i-1]
        case delta = 0
        /// r = (x[i] - x[i-1]) - (x[i-1] - x[i-2])
        case deltaOfDelta = 1
        /// r = (x[i] - x[i-1]) - D, with D the chunk's rounded mean difference
        case deltaFromMean = 2
    }

    /// The format chunks are written in: 2 codes integers with fewer decisions than 1 (see
    /// `IntegerModel`); 3 may code a chunk's residuals with a table instead (`ResidualTable`).
    /// Readers take all three, as their segment's index says.
    public static let currentFormat = 3

    /// From how many residuals a chunk's are coded with a table (which decodes several times
    /// faster) rather than the adaptive coder: below it the table's fixed cost (its symbols, two
    /// final states, two lengths: about a dozen bytes) weighs too much. On the standard dataset,
    /// where nearly every chunk has more, a compacted store takes 0.592 bytes a sample (0.580 in
    /// format 2). Writers measured earlier coded both ways and took the table when it was at most
    /// 12/64 larger: 0.588, but with ingest a fifth slower and q4 about 6 % slower to query, as
    /// most low-entropy histogram chunks stayed on the adaptive coder.
    static let tableMinimum = 64

    /// The most samples one chunk may hold; writers split longer runs.
    public static let maximumSamples = 1 << 20

    /// The time one chunk covers at most, in blocks aligned to multiples of it: a query for the
    /// last minutes then decodes a few hours of a series, not a whole day, and the series of one
    /// histogram still split at the same instants, so a chunk's base has the same ordinal.
    public static let timeSpan: Int64 = 6 * 3_600_000

    /// The end (exclusive) of the first chunk of `timestamps[start...]`: at most `maximumSamples`
    /// samples, all within one aligned block of `timeSpan`.
    static func chunkEnd(_ timestamps: [Int64], from start: Int) -> Int {
        let first = timestamps[start]
        let remainder = first % timeSpan
        let blockEnd = (remainder < 0 ? first - remainder - timeSpan : first - remainder) + timeSpan
        let limit = min(start + maximumSamples, timestamps.count)
        var low = start + 1, high = limit
        while low < high {
            let middle = (low + high) / 2
            if timestamps[middle] < blockEnd { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The largest number of decimal places tried.
    static let maximumDecimalPlaces = 15

    /// Compresses samples; `timestamps` must be strictly increasing and as long as `values`,
    /// with at most `maximumSamples` of them.
    public static func encode(timestamps: [Int64], values: [Double], format: Int = currentFormat) -> [UInt8] {
        precondition(timestamps.count == values.count && timestamps.count <= maximumSamples)
        var encoder = RangeEncoder(format: format)
        let header = IntegerModel(format: format)
        let count = timestamps.count
        header.encode(Int64(count), &encoder)
        guard count > 0 else {
            encoder.finish()
            return encoder.bytes
        }
        encodeTimestamps(timestamps, header: header, &encoder)

        // Exceptions: values the decimal and float paths should not see.
        var regular: [Double] = []
        regular.reserveCapacity(count)
        var exceptions: [(index: Int, bits: UInt64)] = []
        for (index, value) in values.enumerated() {
            if !value.isFinite || (value == 0 && value.sign == .minus) {
                exceptions.append((index, value.bitPattern))
            } else {
                regular.append(value)
            }
        }
        header.encode(Int64(exceptions.count), &encoder)
        var previousIndex = -1
        for exception in exceptions {
            header.encode(Int64(exception.index - previousIndex - 1), &encoder)
            encoder.encodeDirect(exception.bits, count: 64)
            previousIndex = exception.index
        }
        // A table's streams end the chunk, after the range-coded part.
        let tail = regular.isEmpty ? [] : encodeValues(regular, header: header, &encoder)
        encoder.finish()
        return tail.isEmpty ? encoder.bytes : encoder.bytes + tail
    }

    /// Decompresses a chunk of `format` (the segment's: decoding in another gives wrong numbers
    /// that pass the checksum, so it has no default). Damaged bytes give wrong numbers, never a
    /// crash; checksums catch them.
    public static func decode(_ bytes: UnsafeBufferPointer<UInt8>, format: Int) -> (timestamps: [Int64], values: [Double]) {
        let decoded = decode(bytes, through: .max, format: format)
        return (decoded.timestamps, decoded.values)
    }

    /// Decompresses the samples of a chunk up to time `limit` (inclusive): values are coded one
    /// after another, so the ones after the limit need not be decoded at all. `count` is how many
    /// samples the whole chunk holds.
    public static func decode(_ bytes: UnsafeBufferPointer<UInt8>, through limit: Int64, format: Int)
        -> (timestamps: [Int64], values: [Double], count: Int) {
        var decoder = RangeDecoder(bytes, format: format)
        let count = Int(clamping: IntegerModel(format: format).decode(&decoder))
        // A damaged count must not make us allocate without bound.
        guard count > 0, count <= maximumSamples else { return ([], [], 0) }
        var decoded: (kept: Int, count: Int)? = nil
        var values: [Double] = []
        let timestamps = [Int64](unsafeUninitializedCapacity: count) { times, timesInitialized in
            values = [Double](unsafeUninitializedCapacity: count) { numbers, numbersInitialized in
                decoded = decode(bytes, through: limit, format: format, into: times.baseAddress!, numbers.baseAddress!, room: count)
                numbersInitialized = decoded?.kept ?? 0
            }
            timesInitialized = decoded?.kept ?? 0
        }
        guard let decoded else { return ([], [], 0) }
        return (timestamps, values, decoded.count)
    }

    /// Decompresses the samples of a chunk up to time `limit` into memory the caller gives, with
    /// room for `room` samples from `timestamps` and from `values` on: how many were written and
    /// how many the whole chunk holds, or nil when it is damaged or holds more than `room`.
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, through limit: Int64, format: Int,
                       into timestamps: UnsafeMutablePointer<Int64>, _ values: UnsafeMutablePointer<Double>, room: Int) -> (kept: Int, count: Int)? {
        var decoder = RangeDecoder(bytes, format: format)
        let header = IntegerModel(format: format)
        let count = Int(clamping: header.decode(&decoder))
        guard count > 0, count <= maximumSamples, count <= room else { return nil }
        decodeTimestamps(count: count, header: header, &decoder, into: timestamps)
        let exceptionCount = Int(clamping: header.decode(&decoder))
        guard exceptionCount >= 0, exceptionCount <= count else { return nil }
        var exceptions: [(index: Int, bits: UInt64)] = []
        var previousIndex = -1
        for _ in 0..<exceptionCount {
            let gap = Int(clamping: header.decode(&decoder))
            let index = previousIndex &+ 1 &+ max(gap, 0)
            // Damaged data can name a place outside the chunk (or wrap around): no chunk then.
            guard index > previousIndex, index < count else { return nil }
            exceptions.append((index, decoder.decodeDirect(count: 64)))
            previousIndex = index
        }
        let kept = limit == .max ? count : UnsafeBufferPointer(start: timestamps, count: count).partitionIndex { $0 > limit }
        let regularCount = kept - exceptions.reduce(0) { $0 + ($1.index < kept ? 1 : 0) }
        // The regular values first, at the front; then, from the back, each moves up past the
        // exceptions that come before it, which take their places.
        if regularCount > 0 { decodeValues(count: regularCount, header: header, &decoder, chunk: bytes, into: values) }
        var regular = regularCount - 1
        var exception = exceptions.count - 1
        while exception >= 0 && exceptions[exception].index >= kept { exception -= 1 }
        // Exceptions are in order within the chunk, so the regular values fill exactly the
        // places they leave.
        var position = kept - 1
        while exception >= 0 {
            if exceptions[exception].index == position {
                values[position] = Double(bitPattern: exceptions[exception].bits)
                exception -= 1
            } else {
                values[position] = values[regular]
                regular -= 1
            }
            position -= 1
        }
        return (kept, count)
    }

    /// Whether a chunk of format 3 codes its residuals with a table (`ResidualTable`): its
    /// header read up to that choice.
    static func codesResidualsWithTable(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { buffer in
            var decoder = RangeDecoder(buffer, format: 3)
            let header = IntegerModel(format: 3)
            let count = Int(clamping: header.decode(&decoder))
            guard count > 1, count <= maximumSamples else { return false }
            _ = decodeTimestamps(count: count, header: header, &decoder)
            let exceptions = Int(clamping: header.decode(&decoder))
            guard exceptions >= 0, exceptions < count - 1 else { return false }
            for _ in 0..<exceptions {
                _ = header.decode(&decoder)
                _ = decoder.decodeDirect(count: 64)
            }
            switch ValueKind(rawValue: decoder.decodeDirect(count: 2)) {
            case .decimal:
                _ = header.decode(&decoder)
                _ = header.decode(&decoder)
            case .float: break
            case .constant, nil: return false
            }
            _ = header.decode(&decoder)
            if Predictor(rawValue: decoder.decodeDirect(count: 2)) == .deltaFromMean { _ = header.decode(&decoder) }
            return decoder.decodeDirect(count: 1) == 1
        }
    }

    // MARK: Timestamps

    private static func encodeTimestamps(_ timestamps: [Int64], header: IntegerModel, _ encoder: inout RangeEncoder) {
        header.encode(timestamps[0], &encoder)
        guard timestamps.count > 1 else { return }
        var previousDelta = timestamps[1] &- timestamps[0]
        header.encode(previousDelta, &encoder)
        // Most series are scraped at a fixed interval: then one bit says so.
        var regular = true
        for index in 2..<timestamps.count where timestamps[index] &- timestamps[index - 1] != previousDelta {
            regular = false
            break
        }
        encoder.encodeDirect(regular ? 1 : 0, count: 1)
        if regular { return }
        let model = IntegerModel(format: header.format)
        for index in 2..<timestamps.count {
            let delta = timestamps[index] &- timestamps[index - 1]
            model.encode(delta &- previousDelta, &encoder)
            previousDelta = delta
        }
    }

    private static func decodeTimestamps(count: Int, header: IntegerModel, _ decoder: inout RangeDecoder) -> [Int64] {
        [Int64](unsafeUninitializedCapacity: count) { buffer, initialized in
            decodeTimestamps(count: count, header: header, &decoder, into: buffer.baseAddress!)
            initialized = count
        }
    }

    private static func decodeTimestamps(count: Int, header: IntegerModel, _ decoder: inout RangeDecoder, into timestamps: UnsafeMutablePointer<Int64>) {
        let first = header.decode(&decoder)
        timestamps[0] = first
        guard count > 1 else { return }
        var delta = header.decode(&decoder)
        if decoder.decodeDirect(count: 1) == 1 {
            // Evenly spaced: four lanes at a time by additions (no vector multiply of 64-bit
            // integers here), so the loop need not wait on the last.
            let memory = UnsafeMutableRawPointer(timestamps)
            var lanes = SIMD4<Int64>(first, first &+ delta, first &+ 2 &* delta, first &+ 3 &* delta)
            let move = SIMD4<Int64>(repeating: 4 &* delta)
            var index = 0
            while index + 4 <= count {
                memory.storeBytes(of: lanes, toByteOffset: index * 8, as: SIMD4<Int64>.self)
                lanes &+= move
                index += 4
            }
            while index < count {
                timestamps[index] = first &+ Int64(index) &* delta
                index += 1
            }
            return
        }
        timestamps[1] = first &+ delta
        let model = IntegerModel(format: header.format)
        for index in 2..<count {
            delta = delta &+ model.decode(&decoder)
            timestamps[index] = timestamps[index - 1] &+ delta
        }
    }

    // MARK: Values

    /// How values are represented, and the integers that represent them.
    private enum Representation {
        case constant(UInt64)
        case decimal(places: Int, factor: Int64, integers: [Int64])
        case float(integers: [Int64])
    }

    private static func representation(of values: [Double]) -> Representation {
        let first = values[0].bitPattern
        if values.allSatisfy({ $0.bitPattern == first }) { return .constant(first) }
        if let places = decimalPlaces(values) {
            var integers = values.map { scaledInteger($0, places: places) }
            var factor: Int64 = 0
            for integer in integers { factor = greatestCommonDivisor(factor, integer) }
            if factor > 1 { integers = integers.map { $0 / factor } }
            return .decimal(places: places, factor: max(factor, 1), integers: integers)
        }
        return .float(integers: values.map { Int64(bitPattern: $0.bitPattern) })
    }

    /// A quick estimate, in bits, of what the values would cost: the residuals of the best
    /// predictor, without running the coder. Writers use it to choose between codings.
    public static func estimatedCost(of values: [Double]) -> Int {
        guard !values.isEmpty else { return 0 }
        switch representation(of: values) {
        case .constant: return 64
        case .decimal(_, _, let integers), .float(let integers): return predictorCosts(integers).min() ?? 0
        }
    }

    /// Codes values; returns the bytes that must end the chunk (a table's streams), if any.
    private static func encodeValues(_ values: [Double], header: IntegerModel, _ encoder: inout RangeEncoder) -> [UInt8] {
        switch representation(of: values) {
        case .constant(let bits):
            encoder.encodeDirect(ValueKind.constant.rawValue, count: 2)
            encoder.encodeDirect(bits, count: 64)
            return []
        case .decimal(let places, let factor, let integers):
            encoder.encodeDirect(ValueKind.decimal.rawValue, count: 2)
            header.encode(Int64(places), &encoder)
            header.encode(factor, &encoder)
            return encodeIntegers(integers, header: header, &encoder)
        case .float(let integers):
            encoder.encodeDirect(ValueKind.float.rawValue, count: 2)
            return encodeIntegers(integers, header: header, &encoder)
        }
    }

    /// Decodes `count` values into `values`.
    private static func decodeValues(count: Int, header: IntegerModel, _ decoder: inout RangeDecoder, chunk: UnsafeBufferPointer<UInt8>,
                                     into values: UnsafeMutablePointer<Double>) {
        switch ValueKind(rawValue: decoder.decodeDirect(count: 2)) {
        case .constant:
            values.initialize(repeating: Double(bitPattern: decoder.decodeDirect(count: 64)), count: count)
        case .decimal:
            let places = Int(clamping: header.decode(&decoder))
            let factor = header.decode(&decoder)
            guard places >= 0, places <= maximumDecimalPlaces else {
                values.initialize(repeating: .nan, count: count)
                return
            }
            let power = FloatParser.exactPowersOfTen[places]
            // Dividing by 1 changes nothing, and counts are whole numbers.
            let decoded = places == 0
                ? decodeIntegers(count: count, header: header, &decoder, chunk: chunk) { values[$0] = Double($1 &* factor) }
                : decodeIntegers(count: count, header: header, &decoder, chunk: chunk) { values[$0] = Double($1 &* factor) / power }
            if !decoded { values.initialize(repeating: .nan, count: count) }
        case .float:
            let decoded = decodeIntegers(count: count, header: header, &decoder, chunk: chunk) { values[$0] = Double(bitPattern: UInt64(bitPattern: $1)) }
            if !decoded { values.initialize(repeating: .nan, count: count) }
        case nil:
            values.initialize(repeating: .nan, count: count)
        }
    }

    /// Codes integers with the cheapest predictor; from format 3, the residuals with a table
    /// when there are at least `tableMinimum` of them. Returns the table's streams, to end the
    /// chunk with.
    private static func encodeIntegers(_ integers: [Int64], header: IntegerModel, _ encoder: inout RangeEncoder) -> [UInt8] {
        header.encode(integers[0], &encoder)
        guard integers.count > 1 else { return [] }
        let deltas = differences(integers)
        let meanDelta = mean(deltas)
        let costs = predictorCosts(integers)
        let predictor: Predictor = costs[1] < costs[0] && costs[1] <= costs[2] ? .deltaOfDelta : (costs[2] < costs[0] ? .deltaFromMean : .delta)
        encoder.encodeDirect(predictor.rawValue, count: 2)
        if predictor == .deltaFromMean { header.encode(meanDelta, &encoder) }
        var residuals: [Int64] = []
        residuals.reserveCapacity(deltas.count)
        var previousDelta: Int64 = 0
        for delta in deltas {
            switch predictor {
            case .delta: residuals.append(delta)
            case .deltaOfDelta: residuals.append(delta &- previousDelta)
            case .deltaFromMean: residuals.append(delta &- meanDelta)
            }
            previousDelta = delta
        }
        if header.format >= 3 {
            let table = residuals.count >= tableMinimum
            encoder.encodeDirect(table ? 1 : 0, count: 1)
            if table { return ResidualTable.encode(residuals, &encoder) }
        }
        let model = IntegerModel(format: header.format)
        for residual in residuals { model.encode(residual, &encoder) }
        return []
    }

    /// Decodes `count` integers, handing each to `emit` with its position; false if a table
    /// was damaged (then nothing was emitted after the first).
    @inline(__always)
    private static func decodeIntegers(count: Int, header: IntegerModel, _ decoder: inout RangeDecoder, chunk: UnsafeBufferPointer<UInt8>,
                                       _ emit: (Int, Int64) -> Void) -> Bool {
        let first = header.decode(&decoder)
        emit(0, first)
        guard count > 1 else { return true }
        let predictor = Predictor(rawValue: decoder.decodeDirect(count: 2)) ?? .delta
        let meanDelta = predictor == .deltaFromMean ? header.decode(&decoder) : 0
        if header.format >= 3 && decoder.decodeDirect(count: 1) == 1 {
            guard var table = ResidualTable.Decoder(&decoder, chunk: chunk) else { return false }
            integrate(count: count, first: first, predictor, meanDelta, residual: { table.next() }, emit)
        } else {
            let model = IntegerModel(format: header.format)
            integrate(count: count, first: first, predictor, meanDelta, residual: { model.decode(&decoder) }, emit)
        }
        return true
    }

    /// The integers after the first, from their residuals and the predictor.
    @inline(__always)
    private static func integrate(count: Int, first: Int64, _ predictor: Predictor, _ meanDelta: Int64,
                                  residual: () -> Int64, _ emit: (Int, Int64) -> Void) {
        var integer = first
        var previousDelta: Int64 = 0
        for index in 1..<count {
            let residual = residual()
            let delta: Int64
            switch predictor {
            case .delta: delta = residual
            case .deltaOfDelta: delta = previousDelta &+ residual
            case .deltaFromMean: delta = meanDelta &+ residual
            }
            integer = integer &+ delta
            emit(index, integer)
            previousDelta = delta
        }
    }

    private static func differences(_ integers: [Int64]) -> [Int64] {
        var deltas: [Int64] = []
        deltas.reserveCapacity(max(integers.count - 1, 0))
        for index in integers.indices.dropFirst() { deltas.append(integers[index] &- integers[index - 1]) }
        return deltas
    }

    private static func mean(_ deltas: [Int64]) -> Int64 {
        guard !deltas.isEmpty else { return 0 }
        var sum: Double = 0
        for delta in deltas { sum += Double(delta) }
        return Int64(exactly: (sum / Double(deltas.count)).rounded()) ?? 0
    }

    /// The estimated bits of the residuals of each predictor, in `Predictor` order.
    private static func predictorCosts(_ integers: [Int64]) -> [Int] {
        let deltas = differences(integers)
        let meanDelta = mean(deltas)
        var costs: [Int] = [0, 0, 0]
        for (index, delta) in deltas.enumerated() {
            costs[0] += cost(delta)
            costs[1] += cost(index == 0 ? delta : delta &- deltas[index - 1])
            costs[2] += cost(delta &- meanDelta)
        }
        return costs
    }

    /// An estimate of the bits a residual costs, for choosing the predictor.
    @inline(__always)
    private static func cost(_ residual: Int64) -> Int {
        residual == 0 ? 0 : 66 - residual.magnitude.leadingZeroBitCount
    }

    /// The fewest decimal places k for which every value is exactly m / 10^k with |m| <= 2^53.
    static func decimalPlaces(_ values: [Double]) -> Int? {
        var places = 0
        for value in values {
            while !isDecimal(value, places: places) {
                places += 1
                if places > maximumDecimalPlaces { return nil }
            }
        }
        // Rarely, a value that fit with fewer places no longer fits in 2^53 with more.
        for value in values where !isDecimal(value, places: places) { return nil }
        return places
    }

    @inline(__always)
    private static func isDecimal(_ value: Double, places: Int) -> Bool {
        let power = FloatParser.exactPowersOfTen[places]
        let scaled = (value * power).rounded()
        guard abs(scaled) <= 9_007_199_254_740_992 else { return false }
        return (scaled / power).bitPattern == value.bitPattern
    }

    @inline(__always)
    private static func scaledInteger(_ value: Double, places: Int) -> Int64 {
        Int64((value * FloatParser.exactPowersOfTen[places]).rounded())
    }

    private static func greatestCommonDivisor(_ a: Int64, _ b: Int64) -> Int64 {
        var x = a.magnitude
        var y = b.magnitude
        while y != 0 { (x, y) = (y, x % y) }
        return Int64(clamping: x)
    }
}
