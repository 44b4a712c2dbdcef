using System.Text.Json;
using Passthrough.Contracts.HostEvents;
using Passthrough.Contracts.Messaging;
using Passthrough.HostAgent.Hosts;
using Passthrough.HostAgent.Records;
using Passthrough.Xen;

namespace Passthrough.HostAgent.Commands;

/// <summary>What a command handler works with: the served host, its driver, and a durable memo of the "before" state.</summary>
public sealed class CommandExecution
{
    private readonly CommandRecordStore _records;
    private readonly string? _memo;

    internal CommandExecution(ServedHost host, ISagaCommand command, string? memo, CommandRecordStore records)
    {
        Host = host;
        Command = command;
        _memo = memo;
        _records = records;
    }

    /// <summary>The host the command runs on.</summary>
    public ServedHost Host { get; }

    /// <summary>Its dom0 driver.</summary>
    public Dom0Driver Driver => Host.Driver;

    /// <summary>The command being executed.</summary>
    public ISagaCommand Command { get; }

    /// <summary>
    /// Captures a before-state once per command id and keeps it in the command record: a re-run after a crash gets the
    /// state from before the first run (the original drivers, the previous hide list), not the half-changed state it
    /// finds. Capture only what can be read back as JSON.
    /// </summary>
    public async Task<T> RememberAsync<T>(Func<Task<T>> capture, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(capture);
        if (_memo is not null && JsonSerializer.Deserialize<T>(_memo, ReplyJson.Options) is { } remembered)
        {
            return remembered;
        }

        var value = await capture().ConfigureAwait(false);
        await _records.SaveMemoAsync(Command.CommandId, JsonSerializer.Serialize(value, ReplyJson.Options), cancellationToken).ConfigureAwait(false);
        return value;
    }

    /// <summary>The failure reply to this command.</summary>
    public HostCommandFailed Failed(Failure failure) => new(Command.SagaId, Command.CommandId, Command.Step, Host.Id, failure);

    /// <summary>The failure reply to this command for a malformed request.</summary>
    public HostCommandFailed Invalid(string message, string? fixHint = null) => Failed(new Failure(FailureCause.InvalidInput, message, null, fixHint));
}

/// <summary>How replies are stored in the command record.</summary>
internal static class ReplyJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.General);

    // Only host events are ever recorded; mapping stored names back to these types (never to an arbitrary type name from
    // the database) keeps the record from instantiating anything else.
    private static readonly Dictionary<string, Type> ReplyTypes = typeof(HostCommandFailed).Assembly.GetTypes()
        .Where(t => t.Namespace == typeof(HostCommandFailed).Namespace && typeof(ISagaReply).IsAssignableFrom(t) && !t.IsAbstract)
        .ToDictionary(t => t.FullName!, StringComparer.Ordinal);

    public static string NameOf(ISagaReply reply) => reply.GetType().FullName!;

    public static string Serialize(ISagaReply reply) => JsonSerializer.Serialize(reply, reply.GetType(), Options);

    public static ISagaReply Deserialize(string typeName, string json)
    {
        if (!ReplyTypes.TryGetValue(typeName, out var type))
        {
            throw new InvalidOperationException($"The command record holds a reply of unknown type {typeName}.");
        }

        return (ISagaReply)(JsonSerializer.Deserialize(json, type, Options)
            ?? throw new InvalidOperationException($"The command record holds an empty {typeName} reply."));
    }
}
