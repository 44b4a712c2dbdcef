using System.Text.Json.Serialization;

namespace Passthrough.Contracts.Messaging;

/// <summary>
/// The steps of the passthrough and release sagas (DESIGN.md "The passthrough saga") and their compensations. Written
/// as names on the wire, so reordering the enum never changes a message's meaning.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<SagaStep>))]
public enum SagaStep
{
    /// <summary>Checks before anything changes: host, device, class, boot device, siblings, IOMMU, VM, ownership.</summary>
    Preflight = 1,

    /// <summary>Snapshot the VM.</summary>
    Snapshot,

    /// <summary>Shut the VM down (clean, forced after a deadline if allowed).</summary>
    Shutdown,

    /// <summary>Take the devices from dom0: bind to pciback now and persist the hide.</summary>
    Detach,

    /// <summary>Reboot the host so a persisted hide takes effect (only when the hide mode needs it).</summary>
    HostReboot,

    /// <summary>Merge the devices into the VM's <c>other-config:pci</c>.</summary>
    Assign,

    /// <summary>Cold-start the VM.</summary>
    Start,

    /// <summary>Prove the device works inside the guest and is attached on the host.</summary>
    Verify,

    /// <summary>Publish the outcome and apply snapshot retention.</summary>
    Done,

    /// <summary>Compensation of <see cref="Start"/>: shut the VM down again.</summary>
    UndoStart,

    /// <summary>Compensation of <see cref="Assign"/>: restore the previous <c>other-config:pci</c> exactly.</summary>
    UndoAssign,

    /// <summary>Compensation of <see cref="Detach"/>: rebind the original driver and restore the previous hide list.</summary>
    UndoDetach,

    /// <summary>Compensation of <see cref="Shutdown"/>: start the VM again if it ran before.</summary>
    UndoShutdown,

    /// <summary>Compensation of <see cref="Snapshot"/>: revert to the snapshot when the policy asks for it.</summary>
    UndoSnapshot,

    /// <summary>Release: remove the devices from the VM's <c>other-config:pci</c>.</summary>
    Unassign,

    /// <summary>Release: give the devices back to their dom0 drivers and drop them from the hide list.</summary>
    Reattach,
}
