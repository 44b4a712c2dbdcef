using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Passthrough.Shell;

/// <summary>Hands out the <see cref="ICommandRunner"/> for a target, so callers depend on one narrow port.</summary>
public interface ICommandRunnerFactory
{
    /// <summary>
    /// Returns the runner for <paramref name="target"/>. Runners are shared: every caller asking for an equal target gets
    /// the same one (one SSH connection per host). The factory owns them; disposing the returned runner does nothing.
    /// </summary>
    /// <exception cref="NotSupportedException">No runner exists for this kind of target.</exception>
    ICommandRunner GetRunner(CommandTarget target);
}

/// <summary>
/// Creates <see cref="LocalCommandRunner"/> for <see cref="LocalTarget"/> and <see cref="SshCommandRunner"/> for
/// <see cref="SshTarget"/>, and keeps one shared runner per target until it is disposed.
/// </summary>
public sealed class CommandRunnerFactory : ICommandRunnerFactory, IAsyncDisposable
{
    private readonly ConcurrentDictionary<CommandTarget, Lazy<ICommandRunner>> _shared = new();
    private readonly SshCommandRunnerOptions _sshOptions;
    private readonly ILoggerFactory _loggerFactory;
    private int _disposed;

    /// <summary>Creates the factory.</summary>
    /// <param name="sshOptions">Settings of every SSH runner; default <see cref="SshCommandRunnerOptions.Default"/>.</param>
    /// <param name="loggerFactory">Loggers for the runners; default none.</param>
    public CommandRunnerFactory(SshCommandRunnerOptions? sshOptions = null, ILoggerFactory? loggerFactory = null)
    {
        _sshOptions = sshOptions ?? SshCommandRunnerOptions.Default;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
    }

    /// <inheritdoc />
    public ICommandRunner GetRunner(CommandTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        EnsureSupported(target);
        var runner = _shared.GetOrAdd(target, t => new Lazy<ICommandRunner>(() => Create(t), LazyThreadSafetyMode.ExecutionAndPublication)).Value;
        return new SharedRunner(runner);
    }

    /// <summary>Creates a new runner for <paramref name="target"/> that the caller owns and must dispose.</summary>
    /// <exception cref="NotSupportedException">No runner exists for this kind of target.</exception>
    public ICommandRunner Create(CommandTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        EnsureSupported(target);
        return target switch
        {
            SshTarget ssh => new SshCommandRunner(ssh, _sshOptions, _loggerFactory.CreateLogger<SshCommandRunner>()),
            _ => new LocalCommandRunner(_loggerFactory.CreateLogger<LocalCommandRunner>()),
        };
    }

    private static void EnsureSupported(CommandTarget target)
    {
        if (target is not (LocalTarget or SshTarget))
        {
            throw new NotSupportedException(
                $"No command runner for target {target} ({target.GetType().Name}): only 'local' and ssh:// targets are built in.");
        }
    }

    /// <summary>Disposes every shared runner (closing their connections).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (var entry in _shared.Values.Where(lazy => lazy.IsValueCreated))
        {
            await entry.Value.DisposeAsync().ConfigureAwait(false);
        }

        _shared.Clear();
    }

    // A view of a shared runner whose disposal is a no-op: one caller must not close the connection others use.
    private sealed class SharedRunner(ICommandRunner inner) : ICommandRunner
    {
        public CommandTarget Target => inner.Target;

        public Task<CommandResult> RunAsync(CommandRequest request, CancellationToken cancellationToken = default) =>
            inner.RunAsync(request, cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
