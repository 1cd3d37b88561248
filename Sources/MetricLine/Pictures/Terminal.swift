#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the terminal on standard output can show.
public enum Terminal {
    /// Its width in characters: `COLUMNS`, else the terminal's own, else 80.
    public static func columns() -> Int {
        if let text = Environment.value("COLUMNS"), let value = Int(text), value > 20 { return value }
        var size = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 20 { return Int(size.ws_col) }
        return 80
    }

    /// Whether to colour: standard output is a terminal and `NO_COLOR` is not set.
    public static func wantsColor() -> Bool {
        isatty(1) == 1 && (Environment.value("NO_COLOR") ?? "").isEmpty
    }
}
