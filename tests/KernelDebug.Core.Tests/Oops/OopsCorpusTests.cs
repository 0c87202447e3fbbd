using System.Text;
using KernelDebug.Core.Oops;
using OopsDescription = KernelDebug.Core.Oops.OopsDescription;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests.Oops;

/// <summary>
/// Scores the parser on syzkaller's public crash corpus (development split in ../shared/fixtures/oops/syzkaller)
/// and asserts floors just below the reached score: floors only go up.
/// Set KERNELDEBUG_OOPS_CORPUS to score another folder of cases in the same format (floors are then not asserted).
/// </summary>
public sealed class OopsCorpusTests(ITestOutputHelper output)
{
    // Floors: just below what the parser reaches on the development split. Raise them, never lower them.
    private const double DetectionFloor = 0.995;
    private const double CategoryFloor = 0.995;
    private const double FrameFloor = 0.995;
    private const double TitleFloor = 0.995;
    private const double AltFloor = 0.995;
    private const double CorruptedPrecisionFloor = 0.99;
    private const double CorruptedRecallFloor = 0.99;
    private const double GuiltyFileFloor = 0.9;
    private const double CodeDecodedFloor = 0.99;
    private const double NullExplainedFloor = 1.0;
    private const double PanickedFloor = 0.99;   // ours is per report: a panic after later reports is theirs, not the first one's

    private static readonly System.Text.RegularExpressions.Regex SourceFrame = new(
        @"\+0x[0-9a-f]+/0x[0-9a-f]+ (?:\[[^\]]+\] )?[A-Za-z0-9_/.-]+\.[chS]:[0-9]+|^\s*[A-Za-z0-9_.]+ [A-Za-z0-9_/.-]+\.[chS]:[0-9]+ \[inline\]");

    private sealed class Tally
    {
        public int N, Ok;
        public void Add(bool ok) { N++; if (ok) Ok++; }
        public double Rate => N == 0 ? 1 : (double)Ok / N;
        public override string ToString() => $"{Rate * 100,6:F1} % ({Ok}/{N})";
    }

    /// <summary>
    /// The product path: each log as a file read by the kernel-log readers (format detection, continuation lines)
    /// that Get-KernelOops -Path uses, must title as well as the raw console path the score above measures.
    /// </summary>
    [Fact]
    public void CorpusTitles_ThroughTheLogFileReader()
    {
        string dir = Path.Combine(TestPaths.SharedFixtures, "oops", "syzkaller");
        if (!Directory.Exists(dir)) Assert.Skip($"crash corpus not found at {dir}");
        string tmp = Directory.CreateTempSubdirectory("kd-corpus-").FullName;
        try
        {
            Tally title = new();
            var misses = new StringBuilder();
            var files = Directory.GetFiles(dir).Where(f => !Path.GetFileName(f).Contains('.')).ToArray();
            // A rate over no cases is 1: an empty or misplaced corpus must fail, not pass.
            Assert.NotEmpty(files);
            foreach (var path in files)
            {
                var c = CorpusCase.Load(path);
                string file = Path.Combine(tmp, c.Name + ".log");
                File.WriteAllText(file, c.Log);
                var all = KernelOopsParser.Parse(Kmsg.KernelLog.ReadFile(file, new Parsing.ParseContext(file))).ToList();
                var got = all.MinBy(o => o.StartLine);
                // The file path Get-KernelOops -Path takes skips lines far from any header: the same reports.
                var fast = KernelOopsParser.ParseFile(file, new Parsing.ParseContext(file)).ToList();
                Assert.Equal(OopsPasteTests.Summary(all), OopsPasteTests.Summary(fast));
                bool ok = (got?.Title ?? "") == (c.HasCrash ? c.Title : "");
                title.Add(ok);
                if (!ok) misses.AppendLine($"{c.Name}: expected '{c.Title}', got '{got?.Title}'");
            }
            output.WriteLine($"exact title through KernelLog.ReadFile: {title}");
            output.WriteLine(misses.ToString());
            Assert.True(title.Rate >= TitleFloor, $"{title}\n{misses}");
        }
        finally { Directory.Delete(tmp, true); }
    }

