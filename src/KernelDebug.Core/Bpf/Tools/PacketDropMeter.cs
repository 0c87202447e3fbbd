using System.Globalization;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Symbols;

namespace KernelDebug.Core.Bpf.Tools;

/// <summary>
/// The kernel side of Measure-PacketDrop: loads pktdrop.bpf.c on skb:kfree_skb (the tracepoint of a packet freed as a
/// drop; packets that end normally go through consume_skb) and turns its map into <see cref="PacketDrop"/> records per
/// interval (generation flip: nothing lost between intervals). Reasons are named from this kernel's BTF
/// (<see cref="SkbDropReasons"/>), locations through kallsyms, interfaces from /sys/class/net.
/// </summary>
public sealed class PacketDropMeter : Engine.BpfTool<PacketDrop>
{
    internal const int MaxReasons = 512;

    private readonly PacketDropOptions _options;
    private readonly HashSet<PacketDropGrouping> _groups;
    private readonly Lazy<KernelSymbolTable?> _symbolTable;
    // kallsyms is parsed on the first read, not before attach: attaching fast matters more than the first report.
    private KernelSymbolTable? _symbols => _symbolTable.Value;
    private Dictionary<int, string>? _interfaces;

    private PacketDropMeter(KernelRoot root, PacketDropOptions options, Action<string>? verbose) : base(root, options)
    {
        _options = options;
        _groups = options.GroupBy.ToHashSet();
        _symbolTable = KernelSymbolTable.LoadLater(root, verbose, "drop locations");
    }

    /// <summary>Checks the preconditions, loads and attaches. Errors are KernelDebugExceptions with remedies.</summary>
    public static PacketDropMeter Start(KernelRoot root, PacketDropOptions options, Action<string>? verbose = null) =>
        Launch(new PacketDropMeter(root, options, verbose), verbose);

    /// <inheritdoc />
    protected override string ObjectName => "pktdrop";
    /// <inheritdoc />
    protected override string? GenerationMap => "kd_pd_ctl";
    /// <inheritdoc />
    protected override IReadOnlyList<string> Tracepoints => ["skb:kfree_skb"];
    /// <inheritdoc />
    protected override IReadOnlyCollection<string> ProgramsFor(BpfAttachMethod method) =>
        [method == BpfAttachMethod.TpBtf ? "kd_pd_btf_kfree_skb" : "kd_pd_raw_kfree_skb"];

    /// <summary>This kernel's drop reasons, as the records name them.</summary>
    public SkbDropReasons Reasons => SkbDropReasons.Load(Root);

    /// <inheritdoc />
    protected override void Validate()
    {
        if (_options.ReasonCodes?.FirstOrDefault(c => c >= MaxReasons) is { } bad && bad >= MaxReasons)
            throw new KernelDebugException("DropReasonOutOfRange", KernelErrorCategory.InvalidArgument,
                $"Reason code {bad} is outside the range the kernel filter covers (0-{MaxReasons - 1}).",
                "Filter subsystem reasons (mac80211, openvswitch) after the measurement: Where-Object ReasonCode -eq <code>.", bad);
    }

    /// <inheritdoc />
    protected override void Configure(BpfSession s, BpfAttachMethod method)
    {
        if (_groups.Contains(PacketDropGrouping.Reason)) s.SetGlobal("targ_by_reason", (byte)1);
        if (_groups.Contains(PacketDropGrouping.Location)) s.SetGlobal("targ_by_location", (byte)1);
        if (_groups.Contains(PacketDropGrouping.Protocol)) s.SetGlobal("targ_by_protocol", (byte)1);
        if (_groups.Contains(PacketDropGrouping.Interface)) s.SetGlobal("targ_by_ifindex", (byte)1);
        if (_options.ReasonCodes is { } codes)
        {
            var bits = new ulong[MaxReasons / 64];
            foreach (var c in codes) bits[c >> 6] |= 1UL << (int)(c & 63);
            s.SetGlobal<ulong>("targ_reasons", bits);
            s.SetGlobal("targ_reason_filter", (byte)1);
        }
    }

