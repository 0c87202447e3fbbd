using System.Management.Automation;
using System.Threading.Channels;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Journal;
using KernelDebug.Core.Kmsg;
using KernelDebug.Core.Oops;
using KernelDebug.Core.Parsing;
using KernelDebug.PowerShell.Infrastructure;
using KernelDebug.PowerShell.Kmsg;

namespace KernelDebug.PowerShell.Oops;

/// <summary>
/// <para type="synopsis">Finds the crash reports (oopses, BUGs, WARNINGs, KASAN, lockdep, hung tasks, RCU stalls, lockups, panics) in kernel messages and returns each one classified, titled and grouped.</para>
/// <para type="description">Get-KernelOops reads kernel messages from the pipeline (Get-KernelMessage | Get-KernelOops, Receive-NetConsole | Get-KernelOops, each sender scanned on its own), from log files (-Path: console captures, dmesg output, kern.log, vmcore-dmesg.txt, journal files), from a boot of the systemd journal (-Boot -1 is the previous boot), from the crash logs the machine kept (-Archived: /sys/fs/pstore, systemd-pstore's /var/lib/systemd/pstore, kdump's /var/crash), or the live kernel log, and returns one KernelOops record per crash report. Each record has the report's Kind, a one-line Title in the conventions of syzkaller (the largest public crash corpus), the GuiltyFrame (the first function that is not reporting, locking, allocation or entry code), a Signature that is the same for the same bug on any machine, and the details the report carries: Time and Uptime, Cpu, ProcessId, Command, taint, kernel release, hardware, the faulting instruction and address, error code, registers, the frames of the call trace with their stack context (IRQ, TASK, NMI), the linked-in modules, KASAN/KFENCE access details with the allocation and free stacks, whether the kernel panicked, the line range and the raw lines. A report that is truncated or interleaved with other output is still returned, with Corrupted set and the reason. Reports are written as soon as they end, so a long log streams. Segfaults of user programs and OOM kills are not crash reports (see Get-KernelOomEvent).</para>
/// </summary>
/// <example>
///   <code>Get-KernelOops -Path /var/crash/*/vmcore-dmesg.txt | Group-Object Signature | Sort-Object Count -Descending | Select-Object Count, @{n='Title';e={$_.Group[0].Title}}</code>
///   <para>Counts the distinct bugs behind the crash dumps kdump saved, most frequent first.</para>
/// </example>
/// <example>
///   <code>Get-KernelMessage | Get-KernelOops -Kind Warning, Lockdep -Since (Get-Date).AddDays(-1)</code>
///   <para>Lists the WARNINGs and lockdep reports of the last day from the live kernel log.</para>
/// </example>
/// <example>
///   <code>Get-KernelOops -Path ./console.log | Where-Object Panicked | Format-List Title, GuiltyFrame, InstructionPointer, FaultAddress, Frames</code>
///   <para>Shows the report that took the machine down, with its faulting instruction and call trace.</para>
/// </example>
/// <example>
///   <code>Get-KernelOops -Path ./console.log -Syntax Att | Select-Object -First 1 -ExpandProperty Code | Select-Object -ExpandProperty Instructions</code>
///   <para>Lists the instructions around the faulting one in AT&amp;T syntax, as objdump and the kernel's scripts/decodecode print them; the faulting one has Faulting set.</para>
/// </example>
/// <example>
///   <code>Get-KernelOops -Path ./console.log | Where-Object { $_.FaultingAccess.NullPointerOffset -ne $null } | Format-List Title, FaultingInstruction, FaultingAccess, GuiltyFile, GuiltyModule</code>
///   <para>Shows the NULL pointer dereferences with the field offset the faulting instruction used (mov rax, qword ptr [rbx+10h] with RBX 0 reads 0x10), the guilty source file and the guilty module with its taint letters.</para>
/// </example>
/// <example>
///   <code>Get-KernelOops -Path ./fleet/*.log | Where-Object { $_.GuiltyModule.Proprietary } | Group-Object { $_.GuiltyModule.Name }</code>
///   <para>Counts the crashes that a proprietary (P-tainted) driver caused, per driver.</para>
/// </example>
/// <example>
///   <code>Get-KernelOops -Boot -1 | Format-List Title, Panicked, GuiltyFrame, Frames</code>
///   <para>The crash reports of the previous boot, from the systemd journal: what happened before the last unexplained reboot.</para>
/// </example>
/// <example>
///   <code>Get-KernelOops -Archived | Select-Object Time, Title, Source</code>
///   <para>The crash reports the machine kept in pstore, in systemd-pstore's archive (/var/lib/systemd/pstore) and in kdump's /var/crash, without naming paths.</para>
/// </example>
/// <example>
///   <code>Receive-NetConsole | Get-KernelOops | ForEach-Object { Write-Warning "$($_.Source): $($_.Title)" }</code>
///   <para>A live crash detector for a fleet: every crash report sent by netconsole to this machine, per sender.</para>
/// </example>
/// <example>
///   <code>Get-ChildItem ./serial-logs -Filter *.log | Get-KernelOops | Export-Csv oopses.csv</code>
///   <para>Exports every crash report of a folder of console captures to CSV, one row per report.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "KernelOops", DefaultParameterSetName = LiveSet)]
[OutputType(typeof(KernelOops))]
public sealed class GetKernelOopsCommand : LogSourceCmdlet
{
    private const string InputSet = "InputObject";
    private const string ArchivedSet = "Archived";

