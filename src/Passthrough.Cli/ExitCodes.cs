namespace Passthrough.Cli;

/// <summary>The <c>passthrough</c> exit codes: distinct per kind of failure so scripts can act on them.</summary>
internal static class ExitCodes
{
    /// <summary>Done; for probes with expectations: verified.</summary>
    public const int Ok = 0;

    /// <summary>An unexpected failure (a bug, or a failure not classified below).</summary>
    public const int Failure = 1;

    /// <summary>Malformed input: a bad target, BDF, uuid, option combination.</summary>
    public const int Usage = 2;

    /// <summary>The host could not be reached (refused, unreachable, connection lost).</summary>
    public const int Unreachable = 3;

    /// <summary>The host presented a key other than the pinned one.</summary>
    public const int HostKeyMismatch = 4;

    /// <summary>The host refused our key.</summary>
    public const int AuthenticationFailed = 5;

    /// <summary>The host answered, but the toolstack reported an error.</summary>
    public const int Toolstack = 6;

    /// <summary>The host did not answer in time.</summary>
    public const int Timeout = 7;

    /// <summary>A guest probe with expectations ran, and the guest does not pass (pcifront, a device, a driver).</summary>
    public const int NotVerified = 10;

    /// <summary>The guest could not be probed at all (unreachable, not a Linux root, PowerShell failed).</summary>
    public const int CouldNotProbe = 11;

    /// <summary>The saga rolled back: nothing changed on the host (the cause is printed).</summary>
    public const int RolledBack = 20;

    /// <summary>The saga failed and so did its rollback: a person must fix what it printed (alert on this one).</summary>
    public const int RollbackFailed = 21;

    /// <summary>The coordinator refused the request because another saga holds the device or the VM (409).</summary>
    public const int Conflict = 22;

    /// <summary>The coordinator has no such saga (404).</summary>
    public const int NotFound = 23;

    /// <summary><c>lab</c>: the run finished but an invariant failed on the simulated hosts (a device half-assigned, a rollback not exact, a saga stuck).</summary>
    public const int InvariantFailed = 30;
}
