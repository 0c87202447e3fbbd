using System.Management.Automation;
using System.Threading.Channels;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Parsing;

namespace KernelDebug.PowerShell.Infrastructure;

/// <summary>
/// Base of every KernelDebug cmdlet: turns Core errors into terminating ErrorRecords with their ErrorId and remedy,
/// offers a cancellation token that Ctrl+C trips, and pumps objects from background readers to the pipeline thread.
/// Derived cmdlets override <see cref="Begin"/>, <see cref="Process"/> and <see cref="End"/>.
/// </summary>
public abstract class KernelCmdlet : PSCmdlet
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _signalLock = new();
    private List<System.Runtime.InteropServices.PosixSignalRegistration>? _signals;
    private volatile Task? _pumpTask;

    /// <summary>Tripped by Ctrl+C (<see cref="StopProcessing"/>).</summary>
    protected CancellationToken StopToken => _stopping.Token;

    /// <summary>Runs once before pipeline input.</summary>
    protected virtual void Begin() { }
    /// <summary>Runs once per pipeline input (or once without input).</summary>
    protected virtual void Process() { }
    /// <summary>Runs once after pipeline input.</summary>
    protected virtual void End() { }
    /// <summary>Releases kernel resources; called after End, on error and on Ctrl+C.</summary>
    protected virtual void Cleanup() { }

    /// <inheritdoc />
    protected sealed override void BeginProcessing() => Guard(() =>
    {
        if (DurationTransformationAttribute.Check(this) is { } bad) throw bad;
        RegisterSignals();
        Begin();
    });
    /// <inheritdoc />
    protected sealed override void ProcessRecord() => Guard(Process);
    /// <inheritdoc />
    protected sealed override void EndProcessing()
    {
        try { Guard(End); }
        finally { Cleanup(); ReleaseSignals(); }
    }

    /// <inheritdoc />
    protected override void StopProcessing()
    {
        _stopping.Cancel();
        Cleanup();
        ReleaseSignals();
    }

    /// <summary>
    /// SIGTERM and SIGHUP (timeout, systemd stopping a unit, a closed SSH session) clean up as Ctrl+C does: the stop
    /// token trips, the background producer ends (a BPF meter is disposed on its way out), then Cleanup removes what
    /// the cmdlet created. The signal's default action (exit) follows, so the process still ends.
    /// </summary>
    private void RegisterSignals()
    {
        lock (_signalLock)
        {
            if (_signals is not null) return;
            _signals = [];
            foreach (var sig in new[] { System.Runtime.InteropServices.PosixSignal.SIGTERM, System.Runtime.InteropServices.PosixSignal.SIGHUP })
            {
                try { _signals.Add(System.Runtime.InteropServices.PosixSignalRegistration.Create(sig, OnSignal)); }
                catch (PlatformNotSupportedException) { }
            }
        }
    }

    private void OnSignal(System.Runtime.InteropServices.PosixSignalContext context)
    {
        _stopping.Cancel();
        try { _pumpTask?.Wait(TimeSpan.FromSeconds(5)); }
        catch (AggregateException) { }
        Cleanup();
    }

    private void ReleaseSignals()
    {
        lock (_signalLock)
        {
            if (_signals is null) return;
            foreach (var r in _signals) r.Dispose();
            _signals = null;
        }
    }

    private void Guard(Action step)
    {
        try
        {
            step();
        }
        catch (KernelDebugException e)
        {
            Cleanup();
            ReleaseSignals();
            ThrowTerminatingError(ErrorRecords.From(e));
        }
        catch (OperationCanceledException) when (StopToken.IsCancellationRequested)
        {
            // Ctrl+C: PowerShell stops the pipeline itself; nothing to report.
        }
        catch (PipelineStoppedException)
        {
            Cleanup();
            ReleaseSignals();
            throw;
        }
    }

    /// <summary>Writes each parse issue as a warning naming file and line.</summary>
    protected void WriteIssues(IEnumerable<ParseIssue> issues)
    {
        foreach (var i in issues) WriteWarning(ErrorRecords.Warning(i));
    }

    /// <summary>Writes the issues collected in a context and clears them.</summary>
    protected void WriteIssues(ParseContext ctx) => WriteIssues(ctx.Drain());

    /// <summary>Writes a non-terminating error for a Core error (per-item failures).</summary>
    protected void WriteKernelError(KernelDebugException e) => WriteError(ErrorRecords.From(e));

    /// <summary>Throws a terminating error for a Core error.</summary>
    protected void ThrowKernelError(KernelDebugException e) => ThrowTerminatingError(ErrorRecords.From(e));

    /// <summary>
    /// Runs <paramref name="producer"/> on a background thread and writes what it sends on the pipeline thread
    /// (<c>WriteObject</c> is only legal there). The queue is bounded: a producer faster than the pipeline waits
    /// rather than growing memory. Items may be records, <see cref="ParseIssue"/> (warning),
    /// <see cref="KernelDebugException"/> (non-terminating error), <see cref="ProgressRecord"/> or
    /// <see cref="VerboseMessage"/>. An exception thrown by the producer ends the pump and is rethrown here.
    /// Ctrl+C cancels the token passed to the producer.
    /// </summary>
    protected void Pump(Func<ChannelWriter<object>, CancellationToken, Task> producer, int capacity = 4096)
    {
        var channel = Channel.CreateBounded<object>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        Exception? failure = null;
        var task = Task.Run(async () =>
        {
            try { await producer(channel.Writer, StopToken).ConfigureAwait(false); }
            catch (OperationCanceledException) when (StopToken.IsCancellationRequested) { }
            catch (Exception e) { failure = e; }
            finally { channel.Writer.TryComplete(); }
        });
        _pumpTask = task;
        var reader = channel.Reader;
        bool drained = false;
        try
        {
            while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                while (reader.TryRead(out var item))
                {
                    switch (item)
                    {
                        case ParseIssue issue: WriteWarning(ErrorRecords.Warning(issue)); break;
                        case KernelDebugException kex: WriteKernelError(kex); break;
                        case ProgressRecord pr: WriteProgress(pr); break;
                        case VerboseMessage vm: WriteVerbose(vm.Text); break;
                        default: WriteObject(item); break;
                    }
                }
            }
            drained = true;
        }
        finally
        {
            if (drained)
            {
                // The producer completed the channel; its task finishes a moment later. Only an abnormal exit
                // (the pipeline stopped downstream, a write failed) may cancel it: a normal end must not trip the
                // stop token, or a later Pump of the same cmdlet would start out cancelled.
                task.Wait();
            }
            else if (!task.IsCompleted)
            {
                _stopping.Cancel();
                // Drain so a producer blocked on a full queue can observe cancellation and finish.
                while (!task.Wait(50)) while (reader.TryRead(out _)) { }
            }
        }
        if (failure is not null)
        {
            if (failure is KernelDebugException k) throw k;
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
        }
    }
}

/// <summary>A verbose message sent through <see cref="KernelCmdlet.Pump"/>.</summary>
public sealed record VerboseMessage(string Text);
