// The YAML that Prometheus rule files, promtool rule unit-test files and Alertmanager
// configurations use: one document of block and flow collections and the five scalar styles.
// Anchors, aliases, tags, complex keys, merge keys and multiple documents are rejected with a
// message rather than half-supported. Scalars keep their text; callers decide what `5m` means.

/// 1-based line and column of where a node's text starts. Columns count UTF-8 bytes from the
/// start of the line; a byte-order mark at the start of the document is not counted.
public struct YAMLPosition: Sendable, Equatable, CustomStringConvertible {
    /// The line, from 1.
    public var line: Int
    /// The byte in the line, from 1.
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "\(line):\(column)" }
}

/// Why a YAML document could not be read, in plain language, and the token it is about.
public struct YAMLError: Error, Sendable, Equatable {
    /// What is wrong, for a person: `duplicate key "expr" (first at 6:9)`.
    public var message: String
    /// Where the offending token starts.
    public var position: YAMLPosition

    public init(_ message: String, at position: YAMLPosition) {
        self.message = message
        self.position = position
    }
}

/// One value of a YAML document, a scalar, a sequence or a mapping, with where it was written.
public struct YAMLNode: Sendable {
    /// How a scalar was written; `null` and `"null"` read the same text but only one is null.
    public enum Style: Sendable { case plain, singleQuoted, doubleQuoted, literal, folded }

    /// What a node holds.
    public enum Value: Sendable {
        /// The text as YAML reads it, with no type resolution: `5m`, `1` and `true` stay text.
        case scalar(String, Style)
        case sequence([YAMLNode])
        /// The entries in document order; no key appears twice.
        case mapping([YAMLEntry])
    }

    public var value: Value
    /// Where the node starts: a scalar's first character (the opening quote of a quoted one, the
    /// `|` or `>` of a block one), a block mapping's first key, a block sequence's first `-`,
    /// a flow collection's opening bracket.
    public var position: YAMLPosition

    /// The text of a scalar, nil for a collection.
    public var scalar: String? {
        if case .scalar(let text, _) = value { return text }
        return nil
    }

    /// Whether the node is YAML's null: an empty plain scalar (a key without a value), `~` or `null`.
    public var isNull: Bool {
        guard case .scalar(let text, .plain) = value else { return false }
        return text == "" || text == "~" || text == "null" || text == "Null" || text == "NULL"
    }

    /// The items of a sequence, nil for anything else.
    public var sequence: [YAMLNode]? {
        if case .sequence(let items) = value { return items }
        return nil
    }

    /// The entries of a mapping, nil for anything else.
    public var mapping: [YAMLEntry]? {
        if case .mapping(let entries) = value { return entries }
        return nil
    }

    /// The value of `key` in a mapping; nil if there is no such key or the node is not a mapping.
    public subscript(key: String) -> YAMLNode? {
        mapping?.first { $0.key == key }?.value
    }

    /// "scalar", "sequence" or "mapping", for messages such as "expected a mapping, found a scalar".
    public var kind: String {
        switch value {
        case .scalar: "scalar"
        case .sequence: "sequence"
        case .mapping: "mapping"
        }
    }
}

/// One `key: value` pair of a mapping.
public struct YAMLEntry: Sendable {
    public var key: String
    /// Where the key starts (its opening quote if it is quoted).
    public var keyPosition: YAMLPosition
    public var value: YAMLNode
}

/// Reads the YAML of Prometheus and Alertmanager configuration files.
public enum YAML {
    /// How deeply collections may nest. No real configuration comes near; the limit keeps
    /// absurd input from building absurd trees.
    static let maximumDepth = 200

    /// Parses one document. An empty document (only comments or blank lines) gives a plain empty
    /// scalar (`isNull`) at 1:1.
    public static func parse(_ text: String) throws(YAMLError) -> YAMLNode {
        var parser = Parser(text)
        return try parser.parseDocument()
    }
}

