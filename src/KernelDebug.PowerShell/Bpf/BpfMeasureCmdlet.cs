using System.Diagnostics;
using System.Management.Automation;
using System.Threading.Channels;
using KernelDebug.Core.Bpf.Engine;
using KernelDebug.Core.Bpf.Tools;
using KernelDebug.Core.Errors;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Bpf;

/// <summary>
/// Base of the BPF measuring cmdlets: the sampling parameters (<see cref="SamplingCmdlet"/>), -Cgroup, -Top,
/// -NoProgramStatistics; the measurement runs on a background thread by Core's <see cref="BpfRunner"/>, with progress,
/// Ctrl+C in a console that still writes what was measured, and the meter disposed on every path.
/// Not generic, so the help generator finds the parameters' docs under this type's name.
/// </summary>
public abstract class BpfMeasureCmdlet : SamplingCmdlet
{
    private readonly Stopwatch _sinceInvocation = Stopwatch.StartNew();
    private long _missedEvents, _lostEvents, _uncounted;

    /// <summary>
    /// <para type="description">Only tasks in this cgroup or below it: a directory of a cgroup v2 or v1 file system (e.g. /sys/fs/cgroup/system.slice/docker.service), or a path relative to the v2 mount. Filtered in the kernel.</para>
    /// </summary>
    [Parameter]
    [ArgumentCompleter(typeof(CgroupPathCompleter))]
    public string? Cgroup { get; set; }

    /// <summary>
    /// <para type="description">Writes only the first N records of each interval (records come sorted, largest first).</para>
    /// </summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int Top { get; set; }

    /// <summary>
    /// <para type="description">Leaves kernel BPF statistics off: saves two clock reads per program run (for every BPF program on the machine while they are on, sampled 100 ms of every second), but OverheadPerEvent is then empty.</para>
    /// </summary>
    [Parameter]
    public SwitchParameter NoProgramStatistics { get; set; }

    /// <summary>Activity text for Write-Progress.</summary>
    protected abstract string Activity { get; }

    /// <summary>Validates the parameters and starts the meter (on the background thread).</summary>
    protected abstract IBpfMeter<object> StartMeter(Action<string> verbose);

    /// <summary>Checks the parameters on the pipeline thread, before anything is loaded.</summary>
    protected virtual void Validate() { }

    /// <summary>Filters/orders one interval's records before -Top (default: as the meter returned them).</summary>
    protected virtual IEnumerable<object> Shape(IEnumerable<object> records) => records;

    /// <summary>The task filter of -Cgroup plus the given process and thread ids.</summary>
    protected BpfTaskFilter Filter(IEnumerable<int>? processIds = null, IEnumerable<int>? threadIds = null) => new()
    {
        ProcessIds = processIds?.Distinct().ToArray() ?? [],
        ThreadIds = threadIds?.Distinct().ToArray() ?? [],
        Cgroup = Cgroup,
    };

    /// <inheritdoc />
    protected override void End()
    {
        var plan = Sampling;
        Validate();
        bool consoleStop = plan.Duration is null && CanReadCtrlC();
        bool savedTreat = false;
        if (consoleStop)
        {
            savedTreat = Console.TreatControlCAsInput;
            Console.TreatControlCAsInput = true;
        }
        try
        {
            Pump((writer, token) => Task.Run(() => Measure(plan, writer, consoleStop, token), token));
        }
        finally
        {
            if (consoleStop) Console.TreatControlCAsInput = savedTreat;
        }
        long lost = Interlocked.Read(ref _lostEvents);
        if (lost > 0)
            WriteWarning($"The kernel could not write {lost} events because the BPF ring buffer was full: they are missing from the output. Narrow with -ProcessId, -Name or -Cgroup.");
        long missed = Interlocked.Read(ref _missedEvents);
        if (missed > 0)
            WriteWarning($"The kernel skipped {missed} runs of the programs (its recursion guard: a program was already running on that CPU, as when an interrupt comes during it; see MissedEvents): the counts miss up to {missed} events.");
        long uncounted = Interlocked.Read(ref _uncounted);
        if (uncounted > 0)
            WriteWarning($"{uncounted} events could not be counted: the kernel had no row for them (the table was full, or the BPF allocator had no memory at hand in interrupt context; see Uncounted). Group less finely or measure for longer.");
    }

