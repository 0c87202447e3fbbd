using KernelDebug.Core.Errors;
using KernelDebug.Core.Health;
using KernelDebug.Core.Inventory;
using KernelDebug.Core.Kmsg;
using KernelDebug.Core.Locking;
using KernelDebug.Core.Memory;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Procfs;
using KernelDebug.Core.Sysfs;
using KernelDebug.Core.Symbols;
using KernelDebug.Core.Tasks;
using KernelDebug.Core.Tracing;
using KernelDebug.TestSupport;
using Xunit;

namespace KernelDebug.Core.Tests;

/// <summary>
/// The readers and health checks over whole fixture roots, with the numbers of one file at a time rewritten past their
/// types' ranges: every reader that works on the good tree still works (warnings allowed, no exception), and no
/// health check turns into "could not be checked". Includes the reported case: a huge /proc/uptime.
/// </summary>
public sealed class ReaderFuzzTests(ITestOutputHelper output)
{
    private static readonly IReadOnlySet<TaskState> AllStates = Enum.GetValues<TaskState>().ToHashSet();

    /// <summary>Every reader of Core that takes a root, by name.</summary>
    private static readonly (string Name, Func<KernelRoot, ParseContext, object?> Read)[] Readers =
    [
        ("KernelInfo", (r, c) => KernelInfoReader.Read(r, c)),
        ("ProcStat", (r, c) => { var s = ProcStatReader.Read(r, c); return CpuStatCalculator.SinceBoot(s, true).ToList(); }),
        ("MemInfo", (r, c) => MemInfoReader.Read(r, c)),
        ("MemInfoNodes", (r, c) => MemInfoReader.ReadNodes(r, c)),
        ("LoadAverage", (r, c) => LoadAverageParser.Read(r, c)),
        ("PressureStall", (r, c) => PressureStallParser.Read(r, null, null, c, _ => { })),
        ("Slab", (r, c) => SlabReader.Read(r, SlabDetail.Full, c)),
        ("SlabSummary", (r, c) => SlabReader.ReadSummary(r, c)),
        ("LockStat", (r, c) => LockReader.ReadLockStat(r, c, out _)),
        ("LockdepClasses", (r, c) => LockReader.ReadClasses(r, c)),
        ("LockdepStatistics", (r, c) => LockReader.ReadStatistics(r, c)),
        ("Edac", (r, c) => EdacSysfs.Read(r, c)),
        ("EdacPci", (r, c) => EdacSysfs.ReadPci(r, c)),
        ("MachineCheckSettings", (r, c) => MachineCheckReader.ReadSettings(r, c)),
        ("MachineCheckLog", (r, c) => MachineCheckReader.ReadKernelLog(r, c)),
        ("BlockDisks", (r, c) => BlockDevices.ReadDisks(r)),
        ("KernelConfig", (r, c) => KernelConfigReader.Read(r, c).Options),
        ("Sysctl", (r, c) => SysctlReader.Read(r, null)),
        ("KernelLog", (r, c) => KernelLog.ReadDevice(r, c, false, CancellationToken.None).ToList()),
        ("Symbols", (r, c) => KernelSymbolTable.Load(r, c).Count),
        ("Manifest", (r, c) => SnapshotManifest.TryRead(r, c)),
        ("BlockedTasks", (r, c) => BlockedTaskReader.Read(r, AllStates, null, c, out _)),
        ("Capabilities", (r, c) => new DebugCapabilities(r).ProbeAll().ToList()),
        ("TraceEvents", (r, c) =>
        {
            var cat = new TraceEventCatalog(r, "sys/kernel/tracing", c);
            return (cat.Layout, cat.AvailableEvents.Select(cat.Get).ToList());
        }),
    ];

    // Readers without a parse context (device names, sysctl strings, capability probes): they must not throw, but have nowhere to warn.
    private static readonly HashSet<string> NoContext = ["BlockDisks", "Sysctl", "Capabilities"];

    public static TheoryData<string> Roots => new(
    [
        "inventory/db1", "inventory/web1", "memory/edac", "memory/slab", "memory/mce", "memory/lockdep",
        "kmsg/snapshot", "symbols/small", "tracing/live-6.18",
    ]);

    // Readers stamp records with the time they read them: not part of what was parsed.
    private static string Render(object? o) =>
        System.Text.RegularExpressions.Regex.Replace(ParserFuzzTests.Render(o), "\"(Timestamp|Time)\":\"[^\"]*\"", "");

    private static List<KernelHealthFinding> Health(KernelRoot root, out ParseContext issues)
    {
        var ctx = new HealthContext(root, new HealthThresholds(), TimeSpan.FromMilliseconds(50), CancellationToken.None);
        var findings = HealthCheckRunner.Run(HealthChecks.All, ctx).ToList();
        issues = ctx.Issues;
        return findings;
    }

    private static bool CouldNotCheck(KernelHealthFinding f) => f.Message.Contains("could not be checked", StringComparison.Ordinal);

    /// <summary>What each reader gives on the tree: its rendered output, or the type of the exception it threw.</summary>
    private static Dictionary<string, (string Output, int Issues, Exception? Error)> ReadAll(KernelRoot root)
    {
        var result = new Dictionary<string, (string, int, Exception?)>();
        foreach (var (name, read) in Readers)
        {
            var ctx = new ParseContext(root.Path);
            try { result[name] = (Render(read(root, ctx)), ctx.Issues.Count, null); }
            catch (Exception e) { result[name] = ("", ctx.Issues.Count, e); }
        }
        return result;
    }

