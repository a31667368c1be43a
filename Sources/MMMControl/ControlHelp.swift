/// The `help` text of `mmm_control`.
public enum ControlHelp {
    /// MMM 2.2's help block verbatim (`Commands.pm::help`), plus swift-mmm's verbs: `failover_report` and `errant`
    /// (answered by the monitor), and `check-config` and `probe`, which `mmm_control` runs itself without the monitor.
    public static let text = """
        Valid commands are:
            help                              - show this message
            ping                              - ping monitor
            show                              - show status
            checks [<host>|all [<check>|all]] - show checks status
            set_online <host>                 - set host <host> online
            set_offline <host>                - set host <host> offline
            mode                              - print current mode.
            set_active                        - switch into active mode.
            set_manual                        - switch into manual mode.
            set_passive                       - switch into passive mode.
            move_role [--force] <role> <host> - move exclusive role <role> to host <host>
                                                (Only use --force if you know what you are doing!)
            set_ip <ip> <host>                - set role with ip <ip> to host <host>
            failover_report                   - show the last change of writer, step by step.
            errant <host>                     - show the host's transactions the writer lacks, and where they are.
            check-config                      - validate the config files (run by mmm_control itself).
            probe [<host> ...]                - ask the servers directly what they report (run by mmm_control itself).

        """
}
