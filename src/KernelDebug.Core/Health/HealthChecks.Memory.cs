using KernelDebug.Core.Errors;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Memory;
using KernelDebug.Core.Procfs;
using KernelDebug.Core.Sysfs;
using KernelDebug.Core.Tasks;

namespace KernelDebug.Core.Health;

// Checks built on the memory, task, lock and hardware readers.
public static partial class HealthChecks
{
    private static HealthCheck[] MemoryAreaChecks => [LargeSlabCaches, ReclaimStalls, BlockedTasks, LockdepAvailability, EdacErrors, MachineCheckCounts];

    internal static readonly HealthCheck LargeSlabCaches = new("KD1304", HealthArea.Memory, "Large slab caches",
        "Lists the slab caches of at least SlabCacheReportBytes (1 MiB, as the origin tool did), largest first, with a chart of the top ten. " +
        "Information: whether a large cache is a problem depends on whether it grows (Get-SlabCache -Interval).",
        false, ctx =>
        {
            var caches = SlabReader.Read(ctx.Root, SlabDetail.None, ctx.Issues);
            var big = caches.Where(s => s.TotalBytes >= ctx.Thresholds.SlabCacheReportBytes).OrderByDescending(s => s.TotalBytes).ToList();
            var chart = new ReportChart("Largest slab caches", "bytes", "bar", big.Take(10).Select(s => new ChartPoint(s.Name, s.TotalBytes)).ToList());
            string top = string.Join(", ", big.Take(5).Select(s => $"{s.Name} {FormatBytes(s.TotalBytes)}"));
            return [ctx.Finding(HealthSeverity.Info,
                $"{big.Count} of {caches.Count} caches hold at least {FormatBytes(ctx.Thresholds.SlabCacheReportBytes)}" + (big.Count > 0 ? $": {top}." : "."),
                value: big.Count, evidence: [.. big.Take(20), chart])];
        });

    internal static readonly HealthCheck ReclaimStalls = new("KD1305", HealthArea.Memory, "Memory reclaim stall sample",
        "Measures for SampleInterval, with the eBPF reclaim tracer (Measure-MemoryReclaim -GroupBy Process), how long processes stalled " +
        "reclaiming memory themselves: direct reclaim, memory-cgroup reclaim at a limit, soft-limit reclaim, direct compaction. " +
        "Ok when none stalled; a stall of 100 ms or more, or stalls adding up to a tenth of the sample, is a warning: those are the " +
        "pauses applications see. Needs root (CAP_BPF, CAP_PERFMON) and BTF; without them it says why.",
        true, ctx =>
        {
            ctx.Status?.Invoke($"Measuring memory reclaim stalls for {ctx.SampleInterval.TotalSeconds:0.#} s");
            IReadOnlyList<Bpf.Tools.MemoryReclaim> records;
            using (var meter = Bpf.Tools.MemoryReclaimMeter.Start(ctx.Root, new Bpf.Tools.MemoryReclaimOptions { GroupBy = Bpf.Tools.ReclaimGrouping.Process }))
            {
                ctx.Cancel.WaitHandle.WaitOne(ctx.SampleInterval);
                records = meter.Finish();
            }
            ulong wakeups = records.Count > 0 ? records[0].KswapdWakeups : 0;
            if (records.Count == 0)
                return [ctx.Finding(HealthSeverity.Ok, $"No process stalled reclaiming memory in {ctx.SampleInterval.TotalSeconds:0.#} s.")];
            var total = TimeSpan.FromTicks(records.Sum(r => r.Total.Ticks));
            var worst = records.MaxBy(r => r.Max)!;
            bool bad = worst.Max >= TimeSpan.FromMilliseconds(100) || total >= ctx.SampleInterval / 10;
            string list = string.Join("; ", records.Take(5).Select(r =>
                $"{r.Kind} by {r.Command} ({r.ProcessId}) {r.Count:N0} stall(s), total {r.Total.TotalMilliseconds:0.#} ms, max {r.Max.TotalMilliseconds:0.#} ms, {FormatBytes(r.BytesReclaimed)} reclaimed"));
            string? rec = bad
                ? $"Applications stall while the kernel reclaims for them. Follow it: Measure-MemoryReclaim -GroupBy Process -Interval 1 -Count 30; for Memcg stalls raise the cgroup's limit ({worst.CgroupPath}), for Direct ones raise vm.min_free_kbytes or vm.watermark_scale_factor so kswapd starts earlier."
                : null;
            return [ctx.Finding(bad ? HealthSeverity.Warning : HealthSeverity.Info,
                $"In {ctx.SampleInterval.TotalSeconds:0.#} s, {total.TotalMilliseconds:0.#} ms of reclaim stalls: {list}; kswapd woken {wakeups:N0} time(s).",
                rec, total.TotalMilliseconds, [.. records.Take(10)])];
        });

