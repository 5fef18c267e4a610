namespace LogStream.Deploy.Tests.Helm;

/// <summary>values.schema.json and the chart's own checks refuse nonsense before anything reaches a cluster.</summary>
public sealed class ValuesSchemaTests
{
    [SkippableTheory]
    [InlineData("replicas=0", "replicas")]
    [InlineData("replicas=-1", "replicas")]
    [InlineData("ring.replicationFactor=0", "replicationFactor")]
    [InlineData("ring.replicationFactor=10", "replicationFactor")]
    [InlineData("ring.replicationFactor=5", "replicas: Must be greater than or equal to 5")]
    [InlineData("replicas=2", "replicas: Must be greater than or equal to 3")]
    [InlineData("ring.virtualNodes=0", "virtualNodes")]
    [InlineData("image.tag=2", "image.tag: Invalid type. Expected: string, given: integer")]
    [InlineData("web.image.tag=true", "web.image.tag: Invalid type")]
    [InlineData("chaos.enabled=maybe", "chaos.enabled: Invalid type. Expected: boolean")]
    [InlineData("membership.downAfter=5s", "membership.downAfter")]
    [InlineData("zoneLookup.timeout=forever", "zoneLookup.timeout")]
    [InlineData("placement.antiAffinity=sometimes", "placement.antiAffinity")]
    [InlineData("podSecurityContext.runAsNonRoot=false", "podSecurityContext.runAsNonRoot")]
    [InlineData("containerSecurityContext.privileged=true", "containerSecurityContext.privileged")]
    [InlineData("terminationGracePeriodSeconds=5", "terminationGracePeriodSeconds")]
    [InlineData("persistence.size=lots", "persistence.size")]
    [InlineData("replica=5", "Additional property replica is not allowed")]
    [InlineData("redis.auth.password=a\\,b", "redis.auth.password")]
    [InlineData("security.clusterSecret=short", "security.clusterSecret")]
    [InlineData("otel.endpoint=collector:4317", "otel.endpoint")]
    [InlineData("clusterName=Logs!", "clusterName")]
    public void SchemaRejectsNonsense(string assignment, string expectedInError)
    {
        var result = ChartScenarios.TryRender("--set", assignment);
        Assert.False(result.Succeeded, $"helm template --set {assignment} should fail: {result}");
        Assert.Contains("schema", result.StandardError);
        Assert.Contains(expectedInError, result.StandardError);
    }

    [SkippableFact]
    public void SchemaRejectsANumberAsImageTagInAValuesFile()
    {
        // In YAML, tag: 1.0 is a number: the classic "my tag became 1" mistake.
        var file = Path.Combine(Path.GetTempPath(), $"logstream-values-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(file, "image:\n  tag: 1.0\n");
        try
        {
            var result = ChartScenarios.TryRender("-f", file);
            Assert.False(result.Succeeded, result.ToString());
            Assert.Contains("image.tag: Invalid type. Expected: string", result.StandardError);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [SkippableTheory]
    [InlineData("redis.enabled=false", "needs redis.external.connectionString or redis.external.existingSecret")]
    [InlineData("podDisruptionBudget.maxUnavailable=2", "would let a quorum break at replicationFactor 3")]
    [InlineData("security.existingSecret=ops,security.clusterSecret=abcdefghijklmnopqrstuvwxyz", "security.existingSecret is set")]
    [InlineData("terminationGracePeriodSeconds=20,preStopSleepSeconds=15", "must exceed preStopSleepSeconds")]
    [InlineData("redis.external.connectionString=redis:6379", "set redis.enabled=false to use an external Redis")]
    public void ChartRefusesCombinationsTheSchemaCannotExpress(string assignments, string expectedInError)
    {
        var result = ChartScenarios.TryRender("--set", assignments);
        Assert.False(result.Succeeded, $"helm template --set {assignments} should fail: {result}");
        Assert.Contains(expectedInError, result.StandardError);
    }

    [SkippableTheory]
    [InlineData("replicas=1,ring.replicationFactor=1")]
    [InlineData("replicas=9,ring.replicationFactor=9")]
    [InlineData("replicas=4,ring.replicationFactor=3")]
    [InlineData("podDisruptionBudget.maxUnavailable=0")]
    [InlineData("membership.heartbeatInterval=00:00:00.500,membership.suspectAfter=00:00:02,membership.downAfter=1.00:00:00")]
    [InlineData("persistence.storageClass=-")]
    public void SchemaAcceptsSensibleValues(string assignments)
    {
        var result = ChartScenarios.TryRender("--set", assignments);
        Assert.True(result.Succeeded, $"helm template --set {assignments} should succeed: {result}");
    }
}
