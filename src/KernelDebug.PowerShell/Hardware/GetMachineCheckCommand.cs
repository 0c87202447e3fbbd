using System.Management.Automation;
using KernelDebug.Core.Errors;
using KernelDebug.Core.Kmsg;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Sysfs;
using KernelDebug.PowerShell.Infrastructure;
using KernelDebug.PowerShell.Kmsg;

namespace KernelDebug.PowerShell.Hardware;

/// <summary>
/// <para type="synopsis">Gets x86 machine-check records (hardware errors of CPUs, caches, memory controllers and buses) from the kernel log, with MCi_STATUS decoded; -Follow waits for new ones.</para>
/// <para type="description">Get-MachineCheck finds the records the kernel logs for each machine check ("mce: [Hardware Error]: CPU 2: Machine Check ...: Bank 4: ..." through "... PROCESSOR ... microcode ...") and returns one MachineCheck each: CPU, bank, MCi_STATUS and MCG_STATUS, address, misc, PPIN, TSC, instruction pointer and symbol, vendor, CPUID, time, socket, APIC id and microcode revision. The status is decoded into its bits (VAL, OVER, UC, EN, MISCV, ADDRV, PCC, S, AR), a severity (Corrected, Uncorrected, Fatal) and the class of the MCA error code (memory controller, cache, bus, TLB, internal timer, ...) with its fields in words. It reads the live kernel log (/dev/kmsg), the dev/kmsg file of a snapshot (-Root), a boot of the systemd journal (-Boot), or saved logs (-Path: dmesg output, kern.log, console captures, .gz, journal files). -Follow waits for new records as the kernel logs them, until Ctrl+C. -Settings returns the machinecheck sysfs settings (polling interval, CMCI, corrected-error logging, bank controls). On a kernel without machine-check support (no CONFIG_X86_MCE, 'mce=off', most virtual machines), reading the live log, -Follow and -Settings stop with an error naming CONFIG_X86_MCE; -Path still works.</para>
/// </summary>
/// <example>
///   <code>Get-MachineCheck | Group-Object ErrorClass, Bank | Sort-Object Count -Descending</code>
///   <para>Which kinds of hardware errors the machine has logged, by bank.</para>
/// </example>
/// <example>
///   <code>Get-MachineCheck -Path /var/log/kern.log* | Where-Object Severity -ne Corrected | Select-Object Time, Cpu, Bank, StatusFlags, ErrorDescription, Address</code>
///   <para>The uncorrected errors in saved logs, rotated and compressed ones included.</para>
/// </example>
/// <example>
///   <code>Get-MachineCheck -Follow | ForEach-Object { Write-Warning "MCE on CPU $($_.Cpu): $($_.ErrorDescription)" }</code>
///   <para>Warns on each new machine check until Ctrl+C.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "MachineCheck", DefaultParameterSetName = LiveSet)]
[OutputType(typeof(MachineCheck), ParameterSetName = [LiveSet, PathSet, LiteralSet, FollowSet])]
[OutputType(typeof(MachineCheckSettings), ParameterSetName = [SettingsSet])]
public sealed class GetMachineCheckCommand : LogSourceCmdlet
{
    private const string FollowSet = "Follow", SettingsSet = "Settings";

    /// <summary>
    /// <para type="description">Waits for new machine-check records and emits each as it is logged, until Ctrl+C.</para>
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = FollowSet)]
    public SwitchParameter Follow { get; set; }

    /// <summary>
    /// <para type="description">Returns the machine-check settings of /sys/devices/system/machinecheck instead of records.</para>
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = SettingsSet)]
    public SwitchParameter Settings { get; set; }

    /// <inheritdoc />
    protected override void Process()
    {
        var ctx = new ParseContext("kernel log");
        if (ReadsPaths || ReadsRootJournal)
        {
            foreach (var source in ReadsRootJournal ? [RootJournal()] : ResolveSources())
            {
                var messages = new List<KernelMessage>();
                ReadSource(source, messages.Add);
                var fileCtx = new ParseContext(source.Name);
                foreach (var m in MachineCheckReader.Parse(messages, fileCtx)) WriteObject(m);
                WriteIssues(fileCtx);
            }
            return;
        }
        if (!MachineCheckReader.HasMachineCheck(KernelRoot)) throw MachineCheckReader.Unavailable(KernelRoot);
        switch (ParameterSetName)
        {
            case SettingsSet:
                if (MachineCheckReader.ReadSettings(KernelRoot, ctx) is { } s) WriteObject(s);
                else throw MachineCheckReader.Unavailable(KernelRoot);
                WriteIssues(ctx);
                return;
            case FollowSet:
                if (!KernelRoot.IsLive)
                    throw new KernelDebugException("FollowNeedsLiveKernel", KernelErrorCategory.InvalidArgument,
                        "-Follow watches the running kernel; it cannot be combined with a snapshot -Root.", "Leave out -Root, or read the snapshot without -Follow.", KernelRoot.Path);
                Pump(async (writer, token) =>
                {
                    ctx.Source = "/dev/kmsg";
                    await Task.Yield();
                    foreach (var m in MachineCheckReader.Follow(ctx, token))
                    {
                        foreach (var issue in ctx.Drain()) await writer.WriteAsync(issue, token);
                        await writer.WriteAsync(m, token);
                    }
                }, 256);
                return;
            default:
                ctx.Source = KernelRoot.IsLive ? "/dev/kmsg" : KernelRoot.Resolve("dev/kmsg");
                var records2 = MachineCheckReader.ReadKernelLog(KernelRoot, ctx);
                WriteIssues(ctx);
                foreach (var m in records2) WriteObject(m);
                return;
        }
    }
}
