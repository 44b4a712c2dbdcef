using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Passthrough.Contracts.GuestCommands;
using Passthrough.Contracts.GuestEvents;
using Passthrough.Contracts.Messaging;

namespace Passthrough.GuestAgent.Amqp;

/// <summary>
/// MassTransit's JSON message envelope (<c>application/vnd.masstransit+json</c>, MassTransit 8 <c>JsonMessageEnvelope</c>),
/// written and read without MassTransit so the NativeAOT agent speaks to the coordinator's default serializer. Property
/// names are MassTransit's, camel-cased as its System.Text.Json serializer writes them.
/// </summary>
internal sealed class MassTransitEnvelope
{
    public string? MessageId { get; set; }

    public string? RequestId { get; set; }

    public string? CorrelationId { get; set; }

    public string? ConversationId { get; set; }

    public string? InitiatorId { get; set; }

    public string? SourceAddress { get; set; }

    public string? DestinationAddress { get; set; }

    public string? ResponseAddress { get; set; }

    public string? FaultAddress { get; set; }

    [SuppressMessage("Performance", "CA1819:Properties should not return arrays", Justification = "MassTransit's envelope shape.")]
    public string[]? MessageType { get; set; }

    public JsonElement? Message { get; set; }

    public DateTime? ExpirationTime { get; set; }

    public DateTime? SentTime { get; set; }

    public Dictionary<string, JsonElement>? Headers { get; set; }

    public EnvelopeHost? Host { get; set; }
}

/// <summary>MassTransit's <c>HostInfo</c>: who sent the message (shown by MassTransit's diagnostics).</summary>
internal sealed class EnvelopeHost
{
    public string? MachineName { get; set; }

    public string? ProcessName { get; set; }

    public int ProcessId { get; set; }

    public string? Assembly { get; set; }

    public string? AssemblyVersion { get; set; }

    public string? FrameworkVersion { get; set; }

    public string? MassTransitVersion { get; set; }

    public string? OperatingSystemVersion { get; set; }
}

/// <summary>
/// The JSON the agent reads and writes, source-generated (no reflection, NativeAOT-safe). Options match MassTransit's
/// <c>SystemTextJsonMessageSerializer.Options</c> where they affect the wire: camelCase names, case-insensitive reading,
/// trailing commas and comments tolerated, nulls written.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    PropertyNameCaseInsensitive = true,
    AllowTrailingCommas = true,
    ReadCommentHandling = JsonCommentHandling.Skip)]
[JsonSerializable(typeof(MassTransitEnvelope))]
[JsonSerializable(typeof(GuestBooted))]
[JsonSerializable(typeof(GuestHeartbeat))]
[JsonSerializable(typeof(GuestDevicesVerified))]
[JsonSerializable(typeof(GuestFaultDetected))]
[JsonSerializable(typeof(VerifyGuestDevices))]
internal sealed partial class GuestAgentJsonContext : JsonSerializerContext;

/// <summary>How a guest event or command is named and routed on the broker, the way MassTransit names and routes it.</summary>
/// <param name="Urn">MassTransit's message type urn: <c>urn:message:Namespace:TypeName</c>.</param>
/// <param name="Exchange">The fanout exchange MassTransit publishes the type to: <c>Namespace:TypeName</c>.</param>
internal sealed record WireMessageType(string Urn, string Exchange)
{
    /// <summary>The prefix of every MassTransit message urn.</summary>
    public const string UrnPrefix = "urn:message:";

    public static WireMessageType For(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        // Only non-generic, non-nested types: MassTransit's urn of those is exactly namespace + ':' + name.
        if (type.IsGenericType || type.IsNested || string.IsNullOrEmpty(type.Namespace))
        {
            throw new NotSupportedException($"{type} is not a plain top-level message type.");
        }

        var name = $"{type.Namespace}:{type.Name}";
        return new WireMessageType(UrnPrefix + name, name);
    }
}

/// <summary>Writes and reads MassTransit envelopes for the guest messages.</summary>
internal static class EnvelopeCodec
{
    /// <summary>MassTransit's envelope content type.</summary>
    public const string ContentType = "application/vnd.masstransit+json";

    /// <summary>The content type of raw JSON (a message without envelope), accepted on receive.</summary>
    public const string RawJsonContentType = "application/json";

    // Each event's urns as MassTransit lists them: the type itself, then the message interfaces it implements
    // (GuestDevicesVerified is an ISagaReply), so a coordinator consumer of the interface receives it too.
    private static readonly Dictionary<Type, (WireMessageType Wire, string[] Urns, JsonTypeInfo Info)> Events = new()
    {
        [typeof(GuestBooted)] = Entry(typeof(GuestBooted), GuestAgentJsonContext.Default.GuestBooted),
        [typeof(GuestHeartbeat)] = Entry(typeof(GuestHeartbeat), GuestAgentJsonContext.Default.GuestHeartbeat),
        [typeof(GuestDevicesVerified)] = Entry(typeof(GuestDevicesVerified), GuestAgentJsonContext.Default.GuestDevicesVerified, typeof(ISagaReply)),
        [typeof(GuestFaultDetected)] = Entry(typeof(GuestFaultDetected), GuestAgentJsonContext.Default.GuestFaultDetected),
    };

    /// <summary>The command the agent accepts.</summary>
    public static WireMessageType VerifyGuestDevicesType { get; } = WireMessageType.For(typeof(VerifyGuestDevices));

    /// <summary>The exchanges the agent publishes to (declared at connect, as MassTransit declares them).</summary>
    public static IEnumerable<string> EventExchanges => Events.Values.Select(e => e.Wire.Exchange);

