/// Codes signed integers with the range coder, adapting to their distribution: first the bit
/// length of the magnitude (in the context of the previous length), then the sign, then the top
/// mantissa bits (adaptive), then the rest (plain).
///
/// Format 1 codes the length down a 7-level binary tree: seven decisions for every integer.
/// Format 2 codes it as a change from the previous length: "the same" (one decision), else the
/// direction and the distance in unary for up to three steps, then a 6-level tree; residuals
/// of steady series mostly stay within a step of their last length, so this takes two or three
/// decisions where the tree takes seven, and reading is that much faster. Format 2 also codes
/// every mantissa bit plainly, and the coder reads plain bits up to 16 at a time.
///
/// Small, steady residuals (a regular scrape interval's zero delta-of-delta, a counter's usual
/// increase) cost a fraction of a bit to a few bits; the model learns within a chunk, so every
/// chunk starts it afresh.
public final class IntegerModel {
    /// How many previous-length contexts the length model keeps (lengths above share the last).
    static let lengthContexts = 24

    /// The chunk format this model codes (1 or 2).
    let format: Int
    /// How many mantissa bits below the top one are coded adaptively: 3 in format 1; none in
    /// format 2, where on the standard dataset even one saved only 0.4 % of the bytes and cost a
    /// tenth of the reading time.
    private let adaptiveMantissaBits: Int
    /// Format 1: lengthContexts × 128 tree nodes. Format 2: lengthContexts × 8 (changed, up,
    /// three steps up, three steps down), then two 64-node trees for longer distances (up, down).
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
    /// Format 2: decisions per length context, unary steps before the tree, and the tree's size.
    private static let changeSlots = 8
    private static let unarySteps = 3
    private static let distanceTreeSize = 64

    public init(format: Int) {
        self.format = format
        adaptiveMantissaBits = format >= 2 ? 0 : 3
        let lengthCount = format >= 2
            ? IntegerModel.lengthContexts * IntegerModel.changeSlots + 2 * IntegerModel.distanceTreeSize
            : IntegerModel.lengthContexts * IntegerModel.lengthTreeSize
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
        if format >= 2 { encodeChange(to: length, &encoder) } else { encodeTree(length, &encoder) }
        previousLength = length
        guard length > 0 else { return }
        let negative = value < 0
        encoder.encode(negative, &signProbabilities[previousSign])
        previousSign = negative ? 2 : 1
        // Mantissa below the leading one.
        let below = length - 1
        let adaptive = min(below, adaptiveMantissaBits)
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
        let length = format >= 2 ? decodeChange(&decoder) : decodeTree(&decoder)
        previousLength = length
        guard length > 0 else { return 0 }
        let negative = decoder.decode(&signProbabilities[previousSign])
        previousSign = negative ? 2 : 1
        let below = length - 1
        let adaptive = min(below, adaptiveMantissaBits)
        let mantissaTree = mantissaProbabilities + length * IntegerModel.mantissaTreeSize
        var mantissaNode = 1
        var magnitude: UInt64 = 1
        for _ in 0..<adaptive {
            let bit = decoder.decode(&mantissaTree[mantissaNode])
            mantissaNode = mantissaNode << 1 | (bit ? 1 : 0)
            magnitude = magnitude << 1 | (bit ? 1 : 0)
        }
        let plain = below - adaptive
        if plain > 0 {
            // Format 2's usual case, one group of plain bits, without the general loop.
            let bits = format >= 2 && plain <= RangeCoding.groupBits ? decoder.decodeGroup(count: plain) : decoder.decodeDirect(count: plain)
            magnitude = magnitude << UInt64(plain) | bits
        }
        // A magnitude of 2^63 only comes from Int64.min (or damaged data).
        if magnitude > UInt64(Int64.max) { return Int64.min }
        return negative ? -Int64(magnitude) : Int64(magnitude)
    }

    // MARK: Format 1: the length down a binary tree