    internal static readonly HealthCheck BlockedTasks = new("KD1502", HealthArea.Locking, "Tasks in D state",
        "Threads in uninterruptible sleep (D) now, with their wait channel and kernel stack. At BlockedTaskWarningCount (5, the origin tool's limit) " +
        "it is a warning. On the live system a task seen in D across two samples SampleInterval apart is reported with how long it was seen blocked.",
        false, ctx =>
        {
            var d = BlockedTaskReader.Read(ctx.Root, BlockedTaskReader.DefaultStates, null, ctx.Issues, out _);
            if (ctx.Root.IsLive && d.Count > 0)
            {
                ctx.Status?.Invoke($"Re-sampling {d.Count} blocked task(s) after {ctx.SampleInterval.TotalSeconds:0.#} s");
                ctx.Cancel.WaitHandle.WaitOne(ctx.SampleInterval);
                var again = BlockedTaskReader.Read(ctx.Root, BlockedTaskReader.DefaultStates, null, ctx.Issues, out _).Select(t => t.ThreadId).ToHashSet();
                d = d.Where(t => again.Contains(t.ThreadId)).ToList();
            }
            if (d.Count == 0) return [ctx.Finding(HealthSeverity.Ok, "No task is in uninterruptible sleep.", value: 0)];
            string list = string.Join(", ", d.Take(5).Select(t => $"{t.Command}[{t.ThreadId}] in {t.WaitChannel ?? "?"}"));
            var sev = d.Count >= ctx.Thresholds.BlockedTaskWarningCount ? HealthSeverity.Warning : HealthSeverity.Info;
            return [ctx.Finding(sev, $"{d.Count} task(s) in D state: {list}.",
                "Watch whether they stay: Get-BlockedTask -Interval 00:00:05 -Count 12; their stacks show the lock or I/O they wait for. " +
                "For I/O, Measure-BlockIoLatency -ByDisk; for locks, Measure-LockContention.", d.Count, [.. d])];
        });

    internal static readonly HealthCheck LockdepAvailability = new("KD1503", HealthArea.Locking, "Lockdep",
        "Whether the lock validator (CONFIG_PROVE_LOCKING) and lock statistics (CONFIG_LOCK_STAT) are built in, and whether lockdep has turned " +
        "itself off after a first report (debug_locks=0 in /proc/lockdep_stats). Information: production kernels rightly lack both.",
        false, ctx =>
        {
            string? stats = ctx.Root.TryReadText("proc/lockdep_stats", 1 << 20);
            if (stats is null)
                return [ctx.Finding(HealthSeverity.Info, "Lockdep is not built into this kernel, so lock-order problems are not detected.",
                    "On a test kernel: CONFIG_PROVE_LOCKING=y (and CONFIG_LOCK_STAT=y for Get-LockStat). On production, Measure-LockContention uses the lock tracepoints instead.")];
            bool off = stats.Contains("debug_locks:") && stats.Split('\n').Any(l => l.Trim().StartsWith("debug_locks:") && l.Trim().EndsWith(" 0"));
            return off
                ? [ctx.Finding(HealthSeverity.Warning, "Lockdep is built in but has switched itself off (debug_locks: 0) after an earlier report.",
                    "Find that report: Get-KernelOops -Kind Lockdep. Lockdep stays off until reboot.")]
                : [ctx.Finding(HealthSeverity.Ok, "Lockdep is built in and active.")];
        });

