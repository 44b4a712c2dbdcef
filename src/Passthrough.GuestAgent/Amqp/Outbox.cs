using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Passthrough.GuestAgent.Amqp;

/// <summary>One message waiting to be published.</summary>
/// <param name="Sequence">Its place in the outbox (spool file name); increases monotonically, across restarts too.</param>
/// <param name="Exchange">The exchange to publish to.</param>
/// <param name="MessageId">The envelope's message id (also the AMQP message id).</param>
/// <param name="Body">The envelope.</param>
internal sealed record OutboxEntry(long Sequence, string Exchange, string MessageId, ReadOnlyMemory<byte> Body);

/// <summary>
/// The reliable events (boot reports, faults, answers) between "produced" and "confirmed by the broker": in memory, in
/// order, and each in its own file of a spool directory, so neither a broker outage nor an agent restart loses one. A
/// single sender takes the head, publishes it with a publisher confirm, then <see cref="Complete"/>s it; a failed publish
/// leaves it at the head to be tried again. Bounded: past <see cref="Capacity"/> the oldest entry is dropped (logged).
/// </summary>
/// <remarks>
/// Spool file: <c>&lt;sequence:D19&gt;.msg</c>, line 1 the exchange, line 2 the message id, then the body; written to a
/// temporary name, flushed to disk and renamed, so a crash leaves either the whole file or none. At-least-once: a
/// message published but not yet deleted when the agent stops is published again at the next start (same message id).
/// </remarks>
internal sealed class Outbox : IDisposable
{
    private const string Extension = ".msg";
    private readonly Lock _gate = new();
    private readonly LinkedList<OutboxEntry> _entries = new();
    private readonly string? _directory;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _signal = new(0);
    private long _nextSequence = 1;
    private bool _spoolBroken;