    // One scanner per sender: netconsole interleaves machines, and a report must not take lines of another.
    private readonly Dictionary<string, (OopsScanner Scanner, ParseContext Context)> _scanners = new(StringComparer.Ordinal);
    private int _undated;
    // Logs piped one by one are read in one pump at the end: a pump per input record would race its own
    // completion against the next record.
    private readonly List<LogSource> _sources = new();

    /// <summary>
    /// <para type="description">Kernel messages, usually piped from Get-KernelMessage or Receive-NetConsole. Reports are found across the messages of one pipeline, in order, separately for each sender.</para>
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = InputSet, ValueFromPipeline = true)]
    public KernelMessage? InputObject { get; set; }

    /// <summary>
    /// <para type="description">Reads the crash logs the machine (or the tree of -Root) kept from earlier boots: the pstore file system (/sys/fs/pstore), systemd-pstore's archive (/var/lib/systemd/pstore/&lt;id&gt;/dmesg-*.txt and dmesg.txt) and kdump-tools' /var/crash/&lt;time&gt;/dmesg.&lt;time&gt;. Each report's Source names its file.</para>
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = ArchivedSet)]
    public SwitchParameter Archived { get; set; }

    /// <summary>
    /// <para type="description">Only reports of these kinds (e.g. Warning, Kasan, Lockdep, HungTask, RcuStall, SoftLockup, Panic).</para>
    /// </summary>
    [Parameter]
    public OopsKind[]? Kind { get; set; }

    /// <summary>
    /// <para type="description">Only reports that began at or after this time. Reports from logs that record no wall-clock time are left out (a warning says how many).</para>
    /// </summary>
    [Parameter]
    public DateTimeOffset? Since { get; set; }

    /// <summary>
    /// <para type="description">Assembly syntax of the decoded Code: bytes of x86 reports: Intel (default, mov rax, qword ptr [rbx+10h]) or Att (mov 0x10(%rbx),%rax, as objdump and scripts/decodecode print it). arm64 and arm code has one syntax.</para>
    /// </summary>
    [Parameter]
    public CodeSyntax Syntax { get; set; } = CodeSyntax.Intel;

    private OopsSymbolizer? _symbolizer;

    /// <summary>Syntax and after-the-fact symbolization (kallsyms of this kernel, for reports of its release).</summary>
    private KernelOops Finish(KernelOops o)
    {
        o = _symbolizer!.Symbolize(o);
        return Syntax == CodeSyntax.Intel ? o : OopsExplainer.WithSyntax(o, Syntax);
    }

    /// <inheritdoc />
    protected override void Process()
    {
        // Made here, on the pipeline thread: resolving -Root needs the session.
        _symbolizer ??= OopsSymbolizer.ForRoot(KernelRoot);
        if (ParameterSetName == InputSet)
        {
            if (InputObject is null) return;
            string key = InputObject.Sender ?? "";
            if (!_scanners.TryGetValue(key, out var s))
            {
                var ctx = new ParseContext(InputObject.Source ?? "pipeline");
                _scanners[key] = s = (new OopsScanner(ctx), ctx);
            }
            foreach (var o in s.Scanner.Push(InputObject)) Emit(o);
            WriteIssues(s.Context);
        }
        else if (ReadsPaths) _sources.AddRange(ResolveSources());
    }

    /// <inheritdoc />
    protected override void End()
    {
        _symbolizer ??= OopsSymbolizer.ForRoot(KernelRoot);
        if (ParameterSetName == InputSet)
        {
            foreach (var (scanner, ctx) in _scanners.Values)
            {
                foreach (var o in scanner.Complete()) Emit(o);
                WriteIssues(ctx);
            }
        }
        else if (ParameterSetName == ArchivedSet)
        {
            var ctx = new ParseContext("crash archives");
            var archives = CrashArchives.Find(KernelRoot, ctx);
            WriteIssues(ctx);
            if (archives.Count == 0)
                WriteVerbose($"No crash archive under {string.Join(", ", CrashArchives.Places.Select(KernelRoot.Resolve))}.");
            foreach (var a in archives)
                foreach (var o in a.Reports) Emit(o);
        }
        else
        {
            if (ReadsRootJournal) _sources.Add(RootJournal());
            if (_sources.Count > 0) Pump((writer, token) => Task.Run(() => ReadSources(_sources, writer, token), token));
            else if (ParameterSetName == LiveSet)
            {
                var ctx = new ParseContext("/dev/kmsg");
                var messages = KernelLog.ReadDevice(KernelRoot, ctx, follow: false, CancellationToken.None);
                Pump((writer, token) => Task.Run(async () =>
                {
                    foreach (var o in KernelOopsParser.Parse(messages.TakeWhile(_ => !token.IsCancellationRequested), ctx))
                        if (Keep(o)) await writer.WriteAsync(Finish(o), token).ConfigureAwait(false);
                    foreach (var i in ctx.Drain()) await writer.WriteAsync(i, token).ConfigureAwait(false);
                }, token));
            }
        }
        if (_undated > 0)
            WriteWarning($"{_undated} crash report(s) were left out by -Since because their log records no wall-clock time.");
    }

    private async Task ReadSources(List<LogSource> sources, ChannelWriter<object> writer, CancellationToken token)
    {
        foreach (var source in sources)
        {
            token.ThrowIfCancellationRequested();
            var ctx = new ParseContext(source.Name);
            await writer.WriteAsync(new VerboseMessage($"Reading crash reports from {source.Name}"), token).ConfigureAwait(false);
            var reports = KernelOopsParser.Parse(source, ctx, token).GetEnumerator();
            while (true)
            {
                KernelOops? o;
                try
                {
                    if (!reports.MoveNext()) break;
                    o = reports.Current;
                }
                catch (KernelDebugException e) when (e.ErrorId is not ("BootNotFound" or "LibsystemdNotFound"))
                {
                    await writer.WriteAsync(e, token).ConfigureAwait(false);
                    break;
                }
                foreach (var issue in ctx.Drain()) await writer.WriteAsync(issue, token).ConfigureAwait(false);
                if (Keep(o)) await writer.WriteAsync(Finish(o), token).ConfigureAwait(false);
            }
            reports.Dispose();
            foreach (var issue in ctx.Drain()) await writer.WriteAsync(issue, token).ConfigureAwait(false);
        }
    }

    private void Emit(KernelOops o)
    {
        if (Keep(o)) WriteObject(Finish(o));
    }

    // Runs on the pump's reader thread too: only the counter is shared.
    private bool Keep(KernelOops o)
    {
        if (Kind is { Length: > 0 } && Array.IndexOf(Kind, o.Kind) < 0) return false;
        if (Since is { } since)
        {
            if (o.Time is null) { Interlocked.Increment(ref _undated); return false; }
            if (o.Time < since) return false;
        }
        return true;
    }
}
