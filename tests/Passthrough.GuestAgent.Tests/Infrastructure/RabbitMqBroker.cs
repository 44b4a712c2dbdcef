using System.Diagnostics;
using System.Net.Sockets;
using RabbitMQ.Client;

namespace Passthrough.GuestAgent.Tests.Infrastructure;

/// <summary>
/// The real RabbitMQ the integration tests use: <c>PASSTHROUGH_TEST_RABBITMQ</c>, default
/// <c>amqp://guest:guest@127.0.0.1:5672/</c>. A broker that does not answer fails the test (never a skip).
/// </summary>
internal static class RabbitMqBroker
{
    public static Uri Uri { get; } = new(Environment.GetEnvironmentVariable("PASSTHROUGH_TEST_RABBITMQ") is { Length: > 0 } configured
        ? configured
        : "amqp://guest:guest@127.0.0.1:5672/");

    /// <summary>The broker URI with another port (the agent reaches the broker through a <see cref="TcpProxy"/>).</summary>
    public static Uri ThroughPort(int port) => new UriBuilder(Uri) { Port = port }.Uri;

    public static async Task EnsureReachableAsync()
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(Uri.Host, Uri.Port, TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        }
        catch (Exception ex) when (ex is SocketException or TimeoutException)
        {
            Assert.Fail($"RabbitMQ does not answer at {Uri.Host}:{Uri.Port} ({ex.Message}). Start it (ops/test.sh does) or set PASSTHROUGH_TEST_RABBITMQ.");
        }
    }

    /// <summary>Deletes queues and exchanges a test left behind (the agent's durable command queue and its exchange).</summary>
    public static async Task DeleteAsync(IEnumerable<string> queues, IEnumerable<string> exchanges)
    {
        var factory = new ConnectionFactory { Uri = Uri };
        await using var connection = await factory.CreateConnectionAsync(CancellationToken.None);
        foreach (var queue in queues)
        {
            await using var channel = await connection.CreateChannelAsync(cancellationToken: CancellationToken.None);
            await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false, cancellationToken: CancellationToken.None);
        }

        foreach (var exchange in exchanges)
        {
            await using var channel = await connection.CreateChannelAsync(cancellationToken: CancellationToken.None);
            await channel.ExchangeDeleteAsync(exchange, ifUnused: false, cancellationToken: CancellationToken.None);
        }
    }

    /// <summary>
    /// Closes, from the broker's side, the connections whose client-provided name contains <paramref name="nameFragment"/>
    /// (<c>rabbitmqctl close_connection</c>, what an operator or a broker restart does to an agent). Returns how many.
    /// </summary>
    public static async Task<int> CloseConnectionsAsync(string nameFragment)
    {
        // One line per connection: "<rabbit@host.N.N.N>\t[{client properties}]" (the JSON formatter prints pids that
        // close_connection does not accept).
        var list = await RabbitMqCtlAsync("list_connections", "pid", "client_properties", "-q", "-s");
        var closed = 0;
        foreach (var line in list.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var tab = line.IndexOf('\t', StringComparison.Ordinal);
            if (tab > 0 && line[tab..].Contains(nameFragment, StringComparison.Ordinal))
            {
                await RabbitMqCtlAsync("close_connection", line[..tab], "guest agent test: broker-side close");
                closed++;
            }
        }

        return closed;
    }

    private static async Task<string> RabbitMqCtlAsync(params string[] arguments)
    {
        var startInfo = new ProcessStartInfo(File.Exists("/usr/sbin/rabbitmqctl") ? "/usr/sbin/rabbitmqctl" : "rabbitmqctl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo)!;
        var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var error = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        Assert.True(process.ExitCode == 0, $"rabbitmqctl {string.Join(' ', arguments)} failed: {await error}");
        return await output;
    }
}
