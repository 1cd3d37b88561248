/// A parsed pattern compiled to instructions for a Pike VM, and the VM that runs them: every thread
/// advances one scalar at a time, in priority order, so a search takes time linear in the text
/// whatever the pattern, and finds the match Go would (leftmost, then first by preference).
struct RegexProgram: Sendable {
    enum Instruction: Sendable {
        case scalar(UInt32, folded: Bool)
        /// A class, by its index in `classes`.
        case set(Int)
        case any(newline: Bool)
        /// Continue at both, preferring the first.
        case split(Int, Int)
        case jump(Int)
        /// Record the position in capture slot n (group n / 2, start or end).
        case save(Int)
        case assert(RegexAssertion)
        case match
    }

    /// Instructions at most: enough for any sensible pattern, and it bounds the work per scalar.
    static let maximumSize = 20_000
    /// Threads times capture slots at most: what one step of a search with captures may hold.
    static let maximumCaptureState = 2_000_000

    let instructions: [Instruction]
    let classes: [RegexClass]
    /// Capture slots: a start and an end for each group, group 0 being the whole match.
    let slots: Int
    /// Whether a match may only start where the search starts (patterns anchored as `^(?:…)$`).
    let anchored: Bool

    /// Compiles `tree`; nil when the program would be too large.
    init?(_ tree: RegexNode, classes: [RegexClass], groups: Int, anchored: Bool) {
        var compiler = Compiler()
        compiler.instructions.append(.save(0))
        guard compiler.emit(tree) else { return nil }
        compiler.instructions.append(.save(1))
        compiler.instructions.append(.match)
        let consuming = compiler.instructions.count(where: { instruction in
            switch instruction {
            case .scalar, .set, .any: true
            default: false
            }
        })
        guard compiler.instructions.count <= RegexProgram.maximumSize,
              consuming * 2 * (groups + 1) <= RegexProgram.maximumCaptureState else { return nil }
        instructions = compiler.instructions
        self.classes = classes
        slots = 2 * (groups + 1)
        self.anchored = anchored
    }

    /// Turns the tree into instructions, depth first; the parser's nesting limit bounds the recursion.
    private struct Compiler {
        var instructions: [Instruction] = []

        /// False as soon as the program grows past the limit.
        mutating func emit(_ node: RegexNode) -> Bool {
            guard instructions.count <= RegexProgram.maximumSize else { return false }
            switch node {
            case .empty:
                break
            case .scalar(let value, let folded):
                instructions.append(.scalar(value, folded: folded))
            case .set(let index):
                instructions.append(.set(index))
            case .any(let newline):
                instructions.append(.any(newline: newline))
            case .assertion(let assertion):
                instructions.append(.assert(assertion))
            case .concatenation(let items):
                for item in items { guard emit(item) else { return false } }
            case .alternation(let branches):
                var exits: [Int] = []
                for (number, branch) in branches.enumerated() {
                    guard number < branches.count - 1 else {
                        guard emit(branch) else { return false }
                        break
                    }
                    let split = instructions.count
                    instructions.append(.split(split + 1, 0))
                    guard emit(branch) else { return false }
                    exits.append(instructions.count)
                    instructions.append(.jump(0))
                    instructions[split] = .split(split + 1, instructions.count)
                }
                for exit in exits { instructions[exit] = .jump(instructions.count) }
            case .capture(let number, let inner):
                instructions.append(.save(2 * number))
                guard emit(inner) else { return false }
                instructions.append(.save(2 * number + 1))
            case .repetition(let inner, let minimum, let maximum, let greedy):
                for _ in 0..<minimum { guard emit(inner) else { return false } }
                if let maximum {
                    // Up to (maximum - minimum) optional copies, each skipping to the end.
                    var splits: [Int] = []
                    for _ in minimum..<max(minimum, maximum) {
                        splits.append(instructions.count)
                        instructions.append(.split(0, 0))
                        guard emit(inner) else { return false }
                    }
                    for split in splits {
                        instructions[split] = greedy ? .split(split + 1, instructions.count) : .split(instructions.count, split + 1)
                    }
                } else {
                    let loop = instructions.count
                    instructions.append(.split(0, 0))
                    guard emit(inner) else { return false }
                    instructions.append(.jump(loop))
                    instructions[loop] = greedy ? .split(loop + 1, instructions.count) : .split(instructions.count, loop + 1)
                }
            }
            return true
        }
    }
}

