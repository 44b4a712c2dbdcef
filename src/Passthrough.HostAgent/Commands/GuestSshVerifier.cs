using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Passthrough.Contracts.HostCommands;
using Passthrough.Contracts.HostEvents;
using Passthrough.Contracts.Messaging;
using Passthrough.Guest;
using Passthrough.Shell;

namespace Passthrough.HostAgent.Commands;

/// <summary>Opens a command runner to a guest for one agentless probe; the caller disposes it (guests are not kept connected).</summary>
public interface IGuestRunnerFactory
{
    /// <summary>A new runner to <paramref name="target"/>, owned by the caller.</summary>
    ICommandRunner Create(SshTarget target);
}

/// <summary>The default <see cref="IGuestRunnerFactory"/>: an <see cref="SshCommandRunner"/> with the pinned host key.</summary>
public sealed class SshGuestRunnerFactory(ILoggerFactory loggers) : IGuestRunnerFactory
{
    /// <inheritdoc />
    public ICommandRunner Create(SshTarget target) => new SshCommandRunner(target, SshCommandRunnerOptions.Default, loggers.CreateLogger<SshCommandRunner>());
}

/// <summary>
/// Agentless verification: logs into the guest over SSH (its pinned host key, the agent's guest identity), runs the
/// same Linux probe as the guest agent over a <see cref="RemoteGuestFileSystem"/> and judges it with the same
/// <see cref="GuestVerification.Evaluate"/>.
/// </summary>
public sealed class GuestSshVerifier
{
    private readonly IGuestRunnerFactory _runners;
    private readonly HostAgentGuestSshOptions _options;
    private readonly TimeProvider _time;

    /// <summary>Creates the verifier.</summary>
    public GuestSshVerifier(IGuestRunnerFactory runners, IOptions<HostAgentOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _runners = runners ?? throw new ArgumentNullException(nameof(runners));
        _options = options.Value.GuestSsh ?? new HostAgentGuestSshOptions();
        _time = time ?? throw new ArgumentNullException(nameof(time));
    }

    /// <summary>Probes the guest and answers <see cref="GuestProbedOverSsh"/>, or <see cref="HostCommandFailed"/> when it cannot look.</summary>
    public async Task<ISagaReply> VerifyAsync(CommandExecution execution, VerifyGuestOverSsh command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(execution);
        ArgumentNullException.ThrowIfNull(command);
        if (command.Target is null)
        {
            return execution.Invalid("VerifyGuestOverSsh names no guest to log into.");
        }

        if (_options.IdentityFile is not { Length: > 0 } identity)
        {
            return execution.Invalid($"Agentless verification of {command.Target.Address} is off: {HostAgentOptions.SectionName}:GuestSsh:IdentityFile is not configured.",
                "Configure the private key the host agent logs into guests with, or run the guest agent in the VM.");
        }

        if (command.Target.HostKeySha256 is not { Length: > 0 } hostKey)
        {
            return execution.Failed(new Failure(FailureCause.HostKeyMismatch,
                $"Guest {command.Target.Address} has no pinned host key in the request: unpinned SSH host keys are refused.", null,
                "Give the guest's host-key fingerprint (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub in the guest)."));
        }

        SshTarget target;
        try
        {
            target = SshTarget.Create(command.Target.User, command.Target.Address, command.Target.Port, identity, hostKey);
        }
        catch (FormatException invalid)
        {
            return execution.Invalid($"Guest {command.Target.Address}: {invalid.Message}");
        }

        GuestReport report;
        using var deadline = new CancellationTokenSource(_options.ProbeTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var runner = _runners.Create(target);
        await using (runner.ConfigureAwait(false))
        {
            try
            {
                report = await new LinuxGuestProbe(new RemoteGuestFileSystem(runner)).ProbeAsync(linked.Token).ConfigureAwait(false);
            }
            catch (GuestProbeException failed)
            {
                var cause = failed.Cause == FailureCause.Unknown && failed.InnerException is CommandException ? FailureCause.HostUnreachable : failed.Cause;
                return execution.Failed(new Failure(cause == FailureCause.Unknown ? FailureCause.CommandFailed : cause,
                    $"Could not probe guest {target}: {failed.Message}", failed.InnerException?.Message ?? failed.Message,
                    cause == FailureCause.HostUnreachable ? "Check the guest is running and its sshd listens on the given port." : null));
            }
            catch (CommandException transport)
            {
                return execution.Failed(Xen.Dom0Exception.FromTransport($"probe guest {target}", transport).Failure);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                return execution.Failed(new Failure(FailureCause.Timeout,
                    $"Probing guest {target} took longer than {_options.ProbeTimeout.TotalSeconds:0} s.", null,
                    "Check the guest is responsive; raise HostAgent:GuestSsh:ProbeTimeout for slow guests."));
            }
        }

        var verdict = GuestVerification.Evaluate(report, command.Expected ?? [], command.PreviousBootId, command.RequirePcifront);
        return new GuestProbedOverSsh(command.SagaId, command.CommandId, command.Step, command.Host, command.Vm, verdict.Verified,
            report.BootId, report.KernelRelease, report.GuestType, report.Pcifront.State, report.Devices, verdict.Problems, report.Advisories);
    }
}
