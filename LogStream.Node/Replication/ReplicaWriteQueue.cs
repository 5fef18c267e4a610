using LogStream.Node.Replication.Grpc;
using LogStream.Storage;

namespace LogStream.Node.Replication;

/// <summary>
/// The replicate calls to one peer. At most <c>maxInFlight</c> run at a time; writes that arrive meanwhile wait and
/// then leave together, as one call: under many small concurrent writes a peer gets a few larger requests instead of
/// one per write (each call costs both sides far more than its records do), and a lone write goes at once, as before.
/// Every write in a call gets that call's outcome: the peer stored them all durably, or the call failed for them all.
/// </summary>
internal sealed class ReplicaWriteQueue(Func<EncodedReplicateRequest, Task<ReplicateReply>> call, string sender, int maxInFlight, int maxRecordsPerCall)
{
    private readonly object _gate = new();
    private readonly Queue<Pending> _waiting = new();
    private int _inFlight;

    /// <summary>Completes when the peer stored the records durably; faults as the call did.</summary>
    public Task SendAsync(EncodedBatch batch, IReadOnlyList<int> indexes)
    {
        var pending = new Pending(new EncodedReplicateRequest.Part(batch, indexes));
        lock (_gate)
        {
            if (_inFlight >= maxInFlight)
            {
                _waiting.Enqueue(pending);
                return pending.Done.Task;
            }
            _inFlight++;
        }
        _ = RunAsync([pending]);
        return pending.Done.Task;
    }

    private async Task RunAsync(List<Pending> group)
    {
        while (true)
        {
            try
            {
                await call(new EncodedReplicateRequest(group.Select(p => p.Part).ToList(), sender, handoff: false));
                foreach (var pending in group)
                    pending.Done.TrySetResult();
            }
            catch (Exception ex)
            {
                foreach (var pending in group)
                    pending.Done.TrySetException(ex);
            }

            lock (_gate)
            {
                if (_waiting.Count == 0)
                {
                    _inFlight--;
                    return;
                }
                group = [];
                var records = 0;
                while (_waiting.Count > 0 && (group.Count == 0 || records + _waiting.Peek().Part.Count <= maxRecordsPerCall))
                {
                    var next = _waiting.Dequeue();
                    records += next.Part.Count;
                    group.Add(next);
                }
            }
        }
    }

    private sealed class Pending(EncodedReplicateRequest.Part part)
    {
        public EncodedReplicateRequest.Part Part { get; } = part;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
