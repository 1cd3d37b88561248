#if canImport(Glibc)
import Glibc
#endif

/// An SVG document being written: shapes and text in drawing order, coordinates rounded to a
/// tenth of a pixel, text escaped. The charts draw on it; `finish()` closes the document.
struct SVGCanvas {
    private(set) var text: String

    /// Colours for series, in order; the tenth series takes the first colour again.
    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    init(width: Int, height: Int) {
        text = ##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(width)" height="\##(height)" viewBox="0 0 \##(width) \##(height)" font-family="sans-serif" font-size="11">"##
        text += "\n" + ##"<rect width="100%" height="100%" fill="white"/>"##
    }

    static func color(_ number: Int) -> String { palette[number % palette.count] }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String) {
        add(##"<line x1="\##(n(x1))" y1="\##(n(y1))" x2="\##(n(x2))" y2="\##(n(y2))" stroke="\##(stroke)"/>"##)
    }

    mutating func rect(_ x: Double, _ y: Double, _ width: Double, _ height: Double, fill: String, stroke: String? = nil) {
        let outline = stroke.map { ##" stroke="\##($0)""## } ?? ""
        add(##"<rect x="\##(n(x))" y="\##(n(y))" width="\##(n(width))" height="\##(n(height))" fill="\##(fill)"\##(outline)/>"##)
    }

    mutating func circle(_ x: Double, _ y: Double, radius: Double, fill: String) {
        add(##"<circle cx="\##(n(x))" cy="\##(n(y))" r="\##(n(radius))" fill="\##(fill)"/>"##)
    }

    /// A run of joined points; `fill` closes it into an area instead of a line.
    mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double = 1.5) {
        add(##"<polyline fill="none" stroke="\##(stroke)" stroke-width="\##(n(width))" points="\##(pointList(points))"/>"##)
    }

    mutating func polygon(_ points: [(Double, Double)], fill: String, opacity: Double) {
        add(##"<polygon fill="\##(fill)" fill-opacity="\##(n(opacity))" stroke="none" points="\##(pointList(points))"/>"##)
    }

    /// An arc of a circle around (x, y) from `start` to `end` (radians, counter-clockwise from
    /// three o'clock, as on paper; at most half a turn).
    mutating func arc(_ x: Double, _ y: Double, radius: Double, from start: Double, to end: Double, stroke: String, width: Double) {
        let (x1, y1) = (x + radius * cos(start), y - radius * sin(start))
        let (x2, y2) = (x + radius * cos(end), y - radius * sin(end))
        let sweep = end < start ? 1 : 0
        add(##"<path d="M\##(n(x1)),\##(n(y1)) A\##(n(radius)),\##(n(radius)) 0 0 \##(sweep) \##(n(x2)),\##(n(y2))" fill="none" stroke="\##(stroke)" stroke-width="\##(n(width))"/>"##)
    }

    /// Text at (x, y); `anchor` is start, middle or end; `extra` holds further attributes.
    mutating func text(_ x: Double, _ y: Double, _ content: String, anchor: String = "start", extra: String = "") {
        let attributes = (anchor == "start" ? "" : ##" text-anchor="\##(anchor)""##) + (extra.isEmpty ? "" : " " + extra)
        add(##"<text x="\##(n(x))" y="\##(n(y))"\##(attributes)>\##(SVGCanvas.escape(content))</text>"##)
    }

    mutating func finish() -> String {
        text + "\n</svg>\n"
    }

    private mutating func add(_ element: String) {
        text += "\n" + element
    }

    private func pointList(_ points: [(Double, Double)]) -> String {
        points.map { n($0.0) + "," + n($0.1) }.joined(separator: " ")
    }

    private func n(_ value: Double) -> String {
        FloatFormatter.string((value * 10).rounded() / 10)
    }

    /// `text` as XML character data: HTML's escapes (as Go's templates write them), and the
    /// control characters XML cannot hold replaced by U+FFFD.
    static func escape(_ text: String) -> String {
        let escaped = Template.GoText.htmlEscape(text)
        guard escaped.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" && $0 != "\n" && $0 != "\r" }) else { return escaped }
        return String(String.UnicodeScalarView(escaped.unicodeScalars.map { $0.value < 0x20 && $0 != "\t" && $0 != "\n" && $0 != "\r" ? "\u{FFFD}" : $0 }))
    }
}
