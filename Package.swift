// swift-tools-version:6.1
import PackageDescription

/// Settings every target shares: Swift 6 language mode plus the upcoming features of the house style.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// The pure core and its tests are optimized in debug builds too: the property tests run hundreds of thousands of
/// simulated histories through it, 10–20 times faster than unoptimized (it has no I/O to debug step by step).
let optimizedSwiftSettings: [SwiftSetting] = swiftSettings + [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "swift-mmm",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "mmm_control", targets: ["mmm_control"]),
        .executable(name: "mmm_agentd", targets: ["mmm_agentd"]),
        .executable(name: "mmm_mond", targets: ["mmm_mond"]),
        .executable(name: "mmm-benchmark", targets: ["mmm-benchmark"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        // Pure decisions: standard library only, no clocks, no I/O.
        .target(name: "MMMCore", swiftSettings: optimizedSwiftSettings),
        .target(name: "MMMConfig", dependencies: ["MMMCore"], swiftSettings: swiftSettings),
        .systemLibrary(
            name: "CMariaDB",
            pkgConfig: "libmariadb",
            providers: [.apt(["libmariadb-dev"])]
        ),
        .target(
            name: "MariaDBClient",
            dependencies: [
                "CMariaDB",
                "MMMCore",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Monitor⇄agent and control wire protocol: messages, framing, HMAC authentication, replay guard.
        .target(
            name: "MMMProtocol",
            dependencies: [
                "MMMCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Runs external programs without a shell, with deadlines (ip, arping, the bench script, kill_host_bin).
        .target(
            name: "MMMSystem",
            dependencies: [
                "MMMCore",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Daemon plumbing shared by mmm_agentd and mmm_mond: pid file, logging bootstrap, service group.
        .target(
            name: "MMMDaemon",
            dependencies: [
                "MMMCore",
                "MMMSystem",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The protocol over TCP: the authenticated frame server (agent listener, monitor control listener),
        // the client, the agent client and mutual TLS. Shared by mmm_agentd, mmm_mond and mmm_control.
        .target(
            name: "MMMTransport",
            dependencies: [
                "MMMCore",
                "MMMSystem",
                "MMMConfig",
                "MMMProtocol",
                "MMMDaemon",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        // mmm_agentd's library: endpoint providers (vip, exec) and the agent.
        .target(
            name: "MMMAgent",
            dependencies: [
                "MMMCore",
                "MMMTransport",
                "MMMSystem",
                "MariaDBClient",
                "MMMConfig",
                "MMMProtocol",
                "MMMDaemon",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // mmm_mond's library: the checks, the decision loop, the status file and the control server.
        // The control verbs as a client sees them (parsing, exit statuses, where the monitor listens): mmm_control
        // links this, not the monitor.
        .target(
            name: "MMMControl",
            dependencies: ["MMMCore", "MMMConfig", "MMMProtocol", "MMMTransport"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MMMMonitor",
            dependencies: [
                "MMMControl",
                "MMMCore",
                "MMMProtocol",
                "MMMTransport",
                "MMMConfig",
                "MMMSystem",
                "MariaDBClient",
                "MMMDaemon",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Drives bench/bench.sh (real mariadbd hosts in network namespaces) for tests and benchmarks.
        .target(
            name: "MMMTestSupport",
            dependencies: [
                "MariaDBClient", "MMMCore", "MMMSystem", .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "mmm_control",
            dependencies: [
                "MMMConfig",
                "MMMCore",
                "MariaDBClient",
                "MMMControl", "MMMTransport", "MMMProtocol", .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "mmm_agentd",
            dependencies: [
                "MMMSystem",
                "MMMAgent",
                "MMMTransport",
                "MMMConfig",
                "MMMCore",
                "MMMDaemon",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "mmm_mond",
            dependencies: [
                "MMMSystem",
                "MMMMonitor",
                "MMMTransport",
                "MMMConfig",
                "MMMCore",
                "MMMDaemon",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "mmm-benchmark",
            dependencies: [
                "MariaDBClient",
                "MMMTestSupport",
                "MMMCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MMMCoreTests",
            dependencies: ["MMMCore", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: optimizedSwiftSettings
        ),
        .testTarget(
            name: "MMMConfigTests",
            dependencies: ["MMMConfig", "MMMCore"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MariaDBClientTests",
            dependencies: ["MariaDBClient", "MMMCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MMMProtocolTests",
            dependencies: [
                "MMMProtocol",
                "MMMCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MMMSystemTests",
            dependencies: ["MMMSystem", "MMMCore", .product(name: "NIOPosix", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        // Root-only tests (network namespaces) are gated on MMM_TEST_MARIADB=1 as the bench tests are.
        .testTarget(
            name: "MMMAgentTests",
            dependencies: [
                "MMMTestSupport",
                "MMMConfig",
                "MMMAgent", "MMMTransport", "MMMSystem", "MMMCore", "MMMProtocol",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MMMTransportTests",
            dependencies: [
                "MMMTransport", "MMMCore", "MMMProtocol", "MMMSystem", "MMMTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MMMDaemonTests",
            dependencies: [
                "MMMTestSupport",
                "MMMDaemon", "MMMCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MMMControlTests",
            dependencies: ["MMMControl", "MMMCore", "MMMConfig", "MMMProtocol", "MMMTransport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MMMMonitorTests",
            dependencies: [
                "MMMMonitor", "MMMControl", "MMMCore", "MMMConfig", "MariaDBClient", "MMMTestSupport", "MMMSystem",
                "MMMTransport", "MMMProtocol", .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Real mariadbd servers on the bench; gated on MMM_TEST_MARIADB=1 (the README test command sets it).
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "MariaDBClient", "MMMTestSupport", "MMMCore", "MMMAgent", "MMMTransport", "MMMMonitor", "MMMProtocol", "MMMConfig",
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
