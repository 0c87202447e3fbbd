using System.Management.Automation;
using KernelDebug.Core.Parsing;
using KernelDebug.Core.Sysfs;
using KernelDebug.PowerShell.Infrastructure;
using KernelDebug.PowerShell.Memory;

namespace KernelDebug.PowerShell.Hardware;

/// <summary>
/// <para type="synopsis">Gets corrected and uncorrected memory errors per memory module from EDAC (/sys/devices/system/edac), or the new errors between samples.</para>
/// <para type="description">Get-EdacError reads the EDAC memory controllers (mcN) and returns one EdacDimm per module or rank (dimmN/rankN; csrowN channels on drivers with the legacy layout): controller, label, location, size, memory and device type, EDAC mode, and its corrected (CE) and uncorrected (UE) error counts. A module whose corrected errors keep rising is the one to replace before it fails. -Controller returns the controllers instead, with their totals, the errors the driver could not tie to a module, and the time since the counters were reset. -Pci returns the PCI parity counters where EDAC checks them. With -Interval it samples and reports only the modules (and controllers, for unattributed errors) with new errors. A kernel without EDAC, or without the platform's EDAC driver, stops with an error naming CONFIG_EDAC and the driver to load. -Root reads a snapshot or fixture tree.</para>
/// </summary>
/// <example>
///   <code>Get-EdacError | Where-Object { $_.CorrectedErrors -gt 0 -or $_.UncorrectedErrors -gt 0 } | Sort-Object CorrectedErrors -Descending</code>
///   <para>The modules that have logged errors, worst first, with their slot labels.</para>
/// </example>
/// <example>
///   <code>Get-EdacError -Controller | Select-Object Controller, Name, CorrectedErrors, UncorrectedErrors, SinceReset</code>
///   <para>Totals per memory controller.</para>
/// </example>
/// <example>
///   <code>Get-EdacError -Interval 00:01:00 | Export-Csv -Append edac-events.csv</code>
///   <para>Logs every new memory error, once a minute, to a CSV file until Ctrl+C.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "EdacError", DefaultParameterSetName = DimmSet)]
[OutputType(typeof(EdacDimm), ParameterSetName = [DimmSet])]
[OutputType(typeof(EdacMemoryController), ParameterSetName = [ControllerSet])]
[OutputType(typeof(EdacErrorChange), ParameterSetName = [IntervalSet])]
[OutputType(typeof(EdacPciCounters), ParameterSetName = [PciSet])]
public sealed class GetEdacErrorCommand : SamplingReaderCmdlet
{
    private const string DimmSet = "Dimm", ControllerSet = "Controller", PciSet = "Pci";

    /// <summary>
    /// <para type="description">Returns memory controllers with their totals instead of modules.</para>
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = ControllerSet)]
    public SwitchParameter Controller { get; set; }

    /// <summary>
    /// <para type="description">Returns EDAC's PCI parity and non-parity error counters.</para>
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = PciSet)]
    public SwitchParameter Pci { get; set; }

    /// <inheritdoc />
    protected override void Process()
    {
        var ctx = new ParseContext(KernelRoot.Resolve(EdacSysfs.McDirectory));
        switch (ParameterSetName)
        {
            case PciSet:
                EdacSysfs.Read(KernelRoot, ctx); // the EDAC checks and errors come first
                if (EdacSysfs.ReadPci(KernelRoot, ctx) is { } pci) WriteObject(pci);
                else WriteWarning("EDAC does not check PCI parity here (no /sys/devices/system/edac/pci): the driver lacks it or edac_core's check_pci_errors is off.");
                WriteIssues(ctx);
                return;
            case ControllerSet:
                foreach (var mc in EdacSysfs.Read(KernelRoot, ctx)) WriteObject(mc);
                WriteIssues(ctx);
                return;
            case DimmSet:
                foreach (var mc in EdacSysfs.Read(KernelRoot, ctx)) foreach (var d in mc.Dimms) WriteObject(d);
                WriteIssues(ctx);
                return;
        }
        IReadOnlyList<EdacMemoryController>? previous = null;
        Sample(_ =>
        {
            var now = EdacSysfs.Read(KernelRoot, ctx);
            WriteIssues(ctx);
            if (previous is not null) foreach (var c in EdacSysfs.Changes(previous, now, DateTimeOffset.Now)) WriteObject(c);
            previous = now;
        });
    }
}
