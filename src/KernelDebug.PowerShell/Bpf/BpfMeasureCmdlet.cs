using System.Diagnostics;
using System.Management.Automation;
using System.Threading.Channels;
using KernelDebug.Core.Bpf.Tools;
using KernelDebug.Core.Errors;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Bpf;

/// <summary>
/// Base of the BPF measuring cmdlets (Measure-BlockIoLatency, Measure-LockContention, Trace-KernelMemoryLeak): -Duration, -Interval, -Top,
/// -NoProgramStatistics, the measuring loop on a background thread with progress, Ctrl+C in a console that still
/// writes what was measured, and the meter disposed on every path.
/// Not generic, so the help generator finds the parameters' docs under this type's name.
/// </summary>
public abstract class BpfMeasureCmdlet : KernelCmdlet
{
    private readonly Stopwatch _sinceInvocation = Stopwatch.StartNew();

    /// <summary>
    /// <para type="description">How long to measure. Without it, measuring runs until Ctrl+C (in an interactive console the result is still written).</para>
    /// </summary>
    [Parameter]
    [DurationTransformation]
    public TimeSpan? Duration { get; set; }

    /// <summary>
    /// <para type="description">Writes a result for every interval of this length; nothing is lost between intervals.</para>
    /// </summary>
    [Parameter]
    [DurationTransformation]
    public TimeSpan? Interval { get; set; }

    /// <summary>
    /// <para type="description">Writes only the first N records of each interval (records come sorted, largest first).</para>
    /// </summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int Top { get; set; }

    /// <summary>
    /// <para type="description">Leaves kernel BPF statistics off: saves two clock reads per program run (for every BPF program on the machine while they are on), but OverheadPerEvent is then empty.</para>
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

    /// <inheritdoc />
    protected override void End()
    {
        if (Duration is { } d && d <= TimeSpan.Zero)
            throw new KernelDebugException("InvalidDuration", KernelErrorCategory.InvalidArgument, "-Duration must be positive.", null, d);
        if (Interval is { } i && i < TimeSpan.FromMilliseconds(10))
            throw new KernelDebugException("InvalidInterval", KernelErrorCategory.InvalidArgument, "-Interval must be at least 10 ms.", null, i);
        Validate();
        bool consoleStop = Duration is null && CanReadCtrlC();
        bool savedTreat = false;
        if (consoleStop)
        {
            savedTreat = Console.TreatControlCAsInput;
            Console.TreatControlCAsInput = true;
        }
        try
        {
            Pump((writer, token) => Task.Run(() => Measure(writer, consoleStop, token), token));
        }
        finally
        {
            if (consoleStop) Console.TreatControlCAsInput = savedTreat;
        }
    }

    private bool CanReadCtrlC()
    {
        try { return Host.Name == "ConsoleHost" && !Console.IsInputRedirected; }
        catch (Exception e) when (e is IOException or InvalidOperationException) { return false; }
    }

    private void Measure(ChannelWriter<object> writer, bool consoleStop, CancellationToken token)
    {
        void Verbose(string text) => writer.TryWrite(new VerboseMessage(text));
        void Emit(IEnumerable<object> records)
        {
            var shaped = Shape(records);
            foreach (var r in Top > 0 ? shaped.Take(Top) : shaped)
                writer.WriteAsync(r, token).AsTask().GetAwaiter().GetResult();
        }

        using var meter = StartMeter(Verbose);
        Verbose($"Attached with {meter.AttachMethod} {_sinceInvocation.Elapsed.TotalMilliseconds:F1} ms after invocation " +
                $"(open {meter.Session.OpenMilliseconds:F1} ms, load {meter.Session.LoadMilliseconds:F1} ms, attach {meter.Session.AttachMilliseconds:F1} ms); " +
                $"programs {string.Join(", ", meter.Session.ProgramIds)}.");
        var clock = Stopwatch.StartNew();
        var nextInterval = Interval;
        var progress = new ProgressRecord(0x5158, Activity, "Attached") { RecordType = ProgressRecordType.Processing };
        TimeSpan? lastProgress = null;
        while (!token.IsCancellationRequested)
        {
            var now = clock.Elapsed;
            if (Duration is { } d && now >= d) break;
            if (consoleStop && CtrlCPressed()) { Verbose("Ctrl+C: stopping and writing what was measured."); break; }
            if (nextInterval is { } n && now >= n)
            {
                Emit(meter.CollectInterval());
                nextInterval = n + Interval!.Value;
            }
            if (lastProgress is null || now - lastProgress.Value >= TimeSpan.FromMilliseconds(250))
            {
                lastProgress = now;
                progress.StatusDescription = Duration is { } total
                    ? $"{now:hh\\:mm\\:ss} of {total:hh\\:mm\\:ss} ({meter.AttachMethod})"
                    : $"{now:hh\\:mm\\:ss} ({meter.AttachMethod}); press Ctrl+C to stop";
                progress.PercentComplete = Duration is { } t2 ? (int)Math.Min(100, now.TotalMilliseconds * 100 / t2.TotalMilliseconds) : -1;
                writer.TryWrite(progress);
            }
            var wait = TimeSpan.FromMilliseconds(50);
            if (Duration is { } d2 && d2 - now < wait) wait = d2 - now;
            if (nextInterval is { } n2 && n2 - now < wait) wait = n2 - now;
            if (wait > TimeSpan.Zero) token.WaitHandle.WaitOne(wait);
        }
        var final = meter.Finish();
        writer.TryWrite(new ProgressRecord(0x5158, Activity, "Done") { RecordType = ProgressRecordType.Completed });
        if (!token.IsCancellationRequested) Emit(final);
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