    @inline(__always)
    private func encodeTree(_ length: Int, _ encoder: inout RangeEncoder) {
        let tree = lengthProbabilities + min(previousLength, IntegerModel.lengthContexts - 1) * IntegerModel.lengthTreeSize
        IntegerModel.encode(length, bits: 7, down: tree, &encoder)
    }

    @inline(__always)
    private func decodeTree(_ decoder: inout RangeDecoder) -> Int {
        let tree = lengthProbabilities + min(previousLength, IntegerModel.lengthContexts - 1) * IntegerModel.lengthTreeSize
        return min(IntegerModel.decode(bits: 7, down: tree, &decoder), 64)
    }

    /// Codes the low `count` bits of `value`, most significant first, each with the probability
    /// of its place in a binary tree (`tree[1]` the root, a node's children at 2n and 2n + 1).
    @inline(__always)
    private static func encode(_ value: Int, bits count: Int, down tree: UnsafeMutablePointer<UInt16>, _ encoder: inout RangeEncoder) {
        var node = 1
        for shift in stride(from: count - 1, through: 0, by: -1) {
            let bit = (value >> shift) & 1 == 1
            encoder.encode(bit, &tree[node])
            node = node << 1 | (bit ? 1 : 0)
        }
    }

    /// Decodes what `encode(_:bits:down:_:)` coded.
    @inline(__always)
    private static func decode(bits count: Int, down tree: UnsafeMutablePointer<UInt16>, _ decoder: inout RangeDecoder) -> Int {
        var node = 1
        for _ in 0..<count {
            node = node << 1 | (decoder.decode(&tree[node]) ? 1 : 0)
        }
        return node - (1 << count)
    }

    // MARK: Format 2: the length as a change from the previous one

    @inline(__always)
    private func encodeChange(to length: Int, _ encoder: inout RangeEncoder) {
        let previous = previousLength
        let slots = lengthProbabilities + min(previous, IntegerModel.lengthContexts - 1) * IntegerModel.changeSlots
        encoder.encode(length != previous, &slots[0])
        guard length != previous else { return }
        let up = length > previous
        // From 0 a length can only grow, from 64 only shrink: then the direction goes unsaid.
        if previous > 0 && previous < 64 { encoder.encode(up, &slots[1]) }
        let distance = up ? length - previous : previous - length
        let limit = up ? 64 - previous : previous
        let steps = slots + (up ? 2 : 2 + IntegerModel.unarySteps)
        for step in 1...IntegerModel.unarySteps {
            if step == limit { return }
            let further = distance > step
            encoder.encode(further, &steps[step - 1])
            if !further { return }
        }
        guard limit > IntegerModel.unarySteps + 1 else { return }
        IntegerModel.encode(distance - IntegerModel.unarySteps - 1, bits: 6, down: distanceTree(up: up), &encoder)
    }

    @inline(__always)
    private func decodeChange(_ decoder: inout RangeDecoder) -> Int {
        let previous = previousLength
        let slots = lengthProbabilities + min(previous, IntegerModel.lengthContexts - 1) * IntegerModel.changeSlots
        guard decoder.decode(&slots[0]) else { return previous }
        let up = previous == 0 || (previous < 64 && decoder.decode(&slots[1]))
        let limit = up ? 64 - previous : previous
        let steps = slots + (up ? 2 : 2 + IntegerModel.unarySteps)
        var distance = 1
        while distance <= IntegerModel.unarySteps {
            if distance == limit || !decoder.decode(&steps[distance - 1]) { break }
            distance += 1
        }
        if distance > IntegerModel.unarySteps && limit > distance {
            // Damaged data can name a distance beyond the limit.
            distance = min(distance + IntegerModel.decode(bits: 6, down: distanceTree(up: up), &decoder), limit)
        }
        return up ? previous + distance : previous - distance
    }

    @inline(__always)
    private func distanceTree(up: Bool) -> UnsafeMutablePointer<UInt16> {
        lengthProbabilities + IntegerModel.lengthContexts * IntegerModel.changeSlots + (up ? 0 : IntegerModel.distanceTreeSize)
    }
}