    /// <inheritdoc />
    protected override IReadOnlyList<PacketDrop> Decode(Engine.BpfInterval interval)
    {
        var map = interval.Session.Map("kd_pd_drops");
        var groups = new Dictionary<(uint Reason, ulong Location, uint Protocol, uint IfIndex), (ulong Count, ulong Bytes)>();
        foreach (var (k, v) in interval.Drain("kd_pd_drops"))
        {
            var key = BpfAbi.Read<PdKey>(k);
            var g = (key.Reason, key.Location, key.Protocol, key.Ifindex);
            var (count, bytes) = Sum(map, v);
            var acc = groups.GetValueOrDefault(g);
            groups[g] = (acc.Count + count, acc.Bytes + bytes);
        }
        ulong dFull = interval.CounterDelta("kd_pd_stats", 0);

        bool byReason = _groups.Contains(PacketDropGrouping.Reason), byLocation = _groups.Contains(PacketDropGrouping.Location);
        bool byProtocol = _groups.Contains(PacketDropGrouping.Protocol), byInterface = _groups.Contains(PacketDropGrouping.Interface);
        var list = new List<PacketDrop>(groups.Count);
        foreach (var ((reason, location, protocol, ifindex), (count, bytes)) in groups)
        {
            if (count == 0) continue;
            var at = byLocation ? _symbols?.Resolve(location) : null;
            list.Add(new PacketDrop
            {
                Reason = byReason ? Reasons.Name(reason) : "*",
                ReasonCode = byReason ? reason : null,
                Location = byLocation ? location : null,
                Symbol = byLocation ? _symbols?.Symbolize(location) : null,
                Function = at?.Symbol.Name,
                Protocol = byProtocol ? PacketDrop.ProtocolName((ushort)protocol) : "*",
                ProtocolNumber = byProtocol ? (ushort)protocol : null,
                Interface = byInterface ? InterfaceName((int)ifindex) : "*",
                InterfaceIndex = byInterface ? (int)ifindex : null,
                Count = count,
                Bytes = (long)bytes,
                PerSecond = count / interval.Seconds,
                Uncounted = dFull,
                AttachMethod = AttachMethod,
                OverheadPerEvent = interval.OverheadPerEvent,
                MissedEvents = interval.MissedEvents,
                StartTime = interval.Start,
                EndTime = interval.End,
            });
        }
        list.Sort((a, b) => b.Count.CompareTo(a.Count));
        return list;
    }

    // A per-CPU struct pd_val summed over the CPUs.
    private static (ulong Count, ulong Bytes) Sum(BpfMap map, ReadOnlySpan<byte> value)
    {
        ulong count = 0, bytes = 0;
        for (int cpu = 0; cpu < (map.IsPerCpu ? map.PossibleCpus : 1); cpu++)
        {
            var v = BpfAbi.Read<PdValue>(map.IsPerCpu ? map.CpuSlot(value, cpu) : value);
            count += v.Count;
            bytes += v.Bytes;
        }
        return (count, bytes);
    }

    // Devices of this network namespace by index, read once per run (a device added later is named on the next run).
    private string InterfaceName(int index)
    {
        if (index == 0) return "None";
        _interfaces ??= ReadInterfaces(Root);
        return _interfaces.TryGetValue(index, out var name) ? name : string.Create(CultureInfo.InvariantCulture, $"if{index}");
    }

    /// <summary>Network device names by ifindex from sys/class/net/*/ifindex; unreadable entries are skipped.</summary>
    public static Dictionary<int, string> ReadInterfaces(KernelRoot root)
    {
        var result = new Dictionary<int, string>();
        foreach (var name in root.EnumerateEntries("sys/class/net"))
            if (int.TryParse(root.TryReadValue($"sys/class/net/{name}/ifindex"), NumberStyles.None, CultureInfo.InvariantCulture, out int index))
                result.TryAdd(index, name);
        return result;
    }
}
