using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace LogStream.Testing;

/// <summary>A log record as a client sends it.</summary>
public sealed record ClientRecord(string Id, DateTimeOffset Timestamp, string Level, string Source, string Message, Dictionary<string, object> Attributes);

/// <summary>Realistic records for tests, reproducible from a seed, and the HTTP calls that carry them.</summary>
public static class TestRecords
{
    private static readonly string[] Levels = ["DEBUG", "INFO", "INFO", "INFO", "INFO", "INFO", "WARN"];

    public static List<ClientRecord> Generate(int count, string run, int sources = 8, double errorRate = 0.03, int seed = 1, DateTimeOffset? now = null)
    {
        var random = new Random(seed);
        var end = now ?? DateTimeOffset.UtcNow;
        var records = new List<ClientRecord>(count);
        for (var i = 0; i < count; i++)
        {
            var level = random.NextDouble() < errorRate ? "ERROR" : Levels[random.Next(Levels.Length)];
            var source = $"{run}-svc-{random.Next(sources)}";
            var status = level == "ERROR" ? 500 : 200;
            records.Add(new ClientRecord(
                $"{run}-{i:D6}",
                end.AddMilliseconds(-random.Next(0, 3_600_000)),
                level,
                source,
                $"GET /api/orders/{random.Next(100_000)} answered {status} in {random.Next(1, 900)} ms for user u{random.Next(5000)}",
                new Dictionary<string, object> { ["status"] = status, ["region"] = random.Next(2) == 0 ? "eu-west" : "us-east" }));
        }
        return records;
    }

    public static string ToJson(IEnumerable<ClientRecord> records) =>
        JsonSerializer.Serialize(records.Select(r => new Dictionary<string, object>
        {
            ["id"] = r.Id,
            ["timestamp"] = r.Timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'"),
            ["level"] = r.Level,
            ["source"] = r.Source,
            ["message"] = r.Message,
            ["attributes"] = r.Attributes,
        }));

    public static Task<HttpResponseMessage> PostAsync(this HttpClient http, IEnumerable<ClientRecord> records, string consistency = "QUORUM") =>
        http.PostAsync($"/api/logs?consistency={consistency}", new StringContent(ToJson(records), Encoding.UTF8, "application/json"));

    /// <summary>Ids returned by a query (every page the limit allows).</summary>
    public static async Task<List<string>> QueryIdsAsync(this HttpClient http, string query)
    {
        using var response = await http.GetAsync($"/api/logs?{query}");
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"GET /api/logs?{query} answered {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("records").EnumerateArray().Select(r => r.GetProperty("id").GetString()!).ToList();
    }
}
