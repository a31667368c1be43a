import Logging
import MMMCore
import MMMSystem

/// What an ``ExecEndpointProvider`` runs.
public struct ExecEndpointConfiguration: Sendable, Hashable {
    /// The operator's program, an absolute path. It is run directly (`posix_spawn`), never through a shell.
    public var program: String
    /// Fixed arguments from the configuration, placed before the verb (`PROGRAM ARGUMENTS... acquire ROLE IP`).
    /// Passed verbatim, one `argv` element each; they must not contain NUL bytes.
    public var arguments: [String]
    /// The program's environment; `nil` passes the agent's own (cloud tools often read credentials from it).
    public var environment: [String: String]?

    /// Creates a configuration.
    public init(program: String, arguments: [String] = [], environment: [String: String]? = nil) {
        self.program = program
        self.arguments = arguments
        self.environment = environment
    }

    /// Checks the program path and the fixed arguments.
    ///
    /// - Throws: ``MMMError/Code/invalidArgument``.
    public func validate() throws {
        try EndpointArguments.validateProgramPath(self.program)
        for argument in self.arguments where argument.contains("\0") {
            throw MMMError(.invalidArgument, "an argument of \(self.program) contains a NUL byte")
        }
        for (key, value) in self.environment ?? [:] where key.isEmpty || key.contains("=") || key.contains("\0") || value.contains("\0") {
            throw MMMError(.invalidArgument, "the environment of \(self.program) has an invalid variable")
        }
    }
}

/// The `exec` endpoint: an operator's program moves the address, for clouds where a VIP cannot move by ARP (alias
/// IPs, load-balancer APIs; DESIGN.md §5).
///
/// The contract (docs/endpoints.md): `PROGRAM [ARGUMENTS...] acquire ROLE IP`, `... release ROLE IP` and
/// `... check ROLE IP`, called without a shell, with `ROLE` and `IP` validated first (``EndpointArguments``), standard
/// input from `/dev/null`, and killed with SIGKILL at the call's deadline. `acquire` and `release` exit 0 on success
/// and must be idempotent; `check` exits 0 when the host holds the IP, 1 when it does not, and anything else when it
/// cannot tell. Any other outcome throws an error carrying the program's output.
public struct ExecEndpointProvider: EndpointProvider {
    /// The program and its fixed arguments.
    public let configuration: ExecEndpointConfiguration
    private let runner: CommandRunner
    private let logger: Logger

    /// Creates a provider; the configuration is validated here.
    ///
    /// - Throws: ``MMMError/Code/invalidArgument`` for a relative path or an argument with a NUL byte.
    public init(configuration: ExecEndpointConfiguration, runner: CommandRunner, logger: Logger) throws {
        try configuration.validate()
        self.configuration = configuration
        self.runner = runner
        self.logger = logger
    }

    /// Runs `PROGRAM acquire ROLE IP`; exit status 0 is success. `probe` is not passed on: whatever checks the
    /// program makes, it makes every time.
    ///
    /// - Throws: ``MMMError/Code/invalidArgument`` before running anything for a bad role or IP;
    ///   ``MMMError/Code/commandFailed`` with the program's trimmed output for a non-zero exit or a program that
    ///   cannot start; ``MMMError/Code/timedOut`` (the program is killed) past `deadline`.
    public func acquire(role: String, ip: String, probe: Bool, deadline: Duration) async throws {
        let result = try await self.call("acquire", role: role, ip: ip, deadline: deadline)
        guard result.status == 0 else { throw self.failure("acquire", role, ip, result) }
    }

    /// Runs `PROGRAM release ROLE IP`; exit status 0 is success.
    ///
    /// - Throws: as ``acquire(role:ip:probe:deadline:)``.
    public func release(role: String, ip: String, deadline: Duration) async throws {
        let result = try await self.call("release", role: role, ip: ip, deadline: deadline)
        guard result.status == 0 else { throw self.failure("release", role, ip, result) }
    }

    /// Runs `PROGRAM check ROLE IP`: exit status 0 means held, 1 means not held.
    ///
    /// - Throws: as ``acquire(role:ip:probe:deadline:)``, and ``MMMError/Code/commandFailed`` for any other exit status.
    public func holds(role: String, ip: String, deadline: Duration) async throws -> Bool {
        let result = try await self.call("check", role: role, ip: ip, deadline: deadline)
        switch result.status {
        case 0: return true
        case 1: return false
        default: throw self.failure("check", role, ip, result)
        }
    }

    private func call(_ verb: String, role: String, ip: String, deadline: Duration) async throws -> CommandResult {
        try EndpointArguments.validateRoleName(role)
        try EndpointArguments.validateIPv4(ip)
        self.logger.debug(
            "running endpoint program",
            metadata: [LogKey.endpointProgram: "\(self.configuration.program)", LogKey.endpointVerb: "\(verb)", LogKey.endpointRole: "\(role)", LogKey.endpointIP: "\(ip)"]
        )
        return try await self.runner.run(
            self.configuration.program,
            self.configuration.arguments + [verb, role, ip],
            deadline: deadline,
            environment: self.configuration.environment
        )
    }

    private func failure(_ verb: String, _ role: String, _ ip: String, _ result: CommandResult) -> MMMError {
        MMMError(
            .commandFailed,
            "\(self.configuration.program) \(verb) \(role) \(ip) failed with exit status \(result.status): \(VIPEndpointProvider.excerpt(result.output))"
        )
    }
}
