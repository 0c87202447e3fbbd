using System.Management.Automation;
using KernelDebug.Core;
using KernelDebug.Core.Bpf.Tools;
using KernelDebug.Core.Symbols;

namespace KernelDebug.PowerShell.Bpf;

/// <summary>
/// <para type="synopsis">Measures the packets the kernel drops with eBPF, like dropwatch and perf's drop monitor: how many and how many bytes, by drop reason, by the kernel function that dropped them, per protocol.</para>
/// <para type="description">Measure-PacketDrop loads a small precompiled CO-RE BPF program (kd_pd_*) on the skb:kfree_skb tracepoint, which the kernel hits for every packet it frees as a drop (packets that end normally go through consume_skb and are not counted), and counts packets and bytes in the kernel. By default there is one record per drop reason, location and protocol (-GroupBy Reason, Location, Protocol; Interface adds the network device). Reason is the kernel's own name for why (enum skb_drop_reason without its SKB_DROP_REASON_ prefix: NO_SOCKET, NETFILTER_DROP, TCP_CSUM, SOCKET_RCVBUFF ...), read from this kernel's BTF because the numbers change between versions; Symbol is the code that freed the packet (function+offset from kallsyms, e.g. __udp4_lib_rcv for a datagram to a closed port), Function its name alone; Protocol comes from skb->protocol (IPv4, IPv6, ARP, None for local sockets such as AF_UNIX). Bytes are skb->len where the packet was dropped (headers already pulled, such as the IP header on receive, are not counted). -Reason counts only the named reasons (wildcards; filtered in the kernel; tab completion lists this kernel's reasons). -ProcessId and -Cgroup filter on the task running when the packet was freed: for traffic a local process sends over loopback that is usually the sender, for traffic from the network whatever task the receive softirq interrupted, so use them for local traffic only. It attaches with raw_tp where the kernel has it, else tp_btf (drop reasons need 5.17 or later), and measures for -Duration, or until Ctrl+C in an interactive console, with -Interval writing a result per interval without losing drops between intervals. Records come sorted by Count, largest first; -Top keeps the first N. Every program, map and link is removed on completion, on error and on Ctrl+C. Needs root, or CAP_BPF and CAP_PERFMON, and a kernel with BTF (CONFIG_DEBUG_INFO_BTF).</para>
/// </summary>
/// <example>
///   <code>Measure-PacketDrop -Duration 0:0:10 -Top 10</code>
///   <para>The ten reason/location/protocol groups with the most drops during ten seconds, with bytes and drops per second: dropwatch's view, with the reason beside each location.</para>
/// </example>
/// <example>
///   <code>Measure-PacketDrop -GroupBy Reason -Interval 0:0:1 -Count 30 | Where-Object Reason -ne 'NOT_SPECIFIED' | Format-Table StartTime, Reason, Count, PerSecond</code>
///   <para>Drops per reason every second for half a minute, leaving out the drops the kernel gives no reason for.</para>
/// </example>
/// <example>
///   <code>Measure-PacketDrop -Reason NETFILTER_DROP, *CSUM -GroupBy Reason, Location, Interface -Duration 0:0:30</code>
///   <para>Only firewall drops and checksum failures (filtered in the kernel), per dropping function and per network device.</para>
/// </example>
[Cmdlet(VerbsDiagnostic.Measure, "PacketDrop")]
[OutputType(typeof(PacketDrop))]
public sealed class MeasurePacketDropCommand : BpfMeasureCmdlet
{
    private readonly List<int> _pids = new();
    private PacketDropOptions? _options;

    /// <summary>
    /// <para type="description">Only drops for these reasons: names of this kernel's enum skb_drop_reason, with or without the SKB_DROP_REASON_ prefix, wildcards allowed (tab completion lists them), or reason codes. Filtered in the kernel. A name that matches no reason is an error.</para>
    /// </summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(DropReasonCompleter))]
    public string[]? Reason { get; set; }

    /// <summary>
    /// <para type="description">What one record stands for: any of Reason, Location, Protocol and Interface; what is left out is summed over. Default: Reason, Location, Protocol.</para>
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public PacketDropGrouping[] GroupBy { get; set; } = [PacketDropGrouping.Reason, PacketDropGrouping.Location, PacketDropGrouping.Protocol];

    /// <summary>
    /// <para type="description">Only drops while these processes were running (process ids, filtered in the kernel; at most 16): meaningful for traffic they send over loopback, not for traffic from the network. Binds Id from pipeline input, so Get-Process output can be piped in.</para>
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "Pid")]
    public int[]? ProcessId { get; set; }

    /// <inheritdoc />
    protected override string Activity => "Measuring packet drops";

    /// <inheritdoc />
    protected override void Process()
    {
        if (ProcessId is not null) _pids.AddRange(ProcessId);
    }

    /// <inheritdoc />
    protected override void Validate()
    {
        var codes = Reason is { Length: > 0 }
            ? SkbDropReasons.Load(KernelRoot.Live).Select(Reason.Select(p => (p, (Func<string, bool>)new WildcardPattern(p, WildcardOptions.IgnoreCase).IsMatch)))
            : null;
        _options = new PacketDropOptions
        {
            GroupBy = GroupBy.Distinct().ToArray(),
            ReasonCodes = codes,
            Filter = Filter(_pids),
            ProgramStatistics = !NoProgramStatistics,
        };
    }

    /// <inheritdoc />
    protected override IBpfMeter<object> StartMeter(Action<string> verbose) => PacketDropMeter.Start(KernelRoot.Live, _options!, verbose);
}
