using System.Globalization;
using System.Text.Json;
using LogStream.LoadGen.Generation;
using LogStream.LoadGen.Ingest;
using LogStream.LoadGen.Options;

namespace LogStream.LoadGen.Verify;

/// <summary>What one coordinator returned for the run's ERROR records, against what was acknowledged.</summary>
public sealed class NodeVerification(Uri node)
{
    public Uri Node { get; } = node;

    /// <summary>ERROR records of acknowledged writes: each must come back.</summary>
    public long Expected { get; set; }

    /// <summary>Distinct ERROR records of this run that came back.</summary>
    public long Found { get; set; }

    /// <summary>Acknowledged ERROR records that did not come back: lost writes.</summary>
    public long Missing { get; set; }

    /// <summary>Records of this run that came back but were never sent as ERROR (or never sent at all).</summary>
    public long Unexpected { get; set; }

    /// <summary>ERROR records of failed writes that came back anyway (allowed: a failed write may land partly).</summary>
    public long FromFailedWrites { get; set; }

    /// <summary>Returned records whose level or source does not match the query.</summary>
    public long FilterViolations { get; set; }

    /// <summary>The same id twice across the pages after removing the overlap that paging itself causes.</summary>
    public long Duplicates { get; set; }

    public long Queries { get; set; }

    public Dictionary<string, long> QueryErrors { get; } = new(StringComparer.Ordinal);

    /// <summary>Replies with <c>partial: true</c> (the check is then not conclusive).</summary>
    public long PartialReplies { get; set; }

    public List<string> MissingSample { get; } = [];

    public List<string> UnexpectedSample { get; } = [];

    public List<string> Problems { get; } = [];

    public bool Ok => Missing == 0 && Unexpected == 0 && FilterViolations == 0 && Duplicates == 0 && QueryErrors.Count == 0
        && PartialReplies == 0 && Problems.Count == 0;
}

/// <summary>
/// <c>--verify</c>: through every coordinator, for every source, pages through
/// <c>GET /api/logs?level=ERROR&amp;source=S&amp;from=..&amp;to=..&amp;limit=P&amp;consistency=QUORUM</c> (newest first, each
/// page bounded by the oldest timestamp of the last one) and compares the ids of this run with the generated ERROR ids.
/// Paging works whether the node treats <c>to</c> as inclusive or exclusive and whatever limit it caps at:
/// every page re-asks for the last page's oldest timestamp and stops only when a page brings nothing new.
/// </summary>
public sealed class Verifier(LogApiClient client, RecordGenerator generator, int pageSize, Consistency consistency)
{
    private const int SampleSize = 10;

    public async Task<List<NodeVerification>> RunAsync(IEnumerable<SentBatch> acked, IEnumerable<SentBatch> failed,
        long firstSequence, long lastSequence, CancellationToken cancellationToken)
    {
        var sources = generator.Sources;
        var expected = new HashSet<string>[sources.Count];
        var maybe = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < expected.Length; i++)
            expected[i] = new HashSet<string>(StringComparer.Ordinal);
        foreach (var batch in acked)
        {
            foreach (var error in batch.Errors)
                expected[error.Source].Add(error.Id);
        }

        foreach (var batch in failed)
        {
            foreach (var error in batch.Errors)
                maybe.Add(error.Id);
        }

        // One microsecond of slack on both ends: correct whether the node's from/to are inclusive or exclusive.
        var from = generator.TimestampOf(firstSequence) - TimeSpan.FromMicroseconds(1);
        var to = generator.TimestampOf(lastSequence) + TimeSpan.FromMicroseconds(1);
        var prefix = generator.Settings.RunId + "-";

        var results = new List<NodeVerification>();
        for (var node = 0; node < client.Nodes.Count; node++)
        {
            var verification = new NodeVerification(client.Nodes[node]);
            for (var source = 0; source < sources.Count && !cancellationToken.IsCancellationRequested; source++)
            {
                var found = await ReadSourceAsync(node, sources[source], from, to, prefix, verification, cancellationToken).ConfigureAwait(false);
                if (found is null)
                    continue;
                verification.Expected += expected[source].Count;
                foreach (var id in expected[source])
                {
                    if (found.Contains(id))
                    {
                        verification.Found++;
                    }
                    else
                    {
                        verification.Missing++;
                        if (verification.MissingSample.Count < SampleSize)
                            verification.MissingSample.Add($"{sources[source]}/{id}");
                    }
                }

                foreach (var id in found)
                {
                    if (expected[source].Contains(id))
                        continue;
                    if (maybe.Contains(id))
                    {
                        verification.FromFailedWrites++;
                        verification.Found++;
                    }
                    else
                    {
                        verification.Unexpected++;
                        if (verification.UnexpectedSample.Count < SampleSize)
                            verification.UnexpectedSample.Add($"{sources[source]}/{id}");
                    }
                }
            }

            if (cancellationToken.IsCancellationRequested)
                verification.Problems.Add("cancelled before every source was read");
            results.Add(verification);
        }

