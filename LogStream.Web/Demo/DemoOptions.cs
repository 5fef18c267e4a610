using System.ComponentModel.DataAnnotations;

namespace LogStream.Web.Demo;

/// <summary>What one Run Demo does. Section <c>LogStream:Demo</c>.</summary>
public sealed class DemoOptions
{
    public const string SectionName = "LogStream:Demo";

    /// <summary>Records written per run. Default 600.</summary>
    [Range(1, 100_000, ErrorMessage = "LogStream:Demo:Records must be between 1 and 100000.")]
    public int Records { get; set; } = 600;

    /// <summary>Records per <c>POST /api/logs</c>. Default 200.</summary>
    [Range(1, 10_000, ErrorMessage = "LogStream:Demo:BatchRecords must be between 1 and 10000.")]
    public int BatchRecords { get; set; } = 200;

    /// <summary>Fraction of ERROR records. Default 0.03.</summary>
    [Range(0.0, 1.0, ErrorMessage = "LogStream:Demo:ErrorRate must be between 0 and 1.")]
    public double ErrorRate { get; set; } = 0.03;

    /// <summary>Timestamps are spread over this span before now. Default 1 minute.</summary>
    public TimeSpan Spread { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Consistency of the demo's writes: ONE, QUORUM or ALL. Default QUORUM.</summary>
    [RegularExpression("^(ONE|QUORUM|ALL)$", ErrorMessage = "LogStream:Demo:Consistency must be ONE, QUORUM or ALL.")]
    public string Consistency { get; set; } = "QUORUM";
}

/// <summary>Chaos actions (really losing data). Section <c>LogStream:Chaos</c>; the same switch the nodes read.</summary>
public sealed class ChaosOptions
{
    public const string SectionName = "LogStream:Chaos";

    /// <summary>Whether the dashboard offers chaos actions and the demo makes a replica lose records. Default false.</summary>
    public bool Enabled { get; set; }

    /// <summary>Fraction of its local records the demo's victim loses. Default 0.05.</summary>
    [Range(0.0, 1.0, ErrorMessage = "LogStream:Chaos:LoseFraction must be between 0 and 1.")]
    public double LoseFraction { get; set; } = 0.05;
}
