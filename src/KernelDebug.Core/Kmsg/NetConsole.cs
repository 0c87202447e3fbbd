using System.Globalization;
using System.Text;
using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Kmsg;

/// <summary>
/// Decodes netconsole datagrams (Documentation/networking/netconsole.rst) of many senders into kernel messages.
/// Extended datagrams are /dev/kmsg records (<c>&lt;level&gt;,&lt;sequence&gt;,&lt;timestamp&gt;,&lt;flags&gt;;&lt;text&gt;</c>,
/// dictionary lines after it), optionally with the sender's kernel release first, and split into
/// <c>ncfrag=&lt;offset&gt;/&lt;total&gt;</c> fragments when longer than a datagram: fragments are put back together,
/// records are put back in sequence order (UDP reorders), duplicates are dropped, and missing sequence numbers are
/// counted per sender (in <see cref="KernelMessage.LostMessages"/> and a warning). Plain datagrams are console text
/// lines, read with the same format detection as a log file. Pure: the socket lives in <see cref="NetConsoleReceiver"/>.
/// </summary>
public sealed class NetConsoleDecoder
{
    /// <summary>How many records a sender may be ahead of a missing one before the gap is given up as lost.</summary>
    public const int ReorderWindow = 64;
    /// <summary>How many records of a new sender are gathered before the first is emitted, so its first records are put in order too.</summary>
    public const int StartWindow = 16;
    /// <summary>How long an incomplete record or a gap is waited for before it is given up.</summary>
    public static readonly TimeSpan ReorderWait = TimeSpan.FromSeconds(1);

    private readonly Dictionary<string, SenderState> _senders = new(StringComparer.Ordinal);
    private readonly ParseContext _ctx;

    /// <summary>Creates a decoder; warnings (lost records, malformed datagrams) go to <paramref name="ctx"/>.</summary>
    public NetConsoleDecoder(ParseContext ctx) => _ctx = ctx;

    /// <summary>Records lost per sender so far (missing sequence numbers).</summary>
    public IReadOnlyDictionary<string, long> Lost => _senders.ToDictionary(kv => kv.Key, kv => kv.Value.Lost);

    /// <summary>The kernel release a sender prepends to its extended records, if it does.</summary>
    public string? ReleaseOf(string sender) => _senders.TryGetValue(sender, out var s) ? s.Release : null;

