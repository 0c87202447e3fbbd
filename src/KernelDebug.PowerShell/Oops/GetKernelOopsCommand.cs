using System.Management.Automation;
using System.Threading.Channels;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Kmsg;
using KernelDebug.Core.Oops;
using KernelDebug.Core.Parsing;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Oops;

/// <summary>
/// <para type="synopsis">Finds the crash reports (oopses, BUGs, WARNINGs, KASAN, lockdep, hung tasks, RCU stalls, lockups, panics) in kernel messages and returns each one classified, titled and grouped.</para>
/// <para type="description">Get-KernelOops reads kernel messages from the pipeline (Get-KernelMessage | Get-KernelOops) or from log files (-Path: console captures, dmesg output, kern.log, vmcore-dmesg.txt) and returns one KernelOops record per crash report. Each record has the report's Kind, a one-line Title in the conventions of syzkaller (the largest public crash corpus), the GuiltyFrame (the first function that is not reporting, locking, allocation or entry code), a Signature that is the same for the same bug on any machine, and the details the report carries: Time and Uptime, Cpu, ProcessId, Command, taint, kernel release, hardware, the faulting instruction and address, error code, registers, the frames of the call trace with their stack context (IRQ, TASK, NMI), the linked-in modules, KASAN/KFENCE access details with the allocation and free stacks, whether the kernel panicked, the line range and the raw lines. A report that is truncated or interleaved with other output is still returned, with Corrupted set and the reason. Reports are written as soon as they end, so a long log streams. Segfaults of user programs and OOM kills are not crash reports (see Get-KernelOomEvent).</para>
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
///   <code>Get-ChildItem ./serial-logs -Filter *.log | Get-KernelOops | Export-Csv oopses.csv</code>
///   <para>Exports every crash report of a folder of console captures to CSV, one row per report.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "KernelOops", DefaultParameterSetName = LiveSet)]
[OutputType(typeof(KernelOops))]
public sealed class GetKernelOopsCommand : KernelReaderCmdlet
{
    private const string LiveSet = "Live";
    private const string PathSet = "Path";
    private const string InputSet = "InputObject";

    private OopsScanner? _scanner;
    private ParseContext? _inputCtx;
    private int _undated;
    // Files piped one by one are read in one pump at the end: a pump per input record would race its own
    // completion against the next record.
    private readonly List<string> _files = new();

    /// <summary>
    /// <para type="description">Log files to read (wildcards allowed): console captures, dmesg output, kern.log, vmcore-dmesg.txt. Files piped from Get-ChildItem bind here.</para>
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = [];

    /// <summary>
    /// <para type="description">Kernel messages, usually piped from Get-KernelMessage. Reports are found across the messages of one pipeline, in order.</para>
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = InputSet, ValueFromPipeline = true)]
    public KernelMessage? InputObject { get; set; }

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
            _inputCtx ??= new ParseContext(InputObject.Source ?? "pipeline");
            _scanner ??= new OopsScanner(_inputCtx);
            foreach (var o in _scanner.Push(InputObject)) Emit(o);
            WriteIssues(_inputCtx);
        }
        else if (ParameterSetName == PathSet)
        {
            foreach (var p in Path)
            {
                try
                {
                    _files.AddRange(SessionState.Path.GetResolvedProviderPathFromPSPath(p, out _));
                }
                catch (ItemNotFoundException)
                {
                    WriteKernelError(KernelErrors.FileNotFound(p, "the crash-dump tooling or console capture that wrote it"));
                }
            }
        }
    }

    /// <inheritdoc />
    protected override void End()
    {
        _symbolizer ??= OopsSymbolizer.ForRoot(KernelRoot);
        if (ParameterSetName == InputSet && _scanner is not null)
        {
            foreach (var o in _scanner.Complete()) Emit(o);
            WriteIssues(_inputCtx!);
        }
        else if (ParameterSetName == PathSet && _files.Count > 0)
        {
            Pump((writer, token) => Task.Run(() => ReadFiles(_files, writer, token), token));
        }
        else if (ParameterSetName == LiveSet)
        {
            var ctx = new ParseContext("/dev/kmsg");
            var messages = OopsMessageSources.ReadLive(KernelRoot, ctx);
            Pump((writer, token) => Task.Run(async () =>
            {
                foreach (var o in KernelOopsParser.Parse(messages.TakeWhile(_ => !token.IsCancellationRequested), ctx))
                    if (Keep(o)) await writer.WriteAsync(Finish(o), token).ConfigureAwait(false);
                foreach (var i in ctx.Drain()) await writer.WriteAsync(i, token).ConfigureAwait(false);
            }, token));
        }
        if (_undated > 0)
            WriteWarning($"{_undated} crash report(s) were left out by -Since because their log records no wall-clock time.");
    }

    private async Task ReadFiles(List<string> files, ChannelWriter<object> writer, CancellationToken token)
    {
        foreach (var file in files)
        {
            token.ThrowIfCancellationRequested();
            var ctx = new ParseContext(file);
            IEnumerable<KernelOops> reports;
            try
            {
                reports = OopsMessageSources.ReadFile(file, ctx, token);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await writer.WriteAsync(e is UnauthorizedAccessException
                    ? KernelErrors.AccessDenied(file, "Run as root or read a copy of the file.", e)
                    : KernelErrors.FileNotFound(file, "the crash-dump tooling or console capture that wrote it"), token).ConfigureAwait(false);
                continue;
            }
            await writer.WriteAsync(new VerboseMessage($"Reading crash reports from {file}"), token).ConfigureAwait(false);
            foreach (var o in reports)
            {
                foreach (var issue in ctx.Drain()) await writer.WriteAsync(issue, token).ConfigureAwait(false);
                if (Keep(o)) await writer.WriteAsync(Finish(o), token).ConfigureAwait(false);
            }
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
