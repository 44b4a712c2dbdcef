using System.Diagnostics;
using System.Threading.Channels;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Passthrough.Contracts.HostCommands;
using Passthrough.Contracts.HostEvents;
using Passthrough.Contracts.Messaging;

namespace Passthrough.Bench;

/// <summary>
/// Where a saga step's time goes, part one: the host agent alone. Commands are sent straight to a host's queue and the
/// replies awaited, with no coordinator: a <see cref="RestoreVmPciKey"/> (read the key, write it when it differs, the
/// command record's two writes, the reply). The dom0 share is the simulated commands' own time.
/// </summary>
internal static class HostAgentRoundTrip
{
    public static async Task<(LatencyStats RoundTrip, LatencyStats Dom0)> MeasureAsync(int samples, Passthrough.Hosting.SqliteDurability durability, CancellationToken cancellationToken)
    {
        await using var run = await BenchRun.StartAsync(hosts: 1, vmsPerHost: 2, durability, cancellationToken).ConfigureAwait(false);
        var bus = run.Runtime.Services.GetRequiredService<IBus>();
        var host = run.Fleet.Hosts[0];
        var vm = host.Vms[0];
        // The pci key of a running VM is refused (it is read only at domain build): halt it first.
        await new Passthrough.Xen.Dom0Driver(host.Runner).ShutdownVmAsync(vm.VmId, TimeSpan.FromSeconds(30), allowForce: true, cancellationToken).ConfigureAwait(false);
        var replies = Channel.CreateUnbounded<(Guid CommandId, string? Failure)>();
        // A receive endpoint of its own (bound to the reply exchanges): a handler connected to a running bus gets no
        // broker bindings.
        var handle = bus.ConnectReceiveEndpoint(new TemporaryEndpointDefinition(), DefaultEndpointNameFormatter.Instance, endpoint =>
        {
            endpoint.Handler<VmPciKeyChanged>(context => replies.Writer.WriteAsync((context.Message.CommandId, null)).AsTask());
            endpoint.Handler<HostCommandFailed>(context => replies.Writer.WriteAsync((context.Message.CommandId, context.Message.Failure.Message)).AsTask());
        });
        await handle.Ready.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var endpoint = await bus.GetSendEndpoint(AgentQueues.HostAddress(host.HostId)).ConfigureAwait(false);
            var roundTrips = new List<TimeSpan>(samples);
            var dom0 = new List<TimeSpan>(samples);
            for (var i = 0; i < samples + 20; i++)
            {
                var before = host.Runner.History.Count;
                var commandId = Guid.NewGuid();
                var started = Stopwatch.GetTimestamp();
                await endpoint.Send(new RestoreVmPciKey(Guid.NewGuid(), SagaStep.UndoAssign, 1, commandId, host.HostId, vm.VmId, i % 2 == 0 ? "0/0000:03:00.0" : null), cancellationToken).ConfigureAwait(false);
                var reply = await replies.Reader.ReadAsync(cancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
                if (reply.CommandId != commandId || reply.Failure is not null)
                {
                    throw new InvalidOperationException($"The host agent did not answer the benchmark's RestoreVmPciKey as expected: {reply.Failure ?? "a reply to another command"}.");
                }

                if (i >= 20)
                {
                    roundTrips.Add(Stopwatch.GetElapsedTime(started));
                    dom0.Add(TimeSpan.FromTicks(host.Runner.History.Skip(before).Sum(r => r.Elapsed.Ticks)));
                }
            }

            return (LatencyStats.From(roundTrips), LatencyStats.From(dom0));
        }
        finally
        {
            await handle.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }
}
