using System.Collections.Immutable;
using System.IO.Hashing;
using System.Text;

namespace LogStream.Node.Ring;

/// <summary>A token range (start, end] on the ring, wrapping past the top; start == end is the whole ring.</summary>
public readonly record struct TokenRange(ulong Start, ulong End)
{
    public static readonly TokenRange Whole = new(0, 0);

    public bool Contains(ulong token) =>
        Start == End || (Start < End ? token > Start && token <= End : token > Start || token <= End);
}

/// <summary>Token ranges that share one replica set (listed in ring order from the range's end).</summary>
public sealed record ReplicaGroup(ImmutableArray<RingMember> Replicas, IReadOnlyList<TokenRange> Ranges)
{
    public bool Contains(ulong token) => Ranges.Any(r => r.Contains(token));
}

/// <summary>A member as placement sees it: an id (its tokens derive from it) and a zone, when known.</summary>
public sealed record RingMember(string Id, string? Zone);

/// <summary>
/// The consistent-hash ring with virtual nodes. Immutable: built once from a member list and shared.
/// Every node that builds a ring from the same members gets the same tokens, because a member's tokens are
/// <c>xxHash64(id, seed: vnode)</c> for vnode = 0..V-1; no coordination and no stored token table.
/// </summary>
public sealed class TokenRing
{
    public static readonly TokenRing Empty = new([], [], [], 0);

    private readonly ulong[] _tokens;
    private readonly int[] _owners;

    private TokenRing(ImmutableArray<RingMember> members, ulong[] tokens, int[] owners, int virtualNodes)
    {
        Members = members;
        _tokens = tokens;
        _owners = owners;
        VirtualNodes = virtualNodes;
        Fingerprint = ComputeFingerprint(members, virtualNodes);
    }

    /// <summary>Members sorted by id.</summary>
    public ImmutableArray<RingMember> Members { get; }

    public int VirtualNodes { get; }

    /// <summary>Identifies the ring: equal fingerprints mean equal members, zones and vnode count, hence equal tokens.</summary>
    public string Fingerprint { get; }

    public int TokenCount => _tokens.Length;

    public static TokenRing Create(IEnumerable<RingMember> members, int virtualNodes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(virtualNodes, 1);
        var sorted = members
            .DistinctBy(m => m.Id, StringComparer.Ordinal)
            .OrderBy(m => m.Id, StringComparer.Ordinal)
            .ToImmutableArray();
        if (sorted.IsEmpty)
            return Empty;

        var entries = new (ulong Token, int Owner)[sorted.Length * virtualNodes];
        for (var m = 0; m < sorted.Length; m++)
        {
            var id = Encoding.UTF8.GetBytes(sorted[m].Id);
            for (var v = 0; v < virtualNodes; v++)
                entries[m * virtualNodes + v] = (XxHash64.HashToUInt64(id, v), m);
        }
        // Ties (astronomically unlikely) break by member index, which is ordered by id: still deterministic.
        Array.Sort(entries, (a, b) => a.Token != b.Token ? a.Token.CompareTo(b.Token) : a.Owner.CompareTo(b.Owner));

        var tokens = new ulong[entries.Length];
        var owners = new int[entries.Length];
        for (var i = 0; i < entries.Length; i++)
            (tokens[i], owners[i]) = entries[i];
        return new TokenRing(sorted, tokens, owners, virtualNodes);
    }

