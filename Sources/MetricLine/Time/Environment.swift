#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process environment.
public enum Environment {
    /// The value of variable `name`, or nil.
    public static func value(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
