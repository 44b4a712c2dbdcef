using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Passthrough.Coordinator.Persistence;
using Passthrough.Coordinator.Tests.Infrastructure;
using Passthrough.Coordinator.Tests.Sagas;

namespace Passthrough.Coordinator.Tests.Persistence;

/// <summary>The durable scheduler behind a state machine's Schedule / Unschedule, on SQLite and PostgreSQL.</summary>
public sealed class DurableSchedulerTests(PostgresServer postgres)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(StoreKind.Sqlite)]
    [InlineData(StoreKind.Postgres)]
    public async Task A_scheduled_deadline_fires_after_its_delay_and_leaves_the_table(StoreKind kind)
    {
        await using var store = await TestStore.CreateAsync(kind, postgres, Cancellation);
        var host = await CoordinatorTestHost.StartAsync(new TestHostSettings(store));
        try
        {
            var id = Guid.NewGuid();
            var clock = Stopwatch.StartNew();
            await host.PublishAsync(new StartWork(id, "deadline", Deadline: TimeSpan.FromMilliseconds(400)));

            var timedOut = await host.WaitForWorkAsync(id, r => r.CurrentState == "TimedOut", "the deadline fires");
            Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(400), $"fired after {clock.Elapsed}, before the 400 ms delay");
            Assert.Equal(1, timedOut.Instance.DeadlinesReceived);
            await Eventually.HoldsAsync(async () => await host.ScheduledCountAsync() == 0, "the sent message is deleted");
        }
        finally
        {
            await CoordinatorTestHost.StopAsync(host);
        }
    }

    [Theory]
    [InlineData(StoreKind.Sqlite)]
    [InlineData(StoreKind.Postgres)]
    public async Task Unschedule_cancels_the_deadline_so_it_never_fires(StoreKind kind)
    {
        await using var store = await TestStore.CreateAsync(kind, postgres, Cancellation);
        var consumed = new ConsumedLog();
        var host = await CoordinatorTestHost.StartAsync(new TestHostSettings(store) { Consumed = consumed });
        try
        {
            var id = Guid.NewGuid();
            await host.PublishAsync(new StartWork(id, "cancelled", Deadline: TimeSpan.FromMilliseconds(800)));
            await Eventually.HoldsAsync(async () => await host.ScheduledCountAsync() == 1, "the deadline is stored");

            await host.PublishAsync(new CancelDeadline(id));
            await host.WaitForWorkAsync(id, r => r.CurrentState == "Cancelled", "the saga is Cancelled");
            await Eventually.HoldsAsync(async () => await host.ScheduledCountAsync() == 0, "the deadline is deleted");

            // Well past the due time and many sweeps later, nothing was sent.
            await Task.Delay(TimeSpan.FromMilliseconds(1200), Cancellation);
            Assert.Empty(consumed.OfType<WorkDeadline>());
            var record = await host.GetWorkAsync(id);
            Assert.Equal("Cancelled", record?.CurrentState);
            Assert.Equal(0, record?.Instance.DeadlinesReceived);
        }
        finally
        {
            await CoordinatorTestHost.StopAsync(host);
        }
    }

    [Theory]
    [InlineData(StoreKind.Sqlite)]
    [InlineData(StoreKind.Postgres)]
    public async Task A_scheduled_deadline_survives_a_restart_and_is_sent_by_the_next_process(StoreKind kind)
    {
        await using var store = await TestStore.CreateAsync(kind, postgres, Cancellation);
        var id = Guid.NewGuid();
        var firstLog = new ConsumedLog();
        var first = await CoordinatorTestHost.StartAsync(new TestHostSettings(store) { Name = "first", Consumed = firstLog });
        Guid token;
        try
        {
            await first.PublishAsync(new StartWork(id, "restart", Deadline: TimeSpan.FromMilliseconds(1500)));
            var running = await first.WaitForWorkAsync(id, r => r.CurrentState == "Running" && r.Instance.DeadlineToken is not null, "the deadline is scheduled");
            token = running.Instance.DeadlineToken!.Value;
            await Eventually.HoldsAsync(async () => await first.ScheduledCountAsync() == 1, "the deadline is stored");
        }
        finally
        {
            await CoordinatorTestHost.StopAsync(first);
        }

        // Between processes the message lives only in the table.
        await using (var database = store.CreateDatabase())
        {
            var stored = await new ScheduledMessageTable(database, TimeProvider.System).FindAsync(token, Cancellation);
            Assert.NotNull(stored);
            Assert.True(stored.DueAt > DateTimeOffset.UtcNow, "the restart happened before the deadline was due");
        }

        var secondLog = new ConsumedLog();
        var second = await CoordinatorTestHost.StartAsync(new TestHostSettings(store) { Name = "second", Consumed = secondLog });
        try
        {
            var timedOut = await second.WaitForWorkAsync(id, r => r.CurrentState == "TimedOut", "the second process fires the deadline");
            Assert.Equal(1, timedOut.Instance.DeadlinesReceived);
            Assert.Empty(firstLog.OfType<WorkDeadline>());
            Assert.Single(secondLog.OfType<WorkDeadline>());
        }
        finally
        {
            await CoordinatorTestHost.StopAsync(second);
        }
    }

    [Fact]
    public async Task Two_sweepers_on_one_postgres_store_send_each_due_message_exactly_once()
    {
        const int Count = 60;
        await using var store = await TestStore.CreateAsync(StoreKind.Postgres, postgres, Cancellation);
        var pings = new PingLog();

        // Batches of one: the two sweepers alternate claims on the same rows for the whole run.
        TestHostSettings Settings(string name) =>
            new(store) { Name = name, Pings = pings, WithPingConsumer = true, BatchSize = 1, PollInterval = TimeSpan.FromMilliseconds(20) };

        var first = await CoordinatorTestHost.StartAsync(Settings("first"));
        var second = await CoordinatorTestHost.StartAsync(Settings("second"));
        try
        {
            var scheduler = first.Services.GetRequiredService<IMessageScheduler>();
            var due = DateTime.UtcNow.AddSeconds(1.5);
            for (var i = 0; i < Count; i++)
            {
                await scheduler.ScheduleSend(new Uri($"queue:{PingConsumer.QueueName}"), due, new Ping(i), Cancellation);
            }

            await Eventually.HoldsAsync(() => Task.FromResult(pings.Received.Count >= Count), $"{Count} pings arrive", TimeSpan.FromSeconds(20));
            await Eventually.HoldsAsync(async () => await first.ScheduledCountAsync() == 0, "every sent ping is deleted");
            await Task.Delay(TimeSpan.FromMilliseconds(300), Cancellation);

            var received = pings.Received.ToList();
            Assert.Equal(Count, received.Count);
            Assert.Equal(Enumerable.Range(0, Count), received.Select(p => p.Sequence).Order());
            Assert.Contains(received, p => p.Host == "first");
            Assert.Contains(received, p => p.Host == "second");
        }
        finally
        {
            await CoordinatorTestHost.StopAsync(second);
            await CoordinatorTestHost.StopAsync(first);
        }
    }

    [Fact]
    public async Task Invalid_options_stop_the_host_at_start_with_messages_naming_the_keys()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSingleton(TestLogging.Factory);
        builder.Services.AddPassthroughSagaStore(options => options.Provider = SagaStoreProvider.PostgreSql);
        builder.Services.AddMassTransit(x =>
        {
            x.DisableUsageTelemetry();
            x.AddDurableScheduler(options => options.BatchSize = 0);
            x.UsingInMemory((context, cfg) => cfg.ConfigureEndpoints(context));
        });
        using var host = builder.Build();

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(Cancellation));

        var text = failure.ToString();
        Assert.Contains("Coordinator:Store:PostgresConnectionString", text, StringComparison.Ordinal);
        Assert.Contains("Coordinator:Scheduler:BatchSize", text, StringComparison.Ordinal);
    }
}
