using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Passthrough.Contracts.Ids;

namespace Passthrough.GuestAgent;

/// <summary>
/// The guest agent's settings, section <c>GuestAgent</c> (appsettings.json beside the binary,
/// <c>/etc/passthrough/guest-agent.json</c> or <c>%ProgramData%\Passthrough\guest-agent.json</c>, environment variables
/// <c>GuestAgent__Broker</c>…, command line <c>--GuestAgent:Broker=…</c>).
/// </summary>
public sealed class GuestAgentOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "GuestAgent";

    /// <summary>The RabbitMQ broker: <c>amqp://user:password@host:5672/vhost</c> or <c>amqps://…</c>. Required.</summary>
    public Uri? Broker { get; set; }

    /// <summary>The VM uuid; default none: read from the platform (DMI product uuid on HVM, xenstore <c>vm</c>).</summary>
    public string? VmUuid { get; set; }

    /// <summary>Time between heartbeats; default 30 s, from 1 s to 1 h.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Time between two looks of the fault watch; default 250 ms, from 10 ms to 500 ms (faults are due within 1 s).</summary>
    public TimeSpan WatchInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The root the probe reads (<c>/sys</c>, <c>/proc</c>, <c>/lib/modules</c> below it); default <c>/</c>.</summary>
    public string ProbeRoot { get; set; } = "/";

    /// <summary>
    /// Where unpublished events are spooled; default <c>$STATE_DIRECTORY/spool</c> under systemd, else
    /// <c>/var/lib/passthrough-guest-agent/spool</c> (Linux) or <c>%ProgramData%\Passthrough\GuestAgent\spool</c> (Windows).
    /// </summary>
    public string? SpoolDirectory { get; set; }

    /// <summary>The most unpublished reliable events kept (memory and spool); default 1000, from 10 to 100000.</summary>
    public int MaxPendingEvents { get; set; } = 1000;

    /// <summary>How long a publish waits for the broker's confirm; default 10 s.</summary>
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The program that reads xenstore; default <c>xenstore-read</c> (on PATH).</summary>
    public string XenstoreRead { get; set; } = "xenstore-read";

    /// <summary>The spool directory to use: <see cref="SpoolDirectory"/> or the platform default.</summary>
    public string EffectiveSpoolDirectory()
    {
        if (!string.IsNullOrWhiteSpace(SpoolDirectory))
        {
            return SpoolDirectory;
        }

        // systemd's StateDirectory= sets STATE_DIRECTORY (possibly a colon-separated list; the first is ours).
        var state = Environment.GetEnvironmentVariable("STATE_DIRECTORY");
        if (!string.IsNullOrWhiteSpace(state))
        {
            return Path.Combine(state.Split(':')[0], "spool");
        }

        return OperatingSystem.IsWindows()
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.CommonApplicationData), "Passthrough", "GuestAgent", "spool")
            : "/var/lib/passthrough-guest-agent/spool";
    }
}

/// <summary>Checks <see cref="GuestAgentOptions"/> at start; every message names the key to fix.</summary>
internal sealed class GuestAgentOptionsValidator(IHostEnvironment environment) : IValidateOptions<GuestAgentOptions>
{
    public ValidateOptionsResult Validate(string? name, GuestAgentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        const string s = GuestAgentOptions.Section;
        if (options.Broker is not { IsAbsoluteUri: true } broker)
        {
            errors.Add($"{s}:Broker is required: the RabbitMQ broker as amqp://user:password@host:5672/vhost.");
        }
        else if (broker.Scheme is not ("amqp" or "amqps"))
        {
            errors.Add($"{s}:Broker must be an amqp:// or amqps:// URI, not {broker.Scheme}://.");
        }
        else if (!environment.IsDevelopment() && IsDefaultLogin(broker))
        {
            errors.Add($"{s}:Broker uses RabbitMQ's default guest/guest login (or none), which is allowed only in Development: give the agent its own broker user.");
        }

        if (!string.IsNullOrWhiteSpace(options.VmUuid) && !VmId.TryParse(options.VmUuid.Trim(), out _, out var vmError))
        {
            errors.Add($"{s}:VmUuid: {vmError}");
        }

        if (options.HeartbeatInterval < TimeSpan.FromSeconds(1) || options.HeartbeatInterval > TimeSpan.FromHours(1))
        {
            errors.Add($"{s}:HeartbeatInterval must be from 00:00:01 to 01:00:00 (is {options.HeartbeatInterval}).");
        }

        if (options.WatchInterval < TimeSpan.FromMilliseconds(10) || options.WatchInterval > TimeSpan.FromMilliseconds(500))
        {
            errors.Add($"{s}:WatchInterval must be from 00:00:00.010 to 00:00:00.500 so faults are reported within a second (is {options.WatchInterval}).");
        }

        if (options.PublishTimeout < TimeSpan.FromSeconds(1) || options.PublishTimeout > TimeSpan.FromMinutes(5))
        {
            errors.Add($"{s}:PublishTimeout must be from 00:00:01 to 00:05:00 (is {options.PublishTimeout}).");
        }

        if (string.IsNullOrWhiteSpace(options.ProbeRoot) || !Path.IsPathFullyQualified(options.ProbeRoot))
        {
            errors.Add($"{s}:ProbeRoot must be an absolute directory (default /).");
        }

        if (options.MaxPendingEvents is < 10 or > 100_000)
        {
            errors.Add($"{s}:MaxPendingEvents must be from 10 to 100000 (is {options.MaxPendingEvents}).");
        }

        if (string.IsNullOrWhiteSpace(options.XenstoreRead))
        {
            errors.Add($"{s}:XenstoreRead must name a program (default xenstore-read).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static bool IsDefaultLogin(Uri broker)
    {
        var user = broker.UserInfo.Split(':')[0];
        return user.Length == 0 || string.Equals(Uri.UnescapeDataString(user), "guest", StringComparison.Ordinal);
    }
}