        return results;
    }

    /// <summary>The ids of this run's ERROR records of one source, or null when a query failed.</summary>
    private async Task<HashSet<string>?> ReadSourceAsync(int node, string source, DateTimeOffset from, DateTimeOffset to, string prefix,
        NodeVerification verification, CancellationToken cancellationToken)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var overlap = new HashSet<string>(StringComparer.Ordinal);
        var cursor = to;
        var wire = consistency.ToWire();
        while (!cancellationToken.IsCancellationRequested)
        {
            var query = string.Create(CultureInfo.InvariantCulture,
                $"api/logs?level=ERROR&source={Uri.EscapeDataString(source)}&from={Uri.EscapeDataString(Format(from))}&to={Uri.EscapeDataString(Format(cursor))}&limit={pageSize}&consistency={wire}");
            verification.Queries++;
            var result = await client.GetAsync(node, query, cancellationToken).ConfigureAwait(false);
            if (!result.Success)
            {
                verification.QueryErrors[result.ErrorKey!] = verification.QueryErrors.GetValueOrDefault(result.ErrorKey!) + 1;
                if (result.Body is { Length: > 0 } body && verification.Problems.Count < SampleSize)
                    verification.Problems.Add($"{source}: {result.Status}: {IngestRunner.Describe(body)}");
                return null;
            }

            if (!TryReadPage(result.Body!, out var page, out var partial))
            {
                verification.Problems.Add($"{source}: reply is not {{records: [...]}}: {IngestRunner.Describe(result.Body!)}");
                return null;
            }

            if (partial)
                verification.PartialReplies++;

            var fresh = 0;
            var oldest = DateTimeOffset.MaxValue;
            foreach (var (id, level, recordSource, timestamp) in page)
            {
                if (!string.Equals(level, "ERROR", StringComparison.OrdinalIgnoreCase) || recordSource != source)
                    verification.FilterViolations++;
                if (timestamp < oldest)
                    oldest = timestamp;
                if (!id.StartsWith(prefix, StringComparison.Ordinal))
                    continue; // another run's record: not ours to judge
                if (ids.Add(id))
                    fresh++;
                else if (!overlap.Contains(id))
                    verification.Duplicates++; // not the overlap that paging causes: the node returned one id twice
            }

            if (page.Count == 0)
                return ids;

            // Ask again up to the oldest timestamp seen (+1 µs: inclusive whether the node's 'to' is or not), so that
            // records sharing that timestamp are never skipped; the overlap comes back and is not counted twice.
            var next = oldest + TimeSpan.FromMicroseconds(1);
            if (next >= cursor)
            {
                // Every record of the page sits at the cursor: this was the overlap of the last page, the end.
                if (fresh > 0 && page.Count > 1)
                    verification.Problems.Add($"{source}: {page.Count} records share timestamp {Format(oldest)}; paging cannot go past them");
                return ids;
            }

            cursor = next;
            overlap.Clear();
            foreach (var record in page)
            {
                if (record.Timestamp <= next)
                    overlap.Add(record.Id);
            }
        }

        return ids;
    }

    internal static string Format(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    private static bool TryReadPage(byte[] body, out List<(string Id, string? Level, string? Source, DateTimeOffset Timestamp)> page, out bool partial)
    {
        page = [];
        partial = false;
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("records", out var records) || records.ValueKind != JsonValueKind.Array)
                return false;
            partial = root.TryGetProperty("partial", out var p) && p.ValueKind == JsonValueKind.True;
            foreach (var record in records.EnumerateArray())
            {
                if (!record.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.String
                    || !record.TryGetProperty("timestamp", out var ts) || ts.ValueKind != JsonValueKind.String
                    || !DateTimeOffset.TryParse(ts.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var timestamp))
                    return false;
                var level = record.TryGetProperty("level", out var l) && l.ValueKind == JsonValueKind.String ? l.GetString() : null;
                var source = record.TryGetProperty("source", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
                page.Add((id.GetString()!, level, source, timestamp.ToUniversalTime()));
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