    [Fact]
    public void CorpusScore()
    {
        string dir = Environment.GetEnvironmentVariable("KERNELDEBUG_OOPS_CORPUS") is { Length: > 0 } env
            ? env : Path.Combine(TestPaths.SharedFixtures, "oops", "syzkaller");
        bool development = Environment.GetEnvironmentVariable("KERNELDEBUG_OOPS_CORPUS") is not { Length: > 0 };
        if (!Directory.Exists(dir)) Assert.Skip($"crash corpus not found at {dir}");
        var files = Directory.GetFiles(dir).Where(f => !Path.GetFileName(f).Contains('.')).OrderBy(f => f, StringComparer.Ordinal).ToArray();
        Assert.NotEmpty(files);

        Tally detection = new(), category = new(), frame = new(), title = new(), alt = new(), panicked = new();
        var perKind = new SortedDictionary<string, (Tally Title, Tally Frame)>(StringComparer.Ordinal);
        int tp = 0, fp = 0, fn = 0;
        var perType = new SortedDictionary<string, (Tally Detect, Tally Title, Tally Frame)>(StringComparer.Ordinal);
        var misses = new StringBuilder();
        // Explanations: guilty file/module filled where the report carries them, Code: decoded, NULL + offset named.
        Tally guiltyFile = new(), guiltyModule = new(), codeDecoded = new(), nullExplained = new(), accessMatches = new();
        var nullMisses = new StringBuilder();
        int nullNamed = 0;
        foreach (var path in files)
        {
            var c = CorpusCase.Load(path);
            KernelOops? got = null;
            var ex = Record.Exception(() => got = KernelOopsParser.Parse(ConsoleText.Split(c.Log, c.Name)).MinBy(o => o.StartLine));
            Assert.Null(ex);
            if (got is not null)
            {
                if (got.Lines.Any(l => SourceFrame.IsMatch(l)))
                {
                    guiltyFile.Add(got.GuiltyFile is not null);
                    if (got.GuiltyFile is null) nullMisses.AppendLine($"{c.Name}: frames carry file:line, no GuiltyFile");
                }
                if (got.Frames.Any(f => f.Module is not null) || got.InstructionPointer?.Module is not null)
                {
                    guiltyModule.Add(got.GuiltyModule is not null);
                    if (got.GuiltyModule is null) nullMisses.AppendLine($"{c.Name}: module frames, no GuiltyModule (guilty {got.GuiltyFrame})");
                }
                if (got.Code is { } code && code.Bytes.Count > 0)
                {
                    codeDecoded.Add(code.Decoded && code.FaultingInstruction is not null);
                    if (!code.Decoded || code.FaultingInstruction is null) nullMisses.AppendLine($"{c.Name}: Code: bytes, no faulting instruction ({code.NotDecodedReason ?? code.Text})");
                }
                if (got.Kind is OopsKind.PageFault or OopsKind.NullPointerDereference or OopsKind.GeneralProtectionFault &&
                    got.FaultingAccess?.Address is not null && got.FaultAddress is not null)
                {
                    accessMatches.Add(got.FaultingAccess.MatchesFaultAddress == true);
                    if (got.FaultingAccess.MatchesFaultAddress != true) nullMisses.AppendLine($"{c.Name}: {got.FaultingAccess.Explanation}");
                }
                if (got.FaultingAccess?.NullPointerOffset is not null) nullNamed++;
                bool nullDeref = got.Kind == OopsKind.NullPointerDereference || got.Lines.Any(l => l.Contains("null-ptr-deref", StringComparison.Ordinal));
                if (nullDeref && got.Code is { Decoded: true, UserMode: false } nc && nc.FaultingInstruction is not null)
                {
                    bool ok = got.FaultingAccess?.NullPointerOffset is not null;
                    nullExplained.Add(ok);
                    if (!ok) nullMisses.AppendLine($"{c.Name}: {got.FaultingInstruction} -> {got.FaultingAccess?.Explanation ?? "(no memory operand)"}");
                }
            }
            detection.Add(c.HasCrash == (got is not null));
            string typeKey = c.HasCrash ? c.Type ?? "(none)" : "(no crash)";
            if (!perType.TryGetValue(typeKey, out var pt)) perType[typeKey] = pt = (new Tally(), new Tally(), new Tally());
            pt.Detect.Add(c.HasCrash == (got is not null));
            if (!c.HasCrash)
            {
                if (got is not null) misses.AppendLine($"{c.Name}: no crash expected, got '{got.Title}'");
                continue;
            }
            bool titleOk = got?.Title == c.Title;
            title.Add(titleOk);
            pt.Title.Add(titleOk);
            panicked.Add(got is not null && got.Panicked == c.Panicked);
            string kindKey = got?.Kind.ToString() ?? "(not found)";
            if (!perKind.TryGetValue(kindKey, out var pk)) perKind[kindKey] = pk = (new Tally(), new Tally());
            pk.Title.Add(titleOk);
            category.Add(got is not null && got.Category == c.Type);
            string? expectFrame = c.Frame ?? OopsDescription.FrameFromTitle(c.Title);
            if (expectFrame is not null)
            {
                bool ok = got?.GuiltyFrame == expectFrame;
                frame.Add(ok);
                pt.Frame.Add(ok);
                pk.Frame.Add(ok);
            }
            var gotAlt = got?.AltTitles ?? [];
            alt.Add(c.Alt.ToHashSet().SetEquals(gotAlt));
            bool gotCorrupted = got?.Corrupted ?? false;
            if (gotCorrupted && c.Corrupted) tp++;
            else if (gotCorrupted) fp++;
            else if (c.Corrupted) fn++;
            if (!titleOk || got?.Category != c.Type || gotCorrupted != c.Corrupted)
                misses.AppendLine($"{c.Name}: want '{c.Title}' [{c.Type}] corrupted={c.Corrupted}; got '{got?.Title}' [{got?.Category}] corrupted={gotCorrupted} ({got?.CorruptedReason})");
        }
        double precision = tp + fp == 0 ? 1 : (double)tp / (tp + fp);
        double recall = tp + fn == 0 ? 1 : (double)tp / (tp + fn);

        var sb = new StringBuilder();
        sb.AppendLine($"Crash-report corpus: {dir} ({files.Length} cases)");
        sb.AppendLine($"  detection          {detection}");
        sb.AppendLine($"  kind (TYPE)        {category}");
        sb.AppendLine($"  guilty frame       {frame}");
        sb.AppendLine($"  exact title        {title}");
        sb.AppendLine($"  alt titles         {alt}");
        sb.AppendLine($"  panicked           {panicked}");
        sb.AppendLine($"  corrupted precision {precision * 100,5:F1} % (tp {tp}, fp {fp})");
        sb.AppendLine($"  corrupted recall    {recall * 100,5:F1} % (tp {tp}, fn {fn})");
        sb.AppendLine($"  GuiltyFile filled   {guiltyFile} of reports whose lines carry file:line frames");
        sb.AppendLine($"  GuiltyModule filled {guiltyModule} of reports with module frames");
        sb.AppendLine($"  Code: decoded       {codeDecoded} of reports with Code: bytes (faulting instruction found)");
        sb.AppendLine($"  access = fault addr {accessMatches} of page faults/GPFs whose faulting access was evaluated");
        sb.AppendLine($"  NULL + offset       {nullExplained} of NULL dereferences with a decoded Code: line");
        sb.AppendLine($"  NULL + offset named in {nullNamed} reports in all (KASAN shadow checks of GPFs included)");
        sb.AppendLine("  per expected TYPE:                 detection       exact title     guilty frame");
        foreach (var (k, v) in perType)
            sb.AppendLine($"    {k,-32} {v.Detect,-16}{v.Title,-16}{v.Frame}");
        sb.AppendLine("  per parsed Kind:                   exact title     guilty frame");
        foreach (var (k, v) in perKind)
            sb.AppendLine($"    {k,-32} {v.Title,-16}{v.Frame}");
        string report = sb.ToString();
        output.WriteLine(report);
        Directory.CreateDirectory(Path.Combine(TestPaths.RepoRoot, "out"));
        File.WriteAllText(Path.Combine(TestPaths.RepoRoot, "out", "oops-corpus-score.txt"), report);
        File.WriteAllText(Path.Combine(TestPaths.RepoRoot, "out", "oops-corpus-mismatches.txt"), misses.ToString());
        output.WriteLine("Without GuiltyFile, or NULL dereferences without a NULL + offset explanation:\n" + nullMisses);

        if (!development) return;
        // Every floor below is a rate; a rate over no cases is 1 and proves nothing.
        Assert.All(new[] { detection, category, frame, title, alt, panicked }, t => Assert.True(t.N > 0, "a metric scored no case"));
        Assert.True(detection.Rate >= DetectionFloor, $"detection {detection} below floor {DetectionFloor}");
        Assert.True(category.Rate >= CategoryFloor, $"kind {category} below floor {CategoryFloor}");
        Assert.True(frame.Rate >= FrameFloor, $"guilty frame {frame} below floor {FrameFloor}");
        Assert.True(title.Rate >= TitleFloor, $"title {title} below floor {TitleFloor}");
        Assert.True(alt.Rate >= AltFloor, $"alt titles {alt} below floor {AltFloor}");
        Assert.True(precision >= CorruptedPrecisionFloor, $"corrupted precision {precision} below floor");
        Assert.True(recall >= CorruptedRecallFloor, $"corrupted recall {recall} below floor");
        Assert.True(guiltyFile.Rate >= GuiltyFileFloor, $"GuiltyFile {guiltyFile} below floor {GuiltyFileFloor}");
        Assert.True(codeDecoded.Rate >= CodeDecodedFloor, $"Code: decoded {codeDecoded} below floor {CodeDecodedFloor}");
        Assert.True(nullExplained.Rate >= NullExplainedFloor, $"NULL + offset {nullExplained} below floor {NullExplainedFloor}");
        Assert.True(panicked.Rate >= PanickedFloor, $"panicked {panicked} below floor {PanickedFloor}");
    }
}
