// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "aide",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "aide", targets: ["aide"]),
        .library(name: "AIDE", targets: ["AIDE"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.5.0"),
    ],
    targets: [
        // libcurl, with typed wrappers for its variadic setters (Swift cannot call C varargs).
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .target(
            name: "AIDE",
            dependencies: [
                "CCurl",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .executableTarget(
            name: "aide",
            dependencies: [
                "AIDE",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Loopback servers that speak the providers' wire formats; used by tests and benchmarks.
        .target(
            name: "AIDETesting",
            dependencies: ["AIDE"]
        ),
        .executableTarget(
            name: "AIDEBenchmarks",
            dependencies: ["AIDE", "AIDETesting", "CCurl"]
        ),
        .testTarget(
            name: "AIDETests",
            dependencies: ["AIDE", "AIDETesting", .product(name: "GRDB", package: "GRDB.swift")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
