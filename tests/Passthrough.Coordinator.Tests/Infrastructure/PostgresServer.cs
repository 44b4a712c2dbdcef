using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

[assembly: AssemblyFixture(typeof(Passthrough.Coordinator.Tests.Infrastructure.PostgresServer))]

namespace Passthrough.Coordinator.Tests.Infrastructure;

/// <summary>
/// A real PostgreSQL for the whole test run: the server named by <c>PASSTHROUGH_TEST_POSTGRES</c> (ops/test.sh starts a
/// throwaway cluster and exports it), or else a throwaway PostgreSQL 15 cluster of our own on 127.0.0.1, run as the
/// <c>postgres</c> system user (PostgreSQL refuses root) and removed afterwards. When neither works, every test using it
/// fails with the reason: PostgreSQL tests are never skipped.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    public const string EnvironmentVariable = "PASSTHROUGH_TEST_POSTGRES";
    private const string BinDirectory = "/usr/lib/postgresql/15/bin";
    private const string SystemUser = "postgres";

    private string? _clusterDirectory;
    private Exception? _failure;
    private string _connectionString = string.Empty;

    /// <summary>A connection string for the server's <c>postgres</c> database; throws when the server could not be started.</summary>
    public string ConnectionString =>
        _failure is null
            ? _connectionString
            : throw new InvalidOperationException($"PostgreSQL is not available for the tests: {_failure.Message}", _failure);

    public async ValueTask InitializeAsync()
    {
        try
        {
            var configured = Environment.GetEnvironmentVariable(EnvironmentVariable);
            _connectionString = string.IsNullOrWhiteSpace(configured) ? await StartClusterAsync() : configured;
            await using var connection = new NpgsqlConnection(_connectionString);
            await connection.OpenAsync();
        }
        catch (Exception exception) when (exception is InvalidOperationException or NpgsqlException or IOException
                                              or System.ComponentModel.Win32Exception or TimeoutException)
        {
            _failure = exception;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_clusterDirectory is null)
        {
            return;
        }

        NpgsqlConnection.ClearAllPools();
        await RunAsync("/usr/sbin/runuser", ["-u", SystemUser, "--", $"{BinDirectory}/pg_ctl", "-D", DataDirectory(_clusterDirectory), "-m", "immediate", "-w", "stop"],
            TimeSpan.FromSeconds(30), throwOnFailure: false);
        Directory.Delete(_clusterDirectory, recursive: true);
    }

    /// <summary>A new empty schema on the server, for one test; dropped on dispose.</summary>
    public async Task<PostgresSchema> CreateSchemaAsync(CancellationToken cancellationToken)
    {
        var name = "t_" + Guid.NewGuid().ToString("N", CultureInfo.InvariantCulture);
        await using (var connection = new NpgsqlConnection(ConnectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand($"CREATE SCHEMA {name}", connection);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        var builder = new NpgsqlConnectionStringBuilder(ConnectionString) { SearchPath = name };
        return new PostgresSchema(this, name, builder.ConnectionString);
    }

    internal async Task DropSchemaAsync(string name)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {name} CASCADE", connection);
        await command.ExecuteNonQueryAsync();
    }

    private static string DataDirectory(string clusterDirectory) => Path.Combine(clusterDirectory, "data");

    private async Task<string> StartClusterAsync()
    {
        if (!File.Exists($"{BinDirectory}/initdb"))
        {
            throw new InvalidOperationException(
                $"{EnvironmentVariable} is not set and PostgreSQL 15 is not installed ({BinDirectory}/initdb is missing): run ops/test.sh, or apt-get install postgresql-15.");
        }

        // Owned by postgres: the server user must reach its data directory and socket.
        _clusterDirectory = Directory.CreateTempSubdirectory("passthrough-pg-").FullName;
        var data = DataDirectory(_clusterDirectory);
        await RunAsync("/usr/bin/chown", [$"{SystemUser}:", _clusterDirectory], TimeSpan.FromSeconds(10));
        await RunAsync("/usr/sbin/runuser", ["-u", SystemUser, "--", $"{BinDirectory}/initdb", "-D", data, "-A", "trust", "-U", SystemUser, "--no-sync"],
            TimeSpan.FromSeconds(60));

        var port = FreePort();
        await RunAsync("/usr/sbin/runuser",
            ["-u", SystemUser, "--", $"{BinDirectory}/pg_ctl", "-D", data, "-l", Path.Combine(_clusterDirectory, "server.log"),
                "-o", $"-k {_clusterDirectory} -h 127.0.0.1 -p {port}", "-w", "start"],
            TimeSpan.FromSeconds(60));
        return $"Host=127.0.0.1;Port={port};Username={SystemUser};Database=postgres";
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task RunAsync(string fileName, IReadOnlyList<string> arguments, TimeSpan timeout, bool throwOnFailure = true)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} did not finish within {timeout}.");
        }

        if (process.ExitCode != 0 && throwOnFailure)
        {
            throw new InvalidOperationException(
                $"{fileName} {string.Join(' ', arguments)} exited with {process.ExitCode}: {(await stderr).Trim()} {(await stdout).Trim()}");
        }
    }
}

/// <summary>One test's schema on <see cref="PostgresServer"/>; its connection string puts the schema first on the search path.</summary>
public sealed class PostgresSchema : IAsyncDisposable
{
    private readonly PostgresServer _server;

    internal PostgresSchema(PostgresServer server, string name, string connectionString)
    {
        _server = server;
        Name = name;
        ConnectionString = connectionString;
    }

    public string Name { get; }

    public string ConnectionString { get; }

    public async ValueTask DisposeAsync() => await _server.DropSchemaAsync(Name);
}
