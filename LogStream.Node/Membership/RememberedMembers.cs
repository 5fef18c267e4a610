using System.Text.Json;
using System.Text.Json.Serialization;
using LogStream.Storage;

namespace LogStream.Node.Membership;

/// <summary>A member as this node last saw it in the member table.</summary>
public sealed record RememberedMember(
    string Id,
    string Address,
    string? InternalAddress,
    string? Zone,
    long Incarnation,
    DateTimeOffset LastHeartbeat)
{
    public static RememberedMember From(MemberRow row) =>
        new(row.Id, row.Address, row.InternalAddress, string.IsNullOrWhiteSpace(row.Zone) ? null : row.Zone, row.Incarnation, row.HeartbeatAt);

    /// <summary>Same placement: the same id, addresses and zone (heartbeat and incarnation do not matter).</summary>
    public bool SamePlacement(RememberedMember other) =>
        Id == other.Id && Address == other.Address && InternalAddress == other.InternalAddress && Zone == other.Zone;
}

/// <summary>
/// Every member this node has seen, kept in <c>{DataDirectory}/ring/members.json</c>, so that a member the membership
/// store forgets (Redis lost its data, or at a cold start only some members registered yet) stays in placement, as
/// <c>down</c>, and its writes become hints. Only an explicit operator removal may take a member out (not built yet).
/// Format 1 is JSON: <c>{format, cluster, members: [{id, address, internal_address, zone, incarnation, last_heartbeat}]}</c>;
/// it is replaced whole (temp file, fsync, rename, fsync of the directory), so a crash leaves the old or the new file.
/// </summary>
public sealed class RememberedMembersFile(string dataDirectory)
{
    public const string Folder = "ring";
    public const string FileName = "members.json";

    /// <summary>The format this version writes; it reads this one and every earlier one.</summary>
    public const int CurrentFormat = 1;

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public string Path { get; } = System.IO.Path.Combine(dataDirectory, Folder, FileName);

    private string TempPath => Path + ".tmp";

    /// <summary>
    /// The remembered members and the cluster they were remembered for; empty when there is no file yet.
    /// </summary>
    /// <exception cref="InvalidDataException">The file exists but cannot be read (names the file and what is wrong).</exception>
    public (string? Cluster, IReadOnlyList<RememberedMember> Members) Load()
    {
        // A crash between writing the temp file and the rename leaves it behind; the previous file is intact.
        if (File.Exists(TempPath))
            File.Delete(TempPath);
        if (!File.Exists(Path))
            return (null, []);

        FileContent? content;
        try
        {
            using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read);
            content = JsonSerializer.Deserialize<FileContent>(stream, Json);
        }
        catch (JsonException ex)
        {
            throw Unreadable($"it is not valid JSON ({ex.Message})", ex);
        }

        if (content is null)
            throw Unreadable("it holds no members document");
        if (content.Format < 1 || content.Format > CurrentFormat)
            throw Unreadable($"format {content.Format} is unknown to this version (it reads formats 1 to {CurrentFormat})");
        var members = new List<RememberedMember>();
        foreach (var entry in content.Members ?? [])
        {
            if (string.IsNullOrWhiteSpace(entry.Id) || string.IsNullOrWhiteSpace(entry.Address))
                throw Unreadable("a member has no id or no address");
            members.Add(new RememberedMember(entry.Id, entry.Address, entry.InternalAddress, string.IsNullOrWhiteSpace(entry.Zone) ? null : entry.Zone,
                entry.Incarnation, entry.LastHeartbeat));
        }
        return (content.Cluster, members);
    }

    /// <summary>Replaces the file with <paramref name="members"/>, durably (returns once the new file and its name are on disk).</summary>
    public void Save(string cluster, IEnumerable<RememberedMember> members)
    {
        var content = new FileContent(CurrentFormat, cluster, members
            .OrderBy(m => m.Id, StringComparer.Ordinal)
            .Select(m => new FileEntry(m.Id, m.Address, m.InternalAddress, m.Zone, m.Incarnation, m.LastHeartbeat))
            .ToList());
        DurableFiles.ReplaceAtomically(Path, stream => JsonSerializer.Serialize(stream, content, Json));
    }

    private InvalidDataException Unreadable(string why, Exception? inner = null) =>
        new($"The remembered members file '{Path}' cannot be read: {why}. It lists the members this node must keep in placement " +
            "when the membership store forgets them; restore it from a backup, or delete it to start from what the store lists.", inner);

    private sealed record FileContent(int Format, string? Cluster, List<FileEntry>? Members);

    private sealed record FileEntry(string Id, string Address, string? InternalAddress, string? Zone, long Incarnation, DateTimeOffset LastHeartbeat);
}
