using System.Buffers.Binary;
using System.Text;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Native;

namespace KernelDebug.Core.Tracing;

/// <summary>One instance's trace data in a trace-cmd file: its name, clock and per-CPU ring-buffer data.</summary>
/// <param name="Name">Instance name ("" for the top instance).</param>
/// <param name="Clock">Trace clock, when the file says.</param>
/// <param name="Cpus">Per CPU: CPU number, file offset and size of its pages.</param>
public sealed record TraceDatBuffer(string Name, string? Clock, IReadOnlyList<(int Cpu, long Offset, long Size)> Cpus);

/// <summary>
/// A trace-cmd <c>trace.dat</c> file (versions 6 and 7, as trace-cmd.dat(5) describes them): the recorded machine's
/// ring-buffer layout and event formats, saved command lines, and per-CPU pages of each recorded instance, decoded
/// by the same <see cref="RingBufferDecoder"/> as live captures. zstd-compressed v7 files are read through libzstd.
/// Bad or truncated input is reported through the <see cref="ParseContext"/>; the parts that read are still used.
/// </summary>
public sealed class TraceDatFile
{
    private static readonly byte[] Magic = [0x17, 0x08, 0x44, (byte)'t', (byte)'r', (byte)'a', (byte)'c', (byte)'i', (byte)'n', (byte)'g'];
    private readonly Stream _stream;
    private readonly ParseContext _ctx;
    private readonly Dictionary<int, TraceEventFormat> _formats = new();
    private readonly List<TraceDatBuffer> _buffers = new();
    private Dictionary<int, string> _cmdlines = new();
    private string _headerPage = "", _headerEvent = "";

    private TraceDatFile(Stream stream, ParseContext ctx) { _stream = stream; _ctx = ctx; }

    /// <summary>File format version (6 or 7).</summary>
    public int Version { get; private set; }
    /// <summary>Bytes per long on the recorded machine.</summary>
    public int LongSize { get; private set; } = 8;
    /// <summary>The recorded machine's page size.</summary>
    public int PageSize { get; private set; } = 4096;
    /// <summary>Compression of a v7 file ("none", "zstd").</summary>
    public string Compression { get; private set; } = "none";
    /// <summary>The event formats stored in the file, by id.</summary>
    public IReadOnlyDictionary<int, TraceEventFormat> Formats => _formats;
    /// <summary>The instances whose data the file holds.</summary>
    public IReadOnlyList<TraceDatBuffer> Buffers => _buffers;
    /// <summary>The ring-buffer layout from the file's header_page/header_event.</summary>
    public RingBufferLayout Layout { get; private set; } = RingBufferLayout.Default;
    private bool _bigEndian;

    /// <summary>Reads a file's metadata from a seekable stream (the caller keeps it open while events are read).</summary>
    /// <returns>The file, or null when it is not a trace-cmd file (a warning says why).</returns>
    public static TraceDatFile? Open(Stream stream, ParseContext ctx)
    {
        var f = new TraceDatFile(stream, ctx);
        try { return f.ReadHeader() ? f : null; }
        catch (Exception e) when (e is EndOfStreamException or IOException or ArgumentException or OverflowException or InvalidDataException)
        {
            ctx.Warn(0, $"trace-cmd file ends or breaks early ({e.Message}); using what was read");
            return f.Version > 0 ? f : null;
        }
    }

    /// <summary>Every event of every buffer, CPU by CPU merged in time order per buffer. Undecodable pages are warned about and skipped.</summary>
    public IEnumerable<FtraceEvent> ReadEvents()
    {
        var decoder = new RingBufferDecoder(Layout, id => _formats.GetValueOrDefault(id), pid => _cmdlines.GetValueOrDefault(pid), _ctx);
        foreach (var buffer in _buffers)
        {
            decoder.ClockName = buffer.Clock;
            var perCpu = new List<FtraceEvent>();
            foreach (var (cpu, offset, size) in buffer.Cpus)
            {
                byte[]? data;
                try { data = CpuData(offset, size); }
                catch (Exception e) when (e is EndOfStreamException or IOException or ArgumentException or OverflowException or InvalidDataException)
                {
                    _ctx.Warn(0, $"buffer '{buffer.Name}' cpu{cpu}: data at {offset} is cut short ({e.Message})");
                    continue;
                }
                if (data is null) continue;
                long page = 0;
                for (int pos = 0; pos < data.Length; pos += PageSize)
                    decoder.DecodePage(data.AsSpan(pos, Math.Min(PageSize, data.Length - pos)), cpu, perCpu, page++);
            }
            perCpu.Sort((a, b) => a.TimestampNanoseconds.CompareTo(b.TimestampNanoseconds));
            foreach (var e in perCpu) yield return e;
        }
    }

