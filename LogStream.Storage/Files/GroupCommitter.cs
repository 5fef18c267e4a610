namespace LogStream.Storage;

/// <summary>
/// Group commit. Writers append to segments (page cache) and take a ticket; a ticket is durable once a commit
/// round that started after it fsynced every segment dirty at that time. A round starts as soon as someone
/// waits and no round runs — a lone writer pays one fsync, no timer — and while it runs, newcomers gather for the
/// next round, so many concurrent writers share one fsync. In interval mode a timer drives the rounds and writers
/// wait only when syncing falls more than two intervals behind. An fsync error is not retried (the page cache
/// can no longer be trusted, "fsyncgate"): the store stops accepting writes until restarted.
/// Files are anything that can be fsynced (<see cref="IGroupCommitFile"/>): log segments here, hint segments in
/// the hinted-handoff log, which shares this logic rather than repeating it.
/// </summary>
/// <param name="committed">Called after every round that made records durable: the records and the round's duration.</param>
public sealed class GroupCommitter(Action<int, TimeSpan> committed, TimeProvider timeProvider, bool interval, TimeSpan fsyncInterval)
{
    public GroupCommitter(StorageMetrics metrics, TimeProvider timeProvider, bool interval, TimeSpan fsyncInterval)
        : this(metrics.Committed, timeProvider, interval, fsyncInterval)
    {
    }

    private readonly object _gate = new();
    private HashSet<IGroupCommitFile> _dirty = [];
    private HashSet<IGroupCommitFile> _spare = [];
    private long _written;
    private long _durable;
    private int _pendingRecords;
    private TaskCompletionSource _next = NewRound();
    private bool _nextWanted;
    private bool _running;
    private long _runningTicket;
    private TaskCompletionSource? _runningRound;
    private long _oldestDirty;
    private Exception? _failure;

    public Exception? Failure => Volatile.Read(ref _failure);

    /// <summary>Registers written records; returns the ticket to wait for. Call right after the write.</summary>
    public long MarkDirty(IGroupCommitFile segment, int records)
    {
        lock (_gate)
        {
            if (_failure is not null)
                throw new IOException("The store stopped accepting writes after an fsync failure; restart the node.", _failure);
            if (_dirty.Count == 0)
                _oldestDirty = timeProvider.GetTimestamp();
            _dirty.Add(segment);
            _pendingRecords += records;
            return ++_written;
        }
    }

    /// <summary>The newest ticket handed out (duplicates of in-flight records wait for it).</summary>
    public long LatestTicket
    {
        get
        {
            lock (_gate)
                return _written;
        }
    }

    /// <summary>Completes when the records of <paramref name="ticket"/> meet the durability promise.</summary>
    public Task WaitAsync(long ticket)
    {
        lock (_gate)
        {
            if (_failure is not null)
                return Task.FromException(new IOException("The store stopped accepting writes after an fsync failure; restart the node.", _failure));
            if (_durable >= ticket)
                return Task.CompletedTask;
            if (_runningRound is not null && ticket <= _runningTicket)
                return _runningRound.Task;
            if (interval && timeProvider.GetElapsedTime(_oldestDirty) < 2 * fsyncInterval)
                return Task.CompletedTask;
            _nextWanted = true;
            StartIfIdle();
            return _next.Task;
        }
    }

    /// <summary>Runs one round now if anything is dirty (interval timer; shutdown) and waits for it.</summary>
    public Task FlushAsync()
    {
        lock (_gate)
        {
            if (_failure is not null)
                return Task.FromException(_failure);
            if (_dirty.Count == 0)
                return _runningRound?.Task ?? Task.CompletedTask;
            _nextWanted = true;
            StartIfIdle();
            return _next.Task;
        }
    }

    private void StartIfIdle()
    {
        if (_running)
            return;
        _running = true;
        ThreadPool.UnsafeQueueUserWorkItem(static self => self.RunRounds(), this, preferLocal: false);
    }

    private void RunRounds()
    {
        while (true)
        {
            HashSet<IGroupCommitFile> dirty;
            TaskCompletionSource round;
            long ticket;
            int records;
            lock (_gate)
            {
                if (!_nextWanted)
                {
                    _running = false;
                    return;
                }
                dirty = _dirty;
                _dirty = _spare;
                ticket = _written;
                records = _pendingRecords;
                _pendingRecords = 0;
                round = _next;
                _next = NewRound();
                _nextWanted = false;
                _runningTicket = ticket;
                _runningRound = round;
            }

            var started = timeProvider.GetTimestamp();
            try
            {
                if (dirty.Count == 1)
                {
                    foreach (var segment in dirty)
                        Sync(segment);
                }
                else if (dirty.Count > 1)
                {
                    Parallel.ForEach(dirty, new ParallelOptions { MaxDegreeOfParallelism = 8 }, Sync);
                }
            }
            catch (Exception ex)
            {
                TaskCompletionSource next;
                lock (_gate)
                {
                    _failure = ex;
                    _runningRound = null;
                    _running = false;
                    next = _next;
                }
                round.TrySetException(new IOException("fsync failed; the store stops accepting writes.", ex));
                next.TrySetException(new IOException("fsync failed; the store stops accepting writes.", ex));
                return;
            }

            dirty.Clear();
            lock (_gate)
            {
                _spare = dirty;
                _durable = ticket;
                _runningRound = null;
            }
            if (records > 0)
                committed(records, timeProvider.GetElapsedTime(started));
            round.TrySetResult();
        }
    }

    private static void Sync(IGroupCommitFile segment)
    {
        // A file retired since it was written: a rewrite made its records durable in a new file, or (hints) its
        // records were delivered and the file deleted.
        if (!segment.TryAcquire())
            return;
        try
        {
            segment.Flush();
        }
        finally
        {
            segment.Release();
        }
    }

    private static TaskCompletionSource NewRound() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>A file <see cref="GroupCommitter"/> can make durable. Reference counted: a retired file needs no fsync.</summary>
public interface IGroupCommitFile
{
    /// <summary>Takes a reference; false once the file was retired (its handle may be closed).</summary>
    bool TryAcquire();

    /// <summary>fdatasync of the written data.</summary>
    void Flush();

    void Release();
}
