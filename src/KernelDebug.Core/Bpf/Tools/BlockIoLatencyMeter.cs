using System.Buffers.Binary;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Sysfs;

namespace KernelDebug.Core.Bpf.Tools;

/// <summary>
/// The kernel side of Measure-BlockIoLatency: loads blkio.bpf.c on block_rq_issue/block_rq_complete (and
/// block_rq_insert with <see cref="BlockIoLatencyOptions.Queued"/>) and turns its maps into
/// <see cref="BlockIoLatency"/> records per interval, cut without losing requests (generation flip).
/// </summary>
public sealed class BlockIoLatencyMeter : Engine.BpfTool<BlockIoLatency>
{
    internal const int MaxDisks = 8;
    private const uint AllOps = 0xff;

    private readonly BlockIoLatencyOptions _options;
    private IReadOnlyList<BlockDisk> _disks = Array.Empty<BlockDisk>();
    private readonly List<uint> _devs = new();

    // raw_tp first (the engine's preference): the programs read struct request through CO-RE either way. No
    // classic-tracepoint variant: its records carry no request pointer to pair issue with completion, and a kernel
    // with the BTF these programs need (5.5+) always has raw_tp.
    private BlockIoLatencyMeter(KernelRoot root, BlockIoLatencyOptions options) : base(root, options) => _options = options;

    /// <summary>Resolves disk names, checks the preconditions, loads and attaches. Errors are KernelDebugExceptions with remedies.</summary>
    public static BlockIoLatencyMeter Start(KernelRoot root, BlockIoLatencyOptions options, Action<string>? verbose = null) =>
        Launch(new BlockIoLatencyMeter(root, options), verbose);

    /// <inheritdoc />
    protected override string ObjectName => "blkio";
    /// <inheritdoc />
    protected override string? GenerationMap => "kd_bio_ctl";

    /// <inheritdoc />
    protected override IReadOnlyCollection<string> ProgramsFor(BpfAttachMethod method)
    {
        string p = method == BpfAttachMethod.TpBtf ? "kd_bio_btf_" : "kd_bio_raw_";
        return _options.Queued ? [p + "insert", p + "issue", p + "complete"] : [p + "issue", p + "complete"];
    }

    /// <inheritdoc />
    protected override void Validate()
    {
        _disks = BlockDevices.ReadDisks(Root);
        if (_options.Disks.Count > MaxDisks)
            throw new KernelDebugException("TooManyDisks", KernelErrorCategory.InvalidArgument,
                $"At most {MaxDisks} disks can be filtered in the kernel; {_options.Disks.Count} were given.", "Give fewer -Disk values, or none and -ByDisk.", _options.Disks.Count);
        foreach (var name in _options.Disks)
        {
            var disk = _disks.FirstOrDefault(d => d.Name == name) ?? throw new KernelDebugException("DiskNotFound", KernelErrorCategory.ObjectNotFound,
                $"There is no disk '{name}' in /sys/block.", "Use a whole-disk name from /sys/block (tab completion lists them); partitions count toward their disk.", name);
            _devs.Add(disk.KernelDev);
        }
        if (!Root.DirectoryExists("sys/kernel/tracing/events/block/block_rq_issue") && !Root.DirectoryExists("sys/kernel/debug/tracing/events/block/block_rq_issue")
            && (Root.DirectoryExists("sys/kernel/tracing/events") || Root.DirectoryExists("sys/kernel/debug/tracing/events")))
            throw KernelErrors.FeatureMissing("BlockTracepointsMissing", "the block_rq_issue/block_rq_complete tracepoints",
                "Boot a kernel built with CONFIG_BLOCK=y and CONFIG_TRACEPOINTS=y (every distribution kernel is).", "block:block_rq_issue");
    }

    /// <inheritdoc />
    protected override void Configure(BpfSession s, BpfAttachMethod method)
    {
        if (_devs.Count > 0)
        {
            s.SetGlobal<uint>("targ_devs", _devs.ToArray());
            s.SetGlobal("targ_ndevs", (uint)_devs.Count);
        }
        if (_options.ByDisk) s.SetGlobal("targ_by_disk", (byte)1);
        if (_options.ByOperation) s.SetGlobal("targ_by_op", (byte)1);
        if (_options.Queued) s.SetGlobal("targ_queued", (byte)1);
    }

    /// <inheritdoc />
    protected override IReadOnlyList<BlockIoLatency> Decode(Engine.BpfInterval interval)
    {
        var histMap = interval.Session.Map("kd_bio_hist");
        var bytesMap = interval.Session.Map("kd_bio_bytes");
        var groups = new Dictionary<(uint Dev, uint Op, uint Phase), (Histogram H, ulong Errors, ulong Bytes)>();
        foreach (var (k, v) in interval.Drain("kd_bio_hist"))
        {
            var g = KeyOf(k);
            var (h, errors) = BpfToolLoader.SumHistogram(histMap, v);
            groups[g] = groups.TryGetValue(g, out var acc) ? (acc.H.Merge(h), acc.Errors + errors, acc.Bytes) : (h, errors, 0);
        }
        foreach (var (k, v) in interval.Drain("kd_bio_bytes"))
        {
            var g = KeyOf(k);
            if (groups.TryGetValue(g, out var acc)) groups[g] = acc with { Bytes = acc.Bytes + BpfToolLoader.SumU64(bytesMap, v) };
        }
        ulong dMissed = interval.CounterDelta("kd_bio_stats", 0);

        var list = new List<BlockIoLatency>(groups.Count);
        foreach (var ((dev, op, phase), (h, errors, bytes)) in groups)
        {
            if (h.Count == 0) continue;
            list.Add(new BlockIoLatency
            {
                Disk = _options.ByDisk ? BlockDevices.NameOf(_disks, dev) : "*",
                Operation = op == AllOps ? "*" : OperationName(op),
                Phase = phase == 1 ? BlockIoPhase.Queue : BlockIoPhase.Device,
                Errors = errors,
                Bytes = (long)bytes,
                Iops = h.Count / interval.Seconds,
                Throughput = bytes / interval.Seconds,
                AttachMethod = AttachMethod,
                OverheadPerEvent = interval.OverheadPerEvent,
                MissedEvents = interval.MissedEvents,
                MissedIssues = dMissed,
                StartTime = interval.Start,
                EndTime = interval.End,
            }.Of(h));
        }
        list.Sort((a, b) => a.Phase != b.Phase ? a.Phase.CompareTo(b.Phase) : b.Count.CompareTo(a.Count));
        return list;
    }

    private static (uint, uint, uint) KeyOf(byte[] k)
    {
        var key = BpfAbi.Read<BioKey>(k);
        return (key.Dev, key.Op, key.Phase);
    }

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

}
