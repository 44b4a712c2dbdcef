using System.CommandLine;
using Passthrough.Cli.Commands;

namespace Passthrough.Cli;

/// <summary>The <c>passthrough</c> command tree.</summary>
internal static class CliApplication
{
    public static RootCommand Build(CliEnvironment environment)
    {
        var root = new RootCommand("passthrough: automated, transactional PCI passthrough for XenServer / XCP-ng fleets.");
        var host = new Command("host", "Read and operate on one XenServer / XCP-ng host (dom0).");
        host.Subcommands.Add(HostInventoryCommand.Build(environment));
        root.Subcommands.Add(host);
        var guest = new Command("guest", "Look inside a VM: Xen guest type, pcifront, PCI devices, and whether expected devices arrived.");
        guest.Subcommands.Add(GuestProbeCommand.Build(environment));
        root.Subcommands.Add(guest);
        root.Subcommands.Add(SagaCommands.Assign(environment));
        root.Subcommands.Add(SagaCommands.Release(environment));
        root.Subcommands.Add(SagaCommands.Status(environment));
        root.Subcommands.Add(SagaCommands.Watch(environment));
        root.Subcommands.Add(LabCommand.Build(environment));
        return root;
    }

    public static async Task<int> RunAsync(string[] args, CliEnvironment environment)
    {
        var root = Build(environment);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                await environment.Error.WriteLineAsync($"error: {error.Message}");
            }

            return ExitCodes.Usage;
        }

        return await parse.InvokeAsync(new InvocationConfiguration { Output = environment.Out, Error = environment.Error });
    }
}
