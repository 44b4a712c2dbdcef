using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Passthrough.Contracts.GuestCommands;
using Passthrough.Contracts.GuestEvents;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;
using Passthrough.GuestAgent.Amqp;
using Passthrough.GuestAgent.Tests.Infrastructure;
using RabbitMQ.Client;

namespace Passthrough.GuestAgent.Tests;

/// <summary>
/// The wire format, pinned from both sides over the real RabbitMQ: what the agent's RabbitMQ.Client transport publishes is
/// consumed as typed messages by a MassTransit bus with its default serializer, matches what MassTransit itself publishes,
/// and the agent reads what MassTransit sends to its queue.
/// </summary>
public sealed class WireFormatTests(EventBus bus) : IClassFixture<EventBus>, IAsyncLifetime
{
    private readonly string _spool = Path.Combine(Path.GetTempPath(), "wire-spool-" + Guid.NewGuid().ToString("N"));
    private readonly List<AmqpGuestAgentTransport> _transports = [];

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        foreach (var transport in _transports)
        {
            await transport.DisposeAsync();
            transport.Outbox.Dispose();
        }

        if (Directory.Exists(_spool))
        {
            Directory.Delete(_spool, recursive: true);
        }
    }

    private static VmId NewVm() => new(XenUuid.NewUuid());

    private async Task<AmqpGuestAgentTransport> StartTransportAsync(VmId vm)
    {
        var transport = new AmqpGuestAgentTransport(
            new AmqpTransportSettings(RabbitMqBroker.Uri),
            new Outbox(100, _spool, NullLogger.Instance),
            TimeProvider.System,
            NullLogger<AmqpGuestAgentTransport>.Instance);
        _transports.Add(transport);
        await transport.StartAsync(vm, TestContext.Current.CancellationToken);
        await Eventually.TrueAsync(() => transport.IsConnected, TimeSpan.FromSeconds(20), "the agent transport to connect");
        return transport;
    }

    private static void AssertSameJson<T>(T expected, object actual)
        where T : class
    {
        var info = (System.Text.Json.Serialization.Metadata.JsonTypeInfo<T>)GuestAgentJsonContext.Default.GetTypeInfo(typeof(T))!;
        Assert.Equal(JsonSerializer.Serialize(expected, info), JsonSerializer.Serialize((T)actual, info));
    }

    [Fact]
    public async Task Every_event_the_agent_publishes_reaches_a_MassTransit_consumer_as_the_same_typed_message()
    {
        var vm = NewVm();
        var transport = await StartTransportAsync(vm);
        var at = new DateTimeOffset(2026, 1, 5, 9, 0, 0, 123, TimeSpan.FromHours(2));
        var booted = EnvelopeCodecTests.Booted(vm);
        var heartbeat = new GuestHeartbeat(vm, booted.BootId, at);
        var fault = new GuestFaultDetected(vm, booted.BootId, GuestFaultKind.DriverUnbound, PciDeviceId.Parse("8086:1e2d"), "lost its driver ehci-pci", at);
        var verified = new GuestDevicesVerified(
            Guid.NewGuid(), Guid.NewGuid(), SagaStep.Verify, vm, false, booted.BootId, booted.Kernel, GuestType.PV, PcifrontState.Active,
            booted.Devices, [new Failure(FailureCause.GuestDriverNotBound, "no driver", null, "modprobe ehci-pci")], ["kernel 3.5.x advisory"]);

        await transport.PublishAsync(booted, GuestEventDelivery.Reliable, TestContext.Current.CancellationToken);
        await transport.PublishAsync(heartbeat, GuestEventDelivery.BestEffort, TestContext.Current.CancellationToken);
        await transport.PublishAsync(fault, GuestEventDelivery.Reliable, TestContext.Current.CancellationToken);
        await transport.PublishAsync(verified, GuestEventDelivery.Reliable, TestContext.Current.CancellationToken);

        AssertSameJson(booted, (await bus.WaitForAsync<GuestBooted>(m => m.Vm == vm)).Message);
        Assert.Equal(heartbeat, (await bus.WaitForAsync<GuestHeartbeat>(m => m.Vm == vm)).Message);
        Assert.Equal(fault, (await bus.WaitForAsync<GuestFaultDetected>(m => m.Vm == vm)).Message);
        AssertSameJson(verified, (await bus.WaitForAsync<GuestDevicesVerified>(m => m.Vm == vm)).Message);
        await Eventually.TrueAsync(() => transport.Outbox.Count == 0, TimeSpan.FromSeconds(10), "the outbox to drain");
    }

    public static TheoryData<string> EventTypes => [nameof(GuestBooted), nameof(GuestDevicesVerified), nameof(GuestFaultDetected), nameof(GuestHeartbeat)];

    [Theory]
    [MemberData(nameof(EventTypes))]
    public async Task The_agents_envelope_carries_what_MassTransit_itself_writes_for_the_same_message(string typeName)
    {
        var vm = NewVm();
        var booted = EnvelopeCodecTests.Booted(vm);
        object message = typeName switch
        {
            nameof(GuestBooted) => booted,
            nameof(GuestHeartbeat) => new GuestHeartbeat(vm, "boot", booted.At),
            nameof(GuestFaultDetected) => new GuestFaultDetected(vm, "boot", GuestFaultKind.PcifrontGone, null, "gone", booted.At),
            _ => new GuestDevicesVerified(Guid.NewGuid(), Guid.NewGuid(), SagaStep.Verify, vm, true, "boot", "6.1", GuestType.HVM, PcifrontState.NotApplicable, booted.Devices, [], []),
        };
        var wire = WireMessageType.For(message.GetType());

        // What MassTransit writes: publish through the bus, read the raw body from a queue bound to the type's exchange.
        var factory = new ConnectionFactory { Uri = RabbitMqBroker.Uri };
        await using var connection = await factory.CreateConnectionAsync(TestContext.Current.CancellationToken);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: TestContext.Current.CancellationToken);
        await channel.ExchangeDeclareAsync(wire.Exchange, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: TestContext.Current.CancellationToken);
        var capture = (await channel.QueueDeclareAsync(string.Empty, durable: false, exclusive: true, autoDelete: true, cancellationToken: TestContext.Current.CancellationToken)).QueueName;
        await channel.QueueBindAsync(capture, wire.Exchange, string.Empty, cancellationToken: TestContext.Current.CancellationToken);
        await bus.Bus.Publish(message, message.GetType(), TestContext.Current.CancellationToken);
        JsonElement massTransit = default;
        string? contentType = null;
        await Eventually.TrueAsync(
            () =>
            {
                var got = channel.BasicGetAsync(capture, autoAck: true, TestContext.Current.CancellationToken).GetAwaiter().GetResult();
                if (got is null)
                {
                    return false;
                }

                var json = JsonDocument.Parse(got.Body).RootElement.Clone();
                if (json.GetProperty("message").GetProperty("vm").GetString() != vm.ToString())
                {
                    return false;
                }

                massTransit = json;
                contentType = got.BasicProperties.ContentType;
                return true;
            },
            TimeSpan.FromSeconds(20),
            "MassTransit's own publish");

        // What the agent writes for the same message.
        var agentBody = typeName switch
        {
            nameof(GuestBooted) => EnvelopeCodec.WriteEvent((GuestBooted)message, new EnvelopeContext(Guid.NewGuid(), DateTimeOffset.UtcNow)),
            nameof(GuestHeartbeat) => EnvelopeCodec.WriteEvent((GuestHeartbeat)message, new EnvelopeContext(Guid.NewGuid(), DateTimeOffset.UtcNow)),
            nameof(GuestFaultDetected) => EnvelopeCodec.WriteEvent((GuestFaultDetected)message, new EnvelopeContext(Guid.NewGuid(), DateTimeOffset.UtcNow)),
            _ => EnvelopeCodec.WriteEvent((GuestDevicesVerified)message, new EnvelopeContext(Guid.NewGuid(), DateTimeOffset.UtcNow)),
        };
        var agent = JsonDocument.Parse(agentBody).RootElement;

        Assert.Equal(EnvelopeCodec.ContentType, contentType);
        Assert.Equal(Strings(massTransit.GetProperty("messageType")), Strings(agent.GetProperty("messageType")));
        Assert.True(JsonElement.DeepEquals(massTransit.GetProperty("message"), agent.GetProperty("message")),
            $"MassTransit wrote {massTransit.GetProperty("message")}\nthe agent wrote {agent.GetProperty("message")}");
        var massTransitKeys = massTransit.EnumerateObject().Select(p => p.Name).ToHashSet();
        Assert.Subset(massTransitKeys, agent.EnumerateObject().Select(p => p.Name).ToHashSet());
    }

    [Fact]
    public async Task A_command_MassTransit_sends_reaches_the_agent_and_its_answer_is_correlated()
    {
        var vm = NewVm();
        var transport = await StartTransportAsync(vm);
        var handler = new EchoHandler();
        await transport.StartReceivingAsync(vm, handler, TestContext.Current.CancellationToken);
        var command = new VerifyGuestDevices(
            Guid.NewGuid(), SagaStep.Verify, 3, Guid.NewGuid(), vm,
            [new ExpectedDevice(PciDeviceId.Parse("8086:1e2d"), PciDeviceId.Parse("1043:84ca"), "ehci-pci"), new ExpectedDevice(PciDeviceId.Parse("10de:1b81"))],
            "5ad7f2b7-4300-4c6e-bb28-66d5522bae28", RequirePcifront: true);

        var messageId = await bus.SendAsync(command);
        var (reply, envelope) = await bus.WaitForAsync<GuestDevicesVerified>(m => m.Vm == vm);

        var received = Assert.Single(handler.Commands);
        Assert.Equal(command with { Expected = [] }, received with { Expected = [] });
        Assert.Equal(command.Expected, received.Expected);
        Assert.Equal((command.SagaId, command.CommandId, SagaStep.Verify), (reply.SagaId, reply.CommandId, reply.Step));
        Assert.Equal(messageId, envelope.InitiatorId);
        Assert.Equal(command.SagaId, envelope.CorrelationId);
        Assert.NotNull(envelope.ConversationId);
    }

    [Fact]
    public async Task A_message_that_is_not_a_verification_is_dropped_and_the_queue_keeps_working()
    {
        var vm = NewVm();
        var transport = await StartTransportAsync(vm);
        var handler = new EchoHandler();
        await transport.StartReceivingAsync(vm, handler, TestContext.Current.CancellationToken);
        bus.Track(vm);
        var endpoint = await bus.Bus.GetSendEndpoint(new Uri($"queue:{GuestAgentQueues.ForVm(vm)}"));
        await endpoint.Send(new GuestHeartbeat(vm, "wrong type on a command queue", DateTimeOffset.UtcNow), TestContext.Current.CancellationToken);

        var command = new VerifyGuestDevices(Guid.NewGuid(), SagaStep.Verify, 1, Guid.NewGuid(), vm, [], null, false);
        await bus.SendAsync(command);

        await bus.WaitForAsync<GuestDevicesVerified>(m => m.Vm == vm);
        Assert.Equal(command.CommandId, Assert.Single(handler.Commands).CommandId);
    }

    private static List<string?> Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()).Order(StringComparer.Ordinal)];

    private sealed class EchoHandler : IGuestCommandHandler
    {
        public List<VerifyGuestDevices> Commands { get; } = [];

        public Task<GuestDevicesVerified> VerifyAsync(VerifyGuestDevices command, CancellationToken cancellationToken)
        {
            Commands.Add(command);
            return Task.FromResult(new GuestDevicesVerified(
                command.SagaId, command.CommandId, command.Step, command.Vm, true, "boot", "6.1.0-18-amd64", GuestType.PV, PcifrontState.Active, [], [], []));
        }
    }
}
