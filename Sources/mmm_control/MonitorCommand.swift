#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import MMMConfig
import MMMCore
import MMMControl
import MMMProtocol
import MMMTransport

/// Runs one MMM command against the monitor: load the config, send the request, print the answer.
enum MonitorCommand {
    /// How long before this process's start a reply may be stamped (the monitor's clock may lag ours a little; a
    /// reply captured before that cannot be replayed to us: see ``MMMTransport/ProtocolClientConfiguration``).
    static let replyClockSlack: Int64 = 5_000

    /// The longest connect wait; the reply deadline (`--timeout`) is separate.
    static let connectTimeout: Duration = .seconds(5)

    /// Sends `invocation`'s request to the monitor of its config and prints the reply text exactly, as MMM does.
    ///
    /// - Returns: the exit status (``MMMMonitor/ControlExitStatus``); problems are printed on standard error.
    static func run(_ invocation: ControlInvocation) async -> ControlExitStatus {
        let settings: ControlSettings
        let tls: ProtocolTLS?
        do {
            let configuration = try ConfigDirectory(path: invocation.configDirectory)
                .loadControl(cluster: invocation.cluster)
            settings = try ControlSettings(configuration: configuration)
            tls = try settings.tls.map { try ProtocolTLS(files: $0) }
        } catch {
            StandardError.write("mmm_control: \(Self.describe(error))")
            return .configuration
        }
        let started = WallClock.now()
        let client = ControlClient(
            client: ProtocolClient(
                configuration: ProtocolClientConfiguration(
                    name: ControlClient.senderName(hostName: Self.hostName(), processID: getpid()),
                    key: settings.key,
                    connectTimeout: min(invocation.replyTimeout, Self.connectTimeout),
                    replyTimeout: invocation.replyTimeout,
                    replyNotBefore: ProtocolTimestamp(
                        millisecondsSince1970: started.millisecondsSince1970 - Self.replyClockSlack
                    ),
                    tls: tls
                ),
                // The client logs only at trace level; mmm_control's output is the reply alone.
                logger: Logger(label: "mmm_control") { _ in SwiftLogNoOpLogHandler() }
            )
        )
        do {
            let response = try await client.send(invocation.request, to: settings.monitor)
            print(response.text)
            return ControlExitStatus(response: response)
        } catch {
            StandardError.write("ERROR: Can't connect to monitor daemon!\nmmm_control: \(Self.describe(error))")
            return .monitorUnreachable
        }
    }

    /// The message of an ``MMMCore/MMMError`` (its code is for logs), or the error's description.
    private static func describe(_ error: any Error) -> String {
        (error as? MMMError)?.message ?? "\(error)"
    }

    /// This machine's host name, or an empty string if it cannot be read.
    private static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Writes to standard error.
enum StandardError {
    /// Writes `text` and a newline to standard error.
    static func write(_ text: String) {
        let bytes = Array((text + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { systemWrite(STDERR_FILENO, $0.baseAddress, $0.count) }
            // A closed or broken standard error leaves nowhere to report to.
            guard written > 0 else { return }
            offset += written
        }
    }
}

#if canImport(Glibc)
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
private let systemWrite = Darwin.write
#endif

/// Ends the process with `status` (standard output is flushed by `exit`).
func terminate(_ status: ControlExitStatus) -> Never {
    exit(status.rawValue)
}
