using Microsoft.Extensions.Options;

namespace Passthrough.Coordinator.Persistence;

/// <summary>How the durable scheduler's sweeper sends due messages (section <see cref="SectionName"/>).</summary>
public sealed class DurableSchedulerOptions
{
    /// <summary>The configuration section these options bind from: <c>Coordinator:Scheduler</c>.</summary>
    public const string SectionName = "Coordinator:Scheduler";

    /// <summary>How often the sweeper looks for due messages; default 1 second (a deadline fires up to this late).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How many due messages one claim takes; default 100. The sweeper claims again while batches come back full.</summary>
    public int BatchSize { get; set; } = 100;

    /// <summary>
    /// How long a claimed message belongs to the sweeper that claimed it; default 1 minute. A sweeper that dies between
    /// claim and send leaves its messages to another (or the next process) after this time.
    /// </summary>
    public TimeSpan ClaimTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The longest wait after a failed sweep or a failed send, which back off exponentially from 1 second; default 1 minute.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>Validates <see cref="DurableSchedulerOptions"/> at start; every message names the configuration key.</summary>
internal sealed class DurableSchedulerOptionsValidator : IValidateOptions<DurableSchedulerOptions>
{
    public ValidateOptionsResult Validate(string? name, DurableSchedulerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        const string Prefix = DurableSchedulerOptions.SectionName + ":";
        List<string> failures = [];
        if (options.PollInterval < TimeSpan.FromMilliseconds(10) || options.PollInterval > TimeSpan.FromMinutes(10))
        {
            failures.Add($"{Prefix}{nameof(DurableSchedulerOptions.PollInterval)} must be between 00:00:00.010 and 00:10:00 (was {options.PollInterval}).");
        }

        if (options.BatchSize is < 1 or > 10_000)
        {
            failures.Add($"{Prefix}{nameof(DurableSchedulerOptions.BatchSize)} must be between 1 and 10000 (was {options.BatchSize}).");
        }

        if (options.ClaimTimeout < TimeSpan.FromSeconds(5) || options.ClaimTimeout > TimeSpan.FromHours(1))
        {
            failures.Add($"{Prefix}{nameof(DurableSchedulerOptions.ClaimTimeout)} must be between 00:00:05 and 01:00:00 (was {options.ClaimTimeout}).");
        }

        if (options.MaxBackoff < TimeSpan.FromSeconds(1) || options.MaxBackoff > TimeSpan.FromHours(1))
        {
            failures.Add($"{Prefix}{nameof(DurableSchedulerOptions.MaxBackoff)} must be between 00:00:01 and 01:00:00 (was {options.MaxBackoff}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
