using System.Net;
using System.Net.Sockets;

namespace KernelDebug.TestSupport;

/// <summary>
/// A UDP port on 127.0.0.1 that nothing listens on (bound, then closed), and datagrams sent to it: the kernel frees
/// each in __udp4_lib_rcv as a drop with reason NO_SOCKET, the oracle of Measure-PacketDrop.
/// </summary>
public static class ClosedUdpPort
{
    /// <summary>The UDP header the kernel still counts in skb->len where it drops the datagram (the IP header is pulled).</summary>
    public const int UdpHeader = 8;

    /// <summary>A port that was free a moment ago: bound by the kernel's choice, then closed.</summary>
    public static int Find()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    /// <summary>Sends <paramref name="count"/> datagrams of <paramref name="payload"/> bytes to a closed port (unconnected: ICMP errors are not reported back).</summary>
    public static void Send(int count, int payload = 100)
    {
        var target = new IPEndPoint(IPAddress.Loopback, Find());
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var data = new byte[payload];
        for (int i = 0; i < count; i++) s.SendTo(data, target);
    }
}