    internal static readonly HealthCheck EdacErrors = new("KD1602", HealthArea.Hardware, "EDAC memory errors",
        "Corrected (CE) and uncorrected (UE) memory errors per memory controller and DIMM from EDAC. Any uncorrected error is critical; corrected " +
        "errors at or above EdacCorrectedWarningCount (100, the origin tool's limit) are a warning, naming the DIMM to replace.",
        false, ctx =>
        {
            IReadOnlyList<EdacMemoryController> mcs;
            try { mcs = EdacSysfs.Read(ctx.Root, ctx.Issues); }
            catch (KernelDebugException e) when (e.ErrorId == "EdacUnavailable")
            {
                return [ctx.Finding(HealthSeverity.Info, "EDAC is not available, so memory errors are not counted here.", e.Remedy)];
            }
            long ue = Fields.SumSaturating(mcs, m => m.UncorrectedErrors), ce = Fields.SumSaturating(mcs, m => m.CorrectedErrors);
            var worst = mcs.SelectMany(m => m.Dimms).OrderByDescending(d => d.UncorrectedErrors).ThenByDescending(d => d.CorrectedErrors).FirstOrDefault();
            string where = worst is null || worst.CorrectedErrors + worst.UncorrectedErrors == 0 ? "" : $" Most on {worst.Label ?? worst.Name} ({worst.Controller}).";
            if (ue > 0)
                return [ctx.Finding(HealthSeverity.Critical, $"{ue} uncorrected and {ce} corrected memory errors.{where}",
                    "Uncorrected memory errors corrupt data: replace the DIMM named by Get-EdacError | Sort-Object UncorrectedErrors -Descending.", ue, [.. mcs])];
            if (ce >= ctx.Thresholds.EdacCorrectedWarningCount)
                return [ctx.Finding(HealthSeverity.Warning, $"{ce} corrected memory errors.{where}",
                    "A DIMM with a rising corrected count often fails next: Get-EdacError -Interval 00:10:00 and plan its replacement.", ce, [.. mcs])];
            return [ctx.Finding(HealthSeverity.Ok, $"{mcs.Count} memory controller(s), {ce} corrected, no uncorrected errors.", value: ce, evidence: [.. mcs])];
        });

    internal static readonly HealthCheck MachineCheckCounts = new("KD1601", HealthArea.Hardware, "Machine checks",
        "Machine-check exceptions the CPUs reported: the per-CPU counters under /sys/devices/system/machinecheck where the kernel keeps them, " +
        "and the taint flag M. Any is a warning (hardware reported an error).",
        false, ctx =>
        {
            bool present = ctx.Root.DirectoryExists("sys/devices/system/machinecheck");
            bool tainted = ctx.Info.Taint?.Letters.Contains('M') == true;
            if (!present && !tainted)
                return [ctx.Finding(HealthSeverity.Info, "This kernel has no machine-check support (no /sys/devices/system/machinecheck), so hardware errors are not reported here.",
                    "Bare-metal x86 kernels need CONFIG_X86_MCE=y; read records with Get-MachineCheck.")];
            return tainted
                ? [ctx.Finding(HealthSeverity.Warning, "The kernel is tainted M: a CPU reported a machine check since boot.",
                    "Read the records: Get-MachineCheck | Format-List; rasdaemon or the vendor's tools map them to a part.")]
                : [ctx.Finding(HealthSeverity.Ok, "No machine check has been reported since boot.")];
        });
}
