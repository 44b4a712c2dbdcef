using Passthrough.Contracts.Ids;

namespace Passthrough.Contracts.Messaging;

/// <summary>The queue names of agents: commands are sent to one agent's queue; events are published.</summary>
public static class AgentQueues
{
    /// <summary>The prefix of every host agent queue.</summary>
    public const string HostPrefix = "host-";

    /// <summary>The prefix of every guest agent queue.</summary>
    public const string GuestPrefix = "guest-";

    /// <summary>The queue of one host's logical agent: <c>host-&lt;host uuid&gt;</c>.</summary>
    public static string ForHost(HostId host) => HostPrefix + host;

    /// <summary>The queue of one VM's guest agent: <c>guest-&lt;vm uuid&gt;</c>.</summary>
    public static string ForGuest(VmId vm) => GuestPrefix + vm;

    /// <summary>The send address of a host agent's queue.</summary>
    public static Uri HostAddress(HostId host) => new($"queue:{ForHost(host)}");

    /// <summary>The send address of a guest agent's queue.</summary>
    public static Uri GuestAddress(VmId vm) => new($"queue:{ForGuest(vm)}");
}
