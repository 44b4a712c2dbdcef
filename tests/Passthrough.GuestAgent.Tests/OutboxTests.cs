using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Passthrough.GuestAgent.Amqp;

namespace Passthrough.GuestAgent.Tests;

public sealed class OutboxTests : IDisposable
{
    private readonly string _spool = Path.Combine(Path.GetTempPath(), "outbox-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_spool))
        {
            Directory.Delete(_spool, recursive: true);
        }
    }

    private Outbox Create(int capacity = 100, string? spool = "") => new(capacity, spool == string.Empty ? _spool : spool, NullLogger.Instance);

    private static byte[] Body(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public void Entries_leave_in_order_and_only_when_completed()
    {
        using var outbox = Create();
        outbox.LoadSpool();
        var first = outbox.Enqueue("x", "id-1", Body("one"));
        outbox.Enqueue("x", "id-2", Body("two"));

        Assert.Equal(first, outbox.Peek());
        Assert.Equal(first, outbox.Peek());
        outbox.Complete(first);

        Assert.Equal("id-2", outbox.Peek()!.MessageId);
        Assert.Equal(1, outbox.Count);
    }

    [Fact]
    public void What_was_not_completed_survives_a_restart_in_order_and_byte_for_byte()
    {
        using (var before = Create())
        {
            before.LoadSpool();
            var done = before.Enqueue("Passthrough.Contracts.GuestEvents:GuestBooted", "id-1", Body("{\"a\":1}"));
            before.Enqueue("Passthrough.Contracts.GuestEvents:GuestFaultDetected", "id-2", Body("{\"b\":\n2}"));
            before.Enqueue("Passthrough.Contracts.GuestEvents:GuestFaultDetected", "id-3", Body("{\"c\":3}"));
            before.Complete(done);
        }

        using var after = Create();
        Assert.Equal(2, after.LoadSpool());
        var next = after.Enqueue("x", "id-4", Body("new"));

        var second = after.Peek()!;
        Assert.Equal(("Passthrough.Contracts.GuestEvents:GuestFaultDetected", "id-2", "{\"b\":\n2}"), (second.Exchange, second.MessageId, Encoding.UTF8.GetString(second.Body.Span)));
        after.Complete(second);
        Assert.Equal("id-3", after.Peek()!.MessageId);
        after.Complete(after.Peek()!);
        Assert.Equal(next, after.Peek());
        Assert.True(next.Sequence > second.Sequence);
    }

    [Fact]
    public void Completed_entries_leave_no_file_behind()
    {
        using var outbox = Create();
        outbox.LoadSpool();
        var entry = outbox.Enqueue("x", "id-1", Body("one"));
        Assert.Single(Directory.GetFiles(_spool, "*.msg"));

        outbox.Complete(entry);

        Assert.Empty(Directory.GetFiles(_spool));
    }

    [Fact]
    public void A_full_outbox_drops_its_oldest_entry_and_counts_it()
    {
        using var outbox = Create(capacity: 2);
        outbox.LoadSpool();
        outbox.Enqueue("x", "id-1", Body("1"));
        outbox.Enqueue("x", "id-2", Body("2"));
        outbox.Enqueue("x", "id-3", Body("3"));

        Assert.Equal(2, outbox.Count);
        Assert.Equal(1, outbox.Dropped);
        Assert.Equal("id-2", outbox.Peek()!.MessageId);
        Assert.Equal(2, Directory.GetFiles(_spool, "*.msg").Length);
    }

    [Fact]
    public void Torn_and_temporary_spool_files_are_discarded_at_load()
    {
        Directory.CreateDirectory(_spool);
        File.WriteAllText(Path.Combine(_spool, "0000000000000000005.msg"), "exchange-without-id");
        File.WriteAllText(Path.Combine(_spool, "0000000000000000006.msg.tmp"), "x\nid\n{}");
        File.WriteAllText(Path.Combine(_spool, "0000000000000000007.msg"), "x\nid-7\n{}");

        using var outbox = Create();

        Assert.Equal(1, outbox.LoadSpool());
        Assert.Equal("id-7", outbox.Peek()!.MessageId);
        Assert.Equal(["0000000000000000007.msg"], Directory.GetFiles(_spool).Select(Path.GetFileName));
    }

    [Fact]
    public void An_unusable_spool_leaves_a_working_memory_outbox()
    {
        var file = Path.Combine(Path.GetTempPath(), "outbox-file-" + Guid.NewGuid().ToString("N"));
        File.WriteAllText(file, "a file where the spool directory should be");
        try
        {
            using var outbox = Create(spool: Path.Combine(file, "spool"));
            Assert.Equal(0, outbox.LoadSpool());

            var entry = outbox.Enqueue("x", "id-1", Body("1"));

            Assert.Equal(entry, outbox.Peek());
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task WaitAsync_wakes_when_an_entry_arrives()
    {
        using var outbox = Create(spool: null);
        var wait = outbox.WaitAsync(TestContext.Current.CancellationToken);
        await Task.Delay(50, TestContext.Current.CancellationToken);
        Assert.False(wait.IsCompleted);

        outbox.Enqueue("x", "id-1", Body("1"));

        await wait.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
    }
}
