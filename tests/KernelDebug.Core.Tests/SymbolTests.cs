using KernelDebug.Core.Errors;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Profiling;
using KernelDebug.Core.Symbols;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests;

public class SymbolTests
{
    [Fact]
    public void Fixture_ResolvesWithOffsetSizeAndModule()
    {
        var t = KernelSymbolTable.Load(FixtureTree.Open("symbols", "small"));
        Assert.Equal(9, t.Count);
        var loc = t.Resolve(0xffffffff81001010)!;
        Assert.Equal("do_one_initcall", loc.Symbol.Name);
        Assert.Equal("do_one_initcall+0x10/0x200", loc.ToString());
        var mod = t.Resolve(0xffffffffc0a00004)!;
        Assert.Equal("ext4_fill_super+0x4/0x800 [ext4]", mod.ToString());
        Assert.Null(t.Resolve(0xffffffff80000000));
        // xfs_log_force is the last symbol (no size): 16 bytes in is inside it, 256 MiB past it is not.
        Assert.Equal("xfs_log_force", t.Resolve(0xffffffffc0b00010)!.Symbol.Name);
        Assert.Null(t.Resolve(0xffffffffd0b00000));
        Assert.Equal('W', t.Resolve(0xffffffff81002000)!.Symbol.Type);
    }

    [Fact]
    public void Symbolize_NamesStartsPlainlyAndInsidesWithOffset()
    {
        var t = KernelSymbolTable.Load(FixtureTree.Open("symbols", "small"));
        Assert.Equal("do_one_initcall", t.Symbolize(0xffffffff81001000));
        Assert.Equal("ext4_iget [ext4]", t.Symbolize(0xffffffffc0a00800));
        Assert.Equal("ext4_fill_super+0x10/0x800 [ext4]", t.Symbolize(0xffffffffc0a00010));
        Assert.Null(t.Symbolize(0x1000));
        Assert.Null(KernelSymbolTable.TryLoad(FixtureTree.Open("symbols", "kptr-hidden")));
    }

    [Fact]
    public void Fixture_GarbageAndTruncated_WarnAndKeepTheRest()
    {
        string good = File.ReadAllText(TestPaths.Fixture("symbols", "small", "proc", "kallsyms"));
        foreach (var text in new[] { Mangle.Truncate(good), Mangle.Garbage(good, 5), "zz T x\nffffffff81000000 TT y\nffffffff81000000 T z junk\n" })
        {
            var ctx = new ParseContext("kallsyms");
            var list = KallsymsParser.Parse(new StringReader(text), ctx);
            Assert.All(list, s => Assert.False(string.IsNullOrEmpty(s.Name)));
            if (text.Contains("zz T x")) { Assert.Equal(3, ctx.Issues.Count); Assert.Equal(3, ctx.Issues[2].LineNumber); }
        }
    }

    [Fact]
    public void KptrRestrict_IsAPermissionErrorWithRemedy()
    {
        var e = Assert.Throws<KernelDebugException>(() => KernelSymbolTable.Load(FixtureTree.Open("symbols", "kptr-hidden")));
        Assert.Equal("KernelSymbolAddressesHidden", e.ErrorId);
        Assert.Equal(KernelErrorCategory.PermissionDenied, e.Category);
        Assert.Contains("kptr_restrict", e.Remedy);
    }

    [Fact]
    public void Live_ResolvesAKnownFunctionBackToItself()
    {
        var t = KernelSymbolTable.Load(KernelRoot.Live);
        Assert.True(t.Count > 10_000, $"only {t.Count} symbols");
        var schedule = t.Find(n => n == "schedule").First(s => s.IsFunction);
        var loc = t.Resolve(schedule.Address + 4)!;
        Assert.Equal(4, loc.Offset);
        Assert.Contains(loc.Symbol.Name, new[] { "schedule" }.Concat(t.Find(n => true).Where(s => s.Address == schedule.Address).Select(s => s.Name)));
        Assert.True(schedule.Size > 0);
    }

    [Fact]
    public void Folded_ParsesMergesAndKeepsBadLinesOut()
    {
        var ctx = new ParseContext("x.folded");
        var stacks = FoldedStackParser.Parse(new StringReader("a;b;c 3\na;b;c 2\na;d 1\nno count here\n\n a;b 0x\n"), ctx).ToList();
        Assert.Equal(3, stacks.Count);
        Assert.Equal(2, ctx.Issues.Count);
        var merged = FoldedStackParser.Merge(stacks);
        Assert.Equal(["a;b;c 5", "a;d 1"], merged.Select(s => s.ToString()));
        Assert.Equal("bash;entry;read 1", FoldedStack.FromLeafFirst(["read", "entry"], 1, "bash").ToString());
        Assert.Equal("x:y 1", FoldedStack.FromLeafFirst(["x;y"], 1).ToString());
    }

    [Fact]
    public void FlameGraph_HasOneBoxPerDistinctPathWithProportionalWidth()
    {
        var svg = FlameGraphWriter.Render([new(["main", "work", "hot"], 75), new(["main", "idle"], 25)], "t", 1020);
        // Boxes: all, main, work, hot, idle; width is the share of samples of the 1000 px between the paddings.
        Assert.Equal(5, System.Text.RegularExpressions.Regex.Matches(svg, "<g class=\"frame\"").Count);
        var hot = System.Text.RegularExpressions.Regex.Match(svg, "data-name=\"hot\"[^>]*>.*?width=\"([0-9.]+)\"");
        Assert.Equal(750.0, double.Parse(hot.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), 1);
        Assert.Contains("No samples.", FlameGraphWriter.Render([]));
        Assert.Equal("abcdefghij", FlameGraphWriter.Fit("abcdefghij", 80));
        Assert.Equal("abcd..", FlameGraphWriter.Fit("abcdefghij", 50));
    }
}