    /// <summary>The wire type of an event the agent publishes.</summary>
    /// <exception cref="NotSupportedException">Not a guest event.</exception>
    public static WireMessageType EventType(Type type) =>
        Events.TryGetValue(type, out var entry) ? entry.Wire : throw new NotSupportedException($"The guest agent does not publish {type}.");

    /// <summary>Serializes <paramref name="message"/> inside an envelope.</summary>
    /// <param name="message">A guest event.</param>
    /// <param name="context">Envelope fields: ids copied from the command an answer belongs to, the send time.</param>
    /// <exception cref="NotSupportedException">Not a guest event.</exception>
    public static byte[] WriteEvent<T>(T message, EnvelopeContext context)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(context);
        if (!Events.TryGetValue(typeof(T), out var entry))
        {
            throw new NotSupportedException($"The guest agent does not publish {typeof(T)}.");
        }

        var envelope = new MassTransitEnvelope
        {
            MessageId = context.MessageId.ToString("D"),
            CorrelationId = context.CorrelationId?.ToString("D"),
            ConversationId = context.ConversationId?.ToString("D"),
            InitiatorId = context.InitiatorId?.ToString("D"),
            SourceAddress = context.SourceAddress,
            DestinationAddress = context.DestinationAddress,
            MessageType = entry.Urns,
            Message = JsonSerializer.SerializeToElement(message, entry.Info),
            SentTime = context.SentTime.UtcDateTime,
            Headers = [],
            Host = ThisHost,
        };
        return JsonSerializer.SerializeToUtf8Bytes(envelope, GuestAgentJsonContext.Default.MassTransitEnvelope);
    }

    /// <summary>
    /// Reads a <see cref="VerifyGuestDevices"/> from a MassTransit envelope (or raw JSON when the content type says so).
    /// </summary>
    /// <returns>False with a reason when the body is not that command.</returns>
    public static bool TryReadVerify(
        ReadOnlyMemory<byte> body,
        string? contentType,
        [NotNullWhen(true)] out VerifyGuestDevices? command,
        [NotNullWhen(true)] out ReceivedEnvelope? envelope,
        [NotNullWhen(false)] out string? reason)
    {
        command = null;
        envelope = null;
        try
        {
            if (contentType is not null && contentType.StartsWith(RawJsonContentType, StringComparison.OrdinalIgnoreCase))
            {
                command = JsonSerializer.Deserialize(body.Span, GuestAgentJsonContext.Default.VerifyGuestDevices);
                envelope = new ReceivedEnvelope(null, null, null);
            }
            else
            {
                var parsed = JsonSerializer.Deserialize(body.Span, GuestAgentJsonContext.Default.MassTransitEnvelope);
                if (parsed?.MessageType is not { } types || !types.Contains(VerifyGuestDevicesType.Urn, StringComparer.Ordinal))
                {
                    reason = $"not a {VerifyGuestDevicesType.Urn} envelope (message types: {string.Join(", ", parsed?.MessageType ?? [])})";
                    return false;
                }

                if (parsed.Message is not { ValueKind: JsonValueKind.Object } message)
                {
                    reason = "the envelope has no message object";
                    return false;
                }

                command = message.Deserialize(GuestAgentJsonContext.Default.VerifyGuestDevices);
                envelope = new ReceivedEnvelope(ParseGuid(parsed.MessageId), ParseGuid(parsed.ConversationId), ParseGuid(parsed.CorrelationId));
            }
        }
        catch (JsonException ex)
        {
            reason = $"malformed JSON: {ex.Message}";
            return false;
        }

        if (command is null || command.Expected is null)
        {
            reason = "the command is empty or lacks its expected devices";
            command = null;
            envelope = null;
            return false;
        }

        reason = null;
        return true;
    }

    private static (WireMessageType, string[], JsonTypeInfo) Entry(Type type, JsonTypeInfo info, params Type[] interfaces)
    {
        var wire = WireMessageType.For(type);
        return (wire, [wire.Urn, .. interfaces.Select(i => WireMessageType.For(i).Urn)], info);
    }

    private static Guid? ParseGuid(string? text) => Guid.TryParse(text, out var id) ? id : null;

    private static readonly EnvelopeHost ThisHost = new()
    {
        MachineName = Environment.MachineName,
        ProcessName = "passthrough-guest-agent",
        ProcessId = Environment.ProcessId,
        Assembly = "passthrough-guest-agent",
        AssemblyVersion = typeof(EnvelopeCodec).Assembly.GetName().Version?.ToString(),
        FrameworkVersion = Environment.Version.ToString(),
        OperatingSystemVersion = Environment.OSVersion.VersionString,
    };
}

/// <summary>The envelope fields the agent sets on what it publishes.</summary>
/// <param name="MessageId">Unique per message; kept across retries so consumers can drop duplicates.</param>
/// <param name="SentTime">When the agent produced the message (not when a retry finally published it).</param>
internal sealed record EnvelopeContext(Guid MessageId, DateTimeOffset SentTime)
{
    /// <summary>MassTransit's correlation id (the saga id on an answer).</summary>
    public Guid? CorrelationId { get; init; }

    /// <summary>The conversation of the command an answer belongs to.</summary>
    public Guid? ConversationId { get; init; }

    /// <summary>The message id of the command an answer belongs to.</summary>
    public Guid? InitiatorId { get; init; }

    /// <summary>The agent's own queue address.</summary>
    public string? SourceAddress { get; init; }

    /// <summary>Where the message is published.</summary>
    public string? DestinationAddress { get; init; }
}

/// <summary>The envelope fields of a received command the answer carries on.</summary>
internal sealed record ReceivedEnvelope(Guid? MessageId, Guid? ConversationId, Guid? CorrelationId);
