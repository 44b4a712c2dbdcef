using MassTransit;
using Microsoft.Extensions.Logging;
using Passthrough.Contracts.HostEvents;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.HostAgent.Hosts;
using Passthrough.HostAgent.Monitoring;
using Passthrough.HostAgent.Records;
using CommandException = Passthrough.Shell.CommandException;
using Passthrough.Xen;

namespace Passthrough.HostAgent.Commands;

/// <summary>
/// Runs one host command the way the saga protocol requires: a repeated command id is answered from the record without
/// touching dom0; otherwise the <c>started</c> row is written first, the handler runs (state-checking), every failure
/// becomes a <see cref="HostCommandFailed"/> with its classified cause, and the reply is recorded before it is published.
/// </summary>
public sealed class HostCommandExecutor
{
    private readonly IHostConnections _hosts;
    private readonly CommandRecordStore _records;
    private readonly HostMonitor _monitor;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>Creates the executor.</summary>
    public HostCommandExecutor(IHostConnections hosts, CommandRecordStore records, HostMonitor monitor, TimeProvider time, ILogger<HostCommandExecutor> logger)
    {
        _hosts = hosts ?? throw new ArgumentNullException(nameof(hosts));
        _records = records ?? throw new ArgumentNullException(nameof(records));
        _monitor = monitor ?? throw new ArgumentNullException(nameof(monitor));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    /// <summary>Executes <paramref name="context"/>'s command on <paramref name="host"/> with <paramref name="handler"/> and publishes the reply.</summary>
    /// <param name="context">The consume context (the reply is published through it).</param>
    /// <param name="host">The host the command names.</param>
    /// <param name="changesHost">True when the command may change the host: the inventory is re-read afterwards.</param>
    /// <param name="handler">The handler.</param>
    public async Task ExecuteAsync<TCommand>(
        ConsumeContext<TCommand> context, HostId host, bool changesHost, Func<CommandExecution, TCommand, CancellationToken, Task<ISagaReply>> handler)
        where TCommand : class, ISagaCommand
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(handler);
        var command = context.Message;
        var cancellationToken = context.CancellationToken;
        var commandType = typeof(TCommand).Name;

        var existing = await _records.FindAsync(command.CommandId, cancellationToken).ConfigureAwait(false);
        if (existing is { State: CommandRecordState.Completed, ReplyType: { } replyType, ReplyJson: { } replyJson })
        {
            HostAgentLog.AnsweredFromRecord(_logger, commandType, command.CommandId, host);
            var recorded = ReplyJson.Deserialize(replyType, replyJson);
            await context.Publish(recorded, recorded.GetType(), cancellationToken).ConfigureAwait(false);
            return;
        }

        // The started row goes in before anything runs, so a crash leaves evidence that the command began.
        await _records.MarkStartedAsync(command.CommandId, host, command.Step, commandType, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        ISagaReply reply;
        if (!_hosts.TryGet(host, out var served))
        {
            reply = new HostCommandFailed(command.SagaId, command.CommandId, command.Step, host, new Failure(
                FailureCause.InvalidInput,
                $"Host {host} is not served by this host agent (it serves {string.Join(", ", _hosts.Hosts.Select(h => h.Id))}).",
                null,
                $"Send commands for a host to its own queue ({AgentQueues.ForHost(host)}) and check the agent that serves it is configured with that HostId."));
        }
        else if (ArrivedOn(context) is { } queue && queue != served.Queue)
        {
            // Each host's commands run one at a time on its own endpoint; a command from another queue would bypass that.
            reply = new HostCommandFailed(command.SagaId, command.CommandId, command.Step, host, new Failure(
                FailureCause.InvalidInput,
                $"A {commandType} for host {host} arrived on queue {queue}; commands for that host go to {served.Queue}."));
        }
        else
        {
            reply = await RunAsync(served, command, existing?.Memo, commandType, handler, cancellationToken).ConfigureAwait(false);
        }

        await _records.MarkCompletedAsync(command.CommandId, ReplyJson.NameOf(reply), ReplyJson.Serialize(reply), _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        await context.Publish(reply, reply.GetType(), cancellationToken).ConfigureAwait(false);
        if (reply is HostCommandFailed failed)
        {
            HostAgentLog.CommandFailed(_logger, commandType, command.CommandId, host, failed.Failure.Cause, failed.Failure.Message);
        }
        else
        {
            HostAgentLog.CommandAnswered(_logger, commandType, command.CommandId, host, reply.GetType().Name);
        }

        if (changesHost && served is not null)
        {
            _monitor.RequestInventoryCheck(host);
        }
    }

    private async Task<ISagaReply> RunAsync<TCommand>(
        ServedHost served, TCommand command, string? memo, string commandType,
        Func<CommandExecution, TCommand, CancellationToken, Task<ISagaReply>> handler, CancellationToken cancellationToken)
        where TCommand : class, ISagaCommand
    {
        var execution = new CommandExecution(served, command, memo, _records);
        try
        {
            // The host behind the address must be the configured one before anything runs on it.
            if (await served.VerifyIdentityAsync(cancellationToken).ConfigureAwait(false) == HostIdentityState.Mismatch)
            {
                return execution.Failed(served.MismatchFailure());
            }

            HostAgentLog.Executing(_logger, commandType, command.CommandId, served.Id, command.Step);
            return await handler(execution, command, cancellationToken).ConfigureAwait(false);
        }
        catch (Dom0Exception failure)
        {
            return execution.Failed(failure.Failure);
        }
        catch (CommandException transport)
        {
            return execution.Failed(Dom0Exception.FromTransport($"{commandType} on {served.Driver.Target}", transport).Failure);
        }
        catch (ArgumentException invalid)
        {
            // The driver refuses values a command line cannot carry (snapshot names, other-config values).
            return execution.Invalid($"{commandType}: {invalid.Message}");
        }
        catch (Exception unexpected) when (unexpected is not OperationCanceledException)
        {
            // A defect, not a host condition: still answer, so the saga compensates now instead of at its deadline.
            HostAgentLog.HandlerCrashed(_logger, unexpected, commandType, command.CommandId, served.Id);
            return execution.Failed(new Failure(FailureCause.Unknown, $"{commandType} failed inside the host agent: {unexpected.Message}", unexpected.ToString(),
                "Report it with the host agent's log; the host may be partly changed, which the saga's compensation restores."));
        }
    }

    private static string? ArrivedOn(ConsumeContext context)
    {
        var address = context.ReceiveContext?.InputAddress;
        return address is null ? null : address.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
    }
}
