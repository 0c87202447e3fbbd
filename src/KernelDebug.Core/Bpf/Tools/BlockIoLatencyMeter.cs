using System.Buffers.Binary;
using System.Diagnostics;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Sysfs;

namespace KernelDebug.Core.Bpf.Tools;

/// <summary>
/// The kernel side of Measure-BlockIoLatency: loads blkio.bpf.c on block_rq_issue/block_rq_complete (and
/// block_rq_insert with <see cref="BlockIoLatencyOptions.Queued"/>) and turns its maps into
/// <see cref="BlockIoLatency"/> records per interval, cut without losing requests (generation flip).
/// </summary>
public sealed class BlockIoLatencyMeter : IBpfMeter<BlockIoLatency>
{
    internal const int MaxDisks = 8;
    private const uint AllOps = 0xff;

    // raw_tp first: the programs read struct request through CO-RE either way, and raw_tp spares libbpf parsing the
    // kernel's whole BTF to resolve a tp_btf target (as Measure-SyscallLatency measured). No classic-tracepoint
    // variant: its records carry no request pointer to pair issue with completion, and a kernel with the BTF
    // these programs need (5.5+) always has raw_tp.
    private static readonly BpfAttachMethod[] Preference = [BpfAttachMethod.RawTp, BpfAttachMethod.TpBtf];

    private readonly BpfSession _session;
    private readonly BlockIoLatencyOptions _options;
    private readonly IReadOnlyList<BlockDisk> _disks;
    private readonly BpfOverheadTracker _overhead;
    private uint _generation;
    private ulong _lastMissed;
    private DateTimeOffset _intervalStart;

    private BlockIoLatencyMeter(BpfSession session, BpfAttachMethod method, BlockIoLatencyOptions options, IReadOnlyList<BlockDisk> disks)
    {
        _session = session;
        AttachMethod = method;
        _options = options;
        _disks = disks;
        _overhead = new BpfOverheadTracker(session, options.ProgramStatistics);
        _intervalStart = DateTimeOffset.Now;
    }

    /// <summary>The attach method in use.</summary>
    public BpfAttachMethod AttachMethod { get; }
    /// <summary>The underlying session (program ids, timings).</summary>
    public BpfSession Session => _session;
    /// <summary>Milliseconds from <see cref="Start"/> being called to the programs being attached.</summary>
    public double StartMilliseconds { get; private set; }

    /// <summary>Resolves disk names, checks the preconditions, loads and attaches. Errors are KernelDebugExceptions with remedies.</summary>
    public static BlockIoLatencyMeter Start(KernelRoot root, BlockIoLatencyOptions options, Action<string>? verbose = null)
    {
        var sw = Stopwatch.StartNew();
        var disks = BlockDevices.ReadDisks(root);
        if (options.Disks.Count > MaxDisks)
            throw new KernelDebugException("TooManyDisks", KernelErrorCategory.InvalidArgument,
                $"At most {MaxDisks} disks can be filtered in the kernel; {options.Disks.Count} were given.", "Give fewer -Disk values, or none and -ByDisk.", options.Disks.Count);
        var devs = new List<uint>();
        foreach (var name in options.Disks)
        {
            var disk = disks.FirstOrDefault(d => d.Name == name) ?? throw new KernelDebugException("DiskNotFound", KernelErrorCategory.ObjectNotFound,
                $"There is no disk '{name}' in /sys/block.", "Use a whole-disk name from /sys/block (tab completion lists them); partitions count toward their disk.", name);
            devs.Add(disk.KernelDev);
        }
        if (!root.DirectoryExists("sys/kernel/tracing/events/block/block_rq_issue") && !root.DirectoryExists("sys/kernel/debug/tracing/events/block/block_rq_issue")
            && (root.DirectoryExists("sys/kernel/tracing/events") || root.DirectoryExists("sys/kernel/debug/tracing/events")))
            throw KernelErrors.FeatureMissing("BlockTracepointsMissing", "the block_rq_issue/block_rq_complete tracepoints",
                "Boot a kernel built with CONFIG_BLOCK=y and CONFIG_TRACEPOINTS=y (every distribution kernel is).", "block:block_rq_issue");

        var filter = new Engine.BpfTaskFilter { ProcessIds = options.ProcessIds, Cgroup = options.Cgroup };
        var cgroup = filter.Validate(root);
        var (session, method) = BpfToolLoader.Start(root, "blkio", options.AttachMethods ?? Preference,
            m =>
            {
                string p = m == BpfAttachMethod.TpBtf ? "kd_bio_btf_" : "kd_bio_raw_";
                return options.Queued ? [p + "insert", p + "issue", p + "complete"] : [p + "issue", p + "complete"];
            },
            (s, _) =>
            {
                filter.Apply(s, cgroup);
                if (devs.Count > 0)
                {
                    s.SetGlobal<uint>("targ_devs", devs.ToArray());
                    s.SetGlobal("targ_ndevs", (uint)devs.Count);
                }
                if (options.ByDisk) s.SetGlobal("targ_by_disk", (byte)1);
                if (options.ByOperation) s.SetGlobal("targ_by_op", (byte)1);
                if (options.Queued) s.SetGlobal("targ_queued", (byte)1);
            }, verbose);
        return new BlockIoLatencyMeter(session, method, options, disks) { StartMilliseconds = sw.Elapsed.TotalMilliseconds };
    }

