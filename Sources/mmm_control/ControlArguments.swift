/// MMM's command-line shape, mapped onto swift-argument-parser's.
enum ControlArguments {
    /// Options that come before the verb and take a value.
    private static let globalOptionsWithValue: Set<String> = ["--config-dir", "--cluster"]

    /// Turns `[--config-dir DIR] [@CLUSTER] VERB args…` into `VERB --config-dir DIR --cluster CLUSTER args…`.
    ///
    /// Global options may come before the verb (as with MMM's `@CLUSTER`), but the parser reads a
    /// subcommand's options only after its name, so they are moved behind the verb. Arguments without
    /// a verb (`--help`) are left alone.
    static func normalize(_ arguments: [String]) -> [String] {
        var globals: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if self.globalOptionsWithValue.contains(argument), index + 1 < arguments.count {
                globals += [argument, arguments[index + 1]]
                index += 2
            } else if self.globalOptionsWithValue.contains(where: { argument.hasPrefix($0 + "=") }) {
                globals.append(argument)
                index += 1
            } else if argument.hasPrefix("@"), argument.count > 1 {
                globals += ["--cluster", String(argument.dropFirst())]
                index += 1
            } else {
                break
            }
        }
        guard index < arguments.count, !arguments[index].hasPrefix("-") else {
            return arguments
        }
        return [arguments[index]] + globals + arguments[(index + 1)...]
    }
}
