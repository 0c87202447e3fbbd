using System.Net;
using System.Net.Sockets;
using System.Text;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Kmsg;

/// <summary>
/// Listens for netconsole datagrams on a UDP port and yields the kernel messages of every sender, decoded by
/// <see cref="NetConsoleDecoder"/>; optionally writes one log file per sender as messages arrive.
/// </summary>
public sealed class NetConsoleReceiver : IDisposable
{
    /// <summary>The port netconsole sends to unless configured otherwise.</summary>
    public const int DefaultPort = 6666;

    private readonly Socket _socket;
    private readonly string? _logDirectory;
    private readonly Dictionary<string, StreamWriter> _logs = new(StringComparer.Ordinal);

    /// <summary>Binds the port. Throws <c>NetConsolePortUnavailable</c> when it is taken or refused.</summary>
    public NetConsoleReceiver(IPAddress address, int port, string? logDirectory = null)
    {
        _socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.Equals(IPAddress.IPv6Any)) _socket.DualMode = true;
        try
        {
            _socket.ReceiveBufferSize = 4 << 20;
            _socket.Bind(new IPEndPoint(address, port));
        }
        catch (SocketException e)
        {
            _socket.Dispose();
            throw new KernelDebugException("NetConsolePortUnavailable", e.SocketErrorCode == SocketError.AccessDenied ? KernelErrorCategory.PermissionDenied : KernelErrorCategory.ResourceBusy,
                $"Cannot listen on UDP {address}:{port}: {e.Message}.",
                port < 1024 ? "Ports below 1024 need root (CAP_NET_BIND_SERVICE); netconsole's default target port is 6666."
                            : "Another program (netconsd, rsyslog, another Receive-NetConsole) holds the port: stop it or choose another with -Port.", port, e);
        }
        if (logDirectory is not null)
        {
            Directory.CreateDirectory(logDirectory);
            _logDirectory = logDirectory;
        }
    }

    /// <summary>The local end point bound (the port chosen when 0 was asked).</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    /// <summary>The per-sender log files written so far.</summary>
    public IReadOnlyList<string> LogFiles => _logs.Keys.Select(LogPath).ToArray();

    /// <summary>
    /// Yields messages as they arrive until <paramref name="ct"/> is cancelled (then what is still pending is given up
    /// and yielded). Lost records and malformed datagrams go to <paramref name="ctx"/>.
    /// </summary>
    public IEnumerable<KernelMessage> Receive(ParseContext ctx, CancellationToken ct)
    {
        var decoder = new NetConsoleDecoder(ctx);
        var buffer = new byte[65536];
        EndPoint from = new IPEndPoint(_socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        while (!ct.IsCancellationRequested)
        {
            IReadOnlyList<KernelMessage> batch;
            if (_socket.Poll(200_000, SelectMode.SelectRead))
            {
                int n;
                try { n = _socket.ReceiveFrom(buffer, ref from); }
                catch (SocketException) { continue; }
                batch = decoder.Feed(SenderName((IPEndPoint)from), buffer.AsSpan(0, n), DateTimeOffset.Now);
            }
            else batch = decoder.Flush(DateTimeOffset.Now);
            foreach (var m in batch) yield return Log(m);
        }
        foreach (var m in decoder.Flush(DateTimeOffset.Now, all: true)) yield return Log(m);
    }

    /// <summary>How a sender is named: its address, and the port when it is not netconsole's default source port 6665.</summary>
    public static string SenderName(IPEndPoint ep)
    {
        var a = ep.Address.IsIPv4MappedToIPv6 ? ep.Address.MapToIPv4() : ep.Address;
        return ep.Port == 6665 ? a.ToString() : a.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{a}]:{ep.Port}" : $"{a}:{ep.Port}";
    }

    private string LogPath(string sender)
    {
        var name = new StringBuilder(sender.Length);
        foreach (char c in sender) name.Append(char.IsAsciiLetterOrDigit(c) || c == '.' || c == '-' ? c : '_');
        return Path.Combine(_logDirectory!, name + ".log");
    }

    // The file holds dmesg-style lines ([uptime] text), which Get-KernelMessage -Path reads back.
    private KernelMessage Log(KernelMessage m)
    {
        if (_logDirectory is null || m.Sender is null) return m;
        if (!_logs.TryGetValue(m.Sender, out var w))
        {
            w = new StreamWriter(new FileStream(LogPath(m.Sender), FileMode.Append, FileAccess.Write, FileShare.ReadWrite), new UTF8Encoding(false)) { AutoFlush = true };
            _logs[m.Sender] = w;
        }
        foreach (var line in m.Text.Split('\n'))
            w.WriteLine(m.Uptime is { } u ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"[{u.TotalSeconds,12:F6}] {line}") : line);
        return m;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var w in _logs.Values) w.Dispose();
        _logs.Clear();
        _socket.Dispose();
    }
}
