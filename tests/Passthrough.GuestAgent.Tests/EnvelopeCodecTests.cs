using System.Text;
using System.Text.Json;
using MassTransit;
using Passthrough.Contracts.GuestCommands;
using Passthrough.Contracts.GuestEvents;
using Passthrough.Contracts.Ids;
using Passthrough.Contracts.Messaging;
using Passthrough.Contracts.Pci;
using Passthrough.GuestAgent.Amqp;

namespace Passthrough.GuestAgent.Tests;

public sealed class EnvelopeCodecTests
{
    internal static readonly VmId Vm = VmId.Parse("740e9485-8e1a-da89-2561-d75bcede3fc9");

    internal static GuestBooted Booted(VmId vm) => new(
        vm, "5ad7f2b7-4300-4c6e-bb28-66d5522bae28", "6.1.0-18-amd64", GuestType.PV, PcifrontState.Active,
        [new GuestPciDevice(PciAddress.Parse("0000:00:00.0"), PciDeviceId.Parse("8086:1e2d"), PciDeviceId.Parse("1043:84ca"), PciClass.Parse("0c0320"), "ehci-pci")],
        new DateTimeOffset(2026, 1, 5, 9, 0, 0, 123, TimeSpan.Zero));

    [Theory]
    [InlineData(typeof(GuestBooted))]
    [InlineData(typeof(GuestHeartbeat))]
    [InlineData(typeof(GuestDevicesVerified))]
    [InlineData(typeof(GuestFaultDetected))]
    [InlineData(typeof(VerifyGuestDevices))]
    public void Message_urns_are_the_ones_MassTransit_computes(Type type)
    {
        var wire = WireMessageType.For(type);

        Assert.Equal(MessageUrn.ForTypeString(type), wire.Urn);
        Assert.Equal(wire.Urn["urn:message:".Length..], wire.Exchange);
    }

    [Fact]
    public void An_event_is_written_in_MassTransits_envelope()
    {
        var messageId = Guid.NewGuid();
        var body = EnvelopeCodec.WriteEvent(Booted(Vm), new EnvelopeContext(messageId, new DateTimeOffset(2026, 1, 5, 9, 0, 1, TimeSpan.Zero)));

        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        Assert.Equal(messageId.ToString("D"), root.GetProperty("messageId").GetString());
        Assert.Equal(["urn:message:Passthrough.Contracts.GuestEvents:GuestBooted"], root.GetProperty("messageType").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("2026-01-05T09:00:01Z", root.GetProperty("sentTime").GetString());
        var message = root.GetProperty("message");
        Assert.Equal(Vm.ToString(), message.GetProperty("vm").GetString());
        Assert.Equal("PV", message.GetProperty("guestType").GetString());
        Assert.Equal("Active", message.GetProperty("pcifront").GetString());
        Assert.Equal("8086:1e2d", message.GetProperty("devices")[0].GetProperty("id").GetString());
        Assert.Equal("passthrough-guest-agent", root.GetProperty("host").GetProperty("processName").GetString());
    }

    [Fact]
    public void Only_guest_events_can_be_published()
    {
        Assert.Throws<NotSupportedException>(() => EnvelopeCodec.WriteEvent(new VerifyGuestDevices(Guid.Empty, SagaStep.Verify, 1, Guid.Empty, Vm, [], null, false), new EnvelopeContext(Guid.NewGuid(), DateTimeOffset.UnixEpoch)));
    }

    [Fact]
    public void A_command_is_read_from_an_envelope_and_from_raw_json()
    {
        var command = new VerifyGuestDevices(Guid.NewGuid(), SagaStep.Verify, 2, Guid.NewGuid(), Vm, [new ExpectedDevice(PciDeviceId.Parse("8086:1e2d"), null, "ehci-pci")], "boot-0", true);
        var message = JsonSerializer.Serialize(command, GuestAgentJsonContext.Default.VerifyGuestDevices);
        var conversation = Guid.NewGuid();
        var envelope = $$"""
            {
              "messageId": "{{Guid.NewGuid()}}", "conversationId": "{{conversation}}",
              "messageType": ["urn:message:Passthrough.Contracts.GuestCommands:VerifyGuestDevices", "urn:message:Passthrough.Contracts.Messaging:ISagaCommand"],
              "message": {{message}}, "headers": {}, // MassTransit's reader skips comments too
            }
            """;

        Assert.True(EnvelopeCodec.TryReadVerify(Encoding.UTF8.GetBytes(envelope), EnvelopeCodec.ContentType, out var fromEnvelope, out var context, out var reason), reason);
        Assert.True(EnvelopeCodec.TryReadVerify(Encoding.UTF8.GetBytes(message), "application/json", out var fromRaw, out _, out reason), reason);

        Assert.Equal(command with { Expected = [] }, fromEnvelope with { Expected = [] });
        Assert.Equal(command.Expected, fromEnvelope.Expected);
        Assert.Equal(command.Expected, fromRaw.Expected);
        Assert.Equal(conversation, context.ConversationId);
    }

    [Theory]
    [InlineData("{\"messageType\":[\"urn:message:Passthrough.Contracts.GuestEvents:GuestBooted\"],\"message\":{}}", "not a urn:message:Passthrough.Contracts.GuestCommands:VerifyGuestDevices envelope")]
    [InlineData("{\"messageType\":[\"urn:message:Passthrough.Contracts.GuestCommands:VerifyGuestDevices\"]}", "no message object")]
    [InlineData("{\"messageType\":[\"urn:message:Passthrough.Contracts.GuestCommands:VerifyGuestDevices\"],\"message\":{\"vm\":\"nope\"}}", "malformed JSON")]
    [InlineData("not json", "malformed JSON")]
    public void What_is_not_a_verification_is_refused_with_a_reason(string body, string expected)
    {
        Assert.False(EnvelopeCodec.TryReadVerify(Encoding.UTF8.GetBytes(body), EnvelopeCodec.ContentType, out _, out _, out var reason));
        Assert.Contains(expected, reason, StringComparison.Ordinal);
    }
}