    /// <summary>The ring position of a partition key.</summary>
    public static ulong TokenFor(string key) => XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(key));

    /// <summary>
    /// The <paramref name="replicationFactor"/> distinct members that hold the data at <paramref name="token"/>:
    /// walk clockwise from the token; members in zones not yet used come first (members without a zone count
    /// as their own zone), then the members skipped for sharing a zone, in ring order. Pure and allocation-light.
    /// </summary>
    public ImmutableArray<RingMember> ReplicasFor(ulong token, int replicationFactor)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(replicationFactor, 1);
        if (_tokens.Length == 0)
            return [];

        var wanted = Math.Min(replicationFactor, Members.Length);
        var replicas = ImmutableArray.CreateBuilder<RingMember>(wanted);
        var seen = new bool[Members.Length];
        List<int>? skipped = null;
        HashSet<string>? zonesUsed = null;

        var start = FirstIndexAtOrAfter(token);
        for (var step = 0; step < _tokens.Length && replicas.Count < wanted; step++)
        {
            var owner = _owners[(start + step) % _tokens.Length];
            if (seen[owner])
                continue;
            seen[owner] = true;

            var zone = Members[owner].Zone;
            if (zone is null || (zonesUsed ??= new HashSet<string>(StringComparer.Ordinal)).Add(zone))
                replicas.Add(Members[owner]);
            else
                (skipped ??= []).Add(owner);
        }

        for (var i = 0; skipped is not null && i < skipped.Count && replicas.Count < wanted; i++)
            replicas.Add(Members[skipped[i]]);

        return replicas.MoveToImmutable();
    }

    /// <summary>Replicas of a partition key.</summary>
    public ImmutableArray<RingMember> ReplicasFor(string partitionKey, int replicationFactor) =>
        ReplicasFor(TokenFor(partitionKey), replicationFactor);

    /// <summary>The primary owner of a token: the first member clockwise.</summary>
    public RingMember? OwnerOf(ulong token) => _tokens.Length == 0 ? null : Members[_owners[FirstIndexAtOrAfter(token)]];

    /// <summary>The tokens of one member, ascending.</summary>
    public IReadOnlyList<ulong> TokensOf(string memberId)
    {
        var index = IndexOf(memberId);
        if (index < 0)
            return [];
        var result = new List<ulong>(VirtualNodes);
        for (var i = 0; i < _tokens.Length; i++)
        {
            if (_owners[i] == index)
                result.Add(_tokens[i]);
        }
        return result;
    }

    /// <summary>The fraction of the token space each member owns as primary (sums to 1).</summary>
    public IReadOnlyDictionary<string, double> PrimaryOwnership()
    {
        var owned = new double[Members.Length];
        for (var i = 0; i < _tokens.Length; i++)
        {
            // Token i owns the arc (previous token, token i]; the first token also owns the wrap-around arc.
            var previous = i == 0 ? _tokens[^1] : _tokens[i - 1];
            var arc = unchecked(_tokens[i] - previous);
            owned[_owners[i]] += _tokens.Length == 1 ? Math.Pow(2, 64) : arc;
        }
        var total = Math.Pow(2, 64);
        return Members.Select((m, i) => (m.Id, Share: owned[i] / total)).ToDictionary(x => x.Id, x => x.Share);
    }

    /// <summary>
    /// The ring cut into token ranges (start, end] that share one replica set, grouped by that set: reading R
    /// replicas of every group covers every partition. With as many members as copies there is one group and one
    /// range, the whole ring (start == end). Cached per ring and replication factor.
    /// </summary>
    public IReadOnlyList<ReplicaGroup> ReplicaGroups(int replicationFactor)
    {
        var cached = Volatile.Read(ref _groups);
        if (cached is not null && cached.ReplicationFactor == replicationFactor)
            return cached.Groups;
        var groups = ComputeReplicaGroups(replicationFactor);
        Volatile.Write(ref _groups, new GroupsCache(replicationFactor, groups));
        return groups;
    }

    private sealed record GroupsCache(int ReplicationFactor, IReadOnlyList<ReplicaGroup> Groups);

    private GroupsCache? _groups;

    private List<ReplicaGroup> ComputeReplicaGroups(int replicationFactor)
    {
        var byKey = new Dictionary<string, (ImmutableArray<RingMember> Replicas, List<TokenRange> Ranges)>(StringComparer.Ordinal);
        var order = new List<string>();
        for (var i = 0; i < _tokens.Length; i++)
        {
            // Token i owns the arc (previous token, token i]; every key in it has the replicas of token i.
            var replicas = ReplicasFor(_tokens[i], replicationFactor);
            var key = string.Join(",", replicas.Select(r => r.Id).Order(StringComparer.Ordinal));
            var start = i == 0 ? _tokens[^1] : _tokens[i - 1];
            if (!byKey.TryGetValue(key, out var group))
            {
                group = (replicas, []);
                byKey[key] = group;
                order.Add(key);
            }
            var ranges = group.Ranges;
            if (ranges.Count > 0 && ranges[^1].End == start)
                ranges[^1] = ranges[^1] with { End = _tokens[i] };
            else
                ranges.Add(new TokenRange(start, _tokens[i]));
        }

        return order.Select(key =>
        {
            var (replicas, ranges) = byKey[key];
            // One group owning every arc owns the whole ring.
            return byKey.Count == 1 ? new ReplicaGroup(replicas, [TokenRange.Whole]) : new ReplicaGroup(replicas, ranges);
        }).ToList();
    }

    private int IndexOf(string memberId)
    {
        for (var m = 0; m < Members.Length; m++)
        {
            if (Members[m].Id == memberId)
                return m;
        }
        return -1;
    }

    private int FirstIndexAtOrAfter(ulong token)
    {
        var index = Array.BinarySearch(_tokens, token);
        if (index < 0)
            index = ~index;
        // Walk back over equal tokens so the lowest-index owner of a tied token comes first.
        while (index > 0 && index < _tokens.Length && _tokens[index - 1] == token)
            index--;
        return index == _tokens.Length ? 0 : index;
    }

    private static string ComputeFingerprint(ImmutableArray<RingMember> members, int virtualNodes)
    {
        var text = new StringBuilder().Append(virtualNodes);
        foreach (var member in members)
            text.Append('|').Append(member.Id).Append('@').Append(member.Zone);
        return XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(text.ToString())).ToString("x16");
    }
}