    private byte[]? CpuData(long offset, long size)
    {
        if (size <= 0) return Array.Empty<byte>();
        if (offset < 0 || size > _stream.Length - offset) // not offset + size: two huge values wrap past long
        {
            _ctx.Warn(0, $"CPU data at {offset}+{size} lies beyond the end of the file ({_stream.Length} bytes)");
            size = Math.Max(0, _stream.Length - offset);
            if (size == 0) return null;
        }
        _stream.Position = offset;
        if (Compression == "none" || Version < 7) return ReadExactly((int)size);
        // Compressed trace data: a chunk count, then (compressed size, uncompressed size, data) per chunk.
        uint chunks = U32();
        var ms = new MemoryStream();
        for (uint i = 0; i < chunks; i++)
        {
            uint csize = U32(), usize = U32();
            var raw = ReadExactly((int)csize);
            var plain = Decompress(raw, (int)usize);
            if (plain is null) { _ctx.Warn(0, $"chunk {i} of CPU data at {offset} did not decompress"); break; }
            ms.Write(plain);
        }
        return ms.ToArray();
    }

    private byte[]? Decompress(byte[] raw, int size) => Compression switch
    {
        "zstd" => LibZstd.TryDecompress(raw, size),
        "zlib" => ZlibDecompress(raw),
        _ => null,
    };

    private static byte[]? ZlibDecompress(byte[] raw)
    {
        try
        {
            using var z = new System.IO.Compression.ZLibStream(new MemoryStream(raw), System.IO.Compression.CompressionMode.Decompress);
            var ms = new MemoryStream();
            z.CopyTo(ms);
            return ms.ToArray();
        }
        catch (InvalidDataException) { return null; }
    }

    private bool ReadHeader()
    {
        var magic = ReadExactly(10);
        if (!magic.AsSpan().SequenceEqual(Magic)) { _ctx.Warn(0, "not a trace-cmd file (bad magic)"); return false; }
        string version = CString(_stream);
        if (!int.TryParse(version, out int v) || v is < 6 or > 7) { _ctx.Warn(0, $"trace-cmd file version '{version}' is not 6 or 7"); return false; }
        Version = v;
        _bigEndian = _stream.ReadByte() == 1;
        LongSize = _stream.ReadByte();
        PageSize = (int)U32();
        if (PageSize is < 1024 or > 1 << 20) { _ctx.Warn(0, $"page size {PageSize} is not plausible"); return false; }
        if (v == 6) ReadV6();
        else ReadV7();
        Layout = RingBufferLayout.Parse(_headerPage, _headerEvent, _ctx);
        return true;
    }

