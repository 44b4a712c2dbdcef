using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Passthrough.Contracts.Api;
using Passthrough.Contracts.CoordinatorEvents;
using Passthrough.Contracts.HostCommands;
using Passthrough.Coordinator.Tests.Flow;
using Passthrough.Coordinator.Tests.Infrastructure;
using Passthrough.Hosting;
using Passthrough.Testing;

namespace Passthrough.Coordinator.Tests.Coordinator;

/// <summary>
/// Kill safety over a real RabbitMQ (a throwaway virtual host): the fake agents live in their own host, the coordinator
/// is stopped mid-saga and started again on the same SQLite file, and the saga still ends.
/// </summary>
public sealed class CoordinatorRestartTests
{
    private static readonly string Host = ScriptedHost.HostId.ToString();
    private static readonly string Vm = ScriptedHost.VmId.ToString();

    [Fact]
    public async Task A_saga_whose_coordinator_restarts_mid_step_completes()
    {
        await using var vhost = await RabbitMqVirtualHost.CreateAsync("restart", TestContext.Current.CancellationToken);
        using var directory = new TempDirectory();
        var detachReached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var answerDetach = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var agents = new AgentScript
        {
            BeforeAnswer = async command =>
            {
                if (command is DetachPciDevices)
                {
                    detachReached.TrySetResult();
                    await answerDetach.Task;
                }
            },
        };
        using var agentHost = await StartAgentsAsync(vhost.Uri, agents);
        var settings = new HarnessSettings(directory.Path) { RabbitMq = vhost.Uri, TimeScale = 1 };

        Guid id;
        await using (var first = await CoordinatorHarness.StartAsync(settings))
        {
            id = await first.SubmitPassthroughAsync(new PassthroughRequestBody(Host, Vm, [ScriptedHost.Usb.ToString()]));
            await detachReached.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        }

        // The detach is answered while no coordinator runs: the reply waits in the saga's queue.
        answerDetach.SetResult();
        await using var second = await CoordinatorHarness.StartAsync(settings);
        var view = await second.WaitForOutcomeAsync(id, TimeSpan.FromSeconds(60));

        Assert.Equal(SagaOutcome.Completed, view.Outcome);
        Assert.Single(agents.Received.OfType<DetachPciDevices>());
        Assert.Equal(9, view.Steps.Count);
    }

    [Fact]
    public async Task A_command_lost_with_its_deadline_is_failed_by_the_watchdog_and_rolled_back()
    {
        await using var vhost = await RabbitMqVirtualHost.CreateAsync("watchdog", TestContext.Current.CancellationToken);
        using var directory = new TempDirectory();
        var agents = new AgentScript();
        using var agentHost = await StartAgentsAsync(vhost.Uri, agents);
        // 0.02: a 2.4 s preflight deadline that a loaded CI machine still meets, a 12 s snapshot deadline the test removes.
        var settings = new HarnessSettings(directory.Path) { RabbitMq = vhost.Uri, TimeScale = 0.02 };
        await using var coordinator = await CoordinatorHarness.StartAsync(settings);

        // Simulate a kill between the save and the outbox: the saga waits for a command nobody got, with no deadline.
        agents.Decide = command => command is SnapshotVm ? Answer.Silence : Answer.Succeed;
        var id = await coordinator.SubmitPassthroughAsync(new PassthroughRequestBody(Host, Vm, [ScriptedHost.Usb.ToString()]));
        await Eventually.HoldsAsync(async () => (await coordinator.GetStoredAsync(id))?.Instance.Pending?.Step == Contracts.Messaging.SagaStep.Snapshot,
            "the saga waits for the snapshot", TimeSpan.FromSeconds(30));
        var scheduled = coordinator.Services.GetRequiredService<Passthrough.Coordinator.Persistence.ScheduledMessageTable>();
        var token = (await coordinator.GetStoredAsync(id))!.Instance.DeadlineToken!.Value;
        await Eventually.HoldsAsync(async () => await scheduled.FindAsync(token, TestContext.Current.CancellationToken) is not null,
            "the deadline reached the durable scheduler");
        Assert.True(await scheduled.CancelAsync(token, TestContext.Current.CancellationToken));

        // The hosted watchdog (every 0.6 s at this time scale) raises the lost deadline once it is overdue.
        var view = await coordinator.WaitForOutcomeAsync(id);

        Assert.Equal(SagaOutcome.RolledBack, view.Outcome);
        Assert.Equal(Contracts.Messaging.FailureCause.Timeout, view.Cause!.Cause);
        Assert.Equal(Contracts.Messaging.SagaStep.Snapshot, view.Steps.Single(s => s.Failure is not null).Step);
    }

    private static async Task<IHost> StartAgentsAsync(Uri broker, AgentScript agents)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, EnvironmentName = "Development" });
        builder.Services.AddSingleton(TestLogging.Factory);
        builder.Services.AddSingleton(agents);
        builder.Services.AddPassthroughBus(new BusOptions { RabbitMq = broker, StartTimeout = TimeSpan.FromSeconds(30) }, AgentScript.AddTo);
        var agentHost = builder.Build();
        await agentHost.StartAsync(TestContext.Current.CancellationToken);
        return agentHost;
    }
}
