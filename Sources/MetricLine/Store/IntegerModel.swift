/// Codes signed integers with the range coder, adapting to their distribution: first the bit
/// length of the magnitude (a 7-level binary tree of adaptive probabilities, in the context of the
/// previous length), then the sign, then the top mantissa bits (adaptive), then the rest (plain).
///
/// Small, steady residuals (a regular scrape interval's zero delta-of-delta, a counter's usual
/// increase) cost a fraction of a bit to a few bits; the model learns within a chunk, so every
/// chunk starts it afresh.
public final class IntegerModel {
    /// How many previous-length contexts the length tree keeps (lengths above share the last).
    static let lengthContexts = 24
    /// How many mantissa bits below the top one are coded adaptively.
    static let adaptiveMantissaBits = 3

    /// lengthContexts × 128 tree nodes.
    private let lengthProbabilities: UnsafeMutablePointer<UInt16>
    /// 65 lengths × 16 tree nodes for the adaptive mantissa bits, then the sign in the context of
    /// the previous sign (3). Probabilities live outside the object's stored properties, so
    /// adapting them needs no exclusivity checks.
    private let mantissaProbabilities: UnsafeMutablePointer<UInt16>
    private var signProbabilities: UnsafeMutablePointer<UInt16> { mantissaProbabilities + 65 * IntegerModel.mantissaTreeSize }
    /// The bit length of the previous magnitude, the context of the next.
    private var previousLength = 0
    /// 0 none, 1 positive, 2 negative.
    private var previousSign = 0

    private static let lengthTreeSize = 128
    private static let mantissaTreeSize = 16

    public init() {
        let lengthCount = IntegerModel.lengthContexts * IntegerModel.lengthTreeSize
        lengthProbabilities = .allocate(capacity: lengthCount)
        lengthProbabilities.initialize(repeating: RangeCoding.probabilityHalf, count: lengthCount)
        let mantissaCount = 65 * IntegerModel.mantissaTreeSize + 3
        mantissaProbabilities = .allocate(capacity: mantissaCount)
        mantissaProbabilities.initialize(repeating: RangeCoding.probabilityHalf, count: mantissaCount)
    }

    deinit {
        lengthProbabilities.deallocate()
        mantissaProbabilities.deallocate()
    }

    /// Codes `value`.
    @inline(__always)
    public func encode(_ value: Int64, _ encoder: inout RangeEncoder) {
        let magnitude = value.magnitude
        let length = 64 - magnitude.leadingZeroBitCount
        // Length: 7 bits, most significant first, down a binary tree.
        let tree = lengthProbabilities + min(previousLength, IntegerModel.lengthContexts - 1) * IntegerModel.lengthTreeSize
        var node = 1
        for shift in stride(from: 6, through: 0, by: -1) {
            let bit = (length >> shift) & 1 == 1
            encoder.encode(bit, &tree[node])
            node = node << 1 | (bit ? 1 : 0)
        }
        previousLength = length
        guard length > 0 else { return }
        let negative = value < 0
        encoder.encode(negative, &signProbabilities[previousSign])
        previousSign = negative ? 2 : 1
        // Mantissa below the leading one.
        let below = length - 1
        let adaptive = min(below, IntegerModel.adaptiveMantissaBits)
        let mantissaTree = mantissaProbabilities + length * IntegerModel.mantissaTreeSize
        var mantissaNode = 1
        for index in 0..<adaptive {
            let bit = (magnitude >> UInt64(below - 1 - index)) & 1 == 1
            encoder.encode(bit, &mantissaTree[mantissaNode])
            mantissaNode = mantissaNode << 1 | (bit ? 1 : 0)
        }
        let plain = below - adaptive
        if plain > 0 { encoder.encodeDirect(magnitude, count: plain) }
    }

    /// Decodes a value coded by `encode`.
    @inline(__always)
    public func decode(_ decoder: inout RangeDecoder) -> Int64 {
        let tree = lengthProbabilities + min(previousLength, IntegerModel.lengthContexts - 1) * IntegerModel.lengthTreeSize
        var node = 1
        for _ in 0..<7 {
            node = node << 1 | (decoder.decode(&tree[node]) ? 1 : 0)
        }
        let length = min(node - 128, 64)
        previousLength = length
        guard length > 0 else { return 0 }
        let negative = decoder.decode(&signProbabilities[previousSign])
        previousSign = negative ? 2 : 1
        let below = length - 1
        let adaptive = min(below, IntegerModel.adaptiveMantissaBits)
        let mantissaTree = mantissaProbabilities + length * IntegerModel.mantissaTreeSize
        var mantissaNode = 1
        var magnitude: UInt64 = 1
        for _ in 0..<adaptive {
            let bit = decoder.decode(&mantissaTree[mantissaNode])
            mantissaNode = mantissaNode << 1 | (bit ? 1 : 0)
            magnitude = magnitude << 1 | (bit ? 1 : 0)
        }
        let plain = below - adaptive
        if plain > 0 { magnitude = magnitude << UInt64(plain) | decoder.decodeDirect(count: plain) }
        // A magnitude of 2^63 only comes from Int64.min (or damaged data).
        if magnitude > UInt64(Int64.max) { return Int64.min }
        return negative ? -Int64(magnitude) : Int64(magnitude)
    }
}
