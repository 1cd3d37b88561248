// swift-tools-version:6.0
import PackageDescription

// Five filters and the library they share. No third-party packages: the
// toolchain's stdlib, Foundation(Essentials), Glibc, Dispatch and XCTest only.
let tools = ["mcollect", "mstore", "mquery", "malert", "mnotify"]

let package = Package(
    name: "metrics-toolkit",
    products: tools.map { .executable(name: $0, targets: [$0]) }
        + [.library(name: "MetricLine", targets: ["MetricLine"])],
    targets: [
        .target(name: "MetricLine"),
        // The tools are dependencies so that `swift test` builds them for the tests that run them.
        .testTarget(name: "ToolkitTests", dependencies: [.target(name: "MetricLine")] + tools.map { .target(name: $0) },
                    exclude: ["Fixtures"]),
    ] + tools.map { .executableTarget(name: $0, dependencies: ["MetricLine"]) },
    swiftLanguageModes: [.v6]
)