/// Runs a program over texts, keeping its scratch space between searches and counting its steps.
struct RegexMachine {
    private struct Thread {
        var pc: Int
        var captures: [Int]
    }

    private let program: RegexProgram
    /// Steps left: a thread visited, or a capture slot copied, is one step.
    private(set) var steps: Int
    /// The generation in which each instruction was last added to a thread list.
    private var visited: [Int]
    private var generation = 0
    /// Threads still to follow while adding one, in reverse priority order.
    private var pending: [Thread] = []

    init(_ program: RegexProgram, steps: Int) {
        self.program = program
        self.steps = steps
        visited = [Int](repeating: 0, count: program.instructions.count)
    }

    /// The first match starting at or after `start`, as Go's regexp finds it: capture slots, -1 for
    /// groups that took no part. Without `captures` any match will do and the slots are empty.
    mutating func search(_ text: [Unicode.Scalar], from start: Int, captures: Bool) throws(Regex.StepLimitExceeded) -> [Int]? {
        let none = [Int](repeating: -1, count: captures ? program.slots : 0)
        var matched: [Int]?
        var current: [Thread] = []
        var next: [Thread] = []
        generation += 1
        var position = start
        while position <= text.count {
            if matched == nil && (position == start || !program.anchored) {
                add(Thread(pc: 0, captures: none), to: &current, at: position, in: text)
            }
            if current.isEmpty && (matched != nil || program.anchored) { break }
            generation += 1
            let scalar: Unicode.Scalar? = position < text.count ? text[position] : nil
            for thread in current {
                if case .match = program.instructions[thread.pc] {
                    // The threads after this one have lower priority.
                    if !captures { return [] }
                    matched = thread.captures
                    break
                }
                if let scalar, accepts(program.instructions[thread.pc], scalar) {
                    add(Thread(pc: thread.pc + 1, captures: thread.captures), to: &next, at: position + 1, in: text)
                }
            }
            swap(&current, &next)
            next.removeAll(keepingCapacity: true)
            steps -= current.count + 1
            guard steps >= 0 else { throw Regex.StepLimitExceeded() }
            position += 1
        }
        return matched
    }

    private func accepts(_ instruction: RegexProgram.Instruction, _ scalar: Unicode.Scalar) -> Bool {
        switch instruction {
        case .scalar(let expected, let folded):
            return scalar.value == expected || (folded && RegexMachine.fold(scalar.value) == RegexMachine.fold(expected))
        case .set(let index):
            return program.classes[index].matches(scalar)
        case .any(let newline):
            return newline || scalar != "\n"
        default:
            return false
        }
    }

    /// Follows jumps, splits, saves and assertions from `thread`, in priority order, and adds the
    /// threads that wait for a scalar (or have matched) to `list`, each instruction once.
    private mutating func add(_ thread: Thread, to list: inout [Thread], at position: Int, in text: [Unicode.Scalar]) {
        pending.append(thread)
        while var thread = pending.popLast() {
            steps -= 1
            guard visited[thread.pc] != generation else { continue }
            visited[thread.pc] = generation
            switch program.instructions[thread.pc] {
            case .jump(let target):
                thread.pc = target
                pending.append(thread)
            case .split(let preferred, let other):
                pending.append(Thread(pc: other, captures: thread.captures))
                thread.pc = preferred
                pending.append(thread)
            case .save(let slot):
                if slot < thread.captures.count {
                    thread.captures[slot] = position
                    steps -= thread.captures.count
                }
                thread.pc += 1
                pending.append(thread)
            case .assert(let assertion):
                guard assertion.holds(at: position, in: text) else { continue }
                thread.pc += 1
                pending.append(thread)
            default:
                list.append(thread)
            }
        }
    }

    /// Simple case folding: the lowercase form when it is one scalar.
    static func fold(_ value: UInt32) -> UInt32 {
        if value < 0x80 { return value >= 0x41 && value <= 0x5A ? value + 0x20 : value }
        guard let scalar = Unicode.Scalar(value) else { return value }
        let lower = scalar.properties.lowercaseMapping.unicodeScalars
        return lower.count == 1 ? lower[lower.startIndex].value : value
    }
}
