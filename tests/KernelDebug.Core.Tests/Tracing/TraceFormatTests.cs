using KernelDebug.Core.Parsing;
using KernelDebug.Core.Tracing;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests.Tracing;

public class TraceFormatTests
{
    private static string FormatText(string ev) =>
        File.ReadAllText(TestPaths.Fixture("tracing", "live-6.18", "sys", "kernel", "tracing", "events", ev, "format"));

    [Fact]
    public void SysEnter_FieldsOffsetsAndArray()
    {
        var ctx = new ParseContext("sys_enter");
        var f = TraceEventFormatParser.Parse(FormatText("raw_syscalls/sys_enter"), "raw_syscalls", ctx)!;
        Assert.Empty(ctx.Issues);
        Assert.Equal("raw_syscalls:sys_enter", f.FullName);
        Assert.Equal(int.Parse(File.ReadAllLines(TestPaths.Fixture("tracing", "live-6.18", "sys", "kernel", "tracing", "events", "raw_syscalls", "sys_enter", "format"))[1][4..]), f.Id);
        Assert.Equal(new[] { "common_type", "common_flags", "common_preempt_count", "common_pid", "id", "args" }, f.Fields.Select(x => x.Name));
        var id = f.Fields.Single(x => x.Name == "id");
        Assert.Equal((8, 8, true, TraceFieldKind.Integer), (id.Offset, id.Size, id.IsSigned, id.Kind));
        var args = f.Fields.Single(x => x.Name == "args");
        Assert.Equal((16, 48, 6, 8, TraceFieldKind.Array, "unsigned long"), (args.Offset, args.Size, args.ArrayLength!.Value, args.ElementSize, args.Kind, args.Type));
        Assert.StartsWith("\"NR %ld", f.PrintFormat);
        Assert.True(f.Fields.Take(4).All(x => x.IsCommon));
    }

    [Fact]
    public void Exec_DataLocString_And_Function_TrailingArray()
    {
        var ctx = new ParseContext("x");
        var exec = TraceEventFormatParser.Parse(FormatText("sched/sched_process_exec"), "sched", ctx)!;
        var fn = exec.Fields.Single(x => x.Name == "filename");
        Assert.Equal((TraceFieldKind.DynamicString, "__data_loc char[]", 4), (fn.Kind, fn.Type, fn.Size));
        var func = TraceEventFormatParser.Parse(FormatText("ftrace/function"), "ftrace", ctx)!;
        Assert.Equal(TraceFieldKind.Integer, func.Fields.Single(x => x.Name == "ip").Kind);
        Assert.Equal(TraceFieldKind.TrailingArray, func.Fields.Single(x => x.Name == "args").Kind);
        var sw = TraceEventFormatParser.Parse(FormatText("sched/sched_switch"), "sched", ctx)!;
        Assert.Equal(TraceFieldKind.String, sw.Fields.Single(x => x.Name == "prev_comm").Kind);
        Assert.Empty(ctx.Issues);
    }

    [Fact]
    public void HeaderPage_And_HeaderEvent_GiveTheLayout()
    {
        string dir = TestPaths.Fixture("tracing", "live-6.18", "sys", "kernel", "tracing", "events");
        var ctx = new ParseContext("header");
        var l = RingBufferLayout.Parse(File.ReadAllText(Path.Combine(dir, "header_page")), File.ReadAllText(Path.Combine(dir, "header_event")), ctx);
        Assert.Empty(ctx.Issues);
        Assert.Equal((0, 8, 8, 16, 4080), (l.TimestampOffset, l.CommitOffset, l.CommitSize, l.DataOffset, l.DataSize));
        Assert.Equal((5, 27, 29, 30, 31, 28), (l.TypeLenBits, l.TimeDeltaBits, l.PaddingType, l.TimeExtendType, l.TimeStampType, l.MaxDataType));
    }

    [Fact]
    public void Truncated_And_Garbage_WarnNeverThrow()
    {
        string text = FormatText("raw_syscalls/sys_enter");
        var ctx = new ParseContext("truncated");
        var t = TraceEventFormatParser.Parse(Mangle.Truncate(text), "raw_syscalls", ctx);
        Assert.NotNull(t); // name and ID come first
        Assert.True(t!.Fields.Count < 6);
        for (int seed = 1; seed < 30; seed++)
        {
            var g = new ParseContext("garbage");
            TraceEventFormatParser.Parse(Mangle.Garbage(text, seed), "raw_syscalls", g);
            TraceEventFormatParser.Parse(Mangle.RandomText(500, seed), "x", g);
            RingBufferLayout.Parse(Mangle.Garbage("\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n", seed), Mangle.RandomText(100, seed), g);
            Assert.NotEmpty(g.Issues);
        }
    }

    [Fact]
    public void Catalog_MatchesWildcardsOnFixture()
    {
        var cat = new TraceEventCatalog(FixtureTree.Open("tracing", "live-6.18"), "sys/kernel/tracing", new ParseContext("cat"));
        Assert.Equal(new[] { "raw_syscalls:sys_enter", "raw_syscalls:sys_exit" }, cat.Match("raw_syscalls:*"));
        Assert.Equal(new[] { "raw_syscalls:sys_enter" }, cat.Match("sys_enter"));
        Assert.Equal(new[] { "sched:sched_process_exec", "sched:sched_process_fork" }, cat.Match("sched:sched_process_*"));
        Assert.Equal(3, cat.Match("sched").Count);
        Assert.Empty(cat.Match("nosuch:*"));
        var exec = cat.Get("sched:sched_process_exec")!;
        Assert.Same(exec, cat.ById(exec.Id));
    }

    [Theory]
    [InlineData(new[] { 0 }, "1")]
    [InlineData(new[] { 0, 1 }, "3")]
    [InlineData(new[] { 1, 33 }, "2,00000002")]
    public void CpuMask_IsTheKernelsHexForm(int[] cpus, string mask) => Assert.Equal(mask, FtraceSession.CpuMask(cpus));

    [Fact]
    public void Stats_And_SavedCmdlines_Parse()
    {
        var s = TraceBufferStats.Parse(1, "entries: 5\noverrun: 7\ncommit overrun: 1\nbytes: 300\noldest event ts:   881.38\nnow ts:   900.1\ndropped events: 2\nread events: 9\n", new ParseContext("s"));
        Assert.Equal((5L, 7L, 1L, 2L, 9L, 10L), (s.Entries, s.Overrun, s.CommitOverrun, s.DroppedEvents, s.ReadEvents, s.Lost));
        var ctx = new ParseContext("c");
        var map = SavedCmdlinesParser.Parse("1 systemd\n12 kworker/0:1 x\nbad\n", ctx);
        Assert.Equal("kworker/0:1 x", map[12]);
        Assert.Single(ctx.Issues);
    }
}
