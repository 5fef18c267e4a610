using System.ComponentModel.DataAnnotations;

namespace LogStream.Node.Ring;

/// <summary>Placement settings. Section <c>LogStream:Ring</c>. Every node of a cluster must use the same values.</summary>
public sealed class RingOptions
{
    public const string SectionName = "LogStream:Ring";

    /// <summary>
    /// Tokens per member. Random tokens balance as 1/sqrt(V): at 256 a third of three-node clusters had one node
    /// owning over 1.15x another's share; at 1024, 4 in 1000 (measured over random node names).
    /// </summary>
    [Range(1, 4096, ErrorMessage = "LogStream:Ring:VirtualNodes must be between 1 and 4096.")]
    public int VirtualNodes { get; set; } = 1024;

    /// <summary>Copies of every partition (RF). Default 3.</summary>
    [Range(1, 9, ErrorMessage = "LogStream:Ring:ReplicationFactor must be between 1 and 9.")]
    public int ReplicationFactor { get; set; } = 3;
}
