using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Passthrough.GuestAgent.Tests.Infrastructure;

/// <summary>
/// A TCP relay on 127.0.0.1 in front of the broker, so one agent's broker can go away (<see cref="Cut"/>: live
/// connections dropped, new ones closed at once) and come back (<see cref="Restore"/>) without touching the broker that
/// the other tests share.
/// </summary>
internal sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<TcpClient, TcpClient> _pairs = new();
    private readonly Task _accepting;
    private volatile bool _down;

    public TcpProxy(string targetHost, int targetPort)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public int Accepted;

    public void Cut()
    {
        _down = true;
        foreach (var (client, server) in _pairs)
        {
            client.Dispose();
            server.Dispose();
        }

        _pairs.Clear();
    }

    public void Restore() => _down = false;

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        Cut();
        try
        {
            await _accepting;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }

        _stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stopping.Token);
            if (_down)
            {
                client.Dispose();
                continue;
            }

            Interlocked.Increment(ref Accepted);
            var server = new TcpClient();
            try
            {
                await server.ConnectAsync(_targetHost, _targetPort, _stopping.Token);
            }
            catch (SocketException)
            {
                client.Dispose();
                server.Dispose();
                continue;
            }

            _pairs[client] = server;
            _ = PumpAsync(client, server);
        }
    }

    private async Task PumpAsync(TcpClient client, TcpClient server)
    {
        try
        {
            var a = client.GetStream().CopyToAsync(server.GetStream(), _stopping.Token);
            var b = server.GetStream().CopyToAsync(client.GetStream(), _stopping.Token);
            await Task.WhenAny(a, b);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            // One side went away.
        }
        finally
        {
            _pairs.TryRemove(client, out _);
            client.Dispose();
            server.Dispose();
        }
    }
}
