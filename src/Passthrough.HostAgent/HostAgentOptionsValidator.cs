using System.Globalization;
using Microsoft.Extensions.Options;
using Passthrough.Contracts.Ids;
using Passthrough.Shell;

namespace Passthrough.HostAgent;

/// <summary>Validates <see cref="HostAgentOptions"/> at start; every message names the configuration key.</summary>
internal sealed class HostAgentOptionsValidator : IValidateOptions<HostAgentOptions>
{
    private const string Prefix = HostAgentOptions.SectionName + ":";

    public ValidateOptionsResult Validate(string? name, HostAgentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        var seen = new HashSet<HostId>(options.ProgrammaticHosts.Keys);
        if (options.Hosts.Count == 0 && options.ProgrammaticHosts.Count == 0)
        {
            failures.Add($"{Prefix}Hosts must list at least one host (HostId and either Ssh or Local = true).");
        }

        for (var i = 0; i < options.Hosts.Count; i++)
        {
            ValidateHost(options.Hosts[i], $"{Prefix}Hosts:{i.ToString(CultureInfo.InvariantCulture)}:", seen, failures);
        }

        if (string.IsNullOrWhiteSpace(options.CommandRecordPath))
        {
            failures.Add($"{Prefix}CommandRecordPath must name the SQLite file of the command record.");
        }
        else if (options.CommandRecordPath.Contains('\0', StringComparison.Ordinal))
        {
            failures.Add($"{Prefix}CommandRecordPath must be a file path (it contains a NUL character).");
        }

        if (!Enum.IsDefined(options.CommandRecordDurability))
        {
            failures.Add($"{Prefix}CommandRecordDurability must be Full or Normal, not {options.CommandRecordDurability}.");
        }

        Positive(options.CommandRecordRetention, "CommandRecordRetention", failures);
        Positive(options.HeartbeatInterval, "HeartbeatInterval", failures);
        Positive(options.InventoryInterval, "InventoryInterval", failures);
        // Longer than InventoryInterval is allowed (a short test interval with the default delay): the wait is capped by it.
        if (options.InventoryRecheckDelay < TimeSpan.Zero)
        {
            failures.Add($"{Prefix}InventoryRecheckDelay must be 00:00:00 (re-read at once) or more, not {options.InventoryRecheckDelay}.");
        }

        var dom0 = options.Dom0 ?? new HostAgentDom0Options();
        Positive(dom0.CommandTimeout, "Dom0:CommandTimeout", failures);
        Positive(dom0.VmStartTimeout, "Dom0:VmStartTimeout", failures);
        Positive(dom0.SnapshotTimeout, "Dom0:SnapshotTimeout", failures);
        Positive(dom0.ForcedShutdownTimeout, "Dom0:ForcedShutdownTimeout", failures);
        Positive(dom0.EvacuateTimeout, "Dom0:EvacuateTimeout", failures);
        Positive(dom0.RebootPollInterval, "Dom0:RebootPollInterval", failures);
        Positive(dom0.RebootPollTimeout, "Dom0:RebootPollTimeout", failures);
        var guest = options.GuestSsh ?? new HostAgentGuestSshOptions();
        Positive(guest.ProbeTimeout, "GuestSsh:ProbeTimeout", failures);
        if (guest.IdentityFile is { } identity && string.IsNullOrWhiteSpace(identity))
        {
            failures.Add($"{Prefix}GuestSsh:IdentityFile is empty; remove it or name the private key file.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateHost(HostAgentHostOptions host, string key, HashSet<HostId> seen, List<string> failures)
    {
        if (host is null)
        {
            failures.Add($"{key}HostId is missing.");
            return;
        }

        if (string.IsNullOrWhiteSpace(host.HostId))
        {
            failures.Add($"{key}HostId is missing (the host's INSTALLATION_UUID from /etc/xensource-inventory).");
        }
        else if (!HostId.TryParse(host.HostId, out var id, out _))
        {
            failures.Add($"{key}HostId is not a UUID ({Contracts.InputText.Quote(host.HostId)}).");
        }
        else if (!seen.Add(id))
        {
            failures.Add($"{key}HostId {id} is listed twice; each host is served once.");
        }

        if (host.Local && host.Ssh is not null)
        {
            failures.Add($"{key}Ssh and {key}Local are both set; a host is reached one way.");
        }
        else if (!host.Local && host.Ssh is null)
        {
            failures.Add($"{key}Ssh is missing: give Ssh {{Host, Port, User, IdentityFile, HostKeySha256}} or Local = true.");
        }
        else if (host.Ssh is { } ssh)
        {
            ValidateSsh(ssh, key + "Ssh:", failures);
        }
    }

    private static void ValidateSsh(HostAgentSshOptions ssh, string key, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(ssh.Host))
        {
            failures.Add($"{key}Host is missing.");
        }

        if (string.IsNullOrWhiteSpace(ssh.IdentityFile))
        {
            failures.Add($"{key}IdentityFile is missing (the private key to log into dom0 with).");
        }

        if (string.IsNullOrWhiteSpace(ssh.HostKeySha256))
        {
            // The SSH runner has no unpinned mode at all, so this holds in Development too: pin the lab's key instead.
            failures.Add($"{key}HostKeySha256 is missing: unpinned SSH host keys are refused (run 'ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub' on the host).");
        }

        if (string.IsNullOrWhiteSpace(ssh.Host) || string.IsNullOrWhiteSpace(ssh.IdentityFile) || string.IsNullOrWhiteSpace(ssh.HostKeySha256))
        {
            return;
        }

        try
        {
            _ = SshTarget.Create(ssh.User, ssh.Host!, ssh.Port, ssh.IdentityFile!, ssh.HostKeySha256!);
        }
        catch (FormatException invalid)
        {
            failures.Add($"{key.TrimEnd(':')}: {invalid.Message}");
        }
    }

    private static void Positive(TimeSpan value, string key, List<string> failures)
    {
        if (value <= TimeSpan.Zero)
        {
            failures.Add($"{Prefix}{key} must be positive (was {value}).");
        }
    }
}