    private void ReadV6()
    {
        ReadHeaderInfo(_stream);
        ReadFtraceFormats(_stream);
        ReadEventFormats(_stream);
        Skip(U32()); // kallsyms
        Skip(U32()); // printk formats
        ulong cmdSize = U64();
        _cmdlines = SavedCmdlinesParser.Parse(Encoding.UTF8.GetString(ReadExactly(checked((int)cmdSize))), _ctx);
        uint cpus = U32();
        string tag = Encoding.ASCII.GetString(ReadExactly(10));
        var instanceOffsets = new List<(string Name, long Offset)>();
        if (tag.StartsWith("options"))
        {
            while (true)
            {
                ushort id = U16();
                if (id == 0) break;
                uint size = U32();
                var data = ReadExactly(checked((int)size));
                if (id == 3 && data.Length >= 9) // BUFFER: offset of the instance's flyrecord data, then its name
                    instanceOffsets.Add((CString(data.AsSpan(8)), (long)ReadU64(data)));
            }
            tag = Encoding.ASCII.GetString(ReadExactly(10));
        }
        if (!tag.StartsWith("flyrecord")) { _ctx.Warn(0, $"trace data kind '{tag.TrimEnd('\0', ' ')}' is not flyrecord; no events read"); return; }
        _buffers.Add(ReadV6Buffer("", cpus));
        foreach (var (name, off) in instanceOffsets)
        {
            if (off <= 0 || off > _stream.Length - 10) { _ctx.Warn(0, $"buffer '{name}' points outside the file"); continue; }
            _stream.Position = off;
            if (!Encoding.ASCII.GetString(ReadExactly(10)).StartsWith("flyrecord")) { _ctx.Warn(0, $"buffer '{name}' has no flyrecord data"); continue; }
            _buffers.Add(ReadV6Buffer(name, cpus));
        }
    }

    // A v6 flyrecord: (offset, size) per CPU, then the trace clock file's text with its 8-byte size.
    private TraceDatBuffer ReadV6Buffer(string name, uint cpus)
    {
        var table = ReadCpuTable(cpus, withIds: false);
        string? clock = null;
        if (_stream.Position + 8 <= _stream.Length)
        {
            ulong n = U64();
            if (n > 0 && n < 4096 && _stream.Position + (long)n <= _stream.Length)
            {
                string text = Encoding.ASCII.GetString(ReadExactly((int)n));
                int a = text.IndexOf('['), b = text.IndexOf(']');
                clock = a >= 0 && b > a ? text[(a + 1)..b] : text.Trim();
            }
        }
        return new TraceDatBuffer(name, clock, table);
    }

    private List<(int, long, long)> ReadCpuTable(uint cpus, bool withIds)
    {
        var list = new List<(int, long, long)>();
        for (int i = 0; i < cpus; i++)
        {
            int id = withIds ? (int)U32() : i;
            list.Add((id, (long)U64(), (long)U64()));
        }
        return list;
    }

    private void ReadV7()
    {
        Compression = CString(_stream);
        CString(_stream); // compression version
        if (Compression is not ("none" or "zstd" or "zlib"))
            _ctx.Warn(0, $"compression '{Compression}' is not supported; compressed sections are skipped");
        long next = (long)U64();
        var seen = new HashSet<long>();
        while (next != 0 && seen.Add(next))
        {
            var options = Section(next, out ushort sid);
            if (options is null || sid != 0) { _ctx.Warn(0, $"no options section at {next}"); break; }
            next = 0;
            var r = new MemoryStream(options);
            while (r.Position + 6 <= r.Length)
            {
                ushort id = U16(r);
                uint size = U32(r);
                var data = new byte[size];
                r.ReadExactly(data);
                switch (id)
                {
                    case 0: next = data.Length >= 8 ? (long)ReadU64(data) : 0; r.Position = r.Length; break;
                    case 3: ReadBufferOption(data); break;
                    case 16: WithSection(data, s => ReadHeaderInfo(s)); break;
                    case 17: WithSection(data, s => ReadFtraceFormats(s)); break;
                    case 18: WithSection(data, s => ReadEventFormats(s)); break;
                    case 21: WithSection(data, s => { ulong n = U64(s); var b = new byte[n]; s.ReadExactly(b); _cmdlines = SavedCmdlinesParser.Parse(Encoding.UTF8.GetString(b), _ctx); }); break;
                }
            }
        }
    }

    private void ReadBufferOption(byte[] data)
    {
        var r = new MemoryStream(data);
        U64(r); // offset of the BUFFER section; the CPU table below points at the data directly
        string name = CString(r);
        string clock = CString(r).Trim('[', ']', '\n', ' ');
        U32(r); // page size
        uint cpus = U32(r);
        var list = new List<(int, long, long)>();
        for (int i = 0; i < cpus && r.Position + 20 <= r.Length; i++)
            list.Add(((int)U32(r), (long)U64(r), (long)U64(r)));
        _buffers.Add(new TraceDatBuffer(name, clock, list));
    }