    /// <summary>Creates an outbox.</summary>
    /// <param name="capacity">The most entries kept; at least 1.</param>
    /// <param name="spoolDirectory">Where entries are spooled; null for memory only.</param>
    /// <param name="logger">Where to log drops and spool failures.</param>
    public Outbox(int capacity, string? spoolDirectory, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _directory = string.IsNullOrWhiteSpace(spoolDirectory) ? null : Path.GetFullPath(spoolDirectory);
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    /// <summary>The most entries kept.</summary>
    public int Capacity { get; }

    /// <summary>The spool directory, or null for memory only.</summary>
    public string? Directory => _directory;

    /// <summary>Entries not yet confirmed.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Entries dropped because the outbox was full.</summary>
    public long Dropped { get; private set; }

    /// <summary>
    /// Loads the entries a previous run spooled and did not publish, oldest first, ahead of anything new. Creates the
    /// directory (mode 0700 on Unix) when missing. Returns how many were loaded.
    /// </summary>
    public int LoadSpool()
    {
        if (_directory is null)
        {
            return 0;
        }

        try
        {
            CreateDirectory(_directory);
            var loaded = new List<OutboxEntry>();
            foreach (var path in System.IO.Directory.EnumerateFiles(_directory, "*" + Extension))
            {
                if (!long.TryParse(Path.GetFileNameWithoutExtension(path), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence))
                {
                    continue;
                }

                var entry = ReadSpoolFile(path, sequence);
                if (entry is null)
                {
                    AgentLog.SpoolFileUnreadable(_logger, path);
                    File.Delete(path);
                    continue;
                }

                loaded.Add(entry);
            }

            // Leftover temporary files are writes a crash interrupted: never acknowledged to anyone, safe to drop.
            foreach (var temp in System.IO.Directory.EnumerateFiles(_directory, "*.tmp"))
            {
                File.Delete(temp);
            }

            loaded.Sort((a, b) => a.Sequence.CompareTo(b.Sequence));
            lock (_gate)
            {
                foreach (var entry in loaded)
                {
                    _entries.AddLast(entry);
                    _nextSequence = Math.Max(_nextSequence, entry.Sequence + 1);
                }

                TrimLocked();
            }

            if (loaded.Count > 0)
            {
                _signal.Release();
            }

            return loaded.Count;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            MarkSpoolBroken(ex);
            return 0;
        }
    }

    /// <summary>Adds a message at the tail (spooled to disk first when there is a spool), and wakes the sender.</summary>
    public OutboxEntry Enqueue(string exchange, string messageId, ReadOnlyMemory<byte> body)
    {
        OutboxEntry entry;
        lock (_gate)
        {
            entry = new OutboxEntry(_nextSequence++, exchange, messageId, body);
        }

        // Written outside the lock: a slow disk must not stall the sender. Entries enter the list in sequence order
        // because they are appended under the lock in the order their sequence was taken (callers are few and short).
        WriteSpoolFile(entry);
        lock (_gate)
        {
            var node = _entries.Last;
            while (node is not null && node.Value.Sequence > entry.Sequence)
            {
                node = node.Previous;
            }

            if (node is null)
            {
                _entries.AddFirst(entry);
            }
            else
            {
                _entries.AddAfter(node, entry);
            }

            TrimLocked();
        }

        _signal.Release();
        return entry;
    }

    /// <summary>The oldest entry, or null when empty.</summary>
    public OutboxEntry? Peek()
    {
        lock (_gate)
        {
            return _entries.First?.Value;
        }
    }

    /// <summary>Waits until an entry may be there (returns at once when one is).</summary>
    public async Task WaitAsync(CancellationToken cancellationToken)
    {
        if (Peek() is not null)
        {
            return;
        }

        await _signal.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Removes a published entry (and its spool file).</summary>
    public void Complete(OutboxEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        lock (_gate)
        {
            for (var node = _entries.First; node is not null; node = node.Next)
            {
                if (node.Value.Sequence == entry.Sequence)
                {
                    _entries.Remove(node);
                    break;
                }
            }
        }

        DeleteSpoolFile(entry.Sequence);
    }

    /// <inheritdoc />
    public void Dispose() => _signal.Dispose();

    private void TrimLocked()
    {
        while (_entries.Count > Capacity)
        {
            var oldest = _entries.First!.Value;
            _entries.RemoveFirst();
            Dropped++;
            AgentLog.OutboxFull(_logger, Capacity, oldest.Exchange, oldest.MessageId);
            DeleteSpoolFile(oldest.Sequence);
        }
    }

    private void WriteSpoolFile(OutboxEntry entry)
    {
        if (_directory is null || _spoolBroken)
        {
            return;
        }

        var path = SpoolPath(entry.Sequence);
        var temp = path + ".tmp";
        try
        {
            CreateDirectory(_directory);
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.None))
            {
                stream.Write(Encoding.UTF8.GetBytes($"{entry.Exchange}\n{entry.MessageId}\n"));
                stream.Write(entry.Body.Span);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            MarkSpoolBroken(ex);
        }
    }

    private static OutboxEntry? ReadSpoolFile(string path, long sequence)
    {
        var bytes = File.ReadAllBytes(path);
        var first = Array.IndexOf(bytes, (byte)'\n');
        var second = first < 0 ? -1 : Array.IndexOf(bytes, (byte)'\n', first + 1);
        if (first <= 0 || second <= first + 1)
        {
            return null;
        }

        var exchange = Encoding.UTF8.GetString(bytes, 0, first);
        var messageId = Encoding.UTF8.GetString(bytes, first + 1, second - first - 1);
        return new OutboxEntry(sequence, exchange, messageId, bytes.AsMemory(second + 1));
    }

    private void DeleteSpoolFile(long sequence)
    {
        if (_directory is null || _spoolBroken)
        {
            return;
        }

        try
        {
            File.Delete(SpoolPath(sequence));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            MarkSpoolBroken(ex);
        }
    }

    private void MarkSpoolBroken(Exception ex)
    {
        // Memory still holds every entry: the agent keeps working and says once that a restart would lose them.
        if (!_spoolBroken)
        {
            _spoolBroken = true;
            AgentLog.SpoolUnusable(_logger, _directory ?? "(none)", ex.Message);
        }
    }

    private string SpoolPath(long sequence) =>
        Path.Combine(_directory!, sequence.ToString("D19", CultureInfo.InvariantCulture) + Extension);

    private static void CreateDirectory(string directory)
    {
        if (System.IO.Directory.Exists(directory))
        {
            return;
        }

        if (OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(directory);
        }
        else
        {
            System.IO.Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }
}
