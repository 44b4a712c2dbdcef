using System.Diagnostics;
using System.Net.Sockets;

namespace Passthrough.Testing;

/// <summary>
/// A throwaway RabbitMQ virtual host on the test broker (<c>PASSTHROUGH_TEST_RABBITMQ</c>, default
/// <c>amqp://guest:guest@127.0.0.1:5672/</c>): every queue and exchange a test declares lives in it and goes with it,
/// so tests that run in parallel on one broker never share a queue or an event exchange. Created and deleted with
/// <c>rabbitmqctl</c> (the test command runs as root). A broker that does not answer fails the test, never skips it.
/// </summary>
public sealed class RabbitMqVirtualHost : IAsyncDisposable
{
    private RabbitMqVirtualHost(string name, Uri uri)
    {
        Name = name;
        Uri = uri;
    }

    /// <summary>The broker the tests use.</summary>
    public static Uri Broker { get; } = new(Environment.GetEnvironmentVariable("PASSTHROUGH_TEST_RABBITMQ") is { Length: > 0 } configured
        ? configured
        : "amqp://guest:guest@127.0.0.1:5672/");

    /// <summary>The virtual host's name.</summary>
    public string Name { get; }

    /// <summary>The broker URI naming this virtual host.</summary>
    public Uri Uri { get; }

    /// <summary>Creates a virtual host named after <paramref name="purpose"/> and a random suffix, open to the broker's user.</summary>
    public static async Task<RabbitMqVirtualHost> CreateAsync(string purpose, CancellationToken cancellationToken = default)
    {
        await EnsureReachableAsync(cancellationToken).ConfigureAwait(false);
        var name = $"test-{purpose}-{Guid.NewGuid():N}"[..Math.Min(60, purpose.Length + 18)];
        var user = Uri.UnescapeDataString(Broker.UserInfo.Split(':')[0] is { Length: > 0 } u ? u : "guest");
        await RabbitMqCtlAsync(cancellationToken, "add_vhost", name).ConfigureAwait(false);
        await RabbitMqCtlAsync(cancellationToken, "set_permissions", "-p", name, user, ".*", ".*", ".*").ConfigureAwait(false);
        var uri = new UriBuilder(Broker) { Path = "/" + Uri.EscapeDataString(name) }.Uri;
        return new RabbitMqVirtualHost(name, uri);
    }

    /// <summary>Fails the test with a clear message when the broker does not answer.</summary>
    public static async Task EnsureReachableAsync(CancellationToken cancellationToken = default)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(Broker.Host, Broker.Port, cancellationToken).AsTask()
                .WaitAsync(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or TimeoutException)
        {
            throw new InvalidOperationException($"RabbitMQ does not answer at {Broker.Host}:{Broker.Port} ({ex.Message}). Start it (ops/test.sh does) or set PASSTHROUGH_TEST_RABBITMQ.");
        }
    }

    /// <summary>Deletes the virtual host with everything in it.</summary>
    public async ValueTask DisposeAsync() =>
        await RabbitMqCtlAsync(CancellationToken.None, "delete_vhost", Name).ConfigureAwait(false);

    private static async Task RabbitMqCtlAsync(CancellationToken cancellationToken, params string[] arguments)
    {
        var startInfo = new ProcessStartInfo(File.Exists("/usr/sbin/rabbitmqctl") ? "/usr/sbin/rabbitmqctl" : "rabbitmqctl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        startInfo.ArgumentList.Add("-q");
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException("rabbitmqctl did not start.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"rabbitmqctl {string.Join(' ', arguments)} failed ({process.ExitCode}): {await error.ConfigureAwait(false)}{await output.ConfigureAwait(false)}");
        }
    }
}