extension YAML {
    /// A reader over the document's bytes. Collections are read by two loops (block and flow)
    /// over a stack of open collections rather than by recursion, so no input can exhaust the
    /// thread's stack. After a block node the parser stands on the first token of the next
    /// content line, and the enclosing collection decides by its indentation what comes next.
    fileprivate struct Parser {
        /// The document as UTF-8, with CRLF and lone CR turned into LF and a leading BOM removed.
        private let bytes: [UInt8]
        /// The offset in `bytes` at which each line starts, to turn offsets into positions.
        private let lineStarts: [Int]
        /// The offset of the next byte to read.
        private var offset = 0
        /// How many collections enclose the one being read.
        private var depth = 0

        /// The first control character YAML does not allow, found while reading the input.
        private let firstControlCharacter: Int?

        init(_ text: String) {
            var bytes: [UInt8] = []
            var lineStarts = [0]
            var firstControlCharacter: Int?
            var text = text
            text.withUTF8 { input in
                bytes.reserveCapacity(input.count)
                let hasByteOrderMark = input.count >= 3 && input[0] == 0xEF && input[1] == 0xBB && input[2] == 0xBF
                var index = hasByteOrderMark ? 3 : 0
                while index < input.count {
                    var byte = input[index]
                    index += 1
                    if byte == UInt8(ascii: "\r") {
                        byte = UInt8(ascii: "\n")
                        if index < input.count && input[index] == UInt8(ascii: "\n") { index += 1 }
                    }
                    if byte == UInt8(ascii: "\n") {
                        lineStarts.append(bytes.count + 1)
                    } else if (byte < 0x20 && byte != UInt8(ascii: "\t")) || byte == 0x7F {
                        if firstControlCharacter == nil { firstControlCharacter = bytes.count }
                    }
                    bytes.append(byte)
                }
            }
            self.bytes = bytes
            self.lineStarts = lineStarts
            self.firstControlCharacter = firstControlCharacter
        }

        // MARK: The document

        mutating func parseDocument() throws(YAMLError) -> YAMLNode {
            try rejectControlCharacters()
            _ = try skipSeparation(flow: false)
            if offset < bytes.count && bytes[offset] == UInt8(ascii: "%") {
                throw error("directives (%) such as %YAML are not supported", at: offset)
            }
            if isDocumentMarker(offset) && bytes[offset] == UInt8(ascii: "-") {
                offset += 3
                let crossedLine = try skipSeparation(flow: false)
                if !crossedLine && offset < bytes.count {
                    try rejectUnsupported(flow: false)
                    throw error("content on the \"---\" line is not supported; start it on the next line", at: offset)
                }
            }
            var root = YAMLNode(value: .scalar("", .plain), position: YAMLPosition(line: 1, column: 1))
            if contentIndent() != nil {
                root = try parseBlockNode(parentIndent: -1, allowsCollection: true)
            }
            try finishDocument(after: root)
            return root
        }

        /// Accepts what may follow the document's value: nothing, or a `...` end marker and comments.
        private mutating func finishDocument(after root: YAMLNode) throws(YAMLError) {
            guard offset < bytes.count else { return }
            if isDocumentMarker(offset) {
                if bytes[offset] == UInt8(ascii: "-") {
                    throw error("multiple documents are not supported; this \"---\" starts a second one", at: offset)
                }
                offset += 3
                _ = try skipSeparation(flow: false)
                if offset < bytes.count {
                    throw error("multiple documents are not supported; nothing may follow \"...\"", at: offset)
                }
                return
            }
            let indent = column(offset)
            let rootIndent = root.position.column - 1
            if indent < rootIndent {
                throw error("bad indentation: this line starts at column \(indent + 1), left of the document's first line (column \(rootIndent + 1))", at: offset)
            }
            if case .sequence = root.value {
                throw error("expected a sequence item (\"- \") at this indentation", at: offset)
            }
            throw error("unexpected text after the document's value", at: offset)
        }

        /// YAML allows tabs and line ends but no other control characters, and they are never
        /// what a configuration author meant.
        private func rejectControlCharacters() throws(YAMLError) {
            guard let index = firstControlCharacter else { return }
            let hex = String(bytes[index], radix: 16, uppercase: true)
            throw error("control character 0x\(hex.count < 2 ? "0" : "")\(hex) is not allowed; write it as an escape in a double-quoted string", at: index)
        }

        // MARK: Collections in progress

        /// A collection whose entries are still being read. The parser keeps these on a stack of
        /// its own instead of recursing, so deep nesting costs heap, not thread stack.
        private struct OpenCollection {
            enum Kind { case blockMapping, blockSequence, flowMapping, flowSequence, flowPair }

            let kind: Kind
            /// Where the collection starts: its first key or dash, or its opening bracket.
            let position: YAMLPosition
            /// The column of a block collection's keys or dashes; the offset of a flow
            /// collection's opening bracket (for a `[a: b]` pair, that of its sequence).
            let anchor: Int
            var items: [YAMLNode] = []
            var entries: [YAMLEntry] = []
            /// Each key read so far and where it first appeared, to reject duplicates.
            var seen: [String: YAMLPosition] = [:]
            /// The key whose value is being read.
            var key = ""
            var keyPosition = YAMLPosition(line: 1, column: 1)

            var isMapping: Bool { kind == .blockMapping || kind == .flowMapping || kind == .flowPair }

            mutating func add(_ node: YAMLNode) {
                if isMapping {
                    entries.append(YAMLEntry(key: key, keyPosition: keyPosition, value: node))
                } else {
                    items.append(node)
                }
            }

            var node: YAMLNode {
                YAMLNode(value: isMapping ? .mapping(entries) : .sequence(items), position: position)
            }
        }

        /// Opens a collection at the parser, refusing to nest deeper than `YAML.maximumDepth`.
        private mutating func open(_ kind: OpenCollection.Kind, anchor: Int, position: YAMLPosition? = nil) throws(YAMLError) -> OpenCollection {
            depth += 1
            if depth > YAML.maximumDepth {
                throw error("collections nest deeper than \(YAML.maximumDepth) levels", at: offset)
            }
            return OpenCollection(kind: kind, position: position ?? self.position(offset), anchor: anchor)
        }

        /// What the block parser does next.
        private enum BlockStep {
            /// Read the node at the parser; its later lines must be indented more than `parentIndent`.
            case node(parentIndent: Int, allowsCollection: Bool)
            /// Read the dash or key of the innermost open collection's next entry.
            case entry
            /// Add a finished node to the innermost open collection.
            case finished(YAMLNode)
        }

        // MARK: Block collections

        /// Parses the block node at the parser. `parentIndent` is the indentation of the enclosing
        /// collection (-1 for the document); `allowsCollection` is false for a value on the same line
        /// as its key, where a block mapping or sequence cannot start. Afterwards the parser stands
        /// on the first token of the next line, or at the end of the document's content.
        private mutating func parseBlockNode(parentIndent: Int, allowsCollection: Bool) throws(YAMLError) -> YAMLNode {
            var stack: [OpenCollection] = []
            var step = BlockStep.node(parentIndent: parentIndent, allowsCollection: allowsCollection)
            while true {
                switch step {
                case .node(let parentIndent, let allowsCollection):
                    try rejectUnsupported(flow: false)
                    if allowsCollection && isSequenceDash(offset) {
                        stack.append(try open(.blockSequence, anchor: column(offset)))
                        step = .entry
                    } else if allowsCollection && startsImplicitKey() {
                        stack.append(try open(.blockMapping, anchor: column(offset)))
                        step = .entry
                    } else {
                        step = .finished(try parseBlockLeaf(parentIndent: parentIndent))
                    }
                case .entry:
                    step = try startBlockEntry(of: &stack[stack.count - 1])
                case .finished(let node):
                    guard var innermost = stack.popLast() else { return node }
                    innermost.add(node)
                    if try blockEntryFollows(innermost) {
                        stack.append(innermost)
                        step = .entry
                    } else {
                        depth -= 1
                        step = .finished(innermost.node)
                    }
                }
            }
        }

        /// Reads the `-` or the `key:` of the collection's next entry, and says where its value is.
        private mutating func startBlockEntry(of collection: inout OpenCollection) throws(YAMLError) -> BlockStep {
            let indent = collection.anchor
            if collection.kind == .blockMapping {
                (collection.key, collection.keyPosition) = try parseBlockKey(seen: &collection.seen)
            } else {
                offset += 1
            }
            let afterIndicator = offset
            // A value on the same line: `key: value`, or a compact `- name: x` (a mapping whose
            // keys line up under `name`).
            if try !skipSeparation(flow: false) && offset < bytes.count {
                return .node(parentIndent: indent, allowsCollection: collection.kind == .blockSequence)
            }
            // A value on the lines below; a bare `key:` may have its sequence at its own indentation.
            if let next = contentIndent(), next > indent || (next == indent && collection.kind == .blockMapping && isSequenceDash(offset)) {
                return .node(parentIndent: indent, allowsCollection: true)
            }
            return .finished(YAMLNode(value: .scalar("", .plain), position: position(afterIndicator)))
        }

        /// Whether the parser stands on the next entry of `collection`; throws if the line belongs
        /// neither to it nor to an enclosing collection.
        private func blockEntryFollows(_ collection: OpenCollection) throws(YAMLError) -> Bool {
            let indent = collection.anchor
            guard let next = contentIndent(), next >= indent else { return false }
            if collection.kind == .blockSequence {
                if next > indent { throw badIndentation(expected: indent, of: "the items of its sequence") }
                return isSequenceDash(offset)
            }
            if next > indent { throw badIndentation(expected: indent, of: "the keys of its mapping") }
            if isSequenceDash(offset) {
                throw error("expected a key at this indentation, found a sequence item (\"- \")", at: offset)
            }
            try rejectUnsupported(flow: false)
            guard startsImplicitKey() else { throw error("expected \"key: value\" at this indentation", at: offset) }
            return true
        }

        private func badIndentation(expected indent: Int, of what: String) -> YAMLError {
            error("bad indentation: this line starts at column \(column(offset) + 1), but \(what) start at column \(indent + 1)", at: offset)
        }

        /// Parses a node that is not a block collection, and checks that nothing follows it on its line.
        private mutating func parseBlockLeaf(parentIndent: Int) throws(YAMLError) -> YAMLNode {
            let node: YAMLNode
            switch bytes[offset] {
            case UInt8(ascii: "-") where isSequenceDash(offset):
                throw error("a sequence cannot start on the same line as its key; put \"- \" on the next line", at: offset)
            case UInt8(ascii: "|"), UInt8(ascii: ">"): node = try parseBlockScalar(parentIndent: parentIndent)
            case UInt8(ascii: "["), UInt8(ascii: "{"): node = try parseFlowCollection(parentIndent: parentIndent)
            case UInt8(ascii: "'"), UInt8(ascii: "\""): node = try parseQuoted()
            default: node = try parsePlain(parentIndent: parentIndent, flow: false)
            }
            try finishLine()
            return node
        }

        /// Reads a block mapping's key up to and including its `:`, and records it in `seen`.
        private mutating func parseBlockKey(seen: inout [String: YAMLPosition]) throws(YAMLError) -> (String, YAMLPosition) {
            let start = offset
            let key: String
            if bytes[offset] == UInt8(ascii: "'") || bytes[offset] == UInt8(ascii: "\"") {
                key = try parseQuoted().scalar ?? ""
                skipBlanks()
            } else {
                while offset < bytes.count && !(bytes[offset] == UInt8(ascii: ":") && isBlankOrEnd(offset + 1)) {
                    offset += 1
                }
                var end = offset
                while end > start && isBlank(bytes[end - 1]) { end -= 1 }
                key = String(decoding: bytes[start..<end], as: UTF8.self)
                if key == "<<" { throw error("merge keys (<<) are not supported; write the entries out", at: start) }
            }
            guard offset < bytes.count && bytes[offset] == UInt8(ascii: ":") else {
                throw error("expected \":\" after the key", at: offset)
            }
            offset += 1
            let keyPosition = position(start)
            if let first = seen[key] { throw duplicateKey(key, first: first, at: keyPosition) }
            seen[key] = keyPosition
            return (key, keyPosition)
        }

        /// Whether the line from the parser is a `key:` (a one-line scalar followed by `: `).
        private func startsImplicitKey() -> Bool {
            var index = offset
            guard index < bytes.count else { return false }
            let first = bytes[index]
            switch first {
            case UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: "|"), UInt8(ascii: ">"), UInt8(ascii: "#"): return false
            default: break
            }
            if first == UInt8(ascii: "'") || first == UInt8(ascii: "\"") {
                guard let end = quotedEndOnLine(from: index) else { return false }
                index = end
                while index < bytes.count && isBlank(bytes[index]) { index += 1 }
                return index < bytes.count && bytes[index] == UInt8(ascii: ":") && isBlankOrEnd(index + 1)
            }
            while index < bytes.count && bytes[index] != UInt8(ascii: "\n") {
                if bytes[index] == UInt8(ascii: ":") && isBlankOrEnd(index + 1) { return true }
                if isBlank(bytes[index]) && index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "#") { return false }
                index += 1
            }
            return false
        }

        /// The offset after the closing quote of the quoted scalar at `start`, if it closes on its line.
        private func quotedEndOnLine(from start: Int) -> Int? {
            let quote = bytes[start]
            var index = start + 1
            while index < bytes.count && bytes[index] != UInt8(ascii: "\n") {
                if quote == UInt8(ascii: "\"") && bytes[index] == UInt8(ascii: "\\") {
                    index += 2
                    continue
                }
                if bytes[index] == quote {
                    if quote == UInt8(ascii: "'") && index + 1 < bytes.count && bytes[index + 1] == quote {
                        index += 2
                        continue
                    }
                    return index + 1
                }
                index += 1
            }
            return nil
        }

        // MARK: Block scalars

        private enum Chomping { case strip, clip, keep }

        /// Parses a `|` (literal) or `>` (folded) scalar: its header, then the lines indented more
        /// than `parentIndent`. Leaves the parser at the end of its last line.
        private mutating func parseBlockScalar(parentIndent: Int) throws(YAMLError) -> YAMLNode {
            let start = offset
            let isLiteral = bytes[offset] == UInt8(ascii: "|")
            offset += 1
            var chomping = Chomping.clip
            var explicitIndent: Int?
            var sawChomping = false
            for _ in 0..<2 where offset < bytes.count {
                let byte = bytes[offset]
                if !sawChomping && (byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")) {
                    chomping = byte == UInt8(ascii: "-") ? .strip : .keep
                    sawChomping = true
                } else if explicitIndent == nil && byte >= UInt8(ascii: "1") && byte <= UInt8(ascii: "9") {
                    explicitIndent = Int(byte - UInt8(ascii: "0"))
                } else {
                    break
                }
                offset += 1
            }
            if !isBlankOrEnd(offset) {
                throw error("a block scalar header is \"|\" or \">\", then optionally \"-\" or \"+\" and an indentation digit 1-9", at: offset)
            }
            skipBlanks()
            if offset < bytes.count && bytes[offset] == UInt8(ascii: "#") { skipToLineEnd() }
            if offset < bytes.count && bytes[offset] != UInt8(ascii: "\n") {
                throw error("text cannot follow \"\(isLiteral ? "|" : ">")\" on its line; start it on the next line", at: offset)
            }
            let indent = explicitIndent.map { max(parentIndent, 0) + $0 } ?? detectedIndent(parentIndent: parentIndent)
            var text: [UInt8] = []
            var pendingBreak = false        // the last text line ended with a line break not yet written
            var blankLines = 0              // empty lines since the last text line
            var lastWasMoreIndented = false // the last text line started with a blank (folding keeps its breaks)
            var end = offset                // the line end of the last line that belongs to the scalar
            while end < bytes.count {
                let lineStart = end + 1
                if isDocumentMarker(lineStart) { break }
                var index = lineStart
                while index < bytes.count && bytes[index] == UInt8(ascii: " ") && index - lineStart < indent { index += 1 }
                let lineEnd = endOfLine(from: index)
                if index == lineEnd {
                    if lineEnd < bytes.count { blankLines += 1 }
                    end = lineEnd
                    continue
                }
                if index - lineStart < indent { break }
                let isMoreIndented = isBlank(bytes[index])
                if pendingBreak {
                    if !isLiteral && !lastWasMoreIndented && !isMoreIndented {
                        if blankLines == 0 { text.append(UInt8(ascii: " ")) }
                    } else {
                        text.append(UInt8(ascii: "\n"))
                    }
                }
                text.append(contentsOf: repeatElement(UInt8(ascii: "\n"), count: blankLines))
                blankLines = 0
                text.append(contentsOf: bytes[index..<lineEnd])
                lastWasMoreIndented = isMoreIndented
                pendingBreak = lineEnd < bytes.count
                end = lineEnd
            }
            offset = end
            switch chomping {
            case .strip: break
            case .clip: if pendingBreak { text.append(UInt8(ascii: "\n")) }
            case .keep:
                if pendingBreak { text.append(UInt8(ascii: "\n")) }
                text.append(contentsOf: repeatElement(UInt8(ascii: "\n"), count: blankLines))
            }
            let style: YAMLNode.Style = isLiteral ? .literal : .folded
            return YAMLNode(value: .scalar(String(decoding: text, as: UTF8.self), style), position: position(start))
        }

        /// The indentation of a block scalar's text without an indentation digit: that of its
        /// first non-empty line, but at least that of its leading empty lines, deeper than its
        /// parent and at least 1 (as libyaml and go-yaml read it, so a top-level `|` needs indented text).
        private func detectedIndent(parentIndent: Int) -> Int {
            var index = offset
            var widestBlank = 0
            while index < bytes.count {
                index += 1
                let lineStart = index
                while index < bytes.count && bytes[index] == UInt8(ascii: " ") { index += 1 }
                if index < bytes.count && bytes[index] != UInt8(ascii: "\n") {
                    return max(index - lineStart, widestBlank, parentIndent + 1, 1)
                }
                widestBlank = max(widestBlank, index - lineStart)
            }
            return max(widestBlank, parentIndent + 1, 1)
        }

        // MARK: Flow collections

        /// What the flow parser does next.
        private enum FlowStep {
            /// Read the node at the parser.
            case node
            /// Move to the innermost open collection's next entry (past a `,` unless it is the first).
            case entry(isFirst: Bool)
            /// Add a finished node to the innermost open collection.
            case finished(YAMLNode)
        }

        /// Parses `[a, b]` or `{a: 1}`, which may span lines and nest, inside a block collection
        /// indented `parentIndent`.
        private mutating func parseFlowCollection(parentIndent: Int) throws(YAMLError) -> YAMLNode {
            let open = offset
            do throws(YAMLError) {
                return try readFlowCollection()
            } catch {
                // A line at the block's indentation means the bracket was never closed, which says
                // more than whatever the block lines looked like as flow content.
                throw isUnclosed(open, parentIndent: parentIndent, before: error.position) ? unterminatedFlow(open) : error
            }
        }

        /// Whether a line after the one holding `open`, up to `end`, starts at or left of `parentIndent`.
        private func isUnclosed(_ open: Int, parentIndent: Int, before end: YAMLPosition) -> Bool {
            var line = lineIndex(of: open) + 1
            while line < min(end.line, lineStarts.count) {
                var index = lineStarts[line]
                while index < bytes.count && bytes[index] == UInt8(ascii: " ") { index += 1 }
                let isEmpty = index >= bytes.count || bytes[index] == UInt8(ascii: "\n") || bytes[index] == UInt8(ascii: "#")
                if !isEmpty && index - lineStarts[line] <= parentIndent { return true }
                line += 1
            }
            return false
        }

        private func unterminatedFlow(_ open: Int) -> YAMLError {
            bytes[open] == UInt8(ascii: "[")
                ? error("unterminated flow sequence: no \"]\" closes this \"[\"", at: open)
                : error("unterminated flow mapping: no \"}\" closes this \"{\"", at: open)
        }

        private mutating func readFlowCollection() throws(YAMLError) -> YAMLNode {
            var stack: [OpenCollection] = []
            var step = FlowStep.node
            while true {
                switch step {
                case .node:
                    if bytes[offset] == UInt8(ascii: "[") || bytes[offset] == UInt8(ascii: "{") {
                        let kind: OpenCollection.Kind = bytes[offset] == UInt8(ascii: "[") ? .flowSequence : .flowMapping
                        stack.append(try open(kind, anchor: offset))
                        offset += 1
                        step = .entry(isFirst: true)
                    } else {
                        step = .finished(try parseFlowScalar())
                    }
                case .entry(let isFirst):
                    let innermost = stack.count - 1
                    if try !flowEntryFollows(openedAt: stack[innermost].anchor, isFirst: isFirst) {
                        depth -= 1
                        step = .finished(stack.removeLast().node)
                    } else if stack[innermost].kind == .flowSequence {
                        step = .node
                    } else {
                        step = try startFlowMappingEntry(of: &stack[innermost])
                    }
                case .finished(let node):
                    guard var innermost = stack.popLast() else { return node }
                    if innermost.kind == .flowSequence, node.scalar != nil, try pairFollows(openedAt: innermost.anchor) {
                        // `[a: 1]`: the scalar is the key of a one-entry mapping.
                        var pair = try open(.flowPair, anchor: innermost.anchor, position: node.position)
                        pair.key = node.scalar ?? ""
                        pair.keyPosition = node.position
                        stack.append(innermost)
                        stack.append(pair)
                        step = try startFlowValue(keyPosition: node.position, openedAt: pair.anchor)
                        continue
                    }
                    innermost.add(node)
                    if innermost.kind == .flowPair {
                        depth -= 1
                        step = .finished(innermost.node)
                    } else {
                        stack.append(innermost)
                        step = .entry(isFirst: false)
                    }
                }
            }
        }

        /// Reads a key of `{...}` and says where its value is.
        private mutating func startFlowMappingEntry(of mapping: inout OpenCollection) throws(YAMLError) -> FlowStep {
            let key = try parseFlowKey()
            let text = key.scalar ?? ""
            if let first = mapping.seen[text] { throw duplicateKey(text, first: first, at: key.position) }
            mapping.seen[text] = key.position
            mapping.key = text
            mapping.keyPosition = key.position
            return try startFlowValue(keyPosition: key.position, openedAt: mapping.anchor)
        }

        /// Moves past the `:` after a flow key, if there is one. A key with no `:` or nothing after
        /// it (`{a}`, `{a: }`) has a null value.
        private mutating func startFlowValue(keyPosition: YAMLPosition, openedAt open: Int) throws(YAMLError) -> FlowStep {
            guard try pairFollows(openedAt: open) else {
                return .finished(YAMLNode(value: .scalar("", .plain), position: keyPosition))
            }
            if position(offset).line != keyPosition.line {
                throw error("a key and its \":\" must be on one line", at: offset)
            }
            offset += 1
            let afterColon = offset
            try skipFlowSeparation(openedAt: open)
            let next = bytes[offset]
            if next == UInt8(ascii: ",") || next == UInt8(ascii: "]") || next == UInt8(ascii: "}") {
                return .finished(YAMLNode(value: .scalar("", .plain), position: position(afterColon)))
            }
            return .node
        }

        /// Moves to the next entry of the collection opened at `open`, past the `,` that ends the
        /// previous one. Returns false at the closing bracket, which it consumes; `[a,]` is allowed.
        private mutating func flowEntryFollows(openedAt open: Int, isFirst: Bool) throws(YAMLError) -> Bool {
            let isSequence = bytes[open] == UInt8(ascii: "[")
            let close = isSequence ? UInt8(ascii: "]") : UInt8(ascii: "}")
            try skipFlowSeparation(openedAt: open)
            if !isFirst && bytes[offset] == UInt8(ascii: ",") {
                offset += 1
                try skipFlowSeparation(openedAt: open)
            } else if !isFirst && bytes[offset] != close {
                throw error(isSequence ? "expected \",\" or \"]\" in a flow sequence" : "expected \",\" or \"}\" in a flow mapping", at: offset)
            }
            guard bytes[offset] == close else { return true }
            offset += 1
            return false
        }

        /// Whether a `:` follows, making the scalar before it a key.
        private mutating func pairFollows(openedAt open: Int) throws(YAMLError) -> Bool {
            try skipFlowSeparation(openedAt: open)
            return bytes[offset] == UInt8(ascii: ":")
        }

        private func duplicateKey(_ key: String, first: YAMLPosition, at position: YAMLPosition) -> YAMLError {
            YAMLError("duplicate key \"\(key)\" (first at \(first))", at: position)
        }

        /// Parses a key of `{...}`, which must be a scalar.
        private mutating func parseFlowKey() throws(YAMLError) -> YAMLNode {
            if bytes[offset] == UInt8(ascii: "[") || bytes[offset] == UInt8(ascii: "{") {
                throw error("a mapping key must be a scalar, not a collection", at: offset)
            }
            let key = try parseFlowScalar()
            if case .scalar("<<", .plain) = key.value {
                throw YAMLError("merge keys (<<) are not supported; write the entries out", at: key.position)
            }
            return key
        }

        /// Parses a quoted or plain scalar inside `[...]` or `{...}`.
        private mutating func parseFlowScalar() throws(YAMLError) -> YAMLNode {
            try rejectUnsupported(flow: true)
            switch bytes[offset] {
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                return try parseQuoted()
            case UInt8(ascii: "|"), UInt8(ascii: ">"):
                throw error("block scalars (| and >) cannot be used inside [] or {}", at: offset)
            case UInt8(ascii: "-") where isBlankOrEnd(offset + 1) || isFlowIndicator(offset + 1):
                throw error("a block sequence item (\"- \") cannot be used inside [] or {}", at: offset)
            default:
                return try parsePlain(parentIndent: -1, flow: true)
            }
        }

        /// Skips blanks, line ends and comments inside a flow collection; the input must go on.
        private mutating func skipFlowSeparation(openedAt open: Int) throws(YAMLError) {
            _ = try skipSeparation(flow: true)
            if offset >= bytes.count || isDocumentMarker(offset) { throw unterminatedFlow(open) }
        }

        // MARK: Plain scalars

        /// Parses an unquoted scalar. Its later lines must be indented more than `parentIndent`
        /// (in block context); line ends fold into single spaces, empty lines into line ends.
        private mutating func parsePlain(parentIndent: Int, flow: Bool) throws(YAMLError) -> YAMLNode {
            let start = offset
            var text: [UInt8] = []
            try scanPlainLine(flow: flow, into: &text)
            while let (next, lineBreaks) = plainContinuation(parentIndent: parentIndent, flow: flow) {
                if lineBreaks == 1 {
                    text.append(UInt8(ascii: " "))
                } else {
                    text.append(contentsOf: repeatElement(UInt8(ascii: "\n"), count: lineBreaks - 1))
                }
                offset = next
                try scanPlainLine(flow: flow, into: &text)
            }
            return YAMLNode(value: .scalar(String(decoding: text, as: UTF8.self), .plain), position: position(start))
        }

        /// Appends the rest of a plain scalar's line, without trailing blanks, and leaves the parser
        /// after its last character. It ends at a line end, ` #`, and (in flow) `,[]{}` or `: `.
        private mutating func scanPlainLine(flow: Bool, into text: inout [UInt8]) throws(YAMLError) {
            let start = offset
            var end = offset
            while offset < bytes.count {
                let byte = bytes[offset]
                if byte == UInt8(ascii: "\n") { break }
                if isBlank(byte) {
                    if offset + 1 < bytes.count && bytes[offset + 1] == UInt8(ascii: "#") { break }
                    offset += 1
                    continue
                }
                if byte == UInt8(ascii: ":") && (isBlankOrEnd(offset + 1) || (flow && isFlowIndicator(offset + 1))) {
                    if flow { break }
                    throw error("unexpected \": \" in a plain value; quote the value, or start a nested mapping on its own line", at: offset)
                }
                if flow && isFlowIndicator(offset) { break }
                offset += 1
                end = offset
            }
            text.append(contentsOf: bytes[start..<end])
            offset = end
        }

        /// Where a plain scalar goes on after its current line, and how many line ends lie between;
        /// nil if it ends here.
        private func plainContinuation(parentIndent: Int, flow: Bool) -> (Int, Int)? {
            var index = offset
            while index < bytes.count && isBlank(bytes[index]) { index += 1 }
            var lineBreaks = 0
            while index < bytes.count && bytes[index] == UInt8(ascii: "\n") {
                lineBreaks += 1
                index += 1
                let lineStart = index
                while index < bytes.count && bytes[index] == UInt8(ascii: " ") { index += 1 }
                let indent = index - lineStart
                while index < bytes.count && isBlank(bytes[index]) { index += 1 }
                guard index < bytes.count && bytes[index] != UInt8(ascii: "\n") else { continue }
                if !flow && indent <= parentIndent { return nil }
                if isDocumentMarker(lineStart) || bytes[index] == UInt8(ascii: "#") { return nil }
                if flow && (isFlowIndicator(index) || (bytes[index] == UInt8(ascii: ":") && (isBlankOrEnd(index + 1) || isFlowIndicator(index + 1)))) {
                    return nil
                }
                return (index, lineBreaks)
            }
            return nil
        }

        // MARK: Quoted scalars

        /// Parses a `'...'` or `"..."` scalar, which may span lines (folded as plain scalars are).
        private mutating func parseQuoted() throws(YAMLError) -> YAMLNode {
            let open = offset
            let quote = bytes[open]
            let isDouble = quote == UInt8(ascii: "\"")
            offset += 1
            var text: [UInt8] = []
            var trailingBlanks: Int?   // where the unescaped blanks at the end of `text` start
            while true {
                guard offset < bytes.count else { throw unterminatedQuote(open) }
                let byte = bytes[offset]
                if byte == quote {
                    if !isDouble && offset + 1 < bytes.count && bytes[offset + 1] == quote {
                        text.append(quote)
                        offset += 2
                        trailingBlanks = nil
                        continue
                    }
                    offset += 1
                    break
                }
                if byte == UInt8(ascii: "\n") {
                    // Blanks around a line end are not content; the line end folds.
                    if let blanks = trailingBlanks { text.removeSubrange(blanks...) }
                    trailingBlanks = nil
                    let lineBreaks = try skipLineBreaks(openedAt: open)
                    if lineBreaks == 1 {
                        text.append(UInt8(ascii: " "))
                    } else {
                        text.append(contentsOf: repeatElement(UInt8(ascii: "\n"), count: lineBreaks - 1))
                    }
                    continue
                }
                if isBlank(byte) {
                    if trailingBlanks == nil { trailingBlanks = text.count }
                    text.append(byte)
                    offset += 1
                    continue
                }
                trailingBlanks = nil
                if isDouble && byte == UInt8(ascii: "\\") {
                    if offset + 1 < bytes.count && bytes[offset + 1] == UInt8(ascii: "\n") {
                        // An escaped line end joins the lines without a space.
                        offset += 1
                        let lineBreaks = try skipLineBreaks(openedAt: open)
                        text.append(contentsOf: repeatElement(UInt8(ascii: "\n"), count: lineBreaks - 1))
                    } else {
                        try appendEscape(to: &text)
                    }
                    continue
                }
                text.append(byte)
                offset += 1
            }
            let style: YAMLNode.Style = isDouble ? .doubleQuoted : .singleQuoted
            return YAMLNode(value: .scalar(String(decoding: text, as: UTF8.self), style), position: position(open))
        }

        private func unterminatedQuote(_ open: Int) -> YAMLError {
            bytes[open] == UInt8(ascii: "\"")
                ? error("unterminated double-quoted string: no closing \"", at: open)
                : error("unterminated single-quoted string: no closing '", at: open)
        }

        /// Skips line ends and the blanks that begin the lines after them; returns how many line ends.
        private mutating func skipLineBreaks(openedAt open: Int) throws(YAMLError) -> Int {
            var lineBreaks = 0
            while offset < bytes.count && bytes[offset] == UInt8(ascii: "\n") {
                lineBreaks += 1
                offset += 1
                if isDocumentMarker(offset) { throw unterminatedQuote(open) }
                skipBlanks()
            }
            return lineBreaks
        }

        /// Decodes the escape sequence at the parser (a backslash) and appends its UTF-8.
        private mutating func appendEscape(to text: inout [UInt8]) throws(YAMLError) {
            let start = offset
            guard offset + 1 < bytes.count else {
                offset += 1   // the string is unterminated; the caller reports it
                return
            }
            let code = bytes[offset + 1]
            offset += 2
            var value: UInt32
            if let known = simpleEscape(code) {
                value = known
            } else {
                let digits: Int
                switch code {
                case UInt8(ascii: "x"): digits = 2
                case UInt8(ascii: "u"): digits = 4
                case UInt8(ascii: "U"): digits = 8
                default:
                    let shown = code >= 0x21 && code < 0x7F ? "\\" + String(UnicodeScalar(code)) : "\\"
                    throw error("unknown escape \"\(shown)\" in a double-quoted string", at: start)
                }
                value = 0
                for _ in 0..<digits {
                    guard offset < bytes.count, let digit = hexValue(bytes[offset]) else {
                        throw error("\"\\\(UnicodeScalar(code))\" needs \(digits) hexadecimal digits", at: start)
                    }
                    value = value << 4 | digit
                    offset += 1
                }
            }
            guard let scalar = Unicode.Scalar(value) else {
                throw error("escape \"\(String(decoding: bytes[start..<offset], as: UTF8.self))\" is not a Unicode character", at: start)
            }
            UTF8.encode(scalar) { text.append($0) }
        }

        /// The character a one-letter escape such as `\n` stands for.
        private func simpleEscape(_ code: UInt8) -> UInt32? {
            switch code {
            case UInt8(ascii: "0"): 0x00
            case UInt8(ascii: "a"): 0x07
            case UInt8(ascii: "b"): 0x08
            case UInt8(ascii: "t"), UInt8(ascii: "\t"): 0x09
            case UInt8(ascii: "n"): 0x0A
            case UInt8(ascii: "v"): 0x0B
            case UInt8(ascii: "f"): 0x0C
            case UInt8(ascii: "r"): 0x0D
            case UInt8(ascii: "e"): 0x1B
            case UInt8(ascii: " "): 0x20
            case UInt8(ascii: "\""): 0x22
            case UInt8(ascii: "/"): 0x2F
            case UInt8(ascii: "\\"): 0x5C
            case UInt8(ascii: "N"): 0x85
            case UInt8(ascii: "_"): 0xA0
            case UInt8(ascii: "L"): 0x2028
            case UInt8(ascii: "P"): 0x2029
            default: nil
            }
        }

        private func hexValue(_ byte: UInt8) -> UInt32? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
            default: nil
            }
        }

        // MARK: Separation, indentation and unsupported features

        /// Skips blanks, comments and line ends. Returns whether it crossed a line end. In block
        /// context a tab before a line's first token would be indentation, which YAML forbids.
        private mutating func skipSeparation(flow: Bool) throws(YAMLError) -> Bool {
            var crossedLine = false
            var inIndentation = isLineStart(offset)
            while offset < bytes.count {
                let byte = bytes[offset]
                if byte == UInt8(ascii: " ") {
                    offset += 1
                } else if byte == UInt8(ascii: "\t") {
                    if inIndentation && !flow && !restOfLineIsEmpty(from: offset) {
                        throw error("tabs cannot be used for indentation; use spaces", at: offset)
                    }
                    offset += 1
                } else if byte == UInt8(ascii: "\n") {
                    offset += 1
                    crossedLine = true
                    inIndentation = true
                } else if byte == UInt8(ascii: "#") && (offset == 0 || isBlank(bytes[offset - 1]) || bytes[offset - 1] == UInt8(ascii: "\n")) {
                    skipToLineEnd()
                } else {
                    break
                }
            }
            return crossedLine
        }

        /// Checks that nothing but blanks and a comment follow a block node on its line.
        private mutating func finishLine() throws(YAMLError) {
            let crossedLine = try skipSeparation(flow: false)
            guard !crossedLine && offset < bytes.count else { return }
            if bytes[offset] == UInt8(ascii: ":") {
                throw error("unexpected \":\"; a key must be a one-line scalar, and a nested mapping starts on its own line", at: offset)
            }
            if bytes[offset] == UInt8(ascii: "#") {
                throw error("a comment needs a blank before \"#\"", at: offset)
            }
            throw error("unexpected text after the value", at: offset)
        }

        /// Rejects the node at the parser if it starts with a feature this reader leaves out, or
        /// with a character that cannot start a node.
        private func rejectUnsupported(flow: Bool) throws(YAMLError) {
            guard offset < bytes.count else { return }
            let endsIndicator = isBlankOrEnd(offset + 1) || (flow && isFlowIndicator(offset + 1))
            switch bytes[offset] {
            case UInt8(ascii: "&"): throw error("anchors (&) are not supported", at: offset)
            case UInt8(ascii: "*"): throw error("aliases (*) are not supported", at: offset)
            case UInt8(ascii: "!"): throw error("tags (!) are not supported", at: offset)
            case UInt8(ascii: "%"):
                if isLineStart(offset) { throw error("directives (%) such as %YAML are not supported", at: offset) }
                throw error("a value cannot start with \"%\"; quote it", at: offset)
            case UInt8(ascii: "@"), UInt8(ascii: "`"):
                throw error("a value cannot start with \"\(UnicodeScalar(bytes[offset]))\"; quote it", at: offset)
            case UInt8(ascii: "?") where endsIndicator:
                throw error("complex keys (?) are not supported", at: offset)
            case UInt8(ascii: ":") where endsIndicator:
                throw error("a mapping key is missing before \":\"", at: offset)
            case UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: "#"):
                throw error("unexpected \"\(UnicodeScalar(bytes[offset]))\"", at: offset)
            default: return
            }
        }

        /// The indentation of the line the parser stands on (at its first token), or nil at the
        /// end of the document's content: the end of the input or a `---` or `...` marker.
        private func contentIndent() -> Int? {
            guard offset < bytes.count, !isDocumentMarker(offset) else { return nil }
            return column(offset)
        }

        // MARK: Bytes and positions

        private func isBlank(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
        }

        /// Whether `index` is a blank, a line end or the end of the input: what ends `-`, `:` and `?`.
        private func isBlankOrEnd(_ index: Int) -> Bool {
            index >= bytes.count || isBlank(bytes[index]) || bytes[index] == UInt8(ascii: "\n")
        }

        private func isFlowIndicator(_ index: Int) -> Bool {
            guard index < bytes.count else { return false }
            switch bytes[index] {
            case UInt8(ascii: ","), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "{"), UInt8(ascii: "}"): return true
            default: return false
            }
        }

        private func isSequenceDash(_ index: Int) -> Bool {
            index < bytes.count && bytes[index] == UInt8(ascii: "-") && isBlankOrEnd(index + 1)
        }

        private func isLineStart(_ index: Int) -> Bool {
            index == 0 || (index <= bytes.count && bytes[index - 1] == UInt8(ascii: "\n"))
        }

        /// Whether a `---` or `...` line starts at `index`.
        private func isDocumentMarker(_ index: Int) -> Bool {
            guard isLineStart(index), index + 3 <= bytes.count else { return false }
            let byte = bytes[index]
            guard byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") else { return false }
            return bytes[index + 1] == byte && bytes[index + 2] == byte && isBlankOrEnd(index + 3)
        }

        private mutating func skipBlanks() {
            while offset < bytes.count && isBlank(bytes[offset]) { offset += 1 }
        }

        private mutating func skipToLineEnd() {
            offset = endOfLine(from: offset)
        }

        private func endOfLine(from index: Int) -> Int {
            var end = index
            while end < bytes.count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
            return end
        }

        private func restOfLineIsEmpty(from index: Int) -> Bool {
            var end = index
            while end < bytes.count && isBlank(bytes[end]) { end += 1 }
            return end >= bytes.count || bytes[end] == UInt8(ascii: "\n") || bytes[end] == UInt8(ascii: "#")
        }

        /// The index of the line holding `index`, from 0.
        private func lineIndex(of index: Int) -> Int {
            var low = 0
            var high = lineStarts.count - 1
            while low < high {
                let middle = (low + high + 1) / 2
                if lineStarts[middle] <= index { low = middle } else { high = middle - 1 }
            }
            return low
        }

        /// The column of `index`, from 0: the indentation when `index` is a line's first token.
        private func column(_ index: Int) -> Int {
            index - lineStarts[lineIndex(of: index)]
        }

        private func position(_ index: Int) -> YAMLPosition {
            let line = lineIndex(of: index)
            return YAMLPosition(line: line + 1, column: index - lineStarts[line] + 1)
        }

        private func error(_ message: String, at index: Int) -> YAMLError {
            YAMLError(message, at: position(index))
        }
    }
}
