using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Tracing;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests.Tracing;

public class RingBufferDecoderTests
{
    private static readonly TraceEventCatalog Catalog = new(FixtureTree.Open("tracing", "live-6.18"), "sys/kernel/tracing", new ParseContext("fixture"));

    private static (RingBufferDecoder, ParseContext) Decoder(Func<int, string?>? comm = null)
    {
        var ctx = new ParseContext("pages");
        return (new RingBufferDecoder(Catalog.Layout, Catalog.ById, comm, ctx), ctx);
    }

    [Fact]
    public void CapturedPages_MatchWhatTheKernelPrinted()
    {
        // trace.txt is the kernel's own rendering of the same events: every decoded event must match a line.
        var rx = new Regex(@"^\s*(?<comm>.+?)-(?<pid>\d+)\s+\[(?<cpu>\d+)\]\s+(?<flags>\S{5})\s+(?<ts>\d+\.\d+):\s+(?<ev>\w+):\s+(?<rest>.*)$");
        var expected = File.ReadAllLines(TestPaths.Fixture("tracing", "live-6.18", "trace.txt"))
            .Select(l => rx.Match(l)).Where(m => m.Success).ToList();
        var (dec, ctx) = Decoder();
        var events = new List<FtraceEvent>();
        foreach (var cpu in new[] { 0, 1 })
            dec.DecodePage(File.ReadAllBytes(TestPaths.Fixture("tracing", "live-6.18", $"cpu{cpu}.raw")), cpu, events);
        Assert.Empty(ctx.Issues);
        events.Sort((a, b) => a.TimestampNanoseconds.CompareTo(b.TimestampNanoseconds));
        Assert.Equal(expected.Count, events.Count);
        for (int i = 0; i < events.Count; i++)
        {
            var (e, m) = (events[i], expected[i]);
            Assert.Equal(m.Groups["ev"].Value, e.Event);
            Assert.Equal(int.Parse(m.Groups["pid"].Value), e.ProcessId);
            Assert.Equal(int.Parse(m.Groups["cpu"].Value), e.Cpu);
            ulong us = (e.TimestampNanoseconds + 500) / 1000; // the kernel rounds to microseconds (ns2usecs)
            Assert.Equal(m.Groups["ts"].Value, $"{us / 1_000_000}.{us % 1_000_000:D6}");
            Assert.Equal(m.Groups["flags"].Value[..4], e.LatencyFormat);
            if (e.Event == "sched_process_exec")
            {
                Assert.Matches(@"^filename=" + Regex.Escape((string)e.Fields["filename"]!) + " pid=" + e.Fields["pid"] + " ", m.Groups["rest"].Value);
                Assert.IsType<int>(e.Fields["pid"]);
            }
            else
            {
                Assert.Contains($"prev_comm={e.Fields["prev_comm"]} prev_pid={e.Fields["prev_pid"]}", m.Groups["rest"].Value);
                Assert.Contains($"next_pid={e.Fields["next_pid"]} ", m.Groups["rest"].Value);
            }
        }
    }

