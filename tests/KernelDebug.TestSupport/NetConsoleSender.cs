using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using KernelDebug.Core.Kmsg;

namespace KernelDebug.TestSupport;

/// <summary>
/// Plays a log as netconsole would send it: extended records (with the release, fragmented with ncfrag when long)
/// or plain console lines, and what UDP does to them on the way (reordering, duplicates, gaps).
/// </summary>
public static class NetConsoleSender
{
    /// <summary>Extended-format datagrams of the messages, sequence numbers from <paramref name="firstSequence"/>.</summary>
    public static List<byte[]> Extended(IReadOnlyList<KernelMessage> messages, string? release = null, int fragmentAbove = 0, long firstSequence = 1,
        ISet<long>? drop = null)
    {
        var datagrams = new List<byte[]>();
        for (int i = 0; i < messages.Count; i++)
        {
            long seq = firstSequence + i;
            if (drop?.Contains(seq) == true) continue;
            var m = messages[i];
            int prio = (int)(m.Facility ?? KernelLogFacility.Kern) * 8 + (int)(m.Level ?? KernelLogLevel.Warning);
            long usec = m.Uptime is { } u ? (long)u.TotalMicroseconds : i;
            string caller = m.ThreadId is { } t ? $",caller=T{t}" : m.CpuId is { } c ? $",caller=C{c}" : "";
            string header = string.Create(CultureInfo.InvariantCulture, $"{(release is null ? "" : release + ",")}{prio},{seq},{usec},-{caller}");
            byte[] body = Encoding.UTF8.GetBytes(Escape(m.Text) + "\n");
            if (fragmentAbove <= 0 || body.Length <= fragmentAbove)
            {
                datagrams.Add([.. Encoding.UTF8.GetBytes(header + ";"), .. body]);
                continue;
            }
            // Cut on byte offsets, as the kernel does; escapes keep the body ASCII, so no character is split.
            for (int off = 0; off < body.Length; off += fragmentAbove)
            {
                int n = Math.Min(fragmentAbove, body.Length - off);
                datagrams.Add([.. Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{header},ncfrag={off}/{body.Length};")), .. body.AsSpan(off, n)]);
            }
        }
        return datagrams;
    }

    /// <summary>Plain-format datagrams: the console lines, a few per datagram.</summary>
    public static List<byte[]> Plain(IEnumerable<string> lines, int linesPerDatagram = 2)
    {
        var datagrams = new List<byte[]>();
        var sb = new StringBuilder();
        int n = 0;
        foreach (var l in lines)
        {
            sb.Append(l).Append('\n');
            if (++n == linesPerDatagram)
            {
                datagrams.Add(Encoding.UTF8.GetBytes(sb.ToString()));
                sb.Clear();
                n = 0;
            }
        }
        if (sb.Length > 0) datagrams.Add(Encoding.UTF8.GetBytes(sb.ToString()));
        return datagrams;
    }

    /// <summary>What UDP may do: neighbours swapped within a small window, and some datagrams twice.</summary>
    public static List<byte[]> Scramble(List<byte[]> datagrams, int seed, int window = 6, double duplicates = 0.05)
    {
        var rng = new Random(seed);
        var result = new List<byte[]>(datagrams.Count + datagrams.Count / 10);
        for (int i = 0; i < datagrams.Count; i += window)
        {
            var chunk = datagrams.Skip(i).Take(window).OrderBy(_ => rng.Next()).ToList();
            foreach (var d in chunk)
            {
                result.Add(d);
                if (rng.NextDouble() < duplicates) result.Add(d);
            }
        }
        return result;
    }

    /// <summary>The kernel's escaping of a record's text: bytes below 0x20 (but tab), 0x7f and the backslash as \xNN.</summary>
    public static string Escape(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (byte b in Encoding.UTF8.GetBytes(text))
        {
            if (b < 0x20 && b != '\t' || b == 0x7f || b == '\\' || b >= 0x80) sb.Append(CultureInfo.InvariantCulture, $"\\x{b:x2}");
            else sb.Append((char)b);
        }
        return sb.ToString();
    }

    /// <summary>Sends datagrams from a socket of its own (one sender) to the receiver, with a pause now and then so the receiver's buffer keeps up.</summary>
    public static void Send(IPEndPoint to, IEnumerable<byte[]> datagrams)
    {
        using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        int n = 0;
        foreach (var d in datagrams)
        {
            udp.Send(d, d.Length, to);
            if (++n % 200 == 0) Thread.Sleep(2);
        }
    }
}
