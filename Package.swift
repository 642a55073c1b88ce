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
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
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
        // `aide serve`: the live dashboard. Its own target so the search library never links the HTTP server.
        .target(
            name: "AIDEServe",
            dependencies: [
                "AIDE",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "aide",
            dependencies: [
                "AIDE",
                "AIDEServe",
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
        .testTarget(
            name: "AIDEServeTests",
            dependencies: [
                // Over real sockets (RawHTTP): every header, Host included, as a browser would send it.
                "AIDE", "AIDEServe", "AIDETesting",
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