    private static byte[] SysEnter(int pid, long id, params ulong[] args)
    {
        var fmt = Catalog.Get("raw_syscalls:sys_enter")!;
        return RingBufferPageBuilder.Payload(fmt.Id, pid, 0x01, 0x12, 64, b =>
        {
            BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(8), id);
            for (int i = 0; i < args.Length; i++) BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(16 + i * 8), args[i]);
        });
    }

    private static byte[] Exec(int pid, string filename)
    {
        var fmt = Catalog.Get("sched:sched_process_exec")!;
        var name = Encoding.UTF8.GetBytes(filename + "\0");
        return RingBufferPageBuilder.Payload(fmt.Id, pid, 0, 0, 20 + name.Length, b =>
        {
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), (uint)(20 | (name.Length << 16)));
            BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(12), pid);
            BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(16), pid - 1);
            name.CopyTo(b, 20);
        });
    }

    [Fact]
    public void BuiltPage_AllRecordKinds()
    {
        ulong t0 = 5_000_000_000;
        var page = new RingBufferPageBuilder(t0)
            .Event(t0 + 10, SysEnter(42, 231, 7, 0xffff_ffff_ffff_fff0))
            .Discarded(24)
            .Event(t0 + 10 + (1UL << 30), Exec(43, "/usr/bin/true"))            // needs a time extend
            .Event(t0 + 20 + (1UL << 30), SysEnter(44, -1), forceLong: true)       // type_len 0 record
            .AbsoluteTimestamp(9_000_000_000)
            .Event(9_000_000_005, SysEnter(45, 0))
            .Build(missedEvents: true, storedMissed: 17, tailPadding: true);
        var (dec, ctx) = Decoder(pid => pid == 42 ? "worker" : null);
        var events = new List<FtraceEvent>();
        var info = dec.DecodePage(page, 3, events);
        Assert.Empty(ctx.Issues);
        Assert.Equal((true, 17L, 4, false), (info.MissedEvents, info.MissedCount, info.Events, info.Corrupt));
        Assert.Equal(new ulong[] { t0 + 10, t0 + 10 + (1UL << 30), t0 + 20 + (1UL << 30), 9_000_000_005 }, events.Select(e => e.TimestampNanoseconds));
        var e0 = events[0];
        Assert.Equal(("raw_syscalls", "sys_enter", 42, 3, "worker"), (e0.System, e0.Event, e0.ProcessId, e0.Cpu, e0.Command));
        Assert.Equal(231L, e0.Fields["id"]);
        Assert.Equal(new ulong[] { 7, 0xffff_ffff_ffff_fff0, 0, 0, 0, 0 }, (ulong[])e0.Fields["args"]!);
        Assert.Equal((true, 2, 1), (e0.IrqsOff, e0.PreemptDepth, e0.MigrateDisable));
        Assert.Equal(new[] { "id", "args" }, e0.Fields.Keys);
        Assert.Equal("/usr/bin/true", events[1].Fields["filename"]);
        Assert.Equal(42, events[1].Fields["old_pid"]);
        Assert.Equal(-1L, events[2].Fields["id"]);
        Assert.Null(events[2].Command);
    }

    [Fact]
    public void FunctionTracerPages_AreCounted()
    {
        // Built from the ftrace:function format readable here, although the kernel refuses the tracer itself.
        var fmt = Catalog.Get("ftrace:function")!;
        Assert.Equal(1, fmt.Id);
        byte[] Fn(ulong ip, ulong parent) => RingBufferPageBuilder.Payload(fmt.Id, 7, 0, 0, 24, b =>
        {
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(8), ip);
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(16), parent);
        });
        var calls = new[] { 0xffffffff81000010UL, 0xffffffff81000020, 0xffffffff81000010, 0xffffffff81000010, 0xffffffff81000030, 0xffffffff81000020 };
        var b = new RingBufferPageBuilder(1000);
        ulong ts = 1000;
        foreach (var ip in calls) b.Event(ts += 100, Fn(ip, 0xffffffff81999999));
        var (dec, ctx) = Decoder();
        var events = new List<FtraceEvent>();
        dec.DecodePage(b.Build(), 0, events);
        Assert.Empty(ctx.Issues);
        var counter = new FunctionCallCounter();
        foreach (var e in events) counter.Add(e);
        Assert.Equal(6, counter.Total);
        var names = new Dictionary<ulong, string> { [0xffffffff81000010] = "vfs_read", [0xffffffff81000020] = "vfs_write" };
        var top = counter.Results(a => names.GetValueOrDefault(a), FunctionTracingMethod.FunctionTracer, top: 2);
        Assert.Equal(new[] { ("vfs_read", 3L), ("vfs_write", 2L) }, top.Select(r => (r.Function, r.Count)));
        Assert.Equal("0xffffffff81000030", counter.Results(null, FunctionTracingMethod.FunctionTracer)[2].Function);
        Assert.Empty((ulong[])events[0].Fields["args"]!);

        // With a symbol table the records carry the function names beside the addresses.
        var ctx2 = new ParseContext("sym");
        var symDecoder = new RingBufferDecoder(Catalog.Layout, Catalog.ById, null, ctx2) { Symbolize = a => names.TryGetValue(a, out var n) ? n : null };
        var named = new List<FtraceEvent>();
        symDecoder.DecodePage(b.Build(), 0, named);
        Assert.Equal("vfs_read", named[0].Fields["function"]);
        Assert.Null(named[0].Fields["parent"]);
        Assert.Equal(new[] { "ip", "parent_ip", "args", "function", "parent" }, named[0].Fields.Keys);
    }

    [Fact]
    public void UnknownEventId_IsWarnedOnceAndSkipped()
    {
        var page = new RingBufferPageBuilder(0).Event(1, RingBufferPageBuilder.Payload(65000, 1, 0, 0, 8, _ => { }))
            .Event(2, RingBufferPageBuilder.Payload(65000, 1, 0, 0, 8, _ => { })).Event(3, SysEnter(1, 0)).Build();
        var (dec, ctx) = Decoder();
        var events = new List<FtraceEvent>();
        dec.DecodePage(page, 0, events);
        Assert.Single(events);
        Assert.Single(ctx.Issues);
        Assert.Contains("65000", ctx.Issues[0].Message);
    }

    [Fact]
    public void TruncatedAndGarbagePages_WarnNeverThrow()
    {
        var good = new RingBufferPageBuilder(100).Event(110, SysEnter(1, 2)).Event(120, Exec(2, "/bin/sh")).Event(130, SysEnter(3, 4)).Build();
        var (dec, ctx) = Decoder();
        var events = new List<FtraceEvent>();
        // Cut inside the third record: the first two still decode.
        var info = dec.DecodePage(good.AsSpan(0, 16 + 68 + 4 + 36 + 10), 0, events);
        Assert.True(info.Corrupt);
        Assert.Equal(2, events.Count);
        Assert.NotEmpty(ctx.Issues);
        Assert.Equal(0, dec.DecodePage(good.AsSpan(0, 10), 0, events).Events);
        var rng = new Random(6);
        for (int i = 0; i < 300; i++)
        {
            var bad = (byte[])good.Clone();
            if (i % 3 == 0) rng.NextBytes(bad);
            else for (int k = 0; k < 8; k++) bad[16 + rng.Next(160)] = (byte)rng.Next(256);
            if (i % 5 == 0) BinaryPrimitives.WriteUInt64LittleEndian(bad.AsSpan(8), (ulong)rng.NextInt64());
            dec.DecodePage(bad, i % 4, events);
        }
        Assert.True(ctx.Issues.Count > 10);
        foreach (var e in events) Assert.NotNull(e.Fields);
    }

    [Fact]
    public void TextFallback_ParsesTheKernelsText_LikeTheBinaryDecoder()
    {
        var (dec, _) = Decoder();
        var binary = new List<FtraceEvent>();
        foreach (var cpu in new[] { 0, 1 })
            dec.DecodePage(File.ReadAllBytes(TestPaths.Fixture("tracing", "live-6.18", $"cpu{cpu}.raw")), cpu, binary);
        binary.Sort((a, b) => a.TimestampNanoseconds.CompareTo(b.TimestampNanoseconds));
        var ctx = new ParseContext("trace.txt");
        int n = 0;
        var text = File.ReadAllLines(TestPaths.Fixture("tracing", "live-6.18", "trace.txt"))
            .Select(l => TracePipeTextParser.ParseLine(l, ++n, ctx, ev => Catalog.Match(ev).FirstOrDefault()?.Split(':')[0])).OfType<FtraceEvent>().ToList();
        Assert.Empty(ctx.Issues);
        Assert.Equal(binary.Count, text.Count);
        for (int i = 0; i < text.Count; i++)
        {
            var (b, t) = (binary[i], text[i]);
            Assert.Equal((b.Name, b.ProcessId, b.Cpu, b.LatencyFormat), (t.Name, t.ProcessId, t.Cpu, t.LatencyFormat));
            Assert.Equal((long)((b.TimestampNanoseconds + 500) / 1000), (long)(t.TimestampNanoseconds / 1000));
            string key = b.Event == "sched_switch" ? "next_pid" : "pid";
            Assert.Equal(Convert.ToInt64(b.Fields[key]), t.Fields[key]);
        }
        Assert.Equal("/bin/echo", text.First(e => e.Event == "sched_process_exec").Fields["filename"]);
    }

    [Fact]
    public void TextFallback_TruncatedAndGarbage_WarnNeverThrow()
    {
        string good = File.ReadAllText(TestPaths.Fixture("tracing", "live-6.18", "trace.txt"));
        int Parse(string text, ParseContext ctx)
        {
            int n = 0;
            return text.Split('\n').Count(line => TracePipeTextParser.ParseLine(line, ++n, ctx) is not null);
        }
        int all = Parse(good, new ParseContext("good"));
        Assert.InRange(Parse(Mangle.Truncate(good), new ParseContext("truncated")), 1, all - 1);
        foreach (var bad in new[] { Mangle.Garbage(good, 2), Mangle.Garbage(good, 9), Mangle.RandomText(3000, 4) })
        {
            var ctx = new ParseContext("bad");
            Parse(bad, ctx);
            Assert.NotEmpty(ctx.Issues);
        }
    }
}
