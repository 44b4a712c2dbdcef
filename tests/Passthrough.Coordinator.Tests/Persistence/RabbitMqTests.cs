using System.Net.Sockets;
using Passthrough.Coordinator.Persistence;
using RabbitMQ.Client;
using Passthrough.Coordinator.Tests.Infrastructure;
using Passthrough.Coordinator.Tests.Sagas;

namespace Passthrough.Coordinator.Tests.Persistence;

/// <summary>
/// The saga store and the durable scheduler over a real RabbitMQ (<c>PASSTHROUGH_TEST_RABBITMQ</c>, default
/// <c>amqp://guest:guest@127.0.0.1:5672/</c>); fails, never skips, when the broker is absent.
/// </summary>
public sealed class RabbitMqTests(PostgresServer postgres)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(StoreKind.Sqlite)]
    [InlineData(StoreKind.Postgres)]
    public async Task Over_RabbitMQ_concurrent_steps_are_retried_and_the_deadline_fires_through_the_scheduler_queue(StoreKind kind)
    {
        var broker = await RequireBrokerAsync();
        await using var store = await TestStore.CreateAsync(kind, postgres, Cancellation);
        var gate = new StepGate();
        var consumed = new ConsumedLog();

        // Queues of this run only, deleted afterwards, so runs and stale messages never mix.
        var prefix = $"test-{Guid.NewGuid():N}"[..13] + "-";
        var host = await CoordinatorTestHost.StartAsync(new TestHostSettings(store) { RabbitMq = broker, QueuePrefix = prefix, Gate = gate, Consumed = consumed });
        try
        {
            var id = Guid.NewGuid();
            await host.PublishAsync(new StartWork(id, "rabbit", Deadline: TimeSpan.FromSeconds(2)));
            await host.WaitForWorkAsync(id, r => r.CurrentState == "Running", "the saga is Running");

            gate.Enabled = true;
            await Task.WhenAll(host.PublishAsync(new CompleteStepA(id)), host.PublishAsync(new CompleteStepB(id)));
            var stepped = await host.WaitForWorkAsync(id, r => r.Instance.StepA && r.Instance.StepB, "both steps are saved");
            Assert.Equal(1, stepped.Instance.RetriedSteps);

            var timedOut = await host.WaitForWorkAsync(id, r => r.CurrentState == "TimedOut", "the deadline fires");
            Assert.Equal(1, timedOut.Instance.DeadlinesReceived);
            Assert.Single(consumed.OfType<WorkDeadline>());
            await Eventually.HoldsAsync(async () => await host.ScheduledCountAsync() == 0, "the sent deadline is deleted");
        }
        finally
        {
            await CoordinatorTestHost.StopAsync(host);
            await DeleteQueuesAsync(broker, prefix);
        }
    }

    private static async Task DeleteQueuesAsync(Uri broker, string prefix)
    {
        var factory = new ConnectionFactory { Uri = broker };
        await using var connection = await factory.CreateConnectionAsync(CancellationToken.None);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: CancellationToken.None);
        foreach (var name in new[] { "work", DurableSchedulerRegistrationExtensions.DefaultQueueName })
        {
            foreach (var queue in new[] { prefix + name, prefix + name + "_error", prefix + name + "_skipped" })
            {
                await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false, cancellationToken: CancellationToken.None);
                await channel.ExchangeDeleteAsync(queue, ifUnused: false, cancellationToken: CancellationToken.None);
            }
        }
    }

    private static async Task<Uri> RequireBrokerAsync()
    {
        var configured = Environment.GetEnvironmentVariable("PASSTHROUGH_TEST_RABBITMQ");
        var broker = new Uri(string.IsNullOrWhiteSpace(configured) ? "amqp://guest:guest@127.0.0.1:5672/" : configured);
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(broker.Host, broker.Port > 0 ? broker.Port : 5672, Cancellation);
        }
        catch (SocketException exception)
        {
            Assert.Fail($"RabbitMQ does not answer at {broker.Host}:{broker.Port} ({exception.Message}). Start it (ops/test.sh does) or set PASSTHROUGH_TEST_RABBITMQ.");
        }

        return broker;
    }
}
