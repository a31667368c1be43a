/// A command from `mmm_control` to the monitor: a verb and its arguments (`move_role writer db2`).
public struct ControlRequest: Hashable, Sendable {
    /// The verb (`show`, `set_online`, `move_role`…): `a–z 0–9 _ -`, starting with a letter.
    public var verb: String
    /// The arguments, as typed (`--force`, `writer`, `db2`); each free of control characters.
    public var arguments: [String]

    /// Creates a control request.
    public init(verb: String, arguments: [String] = []) {
        self.verb = verb
        self.arguments = arguments
    }
}

/// The monitor's answer to a ``ControlRequest``.
public struct ControlResponse: Hashable, Sendable {
    /// Whether the command failed (`mmm_control` then exits non-zero).
    public var isError: Bool
    /// The reply text (MMM's exact output, or JSON for the new verbs), newline-separated lines.
    public var text: String

    /// Creates a control response.
    public init(isError: Bool, text: String) {
        self.isError = isError
        self.text = text
    }
}
