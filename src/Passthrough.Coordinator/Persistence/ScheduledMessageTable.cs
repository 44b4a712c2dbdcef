using System.Data.Common;
using System.Globalization;
using System.Text.Json;

namespace Passthrough.Coordinator.Persistence;

/// <summary>
/// What MassTransit's scheduler contract carried besides the body: the ids and addresses of the message context and its
/// headers, stored as JSON beside the body and restored when the message is sent.
/// </summary>
internal sealed class ScheduledMessageEnvelope
{
    public Guid? MessageId { get; set; }

    public Guid? CorrelationId { get; set; }

    public Guid? ConversationId { get; set; }

    public Guid? InitiatorId { get; set; }

    public Guid? RequestId { get; set; }

    public Uri? SourceAddress { get; set; }

    public Uri? ResponseAddress { get; set; }

    public Uri? FaultAddress { get; set; }

    public DateTimeOffset? ExpirationTime { get; set; }

    public Dictionary<string, JsonElement> Headers { get; set; } = [];
}

/// <summary>A message to send at <see cref="DueAt"/>, as MassTransit serialised it.</summary>
internal sealed record ScheduledMessageRecord(
    Guid TokenId,
    DateTimeOffset DueAt,
    Uri Destination,
    string ContentType,
    IReadOnlyList<string> MessageTypes,
    string Body,
    ScheduledMessageEnvelope Envelope);

/// <summary>A due message claimed by one sweeper until its claim times out.</summary>
internal sealed record ClaimedScheduledMessage(Guid ClaimId, int Attempt, ScheduledMessageRecord Message);

/// <summary>
/// The rows of <c>passthrough_scheduled_message</c>. A schedule is keyed by MassTransit's scheduling token, so scheduling
/// the same token again replaces it and cancelling deletes it. The sweeper claims due rows atomically (a claim id and a
/// lease), sends them, and deletes each only after its send completed and only if it still holds the claim.
/// </summary>
internal sealed class ScheduledMessageTable
{
    private const string Table = SagaStoreDatabase.ScheduledMessageTable;
    private const int MaxErrorLength = 2000;

    private static readonly JsonSerializerOptions EnvelopeOptions = new(JsonSerializerDefaults.Web);

    private readonly SagaStoreDatabase _database;
    private readonly TimeProvider _time;

    public ScheduledMessageTable(SagaStoreDatabase database, TimeProvider time)
    {
        _database = database;
        _time = time;
    }

    public string ProviderName => _database.ProviderName;

    public string Description => _database.Description;

    /// <summary>Stores the message, replacing (and unclaiming) any message with the same token.</summary>
    public async Task UpsertAsync(ScheduledMessageRecord message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            await using var command = _database.CreateCommand(connection, $"""
                INSERT INTO {Table} (token_id, due_at, destination, content_type, message_type, body, envelope, created_at, attempts)
                VALUES (@token, @due, @destination, @contentType, @messageType, @body, @envelope, @now, 0)
                ON CONFLICT (token_id) DO UPDATE
                   SET due_at = excluded.due_at, destination = excluded.destination, content_type = excluded.content_type,
                       message_type = excluded.message_type, body = excluded.body, envelope = excluded.envelope,
                       created_at = excluded.created_at, claim_id = NULL, claimed_until = NULL, attempts = 0, last_error = NULL
                """);
            _database.AddGuid(command, "token", message.TokenId);
            _database.AddTime(command, "due", message.DueAt);
            SagaStoreDatabase.AddText(command, "destination", message.Destination.ToString());
            SagaStoreDatabase.AddText(command, "contentType", message.ContentType);
            SagaStoreDatabase.AddText(command, "messageType", string.Join(';', message.MessageTypes));
            SagaStoreDatabase.AddText(command, "body", message.Body);
            _database.AddJson(command, "envelope", JsonSerializer.Serialize(message.Envelope, EnvelopeOptions));
            _database.AddTime(command, "now", _time.GetUtcNow());
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Deletes the message with <paramref name="tokenId"/>; false when there was none (already sent, or never scheduled).</summary>
    public async Task<bool> CancelAsync(Guid tokenId, CancellationToken cancellationToken)
    {
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            await using var command = _database.CreateCommand(connection, $"DELETE FROM {Table} WHERE token_id = @token");
            _database.AddGuid(command, "token", tokenId);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
        }
    }

