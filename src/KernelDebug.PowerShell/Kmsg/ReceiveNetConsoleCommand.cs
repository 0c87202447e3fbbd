using System.Management.Automation;
using System.Net;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Kmsg;
using KernelDebug.Core.Parsing;
using KernelDebug.PowerShell.Infrastructure;

namespace KernelDebug.PowerShell.Kmsg;

/// <summary>
/// <para type="synopsis">Receives kernel messages that machines send with netconsole over UDP, as KernelMessage objects naming the sender; pipe them into Get-KernelOops for a live crash detector of a fleet.</para>
/// <para type="description">When a machine panics its disk may never get the last lines; netconsole (Documentation/networking/netconsole.rst) sends them over UDP from the panic itself. Receive-NetConsole listens on -Port (default 6666, netconsole's default target port) of -Address (default: every address) and writes one KernelMessage per message, with Sender set to the sending machine's address (and its port when that is not netconsole's default source port 6665) and Time to when it arrived.</para>
/// <para type="description">Both formats are read. Extended netconsole (the target's 'extended' option, or '+' in netconsole=) sends /dev/kmsg records: level, sequence number, the kernel's timestamp (Uptime), dictionary keys (Subsystem, Device), the sender's kernel release when 'release' is enabled (prepended to each record; given in a verbose message), and records longer than a datagram split into ncfrag fragments, which are put back together. UDP reorders and duplicates: records are put back in sequence order (waiting up to a second for a missing one), duplicates are dropped, and sequence numbers that never arrive are counted per sender in LostMessages of the next message and in a warning, like gaps in /dev/kmsg. Plain netconsole sends console text, read with the same format detection as a log file.</para>
/// <para type="description">-Path names a directory where one log file per sender (&lt;address&gt;.log, dmesg-style lines) is written as messages arrive; Get-KernelMessage -Path and Get-KernelOops -Path read them back. It runs until Ctrl+C, or for -Duration.</para>
/// </summary>
/// <example>
///   <code>Receive-NetConsole | Get-KernelOops | ForEach-Object { Write-Warning "$($_.Source) crashed: $($_.Title)" }</code>
///   <para>A live crash detector for every machine whose netconsole targets this one: each crash report as it arrives, per sender.</para>
/// </example>
/// <example>
///   <code>Receive-NetConsole -Port 6666 -Path /var/log/netconsole -Duration 01:00:00 | Where-Object Level -le Error</code>
///   <para>Keeps a log file per sender under /var/log/netconsole for an hour and shows the errors as they come.</para>
/// </example>
[Cmdlet(VerbsCommunications.Receive, "NetConsole")]
[OutputType(typeof(KernelMessage))]
public sealed class ReceiveNetConsoleCommand : KernelCmdlet
{
    /// <summary>
    /// <para type="description">The UDP port to listen on. Default 6666, netconsole's default target port.</para>
    /// </summary>
    [Parameter(Position = 0)]
    [ValidateRange(1, 65535)]
    public int Port { get; set; } = NetConsoleReceiver.DefaultPort;

    /// <summary>
    /// <para type="description">The local address to listen on: default every IPv4 and IPv6 address; 127.0.0.1 for the loopback only.</para>
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Address { get; set; } = "::";

    /// <summary>
    /// <para type="description">A directory for one log file per sender (&lt;address&gt;.log), written as messages arrive. It is created if missing.</para>
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>
    /// <para type="description">How long to listen (a TimeSpan, e.g. 00:10:00); default until Ctrl+C.</para>
    /// </summary>
    [Parameter]
    public TimeSpan? Duration { get; set; }

    /// <inheritdoc />
    protected override void End()
    {
        if (!IPAddress.TryParse(Address, out var address))
            ThrowKernelError(new KernelDebugException("InvalidAddress", KernelErrorCategory.InvalidArgument, $"'{Address}' is not an IP address.",
                "Give an address of this machine, e.g. 0.0.0.0, :: or 127.0.0.1.", Address));
        if (Duration is { } d && d <= TimeSpan.Zero)
            ThrowKernelError(new KernelDebugException("DurationNotPositive", KernelErrorCategory.InvalidArgument, "-Duration must be positive.",
                "Give a positive duration, or leave it out to listen until Ctrl+C.", d));
        string? dir = Path is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
        using var receiver = new NetConsoleReceiver(address!, Port, dir);
        WriteVerbose($"Listening for netconsole on UDP {receiver.LocalEndPoint}.");
        var duration = Duration;
        Pump(async (writer, ct) =>
        {
            await Task.Yield();
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            if (duration is { } t) cts.CancelAfter(t);
            var ctx = new ParseContext("netconsole");
            foreach (var m in receiver.Receive(ctx, cts.Token))
            {
                foreach (var issue in ctx.Drain()) await writer.WriteAsync(issue, ct).ConfigureAwait(false);
                await writer.WriteAsync(m, ct).ConfigureAwait(false);
            }
            foreach (var issue in ctx.Drain()) await writer.WriteAsync(issue, ct).ConfigureAwait(false);
        });
    }
}
