using KernelDebug.Core.Bpf.Tools;
using Xunit;

namespace KernelDebug.Core.Tests.Bpf;

/// <summary>
/// Live BPF tests filter on this test process and count its system calls, so they must not run at the same time as
/// each other: they share this collection (xunit runs a collection's tests one after another). And they run alone,
/// after the parallel collections: while another probe is added to or removed from a tracepoint (a parallel test
/// enabling an ftrace event in its instance, or a health check attaching its own programs), the kernel drops some
/// calls of the probes already there. Reproduced: toggling sched_switch in a tracefs instance in a loop beside
/// TimeSlice_WorkOf2msThenSleep gave 96 slices of 100 in two of four runs, with nothing skipped or uncounted; the
/// suite's unexplained shortfalls of earlier sessions (96/100 slices, 999/1000 syscalls) match it.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
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