    /// <summary>Ends the current interval and returns its records; requests completing meanwhile count in the next one.</summary>
    public IReadOnlyList<BlockIoLatency> CollectInterval()
    {
        uint old = BpfToolLoader.FlipGeneration(_session, "kd_bio_ctl", ref _generation);
        return Drain([old]);
    }

    /// <summary>Detaches the programs and returns everything not yet collected.</summary>
    public IReadOnlyList<BlockIoLatency> Finish()
    {
        _session.Detach();
        return Drain([_generation, _generation ^ 1]);
    }

    private List<BlockIoLatency> Drain(uint[] generations)
    {
        var end = DateTimeOffset.Now;
        var histMap = _session.Map("kd_bio_hist");
        var bytesMap = _session.Map("kd_bio_bytes");
        var groups = new Dictionary<(uint Dev, uint Op, uint Phase), (Histogram H, ulong Errors, ulong Bytes)>();
        foreach (var gen in generations)
        {
            foreach (var (k, v) in BpfToolLoader.DrainGeneration(histMap, gen))
            {
                var g = KeyOf(k);
                var (h, errors) = BpfToolLoader.SumHistogram(histMap, v);
                groups[g] = groups.TryGetValue(g, out var acc) ? (acc.H.Merge(h), acc.Errors + errors, acc.Bytes) : (h, errors, 0);
            }
            foreach (var (k, v) in BpfToolLoader.DrainGeneration(bytesMap, gen))
            {
                var g = KeyOf(k);
                if (groups.TryGetValue(g, out var acc)) groups[g] = acc with { Bytes = acc.Bytes + BpfToolLoader.SumU64(bytesMap, v) };
            }
        }

        double? overhead = _overhead.NextInterval().PerRun;
        ulong missed = BpfToolLoader.ReadCounter(_session.Map("kd_bio_stats"), 0);
        ulong dMissed = missed - _lastMissed;
        _lastMissed = missed;
        var start = _intervalStart;
        _intervalStart = end;
        double seconds = Math.Max(1e-6, (end - start).TotalSeconds);

        var list = new List<BlockIoLatency>(groups.Count);
        foreach (var ((dev, op, phase), (h, errors, bytes)) in groups)
        {
            if (h.Count == 0) continue;
            list.Add(new BlockIoLatency
            {
                Disk = _options.ByDisk ? BlockDevices.NameOf(_disks, dev) : "*",
                Operation = op == AllOps ? "*" : OperationName(op),
                Phase = phase == 1 ? BlockIoPhase.Queue : BlockIoPhase.Device,
                Count = h.Count,
                Errors = errors,
                Bytes = (long)bytes,
                Iops = h.Count / seconds,
                Throughput = bytes / seconds,
                Min = BpfToolLoader.FromNanoseconds(h.Min),
                Mean = BpfToolLoader.FromNanoseconds(h.Mean),
                P50 = BpfToolLoader.FromNanoseconds(h.P50),
                P90 = BpfToolLoader.FromNanoseconds(h.P90),
                P99 = BpfToolLoader.FromNanoseconds(h.P99),
                Max = BpfToolLoader.FromNanoseconds(h.Max),
                Total = BpfToolLoader.FromNanoseconds(h.Sum),
                Histogram = h,
                AttachMethod = AttachMethod,
                OverheadPerEvent = overhead,
                MissedIssues = dMissed,
                StartTime = start,
                EndTime = end,
            });
        }
        list.Sort((a, b) => a.Phase != b.Phase ? a.Phase.CompareTo(b.Phase) : b.Count.CompareTo(a.Count));
        return list;
    }

    private static (uint, uint, uint) KeyOf(byte[] k) =>
        (BinaryPrimitives.ReadUInt32LittleEndian(k.AsSpan(4)), BinaryPrimitives.ReadUInt32LittleEndian(k.AsSpan(8)), BinaryPrimitives.ReadUInt32LittleEndian(k.AsSpan(12)));

    /// <summary>The name of a REQ_OP_* value (include/linux/blk_types.h enum req_op).</summary>
    public static string OperationName(uint op) => op switch
    {
        0 => "Read",
        1 => "Write",
        2 => "Flush",
        3 => "Discard",
        5 => "SecureErase",
        7 => "ZoneAppend",
        9 => "WriteZeroes",
        11 => "ZoneOpen",
        13 => "ZoneClose",
        15 => "ZoneFinish",
        17 => "ZoneReset",
        19 => "ZoneResetAll",
        34 => "DrvIn",
        35 => "DrvOut",
        _ => $"Op{op}",
    };

    /// <summary>Detaches and closes everything.</summary>
    public void Dispose()
    {
        _overhead.Dispose();
        _session.Dispose();
    }
}
