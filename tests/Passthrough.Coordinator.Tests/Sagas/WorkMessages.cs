namespace Passthrough.Coordinator.Tests.Sagas;

/// <summary>Starts a work saga; with <paramref name="Deadline"/>, schedules its deadline that far ahead.</summary>
public sealed record StartWork(Guid WorkId, string Name, TimeSpan? Deadline = null);

public sealed record CompleteStepA(Guid WorkId);

public sealed record CompleteStepB(Guid WorkId);

public sealed record CancelDeadline(Guid WorkId);

public sealed record FinishWork(Guid WorkId);

/// <summary>Correlated by the saga's <c>Name</c>, not its id (MassTransit's CorrelateBy, a query).</summary>
public sealed record RenameWork(string OldName, string NewName);

/// <summary>The scheduled deadline.</summary>
public sealed record WorkDeadline(Guid WorkId);

/// <summary>A plain scheduled message, for the sweeper tests.</summary>
public sealed record Ping(int Sequence);
