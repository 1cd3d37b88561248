// swift-tools-version:6.0
import PackageDescription

// Five filters and the library they share. No third-party packages: the
// toolchain's stdlib, Foundation(Essentials), Glibc, Dispatch and XCTest only.
let tools = ["mcollect", "mstore", "mquery", "malert", "mnotify"]

// Release builds of the tools that resolve no names and load no libraries link everything in,
// glibc too: with no dynamic loader they start in under a millisecond (about two otherwise), a
// large part of a small query. lld, because glibc's notes on functions these tools never call
// (getaddrinfo, dlopen) would otherwise print as link warnings. mcollect and mnotify resolve
// host names and load libcurl, so they stay dynamic, but at a fixed address like the static
// ones: a position-independent executable has the loader touch every page of Swift's metadata to
// relocate it, about 1.5 MiB of resident memory (mcollect's budget is 10 MB). The price: the
// program's own code is not at a random address (libraries, heap and stack still are).
let staticTools: Set = ["mstore", "mquery", "malert"]
func linkerSettings(_ tool: String) -> [LinkerSetting] {
    guard staticTools.contains(tool) else { return [.unsafeFlags(["-Xlinker", "-no-pie"], .when(configuration: .release))] }
    return [.unsafeFlags(["-static-executable", "-use-ld=lld", "-Xlinker", "--no-warnings"], .when(configuration: .release))]
}

let package = Package(
    name: "metrics-toolkit",
    products: tools.map { .executable(name: $0, targets: [$0]) }
        + [.library(name: "MetricLine", targets: ["MetricLine"])],
    targets: [
        .target(name: "MetricLine"),
        // The tools are dependencies so that `swift test` builds them for the tests that run them.
        .testTarget(name: "ToolkitTests", dependencies: [.target(name: "MetricLine")] + tools.map { .target(name: $0) },
                    exclude: ["Fixtures"]),
    ] + tools.map { .executableTarget(name: $0, dependencies: ["MetricLine"], linkerSettings: linkerSettings($0)) },
    swiftLanguageModes: [.v6]
)