    [Theory]
    [MemberData(nameof(Roots))]
    public void MutatedRoot_ReadersAndHealthChecksWarnAndNeverThrow(string rootName)
    {
        using var tree = FixtureTree.CopyOf(rootName.Split('/'));
        var root = tree.Root;
        var baseline = ReadAll(root);
        // A reader may refuse a tree that lacks its files (a documented terminating error); it must not refuse more after the mutation.
        foreach (var (name, (_, _, error)) in baseline)
            Assert.True(error is null or KernelDebugException, $"{rootName}: {name} fails on the good tree: {error}");
        var baseHealth = Health(root, out _);
        int baseBlind = baseHealth.Count(CouldNotCheck);

        var files = Directory.EnumerateFiles(tree.Path, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith("README.md") && new FileInfo(f).Length < 512 * 1024)
            .OrderBy(f => f, StringComparer.Ordinal).ToList();
        var failures = new List<string>();
        int runs = 0;
        foreach (var file in files)
        {
            string original = File.ReadAllText(file);
            string rel = Path.GetRelativePath(tree.Path, file);
            // The release names the config file (boot/config-<release>): a changed release is another kernel, not a bad number.
            if (NumberMutations.CountTokens(original) == 0 || rel is "proc/sys/kernel/osrelease" or "proc/version") continue;
            // Every number of the file at once, one value per run: huge, negative, non-numeric, the edge of long, a huge double.
            var variants = new[] { "99999999999999999999999", "-1", "x7", "9223372036854775807", "1e30" }
                .Select(v => (Value: v, Text: NumberMutations.ReplaceAll(original, v), Strict: v is "99999999999999999999999" or "x7")).ToList();
            try
            {
                foreach (var (value, text, strict) in variants)
                {
                    string what = $"all numbers -> {value}";
                    runs++;
                    File.WriteAllText(file, text);
                    var now = ReadAll(root);
                    var changed = new List<string>();
                    bool warned = false;
                    foreach (var (name, (output, issues, error)) in now)
                    {
                        var b = baseline[name];
                        if (error is not null && b.Error is null)
                            failures.Add($"{rootName}/{rel} {what}: {name} threw {error.GetType().Name}: {error.Message} at {error.StackTrace?.Split('\n').FirstOrDefault()?.Trim()}");
                        if (output != b.Output && !NoContext.Contains(name)) changed.Add(name);
                        warned |= issues > b.Issues;
                    }
                    var health = Health(root, out var healthIssues);
                    foreach (var f in health.Where(CouldNotCheck).Skip(baseBlind))
                        failures.Add($"{rootName}/{rel} {what}: health check {f.CheckId} could not run: {f.Message}");
                    if (strict && changed.Count > 0 && !warned && healthIssues.Issues.Count == 0 && !now.Values.Any(v => v.Output.Contains(value)))
                        failures.Add($"{rootName}/{rel} {what}: {string.Join(", ", changed)} changed without a warning");
                }
            }
            finally { File.WriteAllText(file, original); }
        }
        output.WriteLine($"{rootName}: {files.Count} files, {runs} mutated trees, each read by {Readers.Length} readers and {HealthChecks.All.Count} health checks");
        Assert.True(runs > 0, $"{rootName}: no file with numbers");
        Assert.True(failures.Count == 0, $"{rootName}: {failures.Count} failures in {runs} mutated trees:\n" + string.Join('\n', failures.Take(30)));
    }

    private const string HugeUptime = "99999999999999999999999.99 1e30\n";

    [Fact]
    public void HugeUptime_KernelInfoWarnsNamingTheFile()
    {
        using var tree = FixtureTree.CopyOf("inventory", "web1");
        tree.File("proc/uptime", HugeUptime);
        var ctx = new ParseContext(tree.Path);
        var info = KernelInfoReader.Read(tree.Root, ctx);
        Assert.Null(info.Uptime);
        Assert.Equal("web1", info.HostName);             // the rest is still read
        Assert.NotNull(info.BootTime);
        var issue = Assert.Single(ctx.Issues);
        Assert.EndsWith("proc/uptime", issue.Source);
        Assert.Equal(1, issue.LineNumber);
        Assert.Contains("99999999999999999999999.99", issue.Text);
    }

    [Fact]
    public void HugeUptime_HealthCheckCompletesWithAWarning()
    {
        using var tree = FixtureTree.CopyOf("inventory", "web1");
        var good = Health(tree.Root, out _);
        tree.File("proc/uptime", HugeUptime);
        var findings = Health(tree.Root, out var issues);
        Assert.Equal(good.Select(f => f.CheckId), findings.Select(f => f.CheckId));
        Assert.Equal(good.Where(CouldNotCheck).Select(f => f.CheckId), findings.Where(CouldNotCheck).Select(f => f.CheckId)); // only what the tree lacks (dev/kmsg)
        Assert.Contains(issues.Issues, i => i.Source.EndsWith("proc/uptime") && i.LineNumber == 1);
    }

    [Fact]
    public void Writer_ReportOfAHugeUptimeTree_Renders()
    {
        using var tree = FixtureTree.CopyOf("inventory", "web1");
        tree.File("proc/uptime", HugeUptime);
        var ctx = new HealthContext(tree.Root, new HealthThresholds(), TimeSpan.FromMilliseconds(50), CancellationToken.None);
        var findings = HealthCheckRunner.Run(HealthChecks.All, ctx).ToList();
        string html = HealthReportWriter.Render(ctx.Info, findings, [], DateTimeOffset.Now);
        Assert.Contains("web1", html);
    }
}
