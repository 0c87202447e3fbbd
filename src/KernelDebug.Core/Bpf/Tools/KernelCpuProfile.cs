using KernelDebug.Core.Parsing;
using KernelDebug.Core.Symbols;

namespace KernelDebug.Core.Bpf.Tools;

/// <summary>
/// One sampled stack of a CPU profile (Measure-KernelCpuProfile): a process, its kernel and user frames leaf first,
/// and how many samples hit it. ConvertTo-FoldedStack reads Frames, Count and Command directly.
/// </summary>
public sealed record KernelCpuSample
{
    /// <summary>Process id (thread group id).</summary>
    public int ProcessId { get; init; }
    /// <summary>Command name of the sampled thread.</summary>
    public string Command { get; init; } = "";
    /// <summary>The whole stack, leaf first: kernel frames (innermost first), then user frames.</summary>
    public IReadOnlyList<StackFrame> Frames { get; init => field = Flat.List(value); } = FlatList<StackFrame>.Empty;
    /// <summary>How many of the leaf-first <see cref="Frames"/> are kernel frames.</summary>
    public int KernelFrameCount { get; init; }
    /// <summary>Samples of this stack.</summary>
    public long Count { get; init; }
    /// <summary>The leaf function (where the CPU was).</summary>
    public string Leaf => Frames.Count > 0 ? Frames[0].Function : "[unknown]";
    /// <summary>Start of the interval.</summary>
    public DateTimeOffset StartTime { get; init; }
    /// <summary>End of the interval.</summary>
    public DateTimeOffset EndTime { get; init; }
}

/// <summary>A function's share of a CPU profile: samples in it (Self) and under it (Total).</summary>
public sealed record KernelCpuFunction
{
    /// <summary>Function name (module+offset for unsymbolized user code).</summary>
    public string Function { get; init; } = "";
    /// <summary>Kernel module or user binary, when known.</summary>
    public string? Module { get; init; }
    /// <summary>Samples with this function as the leaf.</summary>
    public long Self { get; init; }
    /// <summary>Samples with this function anywhere on the stack (counted once per stack).</summary>
    public long Total { get; init; }
    /// <summary>Self as a percentage of all samples.</summary>
    public double SelfPercent { get; init; }
    /// <summary>Total as a percentage of all samples.</summary>
    public double TotalPercent { get; init; }

    /// <summary>Top functions of a set of samples by self, then total samples.</summary>
    public static IReadOnlyList<KernelCpuFunction> Summarize(IEnumerable<KernelCpuSample> samples)
    {
        var self = new Dictionary<(string, string?), long>();
        var total = new Dictionary<(string, string?), long>();
        long all = 0;
        foreach (var s in samples)
        {
            all += s.Count;
            if (s.Frames.Count == 0) continue;
            var leaf = (s.Frames[0].Function, s.Frames[0].Module);
            self[leaf] = self.GetValueOrDefault(leaf) + s.Count;
            foreach (var f in s.Frames.Select(f => (f.Function, f.Module)).Distinct())
                total[f] = total.GetValueOrDefault(f) + s.Count;
        }
        double pct(long n) => all == 0 ? 0 : Math.Round(100.0 * n / all, 2);
        return total.Select(kv => new KernelCpuFunction
            {
                Function = kv.Key.Item1,
                Module = kv.Key.Item2,
                Self = self.GetValueOrDefault(kv.Key),
                Total = kv.Value,
                SelfPercent = pct(self.GetValueOrDefault(kv.Key)),
                TotalPercent = pct(kv.Value),
            })
            .OrderByDescending(f => f.Self).ThenByDescending(f => f.Total).ThenBy(f => f.Function, StringComparer.Ordinal).ToList();
    }
}

/// <summary>What Measure-KernelCpuProfile samples.</summary>
public sealed record KernelCpuProfileOptions : Engine.BpfToolOptions
{
    /// <summary>Samples per second per CPU.</summary>
    public int Frequency { get; init; } = 99;
    /// <summary>Only these CPUs; empty = every online CPU.</summary>
    public IReadOnlyList<int> Cpus { get; init; } = Array.Empty<int>();
    /// <summary>Only these processes; empty = all. At most 16.</summary>
    public IReadOnlyList<int> ProcessIds { get; init; } = Array.Empty<int>();
    /// <summary>Only tasks in this cgroup directory or below (v1 or v2; filtered in the kernel).</summary>
    public string? Cgroup { get; init; }
    /// <summary>Kernel stacks only (no user stacks; samples in user mode are dropped).</summary>
    public bool KernelOnly { get; init; }
    /// <summary>Count samples of the idle task (pid 0) too.</summary>
    public bool IncludeIdle { get; init; }
}
