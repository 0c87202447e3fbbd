using System.Buffers.Binary;
using System.Text;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Tracing;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests.Tracing;

/// <summary>
/// The binary tracing formats with their numeric fields past range: a trace-cmd v6 file built from this VM's captured
/// tracefs (header_page, header_event, event formats and two real ring-buffer pages), with every 4- and 8-byte word of
/// its header rewritten to huge, negative and boundary values, and the texts inside it number-mutated. Opening and
/// reading never throws; a bad value is a warning.
/// </summary>
public sealed class TraceDatFuzzTests(ITestOutputHelper output)
{
    private static readonly string Events = TestPaths.Fixture("tracing", "live-6.18", "sys", "kernel", "tracing", "events");

    /// <summary>A v6 file in the layout trace-cmd writes (trace-cmd.dat(5)); returns it and where the header ends.</summary>
    internal static (byte[] File, int HeaderEnd) BuildV6(string? headerPage = null, string? headerEvent = null, string? format = null)
    {
        var ms = new MemoryStream();
        var w = new BinaryWriter(ms);
        w.Write(new byte[] { 0x17, 0x08, 0x44 }); w.Write(Encoding.ASCII.GetBytes("tracing6\0"));
        w.Write((byte)0); w.Write((byte)8); w.Write(4096u);
        void Text(string s) { var b = Encoding.UTF8.GetBytes(s); w.Write((ulong)b.Length); w.Write(b); }
        void CStr(string s) => w.Write(Encoding.ASCII.GetBytes(s + "\0"));
        CStr("header_page"); Text(headerPage ?? File.ReadAllText(Path.Combine(Events, "header_page")));
        CStr("header_event"); Text(headerEvent ?? File.ReadAllText(Path.Combine(Events, "header_event")));
        w.Write(0u); // ftrace formats
        var sched = Directory.GetDirectories(Path.Combine(Events, "sched")).OrderBy(d => d, StringComparer.Ordinal).ToArray();
        w.Write(2u);
        CStr("sched"); w.Write((uint)sched.Length);
        for (int i = 0; i < sched.Length; i++) Text(i == 0 && format is not null ? format : File.ReadAllText(Path.Combine(sched[i], "format")));
        var raw = Directory.GetDirectories(Path.Combine(Events, "raw_syscalls")).OrderBy(d => d, StringComparer.Ordinal).ToArray();
        CStr("raw_syscalls"); w.Write((uint)raw.Length);
        foreach (var d in raw) Text(File.ReadAllText(Path.Combine(d, "format")));
        w.Write(0u); w.Write(0u); // kallsyms, printk formats
        Text("1 systemd\n12632 bash\n12583 mandb\n");
        w.Write(2u);
        w.Write(Encoding.ASCII.GetBytes("flyrecord\0"));
        long table = ms.Position;
        w.Write(0UL); w.Write(4096UL); w.Write(0UL); w.Write(4096UL);
        Text("[local] global counter uptime perf mono mono_raw boot tai x86-tsc\n");
        int headerEnd = (int)ms.Position;
        long pages = (ms.Position + 4095) / 4096 * 4096;
        ms.SetLength(pages);
        ms.Position = pages;
        for (int cpu = 0; cpu < 2; cpu++)
        {
            var page = File.ReadAllBytes(TestPaths.Fixture("tracing", "live-6.18", $"cpu{cpu}.raw"));
            ms.Write(page, 0, Math.Min(page.Length, 4096));
            ms.SetLength(pages + (cpu + 1) * 4096);
            ms.Position = ms.Length;
        }
        var bytes = ms.ToArray();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan((int)table), (ulong)pages);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan((int)table + 16), (ulong)pages + 4096);
        return (bytes, headerEnd);
    }

    private static (TraceDatFile? File, List<FtraceEvent> Events, ParseContext Ctx) Read(byte[] bytes)
    {
        var ctx = new ParseContext("fuzz.dat");
        var dat = TraceDatFile.Open(new MemoryStream(bytes), ctx);
        var events = dat?.ReadEvents().ToList() ?? [];
        foreach (var e in events) { _ = e.Timestamp; _ = e.Time; _ = e.ToString(); }
        return (dat, events, ctx);
    }

    [Fact]
    public void BuiltFile_DecodesTheCapturedPages()
    {
        var (bytes, _) = BuildV6();
        var (dat, events, ctx) = Read(bytes);
        Assert.NotNull(dat);
        Assert.Equal(6, dat!.Version);
        Assert.True(dat.Formats.Count >= 4, string.Join('\n', ctx.Issues));
        Assert.NotEmpty(events); // the oracle for the mutations below: the good file decodes
        Assert.Empty(ctx.Issues);
    }

    [Fact]
    public void HeaderWords_PastRange_NeverThrow()
    {
        var (good, headerEnd) = BuildV6();
        ulong[] values = [ulong.MaxValue, long.MaxValue, (ulong)long.MaxValue + 1, uint.MaxValue, int.MaxValue, (ulong)int.MaxValue + 1, 0];
        var failures = new List<string>();
        int runs = 0;
        for (int pos = 10; pos + 4 <= headerEnd; pos += 2)
        {
            foreach (int width in new[] { 4, 8 })
            {
                if (pos + width > headerEnd) continue;
                ulong v = values[(pos / 2 + width) % values.Length];
                var bytes = (byte[])good.Clone();
                if (width == 4) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(pos), (uint)v);
                else BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(pos), v);
                runs++;
                try { Read(bytes); }
                catch (Exception e) { failures.Add($"offset {pos} u{width * 8} = 0x{v:x}: {e.GetType().Name}: {e.Message}"); }
            }
        }
        output.WriteLine($"{runs} mutations");
        Assert.True(runs > 1000, $"only {runs} mutations");
        Assert.True(failures.Count == 0, $"{failures.Count} of {runs} failed:\n" + string.Join('\n', failures.Take(20)));
    }

    [Fact]
    public void TextsInside_MutatedNumbers_NeverThrowAndWarn()
    {
        string hp = File.ReadAllText(Path.Combine(Events, "header_page"));
        string he = File.ReadAllText(Path.Combine(Events, "header_event"));
        string fmt = File.ReadAllText(Path.Combine(Directory.GetDirectories(Path.Combine(Events, "sched")).OrderBy(d => d, StringComparer.Ordinal).First(), "format"));
        var failures = new List<string>();
        int runs = 0;
        void Try(string what, NumberMutations.Mutation m, byte[] bytes)
        {
            runs++;
            try
            {
                var (_, _, ctx) = Read(bytes);
                if (m.MustBeRejected && ctx.Issues.Count == 0) failures.Add($"{what} {m}: no warning");
            }
            catch (Exception e) { failures.Add($"{what} {m}: {e.GetType().Name}: {e.Message}"); }
        }
        foreach (var m in NumberMutations.Of(hp, 1)) Try("header_page", m, BuildV6(headerPage: m.Text).File);
        foreach (var m in NumberMutations.Of(he, 2)) Try("header_event", m, BuildV6(headerEvent: m.Text).File);
        foreach (var m in NumberMutations.Of(fmt, 3)) Try("format", m, BuildV6(format: m.Text).File);
        output.WriteLine($"{runs} mutations");
        Assert.True(failures.Count == 0, $"{failures.Count} of {runs} failed:\n" + string.Join('\n', failures.Take(20)));
    }

    [Fact]
    public void RingBufferPages_WordsPastRange_NeverThrow()
    {
        var ctxFormats = new ParseContext("formats");
        var catalog = new TraceEventCatalog(FixtureTree.Open("tracing", "live-6.18"), "sys/kernel/tracing", ctxFormats);
        int runs = 0;
        var failures = new List<string>();
        for (int cpu = 0; cpu < 2; cpu++)
        {
            var page = File.ReadAllBytes(TestPaths.Fixture("tracing", "live-6.18", $"cpu{cpu}.raw"));
            for (int pos = 0; pos + 8 <= Math.Min(page.Length, 4096); pos += 4)
            {
                foreach (ulong v in new[] { ulong.MaxValue, (ulong)long.MaxValue + 1, 0xFFFFFFFFUL })
                {
                    var p = (byte[])page.Clone();
                    BinaryPrimitives.WriteUInt64LittleEndian(p.AsSpan(pos), v);
                    var ctx = new ParseContext($"cpu{cpu}.raw");
                    var dec = new RingBufferDecoder(catalog.Layout, catalog.ById, null, ctx) { ClockMapping = TraceClockMapping.ForLive("mono") };
                    runs++;
                    try
                    {
                        var events = new List<FtraceEvent>();
                        dec.DecodePage(p, cpu, events);
                        foreach (var e in events) { _ = e.Timestamp; _ = e.Time; }
                    }
                    catch (Exception e) { failures.Add($"cpu{cpu} offset {pos} = 0x{v:x}: {e.GetType().Name}: {e.Message}"); }
                }
            }
        }
        output.WriteLine($"{runs} mutations");
        Assert.True(runs > 1000, $"only {runs} mutations");
        Assert.True(failures.Count == 0, $"{failures.Count} of {runs} failed:\n" + string.Join('\n', failures.Take(20)));
    }
}
