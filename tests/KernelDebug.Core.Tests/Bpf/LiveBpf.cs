using KernelDebug.Core.Bpf.Tools;
using Xunit;

namespace KernelDebug.Core.Tests.Bpf;

/// <summary>
/// Live BPF tests filter on this test process and count its system calls, so they must not run at the same time as
/// each other: they share this collection (xunit runs a collection's tests one after another).
/// </summary>
[CollectionDefinition(Name)]
public sealed class LiveBpf
{
    public const string Name = "Live BPF (counts this process's syscalls)";

    /// <summary>
    /// Runs <paramref name="load"/> under a started meter and returns everything it measured; the meter is disposed
    /// and none of its programs may be left, on every path.
    /// </summary>
    public static IReadOnlyList<T> Measure<T>(IBpfMeter<T> meter, Action load)
    {
        var ids = meter.Session.ProgramIds;
        try
        {
            load();
            return meter.Finish();
        }
        finally
        {
            meter.Dispose();
            SyscallLatencyLiveTests.AssertNoProgramLeft(ids);
        }
    }
}
