using System.Net;
using KernelDebug.Core.Kmsg;
using KernelDebug.Core.Oops;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Tests.Oops;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests;

/// <summary>Netconsole replay of the development crash corpus: the receiver must give the titles that reading the file gives.</summary>
public sealed class NetConsoleTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    // Every 25th crash case of the corpus, written to a file as the "reading the file" side.
    public static IEnumerable<(string Name, string File, IReadOnlyList<KernelMessage> Messages, string[] Titles)> Cases(string tmp)
    {
        string dir = Path.Combine(TestPaths.SharedFixtures, "oops", "syzkaller");
        Assert.SkipUnless(Directory.Exists(dir), $"crash corpus not found at {dir}");
        var files = Directory.GetFiles(dir).Where(f => !Path.GetFileName(f).Contains('.')).Order(StringComparer.Ordinal).ToArray();
        int taken = 0;
        for (int i = 0; i < files.Length; i += 25)
        {
            var c = CorpusCase.Load(files[i]);
            if (!c.HasCrash) continue;
            string file = Path.Combine(tmp, c.Name + ".log");
            File.WriteAllText(file, c.Log);
            var ctx = new ParseContext(file);
            var messages = KernelLog.ReadFile(file, ctx).ToList();
            var titles = KernelOopsParser.Parse(messages, ctx).Select(o => o.Title).ToArray();
            if (titles.Length == 0) continue;
            taken++;
            yield return (c.Name, file, messages, titles);
        }
        Assert.True(taken >= 10, $"only {taken} corpus cases");
    }

    private static string[] Titles(IEnumerable<KernelMessage> messages) => KernelOopsParser.Parse(messages).Select(o => o.Title).ToArray();

    [Fact]
    public void ExtendedRecords_FragmentedReorderedDuplicated_GiveTheFileTitles()
    {
        var tmp = Directory.CreateTempSubdirectory("kd-netcons-");
        try
        {
            int seed = 0;
            int replayed = 0;
            // Extended records always carry the kernel's timestamp; a capture without timestamps (printk.time=0) has no
            // extended equivalent to compare with, and the scanner reads untimed console text differently.
            foreach (var (name, _, messages, titles) in Cases(tmp.FullName).Where(c => c.Messages.All(m => m.Uptime is not null)))
            {
                replayed++;
                var ctx = new ParseContext("t");
                var decoder = new NetConsoleDecoder(ctx);
                var datagrams = NetConsoleSender.Scramble(NetConsoleSender.Extended(messages, release: "6.18.0-kd", fragmentAbove: 90), ++seed);
                var got = new List<KernelMessage>();
                foreach (var d in datagrams) got.AddRange(decoder.Feed("10.0.0.5", d, T0));
                got.AddRange(decoder.Flush(T0, all: true));
                Assert.Empty(ctx.Issues);
                Assert.Equal(messages.Select(m => m.Text), got.Select(m => m.Text));
                Assert.Equal(titles, Titles(got));
                Assert.All(got, m => Assert.Equal("10.0.0.5", m.Sender));
                Assert.Equal("6.18.0-kd", decoder.ReleaseOf("10.0.0.5"));
                Assert.Equal(0, decoder.Lost["10.0.0.5"]);
            }
            Assert.True(replayed >= 8, $"only {replayed} timed corpus cases");
        }
        finally { tmp.Delete(true); }
    }

    [Fact]
    public void PlainLines_GiveTheFileTitles()
    {
        var tmp = Directory.CreateTempSubdirectory("kd-netcons-");
        try
        {
            foreach (var (name, file, _, titles) in Cases(tmp.FullName))
            {
                var decoder = new NetConsoleDecoder(new ParseContext("t"));
                var got = new List<KernelMessage>();
                foreach (var d in NetConsoleSender.Plain(File.ReadAllText(file).Split('\n').SkipLast(1), linesPerDatagram: 3))
                    got.AddRange(decoder.Feed("10.0.0.6", d, T0));
                got.AddRange(decoder.Flush(T0, all: true));
                Assert.Equal(titles, Titles(got));
            }
        }
        finally { tmp.Delete(true); }
    }

    [Fact]
    public void Gaps_AreCountedPerSender_AndWarned()
    {
        var messages = Enumerable.Range(0, 200).Select(i => new KernelMessage { Text = $"line {i}", Level = KernelLogLevel.Info, Uptime = TimeSpan.FromMilliseconds(i) }).ToList();
        var ctx = new ParseContext("t");
        var decoder = new NetConsoleDecoder(ctx);
        var a = NetConsoleSender.Extended(messages, firstSequence: 1000, drop: new HashSet<long> { 1010, 1011, 1012, 1100 });
        var b = NetConsoleSender.Extended(messages, firstSequence: 1);
        var got = new List<KernelMessage>();
        for (int i = 0; i < Math.Max(a.Count, b.Count); i++)
        {
            if (i < a.Count) got.AddRange(decoder.Feed("10.0.0.1", a[i], T0));
            if (i < b.Count) got.AddRange(decoder.Feed("10.0.0.2", b[i], T0));
        }
        // Gaps further back than the reorder window are given up as lost without waiting.
        Assert.Equal(200, got.Count(m => m.Sender == "10.0.0.2"));
        var fromA = got.Where(m => m.Sender == "10.0.0.1").ToList();
        Assert.Equal(196, fromA.Count);
        Assert.Equal(4, decoder.Lost["10.0.0.1"]);
        Assert.Equal(0, decoder.Lost["10.0.0.2"]);
        Assert.Equal(3, fromA.Single(m => m.Sequence == 1013).LostMessages);
        Assert.Equal(1, fromA.Single(m => m.Sequence == 1101).LostMessages);
        Assert.Equal(2, ctx.Issues.Count(i => i.Source == "netconsole:10.0.0.1" && i.Message.Contains("lost")));
        Assert.Equal(fromA.Select(m => m.Sequence).Order(), fromA.Select(m => m.Sequence));

        // A record after a gap waits for the missing one for the reorder wait, then comes out with the loss counted.
        var small = new NetConsoleDecoder(new ParseContext("t"));
        var few = NetConsoleSender.Extended(messages.Take(4).ToList(), drop: new HashSet<long> { 3 });
        Assert.Empty(few.SelectMany(d => small.Feed("10.0.0.3", d, T0)));
        Assert.Empty(small.Flush(T0 + TimeSpan.FromMilliseconds(500)));
        var late = small.Flush(T0 + TimeSpan.FromSeconds(2));
        Assert.Equal([1L, 2L, 4L], late.Select(m => m.Sequence!.Value));
        Assert.Equal(1, late[2].LostMessages);
    }

    [Fact]
    public void Receiver_OnLoopback_SeparatesSenders_AndWritesTheirLogs()
    {
        var tmp = Directory.CreateTempSubdirectory("kd-netcons-");
        try
        {
            var cases = Cases(tmp.FullName).Where(c => c.Messages.All(m => m.Uptime is not null)).Take(2).ToList();
            string logs = Path.Combine(tmp.FullName, "logs");
            using var receiver = new NetConsoleReceiver(IPAddress.Loopback, 0, logs);
            var ctx = new ParseContext("t");
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var got = new List<KernelMessage>();
            var receiving = Task.Run(() =>
            {
                foreach (var m in receiver.Receive(ctx, cts.Token)) got.Add(m);
            });
            var ext = NetConsoleSender.Scramble(NetConsoleSender.Extended(cases[0].Messages, fragmentAbove: 200), 7);
            var plain = NetConsoleSender.Plain(File.ReadAllText(cases[1].File).Split('\n').SkipLast(1), 1);
            var t1 = Task.Run(() => NetConsoleSender.Send(receiver.LocalEndPoint, ext));
            var t2 = Task.Run(() => NetConsoleSender.Send(receiver.LocalEndPoint, plain));
            Task.WaitAll(t1, t2);
            // Past the reorder wait: everything sent has come out.
            cts.CancelAfter(NetConsoleDecoder.ReorderWait * 2);
            receiving.Wait(TimeSpan.FromSeconds(40));
            Assert.Empty(ctx.Issues);
            var senders = got.GroupBy(m => m.Sender!).ToList();
            Assert.Equal(2, senders.Count);
            Assert.All(senders, g => Assert.StartsWith("127.0.0.1:", g.Key));
            var titles = senders.Select(g => Titles(g)).ToList();
            Assert.Contains(titles, t => t.SequenceEqual(cases[0].Titles));
            Assert.Contains(titles, t => t.SequenceEqual(cases[1].Titles));
            receiver.Dispose();
            // The per-sender logs read back with the same titles.
            var files = Directory.GetFiles(logs);
            Assert.Equal(2, files.Length);
            var fromLogs = files.Select(f => Titles(KernelLog.ReadFile(f, new ParseContext(f)))).ToList();
            Assert.Contains(fromLogs, t => t.SequenceEqual(cases[0].Titles));
            Assert.Contains(fromLogs, t => t.SequenceEqual(cases[1].Titles));
        }
        finally { tmp.Delete(true); }
    }
}