    private void WithSection(byte[] option, Action<Stream> read)
    {
        if (option.Length < 8) return;
        var content = Section((long)ReadU64(option), out _);
        if (content is null) return;
        try { read(new MemoryStream(content)); }
        catch (Exception e) when (e is EndOfStreamException or ArgumentException or OverflowException)
        {
            _ctx.Warn(0, $"section at {ReadU64(option)} is cut short ({e.Message})");
        }
    }

    /// <summary>A v7 section's content (decompressed), or null.</summary>
    private byte[]? Section(long offset, out ushort id)
    {
        id = ushort.MaxValue;
        if (offset < 0 || offset + 16 > _stream.Length) return null;
        _stream.Position = offset;
        id = U16();
        ushort flags = U16();
        U32(); // description string id
        ulong size = U64();
        if (size > (ulong)(_stream.Length - _stream.Position)) { _ctx.Warn(0, $"section {id} at {offset} runs past the end of the file"); return null; }
        if ((flags & 1) == 0) return ReadExactly((int)size);
        uint csize = U32(), usize = U32();
        var raw = ReadExactly((int)Math.Min(csize, size));
        var plain = Decompress(raw, (int)usize);
        if (plain is null) _ctx.Warn(0, $"section {id} at {offset} did not decompress ({Compression})");
        return plain;
    }

    private void ReadHeaderInfo(Stream s)
    {
        CString(s); // "header_page"
        _headerPage = Encoding.UTF8.GetString(ReadExactly(s, checked((int)U64(s))));
        CString(s); // "header_event"
        _headerEvent = Encoding.UTF8.GetString(ReadExactly(s, checked((int)U64(s))));
    }

    private void ReadFtraceFormats(Stream s)
    {
        uint n = U32(s);
        for (int i = 0; i < n; i++) AddFormat("ftrace", ReadExactly(s, checked((int)U64(s))));
    }

    private void ReadEventFormats(Stream s)
    {
        uint systems = U32(s);
        for (int i = 0; i < systems; i++)
        {
            string sys = CString(s);
            uint events = U32(s);
            for (int j = 0; j < events; j++) AddFormat(sys, ReadExactly(s, checked((int)U64(s))));
        }
    }

    private void AddFormat(string system, byte[] text)
    {
        var f = TraceEventFormatParser.Parse(Encoding.UTF8.GetString(text), system, _ctx, LongSize);
        if (f is not null) _formats[f.Id] = f;
    }

    private void Skip(long n) => _stream.Position += n;
    private byte[] ReadExactly(int n) => ReadExactly(_stream, n);

    private static byte[] ReadExactly(Stream s, int n)
    {
        if (n < 0 || n > s.Length - s.Position) throw new EndOfStreamException($"{n} bytes wanted at {s.Position}, {s.Length - s.Position} left");
        var b = new byte[n];
        s.ReadExactly(b);
        return b;
    }

    private ushort U16(Stream? s = null) { var b = ReadExactly(s ?? _stream, 2); return _bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(b) : BinaryPrimitives.ReadUInt16LittleEndian(b); }
    private uint U32(Stream? s = null) { var b = ReadExactly(s ?? _stream, 4); return _bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(b) : BinaryPrimitives.ReadUInt32LittleEndian(b); }
    private ulong U64(Stream? s = null) { var b = ReadExactly(s ?? _stream, 8); return ReadU64(b); }
    private ulong ReadU64(ReadOnlySpan<byte> b) => _bigEndian ? BinaryPrimitives.ReadUInt64BigEndian(b) : BinaryPrimitives.ReadUInt64LittleEndian(b);

    private static string CString(Stream s)
    {
        var sb = new StringBuilder();
        int c;
        while ((c = s.ReadByte()) > 0) { sb.Append((char)c); if (sb.Length > 4096) throw new InvalidDataException("unterminated string"); }
        if (c < 0) throw new EndOfStreamException("string runs past the end");
        return sb.ToString();
    }

    private static string CString(ReadOnlySpan<byte> b)
    {
        int nul = b.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul < 0 ? b : b[..nul]);
    }
}
