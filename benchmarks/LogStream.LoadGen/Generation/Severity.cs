using System.Text;

namespace LogStream.LoadGen.Generation;

/// <summary>The six levels of DESIGN §2, in the order of their severity.</summary>
public enum Severity
{
    Trace = 0,
    Debug = 1,
    Info = 2,
    Warn = 3,
    Error = 4,
    Fatal = 5,
}

public static class Severities
{
    public static readonly string[] Names = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

    internal static readonly byte[][] Utf8Names = Names.Select(Encoding.UTF8.GetBytes).ToArray();

    public static string ToWire(this Severity severity) => Names[(int)severity];

    public static bool TryParse(string? text, out Severity severity)
    {
        var index = Array.IndexOf(Names, text?.Trim().ToUpperInvariant());
        severity = (Severity)Math.Max(index, 0);
        return index >= 0;
    }
}
