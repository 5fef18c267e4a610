using LogStream.Node.Query;
using LogStream.Node.Replication;

namespace LogStream.Node.Tests.Replication;

/// <summary>
/// W and R count from the replication factor, never from how many replicas the ring yields at the moment
/// (issue 14: a ring that shrank to one member must not acknowledge a QUORUM write with one copy).
/// </summary>
public sealed class ConsistencyFromReplicationFactorTests
{
    [Theory]
    [InlineData(Consistency.One, 1, true)]
    [InlineData(Consistency.Quorum, 2, false)]
    [InlineData(Consistency.All, 3, false)]
    public async Task AWriteWithOneMemberInTheRingAtReplicationFactorThreeIsAcknowledgedOnlyAtOne(Consistency consistency, int required, bool acknowledged)
    {
        await using var harness = await CoordinatorHarness.StartAsync(replicationFactor: 3);

        var result = await harness.Writer.WriteAsync(harness.Records(10), consistency, CancellationToken.None);

        var partition = Assert.Single(result.Partitions);
        Assert.Equal(required, partition.Required);
        Assert.Equal(acknowledged, result.Succeeded);
        // The copy that landed (or lands after the answer) stays: a retry with the same ids is idempotent.
        await harness.SettleAsync();
        var local = await harness.Reader.ReadAsync(new ReadQuery { Consistency = Consistency.One, AllowPartial = true }, CancellationToken.None);
        Assert.Equal(10, local.Records.Count);
    }

    [Theory]
    [InlineData(Consistency.One, 1, true)]
    [InlineData(Consistency.Quorum, 2, true)]
    [InlineData(Consistency.All, 3, false)]
    public async Task AWriteWithTwoMembersInTheRingAtReplicationFactorThreeIsAcknowledgedAtQuorumButNotAtAll(Consistency consistency, int required, bool acknowledged)
    {
        await using var harness = await CoordinatorHarness.StartAsync(replicationFactor: 3, "node-1");

        var result = await harness.Writer.WriteAsync(harness.Records(10), consistency, CancellationToken.None);

        var partition = Assert.Single(result.Partitions);
        Assert.Equal(required, partition.Required);
        Assert.Equal(acknowledged, result.Succeeded);
    }

    [Fact]
    public async Task WithThreeMembersAndOneDownQuorumIsAcknowledgedAllIsNotAndTheDownReplicaIsHinted()
    {
        await using var harness = await CoordinatorHarness.StartAsync(replicationFactor: 3, "node-1", "node-2");
        harness.Publish(["node-0", "node-1", "node-2"], down: ["node-2"]);

        var quorum = await harness.Writer.WriteAsync(harness.Records(10, "quorum"), Consistency.Quorum, CancellationToken.None);
        var all = await harness.Writer.WriteAsync(harness.Records(10, "all"), Consistency.All, CancellationToken.None);
        await harness.SettleAsync();

        Assert.True(quorum.Succeeded);
        Assert.False(all.Succeeded);
        Assert.Equal(3, all.Partitions[0].Required);
        Assert.Equal(20, harness.Hints.PendingFor("node-2"));
    }

    [Theory]
    [InlineData(Consistency.One, true)]
    [InlineData(Consistency.Quorum, false)]
    [InlineData(Consistency.All, false)]
    public async Task AReadWithOneMemberInTheRingAtReplicationFactorThreeIsAnsweredOnlyAtOne(Consistency consistency, bool answered)
    {
        await using var harness = await CoordinatorHarness.StartAsync(replicationFactor: 3);
        await harness.Local.AppendAsync(harness.Records(5), CancellationToken.None);

        var read = () => harness.Reader.ReadAsync(new ReadQuery { Consistency = consistency }, CancellationToken.None);

        if (answered)
        {
            Assert.Equal(5, (await read()).Records.Count);
            return;
        }
        var failure = await Assert.ThrowsAsync<ReadQuorumException>(read);
        var incomplete = Assert.Single(failure.PartialResult.IncompleteReplicaSets);
        Assert.Equal(consistency.Required(3), incomplete.Required);
        Assert.Equal(1, incomplete.Answered);
    }

    [Fact]
    public async Task APartialReadIsAllowedWithOneMemberInTheRingAndSaysItIsPartial()
    {
        await using var harness = await CoordinatorHarness.StartAsync(replicationFactor: 3);
        await harness.Local.AppendAsync(harness.Records(5), CancellationToken.None);

        var result = await harness.Reader.ReadAsync(new ReadQuery { Consistency = Consistency.Quorum, AllowPartial = true }, CancellationToken.None);

        Assert.True(result.Partial);
        Assert.Equal(5, result.Records.Count);
        Assert.Equal(["source:checkout"], result.IncompletePartitions);
    }

    [Theory]
    [InlineData(Consistency.One, true)]
    [InlineData(Consistency.Quorum, true)]
    [InlineData(Consistency.All, false)]
    public async Task AReadWithTwoMembersInTheRingAtReplicationFactorThreeIsAnsweredAtQuorumButNotAtAll(Consistency consistency, bool answered)
    {
        await using var harness = await CoordinatorHarness.StartAsync(replicationFactor: 3, "node-1");
        var write = await harness.Writer.WriteAsync(harness.Records(5), Consistency.One, CancellationToken.None);
        Assert.True(write.Succeeded);
        await harness.SettleAsync();

        var read = () => harness.Reader.ReadAsync(new ReadQuery { Consistency = consistency }, CancellationToken.None);

        if (answered)
        {
            Assert.Equal(5, (await read()).Records.Count);
            return;
        }
        var failure = await Assert.ThrowsAsync<ReadQuorumException>(read);
        Assert.Equal(3, Assert.Single(failure.PartialResult.IncompleteReplicaSets).Required);
    }

    [Theory]
    [InlineData(1, 1, 1, 1)]
    [InlineData(2, 1, 2, 2)]
    [InlineData(3, 1, 2, 3)]
    [InlineData(5, 1, 3, 5)]
    public void RequiredAnswersCountFromTheReplicationFactor(int replicationFactor, int one, int quorum, int all)
    {
        Assert.Equal(one, Consistency.One.Required(replicationFactor));
        Assert.Equal(quorum, Consistency.Quorum.Required(replicationFactor));
        Assert.Equal(all, Consistency.All.Required(replicationFactor));
    }
}
