using Microsoft.Extensions.Logging;

namespace Passthrough.Coordinator.Tests.Infrastructure;

/// <summary>
/// One logger factory for every test host of the run, never disposed. MassTransit keeps the first bus's logger factory
/// in a static (<c>LogContext</c>) and reuses it for every later bus in the process; a per-host factory would be
/// disposed with its host and break every bus created after it.
/// </summary>
internal static class TestLogging
{
    public static ILoggerFactory Factory { get; } =
        LoggerFactory.Create(builder => builder.AddProvider(new TestOutputLoggerProvider()).SetMinimumLevel(LogLevel.Warning));
}

/// <summary>Writes logs to the output of the test that is running (where the logging code runs on its behalf).</summary>
internal sealed class TestOutputLoggerProvider : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new OutputLogger(categoryName);

    public void Dispose()
    {
    }

    private sealed class OutputLogger(string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            try
            {
                TestContext.Current.TestOutputHelper?.WriteLine(
                    $"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category}: {formatter(state, exception)}{(exception is null ? "" : " " + exception)}");
            }
            catch (InvalidOperationException)
            {
                // No test is running on this path any more (a host still stopping after its test ended).
            }
        }
    }
}