    /// <summary>
    /// Claims up to <paramref name="batchSize"/> messages due at <paramref name="now"/> that nobody holds, for
    /// <paramref name="claimTimeout"/>. One statement, so two sweepers never claim the same row.
    /// </summary>
    public async Task<IReadOnlyList<ClaimedScheduledMessage>> ClaimDueAsync(DateTimeOffset now, TimeSpan claimTimeout, int batchSize,
        CancellationToken cancellationToken)
    {
        var claimId = Guid.NewGuid();
        List<ClaimedScheduledMessage> claimed = [];
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            await using var command = _database.CreateCommand(connection, _database.ClaimDueMessagesSql);
            _database.AddGuid(command, "claim", claimId);
            _database.AddTime(command, "until", now + claimTimeout);
            _database.AddTime(command, "now", now);
            SagaStoreDatabase.AddInt64(command, "batch", batchSize);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                claimed.Add(new ClaimedScheduledMessage(claimId, Convert.ToInt32(reader.GetValue(7), CultureInfo.InvariantCulture), ReadMessage(reader)));
            }
        }

        claimed.Sort((left, right) => left.Message.DueAt.CompareTo(right.Message.DueAt));
        return claimed;
    }

    /// <summary>Deletes a sent message if <paramref name="claimId"/> still holds it (a reschedule in the meantime stays).</summary>
    public async Task<bool> CompleteAsync(Guid tokenId, Guid claimId, CancellationToken cancellationToken)
    {
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            await using var command = _database.CreateCommand(connection, $"DELETE FROM {Table} WHERE token_id = @token AND claim_id = @claim");
            _database.AddGuid(command, "token", tokenId);
            _database.AddGuid(command, "claim", claimId);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
        }
    }

    /// <summary>Gives a claimed message back, to be claimed again from <paramref name="retryAt"/>.</summary>
    public async Task ReleaseAsync(Guid tokenId, Guid claimId, DateTimeOffset retryAt, string? error, CancellationToken cancellationToken)
    {
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            await using var command = _database.CreateCommand(connection, $"""
                UPDATE {Table} SET claim_id = NULL, claimed_until = @retryAt, last_error = COALESCE(@error, last_error)
                 WHERE token_id = @token AND claim_id = @claim
                """);
            _database.AddTime(command, "retryAt", retryAt);
            SagaStoreDatabase.AddText(command, "error", error is { Length: > MaxErrorLength } ? error[..MaxErrorLength] : error);
            _database.AddGuid(command, "token", tokenId);
            _database.AddGuid(command, "claim", claimId);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The stored message with <paramref name="tokenId"/>, or null.</summary>
    public async Task<ScheduledMessageRecord?> FindAsync(Guid tokenId, CancellationToken cancellationToken)
    {
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            await using var command = _database.CreateCommand(connection, $"""
                SELECT token_id, due_at, destination, content_type, message_type, body, envelope FROM {Table} WHERE token_id = @token
                """);
            _database.AddGuid(command, "token", tokenId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadMessage(reader) : null;
        }
    }

    /// <summary>How many messages wait (due or not, claimed or not).</summary>
    public async Task<long> CountAsync(CancellationToken cancellationToken)
    {
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            await using var command = _database.CreateCommand(connection, $"SELECT COUNT(*) FROM {Table}");
            return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        }
    }

    // Columns: token_id, due_at, destination, content_type, message_type, body, envelope.
    private ScheduledMessageRecord ReadMessage(DbDataReader reader) =>
        new(
            _database.GetGuid(reader, 0),
            _database.GetTime(reader, 1),
            new Uri(reader.GetString(2)),
            reader.GetString(3),
            reader.GetString(4).Split(';', StringSplitOptions.RemoveEmptyEntries),
            reader.GetString(5),
            JsonSerializer.Deserialize<ScheduledMessageEnvelope>(reader.GetString(6), EnvelopeOptions) ?? new ScheduledMessageEnvelope());
}
