using System.Reflection;
using System.Text.Json;
using MassTransit.Serialization;
using Passthrough.Contracts.GuestCommands;
using Passthrough.Contracts.HostCommands;
using Passthrough.Contracts.HostEvents;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;

namespace Passthrough.Contracts.Tests;

public sealed class MessageContractTests
{
    private static readonly string[] MessageNamespaces =
    [
        "Passthrough.Contracts.HostCommands",
        "Passthrough.Contracts.HostEvents",
        "Passthrough.Contracts.GuestCommands",
        "Passthrough.Contracts.GuestEvents",
        "Passthrough.Contracts.CoordinatorEvents",
    ];

    private static IEnumerable<Type> MessageTypes() =>
        typeof(RunPreflight).Assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsPublic: true } && MessageNamespaces.Contains(t.Namespace));

    public static TheoryData<string> CommandNamespaces => ["Passthrough.Contracts.HostCommands", "Passthrough.Contracts.GuestCommands"];

    [Fact]
    public void Every_namespace_that_encodes_a_direction_holds_messages()
    {
        foreach (var ns in MessageNamespaces)
        {
            Assert.Contains(MessageTypes(), t => t.Namespace == ns);
        }
    }

    [Fact]
    public void Every_message_is_a_sealed_immutable_record()
    {
        foreach (var type in MessageTypes())
        {
            Assert.True(type.IsSealed, $"{type.Name} is not sealed");
            Assert.NotNull(type.GetMethod("<Clone>$"));
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                var setter = property.SetMethod;
                var isInitOnly = setter?.ReturnParameter.GetRequiredCustomModifiers().Contains(typeof(System.Runtime.CompilerServices.IsExternalInit)) ?? true;
                Assert.True(isInitOnly, $"{type.Name}.{property.Name} has a public setter");
            }
        }
    }

    [Theory]
    [MemberData(nameof(CommandNamespaces))]
    public void Every_command_carries_saga_id_step_attempt_and_command_id(string ns)
    {
        var commands = MessageTypes().Where(t => t.Namespace == ns).ToList();

        Assert.NotEmpty(commands);
        Assert.All(commands, t => Assert.True(typeof(ISagaCommand).IsAssignableFrom(t), $"{t.Name} is not an ISagaCommand"));
    }

    [Fact]
    public void Every_host_command_names_its_host_and_every_reply_its_saga_and_command()
    {
        Assert.All(MessageTypes().Where(t => t.Namespace == "Passthrough.Contracts.HostCommands"),
            t => Assert.Equal(typeof(HostId), t.GetProperty("Host")?.PropertyType));
        Assert.All(MessageTypes().Where(t => t.Namespace == "Passthrough.Contracts.HostEvents" && t.Name is not nameof(HostInventoryReported) and not nameof(HostHeartbeat)),
            t => Assert.True(typeof(ISagaReply).IsAssignableFrom(t), $"{t.Name} is not an ISagaReply"));
    }

    [Fact]
    public void Commands_round_trip_through_masstransit_json_with_value_types_as_strings()
    {
        var command = new DetachPciDevices(
            Guid.NewGuid(), SagaStep.Detach, 2, Guid.NewGuid(), HostId.Parse("d1a3c8e2-6a3f-4f0e-9d7b-3d2c1b0a9f8e"),
            [PciAddress.Parse("0000:04:00.0"), PciAddress.Parse("0000:04:00.1")], HideMode.Dynamic);

        var json = JsonSerializer.Serialize(command, SystemTextJsonMessageSerializer.Options);
        var back = JsonSerializer.Deserialize<DetachPciDevices>(json, SystemTextJsonMessageSerializer.Options);

        Assert.Contains("\"0000:04:00.1\"", json, StringComparison.Ordinal);
        Assert.Contains("\"Detach\"", json, StringComparison.Ordinal);
        Assert.Contains("\"Dynamic\"", json, StringComparison.Ordinal);
        Assert.NotNull(back);
        Assert.Equal(command.SagaId, back.SagaId);
        Assert.Equal(command.Devices, back.Devices);
        Assert.Equal(command.Mode, back.Mode);
        Assert.Equal(2, back.Attempt);
    }

    [Fact]
    public void A_garbled_value_in_a_message_is_refused_with_the_reason()
    {
        const string json = """{"sagaId":"6f1c1d8e-3b1a-4c55-9a55-1f8f1d1f0c11","step":"Assign","attempt":1,"commandId":"6f1c1d8e-3b1a-4c55-9a55-1f8f1d1f0c12","host":"d1a3c8e2-6a3f-4f0e-9d7b-3d2c1b0a9f8e","vm":"740e9485-8e1a-da89-2561-d75bcede3fc9","devices":["0000:04:01.0;reboot"]}""";

        var error = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<AssignPciDevices>(json, SystemTextJsonMessageSerializer.Options));

        Assert.Contains("not a PCI address", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Detach_records_round_trip_so_an_undo_can_restore_byte_for_byte()
    {
        var record = new DetachRecord(
            HideMode.PersistWithReboot,
            [new DriverBinding(PciAddress.Parse("0000:00:14.0"), "xhci_hcd", true)],
            "xen-pciback.hide=(04:01.0)\n",
            "xen-pciback.hide=(0000:04:01.0)(0000:00:14.0)",
            [],
            true);
        var reply = new PciDevicesDetached(Guid.NewGuid(), Guid.NewGuid(), SagaStep.Detach, HostId.Parse("d1a3c8e2-6a3f-4f0e-9d7b-3d2c1b0a9f8e"), record);

        var json = JsonSerializer.Serialize(reply, SystemTextJsonMessageSerializer.Options);
        var back = JsonSerializer.Deserialize<PciDevicesDetached>(json, SystemTextJsonMessageSerializer.Options)!;

        Assert.Equal(record.PreviousHideList, back.Record.PreviousHideList);
        Assert.Equal(record.Bindings.Single(), back.Record.Bindings.Single());
        Assert.True(back.Record.RebootRequired);
    }

    [Fact]
    public void Guest_verification_requests_carry_expected_devices_by_id()
    {
        var command = new VerifyGuestDevices(
            Guid.NewGuid(), SagaStep.Verify, 1, Guid.NewGuid(), VmId.Parse("740e9485-8e1a-da89-2561-d75bcede3fc9"),
            [new ExpectedDevice(PciDeviceId.Parse("1033:0194"), null, "xhci_hcd")], "boot-1", true);

        var json = JsonSerializer.Serialize(command, SystemTextJsonMessageSerializer.Options);
        var back = JsonSerializer.Deserialize<VerifyGuestDevices>(json, SystemTextJsonMessageSerializer.Options)!;

        Assert.Contains("\"1033:0194\"", json, StringComparison.Ordinal);
        Assert.Equal(command.Expected.Single(), back.Expected.Single());
    }
}
