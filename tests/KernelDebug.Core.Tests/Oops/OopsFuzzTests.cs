using System.Text;
using KernelDebug.Core.Oops;
using KernelDebug.Core.Parsing;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests.Oops;

/// <summary>Random and mutated logs: the parser may warn or mark reports corrupted, never throw.</summary>
public sealed class OopsFuzzTests
{
    // Fragments that steer random text into the report formats' code paths.
    private static readonly string[] Fragments =
    [
        "BUG: KASAN: use-after-free in ", "WARNING: CPU: 0 PID: 1 at ", "Call Trace:", " ? ", "+0x1f/0x30", "<IRQ>", "</IRQ>",
        "Kernel panic - not syncing: ", "INFO: task ", " blocked for more than 120 seconds.", "RIP: 0010:", "Read of size 8 at addr ",
        "Allocated by task 1:", "Freed by task 1:", "backtrace:", "BUG: memory leak", "_RNvB", "_ZN3", "[  1.0][ T1] ", "[ 2.5] ",
        "general protection fault: 0000 [#1]", "INFO: rcu_sched self-detected stall", "UBSAN: ", "BUG: KFENCE: ", "Oops: ", "\t", "\u0000",
        "apic_timer_interrupt+0x1/0x2", "is trying to acquire lock:", "at: foo+0x1/0x2", "(?:.*\\n)+?", "---[ end Kernel panic",
    ];

    private static void MustNotThrow(string text, string what)
    {
        var ctx = new ParseContext(what);
        var ex = Record.Exception(() =>
        {
            foreach (var o in KernelOopsParser.Parse(ConsoleText.Split(text, what), ctx))
            {
                Assert.False(string.IsNullOrEmpty(o.Signature));
                Assert.NotNull(o.Title);
                Assert.True(o.EndLine >= o.StartLine, $"{what}: end {o.EndLine} before start {o.StartLine}");
            }
        });
        Assert.True(ex is null, $"{what}: {ex}");
        // The analyser turns its own exceptions into a corrupted report and a warning: that warning is the crash.
        var failed = ctx.Issues.FirstOrDefault(i => i.Message.StartsWith(OopsAnalyzer.AnalysisFailed, StringComparison.Ordinal));
        Assert.True(failed is null, $"{what}: {failed}");
    }

    [Fact]
    public void RandomText()
    {
        for (int seed = 0; seed < 150; seed++)
        {
            var rng = new Random(seed);
            var sb = new StringBuilder();
            while (sb.Length < 4000)
            {
                if (rng.Next(3) == 0) sb.Append(Fragments[rng.Next(Fragments.Length)]);
                else sb.Append(Mangle.RandomText(rng.Next(1, 60), seed * 31 + sb.Length));
                if (rng.Next(4) == 0) sb.Append('\n');
            }
            MustNotThrow(sb.ToString(), $"random#{seed}");
        }
    }

    [Fact]
    public void RandomBytes()
    {
        for (int seed = 0; seed < 50; seed++)
        {
            var bytes = new byte[8192];
            new Random(seed).NextBytes(bytes);
            MustNotThrow(Encoding.Latin1.GetString(bytes), $"bytes#{seed}");
            MustNotThrow(Encoding.UTF8.GetString(bytes), $"utf8#{seed}");
        }
    }

    [Fact]
    public void MutatedCorpusLogs()
    {
        string dir = Path.Combine(TestPaths.SharedFixtures, "oops", "syzkaller");
        if (!Directory.Exists(dir)) Assert.Skip($"crash corpus not found at {dir}");
        var files = Directory.GetFiles(dir).Where(f => !Path.GetFileName(f).Contains('.')).OrderBy(f => f, StringComparer.Ordinal).ToArray();
        Assert.NotEmpty(files);
        for (int i = 0; i < files.Length; i += 4)
        {
            string log = CorpusCase.Load(files[i]).Log;
            var rng = new Random(i);
            string name = Path.GetFileName(files[i]);
            MustNotThrow(Mangle.Garbage(log, i), $"{name}/garbage");
            MustNotThrow(Mangle.Truncate(log, rng.NextDouble()), $"{name}/truncated");
            var lines = log.Split('\n');
            // Shuffle a window of lines and splice fragments into others.
            for (int k = 0; k < lines.Length / 10; k++)
            {
                int a = rng.Next(lines.Length), b = rng.Next(lines.Length);
                (lines[a], lines[b]) = (lines[b], lines[a]);
                int c = rng.Next(lines.Length);
                lines[c] = lines[c].Insert(rng.Next(lines[c].Length + 1), Fragments[rng.Next(Fragments.Length)]);
            }
            MustNotThrow(string.Join('\n', lines), $"{name}/shuffled");
        }
    }
}
