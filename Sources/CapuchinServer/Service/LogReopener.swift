/// SIGUSR1: reopen the error log and the access logs at their configured
/// paths (logrotate renamed them; its postrotate sends the signal, as for nginx).
enum LogReopener {
    static func reopen(errorLog: ErrorLog, destination: String, accessLog: AccessLogWriter?) {
        if destination != "stderr" {
            do { try errorLog.open(destination: destination) } catch {
                errorLog.error("SIGUSR1: cannot reopen the error log \(destination), still writing to the old file: \(error)")
            }
        }
        accessLog?.reopen()
        errorLog.info("SIGUSR1: reopening the logs")
    }
}
