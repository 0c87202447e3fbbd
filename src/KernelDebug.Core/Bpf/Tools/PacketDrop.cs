using System.Globalization;
using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Bpf.Tools;

/// <summary>What Measure-PacketDrop groups drops by; a field not grouped by is summed over ("*" or null in the record).</summary>
public enum PacketDropGrouping
{
    /// <summary>The drop reason (enum skb_drop_reason).</summary>
    Reason,
    /// <summary>The kernel code that freed the packet (the tracepoint's location, symbolized).</summary>
    Location,
    /// <summary>The packet's protocol (skb->protocol: IPv4, IPv6, ARP ...).</summary>
    Protocol,
    /// <summary>The network device (skb->dev, else the device it arrived on).</summary>
    Interface,
}

/// <summary>
/// Packets the kernel dropped over one interval, for one reason, location, protocol and interface (each summed over
/// when not grouped), measured in the kernel by Measure-PacketDrop from skb:kfree_skb: packets, bytes, rate.
/// </summary>
public sealed record PacketDrop : BpfMeasurement, IUncountedEvents
{
    /// <summary>The drop reason as the kernel names it without SKB_DROP_REASON_ (NO_SOCKET, NETFILTER_DROP ...), Reason&lt;code&gt; for one it does not name, "*" when not grouped by reason.</summary>
    public string Reason { get; init; } = "*";
    /// <summary>The reason's value in this kernel's enum skb_drop_reason (values change between kernel versions), null when not grouped by reason.</summary>
    public uint? ReasonCode { get; init; }
    /// <summary>The kernel text address that freed the packets (kfree_skb's caller), null when not grouped by location.</summary>
    public ulong? Location { get; init; }
    /// <summary>Location in hex as the kernel prints it (0x...); Location stays numeric for filtering.</summary>
    public string? LocationHex => Flat.Hex(Location);
    /// <summary>Location as function+offset/size [module] from kallsyms, or null (not grouped, or kallsyms hidden).</summary>
    public string? Symbol { get; init; }
    /// <summary>The function of Symbol alone (__udp4_lib_rcv), for filtering and grouping.</summary>
    public string? Function { get; init; }
    /// <summary>Protocol name from skb->protocol (IPv4, IPv6, ARP, 802.1Q, None for packets without one such as AF_UNIX), 0x.... for others, "*" when not grouped by protocol.</summary>
    public string Protocol { get; init; } = "*";
    /// <summary>skb->protocol in host byte order (ETH_P_*), null when not grouped by protocol.</summary>
    public ushort? ProtocolNumber { get; init; }
    /// <summary>The network device's name in this network namespace (lo, eth0), if&lt;index&gt; when it has none here, "*" when not grouped by interface.</summary>
    public string Interface { get; init; } = "*";
    /// <summary>The network device's index (0: none known), null when not grouped by interface.</summary>
    public int? InterfaceIndex { get; init; }
    /// <summary>Packets dropped.</summary>
    public ulong Count { get; init; }
    /// <summary>Their bytes (skb->len where they were freed: the headers already pulled, such as the IP header on receive, are not counted).</summary>
    public long Bytes { get; init; }
    /// <summary>Packets dropped per second over the interval.</summary>
    public double PerSecond { get; init; }
    /// <summary>Drops not counted in the interval because the kernel table was full (all groups).</summary>
    public ulong Uncounted { get; init; }

    /// <summary>The name of an ETH_P_* protocol number (include/uapi/linux/if_ether.h), 0x.... for one not listed.</summary>
    public static string ProtocolName(ushort protocol) => protocol switch
    {
        0x0000 => "None",
        0x0001 => "802.3",
        0x0003 => "All",
        0x0004 => "802.2",
        0x0005 => "SNAP",
        0x000C => "CAN",
        0x000D => "CANFD",
        0x00F5 => "Phonet",
        0x00F6 => "IEEE802.15.4",
        0x00FA => "MCTP",
        0x0800 => "IPv4",
        0x0806 => "ARP",
        0x8035 => "RARP",
        0x8100 => "802.1Q",
        0x86DD => "IPv6",
        0x8808 => "Pause",
        0x8847 => "MPLS",
        0x8848 => "MPLS-MC",
        0x8863 => "PPPoE-D",
        0x8864 => "PPPoE",
        0x888E => "EAPOL",
        0x88A8 => "802.1ad",
        0x88CC => "LLDP",
        0x88E5 => "MACsec",
        0x88F7 => "PTP",
        0x8906 => "FCoE",
        0x894F => "NSH",
        _ => string.Create(CultureInfo.InvariantCulture, $"0x{protocol:x4}"),
    };
}

/// <summary>What Measure-PacketDrop measures.</summary>
public sealed record PacketDropOptions : Engine.BpfToolOptions
{
    /// <summary>What a record stands for; default: reason, location and protocol.</summary>
    public IReadOnlyList<PacketDropGrouping> GroupBy { get; init; } = [PacketDropGrouping.Reason, PacketDropGrouping.Location, PacketDropGrouping.Protocol];
    /// <summary>Only these reason codes (this kernel's enum skb_drop_reason, below 512; filtered in the kernel); null = every reason.</summary>
    public IReadOnlyCollection<uint>? ReasonCodes { get; init; }
}
