using Grpc.Core;
using LogStream.Node.Replication;
using LogStream.Node.Replication.Grpc;
using LogStream.Storage;

namespace LogStream.Node.Tests.Replication;

public sealed class ReplicaWriteQueueTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    private static EncodedBatch Batch(params string[] ids) =>
        EncodedBatch.FromRecords(ids.Select(id => new LogRecord(id, new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero), LogSeverity.Info, "s", "m")).ToList());

    [Fact]
    public async Task ALoneWriteIsSentAtOnceAndWritesArrivingDuringACallLeaveTogetherInTheNext()
    {
        var calls = new List<(string[] Ids, TaskCompletionSource<ReplicateReply> Reply)>();
        var queue = new ReplicaWriteQueue(request =>
        {
            var reply = new TaskCompletionSource<ReplicateReply>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (calls)
                calls.Add((request.Parts.SelectMany(p => Enumerable.Range(0, p.Count).Select(k => p.Batch.IdAt(p.IndexAt(k)))).ToArray(), reply));
            return reply.Task;
        }, "node-0", maxInFlight: 1, maxRecordsPerCall: 100);
        using var a = Batch("a");
        using var b = Batch("b1", "b2", "b3");
        using var c = Batch("c");

        var first = queue.SendAsync(a, [0]);
        Assert.Single(calls);
        var second = queue.SendAsync(b, [2, 0]);
        var third = queue.SendAsync(c, [0]);
        Assert.Single(calls);
        Assert.False(second.IsCompleted);

        calls[0].Reply.SetResult(new ReplicateReply());
        await first.WaitAsync(Deadline);
        await WaitForAsync(() => calls.Count == 2);
        Assert.Equal(["b3", "b1", "c"], calls[1].Ids);
        Assert.False(second.IsCompleted);
        calls[1].Reply.SetResult(new ReplicateReply());
        await Task.WhenAll(second, third).WaitAsync(Deadline);
    }

    [Fact]
    public async Task AFailedCallFailsEveryWriteInItAndTheQueueGoesOn()
    {
        var calls = new List<TaskCompletionSource<ReplicateReply>>();
        var queue = new ReplicaWriteQueue(_ =>
        {
            var reply = new TaskCompletionSource<ReplicateReply>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (calls)
                calls.Add(reply);
            return reply.Task;
        }, "node-0", maxInFlight: 1, maxRecordsPerCall: 100);
        using var batch = Batch("a", "b", "c");

        var first = queue.SendAsync(batch, [0]);
        var second = queue.SendAsync(batch, [1]);
        var third = queue.SendAsync(batch, [2]);
        calls[0].SetException(new RpcException(new Status(StatusCode.Unavailable, "down")));
        await Assert.ThrowsAsync<RpcException>(() => first.WaitAsync(Deadline));
        await WaitForAsync(() => calls.Count == 2);
        calls[1].SetException(new RpcException(new Status(StatusCode.Unavailable, "down")));
        await Assert.ThrowsAsync<RpcException>(() => second.WaitAsync(Deadline));
        await Assert.ThrowsAsync<RpcException>(() => third.WaitAsync(Deadline));

        var fourth = queue.SendAsync(batch, [0]);
        await WaitForAsync(() => calls.Count == 3);
        calls[2].SetResult(new ReplicateReply());
        await fourth.WaitAsync(Deadline);
    }

    [Fact]
    public async Task AJoinedCallHoldsAtMostTheRecordLimitUnlessOneWriteIsLarger()
    {
        var sizes = new List<int>();
        var gate = new TaskCompletionSource<ReplicateReply>(TaskCreationOptions.RunContinuationsAsynchronously);
        var queue = new ReplicaWriteQueue(request =>
        {
            lock (sizes)
                sizes.Add(request.Count);
            return gate.Task;
        }, "node-0", maxInFlight: 1, maxRecordsPerCall: 3);
        using var batch = Batch("a", "b", "c", "d", "e");

        var writes = new[] { queue.SendAsync(batch, [0]), queue.SendAsync(batch, [0, 1]), queue.SendAsync(batch, [2]), queue.SendAsync(batch, [0, 1, 2, 3, 4]) };
        gate.SetResult(new ReplicateReply());
        await Task.WhenAll(writes).WaitAsync(Deadline);

        Assert.Equal([1, 3, 5], sizes);
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("the queue did not make the expected call in time");
            await Task.Delay(5);
        }
    }
}
