using System.Text;

namespace Passthrough.Simulation.Interpreter;

/// <summary>
/// An error as the xe CLI reports it (xapi_cli.ml's exception handler): a datamodel error prints its documentation
/// then one <c>param: value</c> line per parameter; an unknown code prints <c>Error code:</c> / <c>Error parameters:</c>;
/// an OCaml <c>Failure</c> becomes INTERNAL_ERROR with <c>Failure: …</c>; CLI failures print <c>Error: …</c>.
/// </summary>
internal sealed record XeError
{
    public const string InternalError = "INTERNAL_ERROR";

    private static readonly Dictionary<string, (string Doc, string[] Params)> Datamodel = new(StringComparer.Ordinal)
    {
        [InternalError] = ("The server failed to handle your request, due to an internal error. The given message may give details useful for debugging the problem.", ["message"]),
        ["UUID_INVALID"] = ("The uuid you supplied was invalid.", ["type", "uuid"]),
        ["VM_BAD_POWER_STATE"] = ("You attempted an operation on a VM that was not in an appropriate power state at the time; for example, you attempted to start a VM that was already running. The parameters returned are the VM's handle, and the expected and actual VM state at the time of the call.", ["vm", "expected", "actual"]),
        ["HOST_NOT_DISABLED"] = ("This operation cannot be performed because the host is not disabled. Please disable the host and then try again.", []),
        ["HOST_IN_USE"] = ("This operation cannot be completed as the host is in use by (at least) the object of type and ref echoed below.", ["host", "type", "ref"]),
        ["HOST_DISABLED"] = ("The specified server is disabled.", ["host"]),
        ["HOST_STILL_BOOTING"] = ("The host toolstack is still initialising. Please wait.", []),
        ["VM_HAS_PCI_ATTACHED"] = ("This operation could not be performed, because the VM has one or more PCI devices passed through.", ["vm"]),
        ["NO_HOSTS_AVAILABLE"] = ("There were no servers available to complete the specified operation.", []),
        ["BOOT_DEVICE_PASSTHROUGH_DISALLOWED"] = ("Passing through a PCI device backing a boot disk is disallowed", ["device"]),
        ["VM_IS_TEMPLATE"] = ("The operation attempted is not valid for a template VM", ["vm"]),
        ["HOST_OFFLINE"] = ("You attempted an operation which involves a host which could not be contacted.", ["host"]),
    };

    private XeError(string text) => Text = text;

    /// <summary>What xe writes to stderr (each line ends with a line break).</summary>
    public string Text { get; }

    /// <summary>An API error (<c>Api_errors.Server_error (code, params)</c>).</summary>
    public static XeError Api(string code, params string[] parameters)
    {
        var builder = new StringBuilder();
        if (Datamodel.TryGetValue(code, out var known))
        {
            builder.Append(known.Doc).Append('\n');
            for (var i = 0; i < Math.Max(known.Params.Length, parameters.Length); i++)
            {
                var name = i < known.Params.Length ? known.Params[i] : "<extra>";
                var value = i < parameters.Length ? parameters[i] : "<unknown>";
                builder.Append(name).Append(": ").Append(value).Append('\n');
            }
        }
        else
        {
            builder.Append("Error code: ").Append(code).Append('\n');
            builder.Append("Error parameters: ").Append(string.Join(", ", parameters)).Append('\n');
        }

        return new XeError(builder.ToString());
    }

    /// <summary>INTERNAL_ERROR with a message (xapi's <c>internal_error</c>, xenopsd errors).</summary>
    public static XeError Internal(string message) => Api(InternalError, message);

    /// <summary>An OCaml <c>Failure</c> raised by the CLI server.</summary>
    public static XeError Failure(string message) => Internal("Failure: " + message);

    /// <summary><c>Cli_failure</c> / <c>Record_failure</c>: <c>Error: …</c>.</summary>
    public static XeError Cli(string message) => new("Error: " + message + "\n");

    /// <summary>A parameter error (<c>param_error</c>): the message then <c>For usage run: 'xe help'</c>.</summary>
    public static XeError Param(string kind, string detail) =>
        new((kind.Length > 0 ? kind + ": " + detail : detail) + "\nFor usage run: 'xe help'\n");

    /// <summary>Text the xe client prints itself (e.g. <c>Error: Connection refused (calling connect )</c>).</summary>
    public static XeError Client(string text) => new(text + "\n");
}
