namespace Passthrough.Hosting;

/// <summary>
/// When a SQLite commit counts as written (<c>PRAGMA synchronous</c>; the stores always run in WAL mode). The
/// coordinator's saga store and the host agent's command record each take one.
/// </summary>
public enum SqliteDurability
{
    /// <summary>
    /// <c>synchronous = FULL</c>: each commit is flushed to disk (an fsync of the WAL) before it returns, so it survives the
    /// process being killed, an operating system crash and a power loss. The safe choice and the default.
    /// </summary>
    Full,

    /// <summary>
    /// <c>synchronous = NORMAL</c>: a commit reaches the operating system, not the disk (the WAL is flushed at
    /// checkpoints). It survives the process being killed, but an operating system crash or power loss can roll back the
    /// last commits. Saves one fsync per commit: about 0.5 ms on an idle disk, several ms on a busy one.
    /// </summary>
    Normal,
}
