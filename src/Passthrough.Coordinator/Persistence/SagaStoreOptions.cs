using Microsoft.Extensions.Options;
using Passthrough.Hosting;

namespace Passthrough.Coordinator.Persistence;

/// <summary>Which database holds the coordinator's sagas and scheduled messages.</summary>
public enum SagaStoreProvider
{
    /// <summary>A local SQLite file (the default): one coordinator process.</summary>
    Sqlite,

    /// <summary>PostgreSQL: several coordinator replicas may share one database.</summary>
    PostgreSql,
}

/// <summary>
/// Where the coordinator keeps saga instances and scheduled messages (section <see cref="SectionName"/>).
/// One store per process: every saga repository and the durable scheduler share it.
/// </summary>
public sealed class SagaStoreOptions
{
    /// <summary>The configuration section these options bind from: <c>Coordinator:Store</c>.</summary>
    public const string SectionName = "Coordinator:Store";

    /// <summary>The database; default <see cref="SagaStoreProvider.Sqlite"/>.</summary>
    public SagaStoreProvider Provider { get; set; } = SagaStoreProvider.Sqlite;

    /// <summary>
    /// The SQLite file (created with its directory when missing), relative paths against the working directory;
    /// default <c>passthrough-coordinator.db</c>. Used when <see cref="Provider"/> is <see cref="SagaStoreProvider.Sqlite"/>.
    /// </summary>
    public string SqlitePath { get; set; } = "passthrough-coordinator.db";

    /// <summary>
    /// An Npgsql connection string (<c>Host=…;Database=…;Username=…</c>); no default. Required when <see cref="Provider"/> is
    /// <see cref="SagaStoreProvider.PostgreSql"/>. Tables go into the first schema of the search path.
    /// </summary>
    public string? PostgresConnectionString { get; set; }

    /// <summary>How long one statement may take, including waiting for SQLite's write lock; default 30 seconds.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// When a SQLite commit counts as written; default <see cref="SqliteDurability.Full"/>. With
    /// <see cref="SqliteDurability.Normal"/> a saga save still survives the coordinator being killed, but after an
    /// operating system crash or power loss a saga can come back without a step it already sent: that command's reply is
    /// then ignored as stale and the saga waits for the deadline of the step it remembers, which rolls it back. Ignored
    /// by PostgreSQL.
    /// </summary>
    public SqliteDurability SqliteDurability { get; set; } = SqliteDurability.Full;
}

/// <summary>Validates <see cref="SagaStoreOptions"/> at start; every message names the configuration key.</summary>
internal sealed class SagaStoreOptionsValidator : IValidateOptions<SagaStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, SagaStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        const string Prefix = SagaStoreOptions.SectionName + ":";
        List<string> failures = [];

        if (!Enum.IsDefined(options.Provider))
        {
            failures.Add($"{Prefix}{nameof(SagaStoreOptions.Provider)} must be Sqlite or PostgreSql (was {options.Provider}).");
        }
        else if (options.Provider == SagaStoreProvider.Sqlite)
        {
            if (string.IsNullOrWhiteSpace(options.SqlitePath))
            {
                failures.Add($"{Prefix}{nameof(SagaStoreOptions.SqlitePath)} must name the SQLite file when Provider is Sqlite.");
            }
            else if (options.SqlitePath.Contains('\0', StringComparison.Ordinal))
            {
                failures.Add($"{Prefix}{nameof(SagaStoreOptions.SqlitePath)} must be a file path (it contains a NUL character).");
            }

            if (!Enum.IsDefined(options.SqliteDurability))
            {
                failures.Add($"{Prefix}{nameof(SagaStoreOptions.SqliteDurability)} must be Full or Normal (was {options.SqliteDurability}).");
            }
        }
        else if (string.IsNullOrWhiteSpace(options.PostgresConnectionString))
        {
            failures.Add($"{Prefix}{nameof(SagaStoreOptions.PostgresConnectionString)} must be set when Provider is PostgreSql.");
        }
        else
        {
            try
            {
                _ = new Npgsql.NpgsqlConnectionStringBuilder(options.PostgresConnectionString);
            }
            catch (ArgumentException)
            {
                // The message of the exception may quote the connection string, which can hold a password.
                failures.Add($"{Prefix}{nameof(SagaStoreOptions.PostgresConnectionString)} is not a valid Npgsql connection string.");
            }
        }

        if (options.CommandTimeout < TimeSpan.FromSeconds(1) || options.CommandTimeout > TimeSpan.FromHours(1))
        {
            failures.Add($"{Prefix}{nameof(SagaStoreOptions.CommandTimeout)} must be between 00:00:01 and 01:00:00 (was {options.CommandTimeout}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
