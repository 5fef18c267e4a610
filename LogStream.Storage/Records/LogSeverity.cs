namespace LogStream.Storage;

/// <summary>
/// Severity of a log record. The numeric values are written to disk and into content hashes:
/// they are frozen and append-only (a new level gets the next free number, never a renumbering).
/// Named to stay clear of <see cref="Microsoft.Extensions.Logging.LogLevel"/>.
/// </summary>
public enum LogSeverity : byte
{
    Trace = 0,
    Debug = 1,
    Info = 2,
    Warn = 3,
    Error = 4,
    Fatal = 5,
}

/// <summary>Canonical names and the lenient parser of <see cref="LogSeverity"/>.</summary>
public static class LogSeverities
{
    /// <summary>The highest defined severity; every value in 0..Max is defined.</summary>
    public const LogSeverity Max = LogSeverity.Fatal;

    private static readonly string[] Names = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

    /// <summary>Canonical upper-case name: TRACE, DEBUG, INFO, WARN, ERROR, FATAL.</summary>
    public static string ToName(this LogSeverity severity) =>
        IsDefined(severity) ? Names[(int)severity] : throw new ArgumentOutOfRangeException(nameof(severity), severity, "Undefined log severity.");

    public static bool IsDefined(LogSeverity severity) => severity <= Max;

    /// <summary>
    /// Parses a canonical name or one of the aliases <c>WARNING</c> (WARN), <c>ERR</c> (ERROR) and
    /// <c>CRITICAL</c> (FATAL), ignoring case and surrounding white space. Numbers are not accepted.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> text, out LogSeverity severity)
    {
        text = text.Trim();
        for (var i = 0; i < Names.Length; i++)
        {
            if (text.Equals(Names[i], StringComparison.OrdinalIgnoreCase))
            {
                severity = (LogSeverity)i;
                return true;
            }
        }

        severity = text switch
        {
            _ when text.Equals("WARNING", StringComparison.OrdinalIgnoreCase) => LogSeverity.Warn,
            _ when text.Equals("ERR", StringComparison.OrdinalIgnoreCase) => LogSeverity.Error,
            _ when text.Equals("CRITICAL", StringComparison.OrdinalIgnoreCase) => LogSeverity.Fatal,
            _ => (LogSeverity)255,
        };
        return severity != (LogSeverity)255;
    }

    /// <inheritdoc cref="TryParse(ReadOnlySpan{char}, out LogSeverity)"/>
    /// <exception cref="FormatException">The text is no level name nor alias.</exception>
    public static LogSeverity Parse(string text) =>
        TryParse(text, out var severity)
            ? severity
            : throw new FormatException($"'{text}' is not a log level: expected TRACE, DEBUG, INFO, WARN, ERROR or FATAL (aliases WARNING, ERR, CRITICAL).");
}