    private bool CanReadCtrlC()
    {
        try { return Host.Name == "ConsoleHost" && !Console.IsInputRedirected; }
        catch (Exception e) when (e is IOException or InvalidOperationException) { return false; }
    }

    private void Measure(Core.Sampling.SamplingPlan plan, ChannelWriter<object> writer, bool consoleStop, CancellationToken token)
    {
        void Verbose(string text) => writer.TryWrite(new VerboseMessage(text));
        void Emit(IEnumerable<object> records)
        {
            var list = records as IReadOnlyList<object> ?? records.ToList();
            // Every record of an interval carries the interval's count.
            if (list.OfType<Core.Bpf.BpfMeasurement>().FirstOrDefault() is { MissedEvents: > 0 } d) Interlocked.Add(ref _missedEvents, (long)d.MissedEvents);
            if (list.OfType<Core.Bpf.IUncountedEvents>().FirstOrDefault() is { Uncounted: > 0 } u) Interlocked.Add(ref _uncounted, (long)u.Uncounted);
            var shaped = Shape(list);
            foreach (var r in Top > 0 ? shaped.Take(Top) : shaped)
                writer.WriteAsync(r, token).AsTask().GetAwaiter().GetResult();
        }

        using var meter = StartMeter(Verbose);
        Verbose($"Attached with {meter.AttachMethod} {_sinceInvocation.Elapsed.TotalMilliseconds:F1} ms after invocation " +
                $"(open {meter.Session.OpenMilliseconds:F1} ms, load {meter.Session.LoadMilliseconds:F1} ms, attach {meter.Session.AttachMilliseconds:F1} ms); " +
                $"programs {string.Join(", ", meter.Session.ProgramIds)}.");
        var progress = new ProgressRecord(0x5158, Activity, "Attached") { RecordType = ProgressRecordType.Processing };
        BpfRunner.Run(meter, plan, Emit, token,
            stopRequested: consoleStop ? () =>
            {
                if (!CtrlCPressed()) return false;
                Verbose("Ctrl+C: stopping and writing what was measured.");
                return true;
            } : null,
            progress: now =>
            {
                progress.StatusDescription = plan.Duration is { } total
                    ? $"{now:hh\\:mm\\:ss} of {total:hh\\:mm\\:ss} ({meter.AttachMethod})"
                    : $"{now:hh\\:mm\\:ss} ({meter.AttachMethod}); press Ctrl+C to stop";
                progress.PercentComplete = plan.Duration is { } t2 ? (int)Math.Min(100, now.TotalMilliseconds * 100 / t2.TotalMilliseconds) : -1;
                writer.TryWrite(progress);
            });
        if (meter is IBpfEventStream<object> events) Interlocked.Exchange(ref _lostEvents, (long)events.LostEvents);
        writer.TryWrite(new ProgressRecord(0x5158, Activity, "Done") { RecordType = ProgressRecordType.Completed });
    }

    private static bool CtrlCPressed()
    {
        try
        {
            while (Console.KeyAvailable)
            {
                var k = Console.ReadKey(intercept: true);
                if (k.Key == ConsoleKey.C && (k.Modifiers & ConsoleModifiers.Control) != 0) return true;
            }
        }
        catch (InvalidOperationException) { }
        return false;
    }
}

/// <summary>Completes -Cgroup with the cgroup directories below what was typed (v2 mount when relative).</summary>
public sealed class CgroupPathCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        System.Management.Automation.Language.CommandAst commandAst, System.Collections.IDictionary fakeBoundParameters)
    {
        string word = wordToComplete.Trim('\'', '"');
        string baseDir = word.StartsWith('/') ? word : "/sys/fs/cgroup/" + word;
        string dir = Directory.Exists(baseDir) && (word.Length == 0 || word.EndsWith('/')) ? baseDir : Path.GetDirectoryName(baseDir) ?? "/";
        string prefix = Path.GetFileName(baseDir.TrimEnd('/'));
        if (Directory.Exists(baseDir) && (word.Length == 0 || word.EndsWith('/'))) prefix = "";
        IEnumerable<string> dirs;
        try { dirs = Directory.EnumerateDirectories(dir).Where(d => Path.GetFileName(d).StartsWith(prefix, StringComparison.Ordinal)).Order().Take(200).ToList(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { yield break; }
        foreach (var d in dirs)
            yield return new CompletionResult(d.Contains(' ') ? $"'{d}'" : d, d, CompletionResultType.ParameterValue, d);
    }
}