    /// <summary>Decodes one datagram from <paramref name="sender"/> received at <paramref name="received"/>; returns the messages now complete, in order.</summary>
    public IReadOnlyList<KernelMessage> Feed(string sender, ReadOnlySpan<byte> datagram, DateTimeOffset received)
    {
        var state = State(sender);
        string text = Encoding.UTF8.GetString(datagram);
        var output = new List<KernelMessage>();
        if (TryExtended(text, out var ext))
        {
            if (ext.Release is not null) state.Release = ext.Release;
            if (ext.Fragment is { } frag)
            {
                if (!state.Fragments.TryGetValue(ext.Sequence, out var parts))
                    state.Fragments[ext.Sequence] = parts = new FragmentSet(ext.Header, frag.Total, received);
                parts.Add(frag.Offset, ext.Body);
                if (!parts.Complete) { Expire(state, received, output); return output; }
                state.Fragments.Remove(ext.Sequence);
                Accept(state, ext.Sequence, parts.Header + ";" + parts.Text, received, output);
            }
            else Accept(state, ext.Sequence, ext.Header + ";" + ext.Body, received, output);
            Expire(state, received, output);
            return output;
        }
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0) continue;
            state.PlainLine(line, received, output, _ctx, sender);
        }
        return output;
    }

    /// <summary>
    /// Gives up what has waited longer than <see cref="ReorderWait"/> (or everything, with <paramref name="all"/>): gaps
    /// become lost records, incomplete fragments a warning, a pending plain line is emitted.
    /// </summary>
    public IReadOnlyList<KernelMessage> Flush(DateTimeOffset now, bool all = false)
    {
        var output = new List<KernelMessage>();
        foreach (var s in _senders.Values)
        {
            Expire(s, all ? DateTimeOffset.MaxValue : now, output);
            s.FlushPlain(output, _ctx, all ? DateTimeOffset.MaxValue : now);
        }
        return output;
    }

    private SenderState State(string sender)
    {
        if (!_senders.TryGetValue(sender, out var s)) _senders[sender] = s = new SenderState(sender);
        return s;
    }

    private void Accept(SenderState s, long seq, string record, DateTimeOffset received, List<KernelMessage> output)
    {
        if (s.Next is long next && seq < next || s.Pending.ContainsKey(seq)) return; // a duplicate
        s.Pending[seq] = (record, received);
        Drain(s, output, force: s.Pending.Count > ReorderWindow ? 1 : 0);

    }

    private void Expire(SenderState s, DateTimeOffset now, List<KernelMessage> output)
    {
        foreach (var (seq, parts) in s.Fragments.Where(kv => now - kv.Value.Started > ReorderWait).ToArray())
        {
            s.Fragments.Remove(seq);
            _ctx.Source = "netconsole:" + s.Sender;
            _ctx.Warn(0, $"record {seq} lost: {parts.Received} of its {parts.Total} bytes arrived in fragments");
        }
        if (s.Pending.Count > 0 && (now - s.Pending.Values.Min(p => p.Received) > ReorderWait)) Drain(s, output, force: int.MaxValue);
    }

    // Emits pending records in order while the next one is there; `force` gaps may be jumped (lost records).
    private void Drain(SenderState s, List<KernelMessage> output, int force)
    {
        // A sender's first records may arrive out of order too: start only once a few are in (or the wait is over).
        if (s.Next is null && force <= 0 && s.Pending.Count < StartWindow) return;
        while (s.Pending.Count > 0)
        {
            long first = s.Pending.Keys.Min();
            long lost = s.Next is long n ? first - n : 0;
            if (lost > 0)
            {
                if (force-- <= 0) return;
                s.Lost += lost;
                _ctx.Source = "netconsole:" + s.Sender;
                _ctx.Warn(0, $"{lost} record(s) lost before sequence {first} ({s.Lost} lost from this sender so far)");
            }
            var (record, received) = s.Pending[first];
            s.Pending.Remove(first);
            s.Next = first + 1;
            var m = KmsgRecordParser.ParseRecord(record, _ctx, null, "netconsole:" + s.Sender);
            if (m is null) continue;
            output.Add(m with { Time = received, Sender = s.Sender, LostMessages = lost > 0 ? lost : null });
        }
    }

    private readonly record struct Extended(string? Release, string Header, long Sequence, (int Offset, int Total)? Fragment, string Body);

    // "[release,]prio,seq,usec,flags[,ncfrag=o/t][,other];body"
    private static bool TryExtended(string text, out Extended ext)
    {
        ext = default;
        int semi = text.IndexOf(';');
        if (semi < 7) return false;
        var fields = text[..semi].Split(',');
        string? release = null;
        int i = 0;
        if (fields.Length > 4 && !IsNumber(fields[0]) && IsNumber(fields[1]))
        {
            release = fields[0];
            i = 1;
        }
        if (fields.Length - i < 4 || !IsNumber(fields[i]) || !IsNumber(fields[i + 1]) || !IsNumber(fields[i + 2]) || fields[i + 3].Length != 1) return false;
        (int, int)? frag = null;
        var header = new List<string>(fields.Length);
        for (int k = i; k < fields.Length; k++)
        {
            if (fields[k].StartsWith("ncfrag=", StringComparison.Ordinal))
            {
                var ot = fields[k][7..].Split('/');
                if (ot.Length != 2 || !int.TryParse(ot[0], CultureInfo.InvariantCulture, out int o) || !int.TryParse(ot[1], CultureInfo.InvariantCulture, out int t) || o < 0 || t <= 0 || o > t)
                    return false;
                frag = (o, t);
                continue;
            }
            header.Add(fields[k]);
        }
        ext = new Extended(release, string.Join(',', header), long.Parse(fields[i + 1], CultureInfo.InvariantCulture), frag, text[(semi + 1)..]);
        return true;
    }

    private static bool IsNumber(string s) => s.Length > 0 && s.All(char.IsAsciiDigit);

    private sealed class FragmentSet(string header, int total, DateTimeOffset started)
    {
        private readonly SortedDictionary<int, string> _parts = new();
        public string Header { get; } = header;
        public int Total { get; } = total;
        public DateTimeOffset Started { get; } = started;
        public int Received => _parts.Values.Sum(p => Encoding.UTF8.GetByteCount(p));

        public void Add(int offset, string body) => _parts[offset] = body;

        // Offsets and the total count bytes of the body.
        public bool Complete
        {
            get
            {
                int at = 0;
                foreach (var (o, p) in _parts)
                {
                    if (o > at) return false;
                    at = Math.Max(at, o + Encoding.UTF8.GetByteCount(p));
                }
                return at >= Total;
            }
        }

        public string Text
        {
            get
            {
                var bytes = new byte[Total];
                foreach (var (o, p) in _parts)
                {
                    var b = Encoding.UTF8.GetBytes(p);
                    Array.Copy(b, 0, bytes, o, Math.Min(b.Length, Total - o));
                }
                return Encoding.UTF8.GetString(bytes).TrimEnd('\n');
            }
        }
    }

    private sealed class SenderState(string sender)
    {
        public string Sender { get; } = sender;
        public string? Release;
        public long? Next;
        public long Lost;
        public readonly SortedDictionary<long, (string Record, DateTimeOffset Received)> Pending = new();
        public readonly Dictionary<long, FragmentSet> Fragments = new();

        // Plain text: the first lines decide the format, as for a file.
        private KernelLogParser? _parser;
        private readonly List<string> _head = new();
        private int _line;
        private DateTimeOffset _lastPlain;

        public void PlainLine(string line, DateTimeOffset received, List<KernelMessage> output, ParseContext ctx, string sender)
        {
            _lastPlain = received;
            if (_parser is null)
            {
                _head.Add(line);
                if (_head.Count < KernelLogParser.DetectLines) return;
                StartParser(output, ctx);
                return;
            }
            if (_parser.Feed(line, ++_line) is { } m) output.Add(Stamp(m, received));
        }

        public void FlushPlain(List<KernelMessage> output, ParseContext ctx, DateTimeOffset now)
        {
            if (now - _lastPlain <= ReorderWait && now != DateTimeOffset.MaxValue) return;
            if (_parser is null && _head.Count > 0) StartParser(output, ctx);
            if (_parser?.Flush() is { } m) output.Add(Stamp(m, _lastPlain));
        }

        private void StartParser(List<KernelMessage> output, ParseContext ctx)
        {
            _parser = new KernelLogParser(KernelLogParser.Detect(_head), ctx, "netconsole:" + Sender);
            foreach (var h in _head)
                if (_parser.Feed(h, ++_line) is { } m) output.Add(Stamp(m, _lastPlain));
            _head.Clear();
        }

        private KernelMessage Stamp(KernelMessage m, DateTimeOffset received) => m with { Time = m.Time ?? received, Sender = Sender };
    }
}
