// swift-tools-version:6.0
import PackageDescription

// Linux only (epoll, eventfd, openat2, sendfile, Glibc): no platforms claim.
// The Swift 6 language mode (complete concurrency checking) for the leaves:
// CapuchinSystem, HTTPCore, CachePolicies, CacheStore. The rest stays in the
// Swift 5 mode for now: the server owns its threads and locks explicitly (epoll
// workers, one LMDB writer), which the checker cannot see; each
// `@unchecked Sendable` there says why it is safe.
// Release builds of the request path skip the dynamic exclusivity checks (a
// thread-local access set per class-property access: about 7% of the user time
// of a 1 KiB hit). Debug builds, which run the test suite, keep them on.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
let checked: [SwiftSetting] = [.swiftLanguageMode(.v6)]
// The eviction policies and their tests are optimised in debug builds too:
// the contract and replay tests run millions of decisions (PolicyContractTests
// took 41 of the suite's 133 s in CI unoptimised; 83 -> 14 s on a loaded
// machine). -O keeps the exclusivity, overflow and precondition checks and
// XCTest's assertions; the module has no `assert`.
let optimisedInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "Capuchin",
    products: [
        .executable(name: "capuchin", targets: ["capuchin"]),
        .executable(name: "cachedump", targets: ["cachedump"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // C modules only.
        .systemLibrary(
            name: "CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        .target(name: "CSystemShims"),
        // Content codings (Debian's zlib1g-dev, libbrotli-dev, libzstd-dev).
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CBrotli", pkgConfig: "libbrotlienc", providers: [.apt(["libbrotli-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        // OpenSSL 3 (TLS), with static inline wrappers for its macros.
        .systemLibrary(
            name: "COpenSSL",
            path: "Sources/COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),

        // The one place for syscalls.
        .target(name: "CapuchinSystem", dependencies: ["CSystemShims"], swiftSettings: hotPath + checked),
        // Parser, request/response heads, headers, MIME, dates: no syscalls.
        .target(name: "HTTPCore", swiftSettings: hotPath + checked),
        // TLS sessions, contexts (certificates, SNI, tickets) and counters over OpenSSL.
        .target(name: "CapuchinTLS", dependencies: ["COpenSSL", "CapuchinSystem"], swiftSettings: hotPath),
        // Workers, listeners, connections, timers, config, plugin protocols.
        .target(name: "CapuchinServer", dependencies: [
            "CapuchinSystem", "CapuchinTLS", "HTTPCore", .product(name: "Yams", package: "Yams"),
        ], swiftSettings: hotPath),
        // One-shot brotli, zstd and gzip codecs: no I/O.
        .target(name: "Compression", dependencies: ["CZlib", "CBrotli", "CZstd"], swiftSettings: checked),
        // LMDB wrapper and index schema.
        .target(name: "CacheStore", dependencies: ["CLMDB", "CapuchinSystem"], swiftSettings: checked),
        // Eviction policies, shared by the server and the simulator.
        .target(name: "CachePolicies", dependencies: ["CapuchinSystem"], swiftSettings: hotPath + checked + optimisedInDebug),
        // Plugins.
        .target(name: "FileCache", dependencies: [
            "CapuchinServer", "CapuchinSystem", "CacheStore", "CachePolicies", "HTTPCore", "Compression",
        ], swiftSettings: hotPath),
        .target(name: "Admin", dependencies: ["CapuchinServer", "CapuchinSystem", "CapuchinTLS", "HTTPCore"]),
        .target(name: "ReverseProxy", dependencies: [
            "CapuchinServer", "CapuchinSystem", "CapuchinTLS", "CacheStore", "CachePolicies", "HTTPCore", "FileCache",
        ]),

        .executableTarget(name: "capuchin", dependencies: [
            "CapuchinServer", "CapuchinSystem", "FileCache", "Admin", "ReverseProxy", "CachePolicies", "CacheStore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], plugins: ["BuildRevision"]),
        // Records `git describe` for `capuchin --version` before each build.
        .plugin(name: "BuildRevision", capability: .buildTool()),
        .executableTarget(name: "cachedump", dependencies: [
            "CacheStore", "CapuchinSystem",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Test helper: applies store batches until killed (the crash test's child).
        .executableTarget(name: "store-crash-child", dependencies: ["CacheStore", "CapuchinSystem"]),

        // Benchmark of the store (Tools/store-bench/run.sh).
        .executableTarget(name: "store-bench", dependencies: ["CacheStore", "CapuchinSystem"]),

        // Shared by test targets: locating and running the built products.
        .target(name: "TestSupport", path: "Tests/TestSupport"),

        .testTarget(name: "CapuchinSystemTests", dependencies: ["CapuchinSystem"]),
        .testTarget(name: "HTTPCoreTests", dependencies: ["HTTPCore"]),
        .testTarget(name: "CompressionTests", dependencies: ["Compression"]),
        .testTarget(name: "CapuchinServerTests", dependencies: ["CapuchinServer", "CapuchinSystem", "CapuchinTLS", "HTTPCore", "TestSupport"]),
        .testTarget(name: "CacheStoreTests", dependencies: ["CacheStore", "CLMDB", "CapuchinSystem", "TestSupport", "store-crash-child", "cachedump"]),
        .testTarget(name: "CachePoliciesTests", dependencies: ["CachePolicies"], swiftSettings: optimisedInDebug),
        .testTarget(name: "FileCacheTests", dependencies: [
            "FileCache", "CapuchinServer", "CapuchinSystem", "CacheStore", "CachePolicies", "HTTPCore",
        ]),
        .testTarget(name: "CachedumpTests", dependencies: ["CacheStore", "TestSupport", "cachedump"]),
        .testTarget(name: "ReverseProxyTests", dependencies: ["ReverseProxy", "CapuchinServer", "CapuchinSystem", "HTTPCore", "TestSupport"]),
        .testTarget(name: "AdminTests", dependencies: ["Admin", "CapuchinSystem"]),
    ],
    swiftLanguageModes: [.v5]
)
