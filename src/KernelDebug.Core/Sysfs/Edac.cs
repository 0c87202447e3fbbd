using KernelDebug.Core.Errors;
using KernelDebug.Core.Parsing;

namespace KernelDebug.Core.Sysfs;

/// <summary>
/// One memory module (or rank, or legacy chip-select row channel) an EDAC memory controller reports, with its error
/// counts: from <c>/sys/devices/system/edac/mc/mcN/dimmN|rankN/</c> or <c>csrowN/chK_*</c>.
/// </summary>
public sealed record EdacDimm
{
    /// <summary>"mc0/dimm0 (label)", for tables and CSV.</summary>
    public override string ToString() => Label is { Length: > 0 } l ? $"{Controller}/{Name} ({l})" : $"{Controller}/{Name}";

    /// <summary>Controller directory name (<c>mc0</c>).</summary>
    public required string Controller { get; init; }
    /// <summary>Controller driver name (<c>mc_name</c>, e.g. <c>Skylake Socket#0 IMC#0</c>).</summary>
    public string? ControllerName { get; init; }
    /// <summary>Entry name: <c>dimm3</c>, <c>rank1</c>, or <c>csrow2/ch1</c> for the legacy layout.</summary>
    public required string Name { get; init; }
    /// <summary>Label set by the platform or by the administrator (the silkscreen name of the slot, e.g. <c>CPU_SrcID#0_MC#0_Chan#1_DIMM#0</c>).</summary>
    public string? Label { get; init; }
    /// <summary>Location in the controller's layers (<c>channel 1 slot 0</c>).</summary>
    public string? Location { get; init; }
    /// <summary>Size in bytes.</summary>
    public long? SizeBytes { get; init; }
    /// <summary>Memory type (<c>Registered-DDR4</c>).</summary>
    public string? MemoryType { get; init; }
    /// <summary>Device width (<c>x4</c>, <c>x8</c>).</summary>
    public string? DeviceType { get; init; }
    /// <summary>Error detection and correction mode (<c>SECDED</c>, <c>S4ECD4ED</c>).</summary>
    public string? EdacMode { get; init; }
    /// <summary>Corrected errors.</summary>
    public long CorrectedErrors { get; init; }
    /// <summary>Uncorrected errors.</summary>
    public long UncorrectedErrors { get; init; }
}

/// <summary>An EDAC memory controller with its totals and its modules.</summary>
public sealed record EdacMemoryController
{
    /// <summary>Directory name (<c>mc0</c>).</summary>
    public required string Controller { get; init; }
    /// <summary>Driver's name for it (<c>mc_name</c>).</summary>
    public string? Name { get; init; }
    /// <summary>Memory behind it in bytes (<c>size_mb</c>).</summary>
    public long? SizeBytes { get; init; }
    /// <summary>Corrected errors (<c>ce_count</c>).</summary>
    public long CorrectedErrors { get; init; }
    /// <summary>Uncorrected errors (<c>ue_count</c>).</summary>
    public long UncorrectedErrors { get; init; }
    /// <summary>Corrected errors the driver could not tie to a module (<c>ce_noinfo_count</c>).</summary>
    public long CorrectedNoInfo { get; init; }
    /// <summary>Uncorrected errors the driver could not tie to a module (<c>ue_noinfo_count</c>).</summary>
    public long UncorrectedNoInfo { get; init; }
    /// <summary>Time since the counters were reset (<c>seconds_since_reset</c>).</summary>
    public TimeSpan? SinceReset { get; init; }
    /// <summary>Its modules, ranks or chip-select row channels.</summary>
    public IReadOnlyList<EdacDimm> Dimms { get; init => field = Flat.List(value); } = FlatList<EdacDimm>.Empty;
}

/// <summary>EDAC's PCI bus parity counters (<c>/sys/devices/system/edac/pci/</c>), where the driver checks them.</summary>
/// <param name="ParityErrors">PCI parity errors.</param>
/// <param name="NonParityErrors">Other PCI errors.</param>
public sealed record EdacPciCounters(long ParityErrors, long NonParityErrors);

/// <summary>Errors that appeared on one module between two samples (<c>Get-EdacError -Interval</c>).</summary>
public sealed record EdacErrorChange
{
    /// <summary>When the change was seen.</summary>
    public DateTimeOffset Timestamp { get; init; }
    /// <summary>Controller directory name.</summary>
    public required string Controller { get; init; }
    /// <summary>Module entry name, or null for errors the driver could not tie to a module.</summary>
    public string? Dimm { get; init; }
    /// <summary>Module label.</summary>
    public string? Label { get; init; }
    /// <summary>New corrected errors.</summary>
    public long NewCorrected { get; init; }
    /// <summary>New uncorrected errors.</summary>
    public long NewUncorrected { get; init; }
    /// <summary>Corrected errors now.</summary>
    public long CorrectedErrors { get; init; }
    /// <summary>Uncorrected errors now.</summary>
    public long UncorrectedErrors { get; init; }
}

/// <summary>Reads EDAC's sysfs tree (Documentation/ABI/testing/sysfs-devices-edac).</summary>
public static class EdacSysfs
{
    /// <summary>The memory-controller directory, relative to a root.</summary>
    public const string McDirectory = "sys/devices/system/edac/mc";

    /// <summary>Every controller with its modules, in controller order.</summary>
    /// <exception cref="KernelDebugException">The kernel has no EDAC or no EDAC driver is loaded.</exception>
    public static IReadOnlyList<EdacMemoryController> Read(KernelRoot root, ParseContext ctx)
    {
        if (!root.DirectoryExists("sys/devices/system/edac"))
            throw KernelErrors.FeatureMissing("EdacUnavailable", "EDAC (/sys/devices/system/edac)",
                "Memory error reporting needs a kernel with CONFIG_EDAC=y and the memory-controller driver for this platform loaded " +
                "(e.g. 'modprobe skx_edac' or 'i10nm_edac' on Intel Xeon, 'amd64_edac' on AMD, 'ie31200_edac' on desktop Intel; 'ghes_edac' on firmware-first servers). " +
                "Virtual machines have no memory controller to report.", root.Resolve("sys/devices/system/edac"));
        var controllers = root.EnumerateEntries(McDirectory).Where(n => n.StartsWith("mc") && int.TryParse(n.AsSpan(2), out _))
            .OrderBy(n => int.Parse(n.AsSpan(2))).ToArray();
        if (controllers.Length == 0)
            throw KernelErrors.FeatureMissing("EdacNoController", "an EDAC memory controller",
                "EDAC is built in but no memory-controller driver is bound: load the driver for this platform (skx_edac, i10nm_edac, amd64_edac, ghes_edac ...) and check 'dmesg | grep -i edac'.",
                root.Resolve(McDirectory));
        var result = new List<EdacMemoryController>();
        foreach (var mc in controllers)
        {
            string d = $"{McDirectory}/{mc}/";
            string? name = root.TryReadValue(d + "mc_name");
            var dimms = new List<EdacDimm>();
            foreach (var entry in Ordered(root.EnumerateEntries(McDirectory + "/" + mc), "dimm").Concat(Ordered(root.EnumerateEntries(McDirectory + "/" + mc), "rank")))
            {
                string e = d + entry + "/";
                dimms.Add(new EdacDimm
                {
                    Controller = mc,
                    ControllerName = name,
                    Name = entry,
                    Label = root.TryReadValue(e + "dimm_label"),
                    Location = root.TryReadValue(e + "dimm_location"),
                    SizeBytes = Mebibytes(root, e + "size", ctx),
                    MemoryType = root.TryReadValue(e + "dimm_mem_type"),
                    DeviceType = root.TryReadValue(e + "dimm_dev_type"),
                    EdacMode = root.TryReadValue(e + "dimm_edac_mode"),
                    CorrectedErrors = Number(root, e + "dimm_ce_count", ctx) ?? 0,
                    UncorrectedErrors = Number(root, e + "dimm_ue_count", ctx) ?? 0,
                });
            }
            if (dimms.Count == 0) dimms.AddRange(ReadCsRows(root, mc, name, ctx));
            result.Add(new EdacMemoryController
            {
                Controller = mc,
                Name = name,
                SizeBytes = Mebibytes(root, d + "size_mb", ctx),
                CorrectedErrors = Number(root, d + "ce_count", ctx) ?? 0,
                UncorrectedErrors = Number(root, d + "ue_count", ctx) ?? 0,
                CorrectedNoInfo = Number(root, d + "ce_noinfo_count", ctx) ?? 0,
                UncorrectedNoInfo = Number(root, d + "ue_noinfo_count", ctx) ?? 0,
                SinceReset = Seconds(root, d + "seconds_since_reset", ctx),
                Dimms = dimms,
            });
        }
        return result;
    }

    /// <summary>The PCI parity counters, or null where EDAC does not check PCI.</summary>
    public static EdacPciCounters? ReadPci(KernelRoot root, ParseContext ctx)
    {
        const string d = "sys/devices/system/edac/pci/";
        long? p = Number(root, d + "pci_parity_count", ctx), np = Number(root, d + "pci_nonparity_count", ctx);
        return p is null && np is null ? null : new EdacPciCounters(p ?? 0, np ?? 0);
    }

    /// <summary>What changed between two readings: modules with new errors, and controllers with new unattributed ones.</summary>
    public static IReadOnlyList<EdacErrorChange> Changes(IReadOnlyList<EdacMemoryController> before, IReadOnlyList<EdacMemoryController> after, DateTimeOffset now)
    {
        var result = new List<EdacErrorChange>();
        var oldMc = before.ToDictionary(c => c.Controller);
        foreach (var mc in after)
        {
            oldMc.TryGetValue(mc.Controller, out var om);
            var oldDimm = om?.Dimms.ToDictionary(x => x.Name) ?? new Dictionary<string, EdacDimm>();
            foreach (var d in mc.Dimms)
            {
                oldDimm.TryGetValue(d.Name, out var od);
                long ce = d.CorrectedErrors - (od?.CorrectedErrors ?? d.CorrectedErrors), ue = d.UncorrectedErrors - (od?.UncorrectedErrors ?? d.UncorrectedErrors);
                if (ce > 0 || ue > 0)
                    result.Add(new EdacErrorChange { Timestamp = now, Controller = mc.Controller, Dimm = d.Name, Label = d.Label, NewCorrected = ce, NewUncorrected = ue, CorrectedErrors = d.CorrectedErrors, UncorrectedErrors = d.UncorrectedErrors });
            }
            if (om is null) continue;
            long nce = mc.CorrectedNoInfo - om.CorrectedNoInfo, nue = mc.UncorrectedNoInfo - om.UncorrectedNoInfo;
            if (nce > 0 || nue > 0)
                result.Add(new EdacErrorChange { Timestamp = now, Controller = mc.Controller, NewCorrected = Math.Max(0, nce), NewUncorrected = Math.Max(0, nue), CorrectedErrors = mc.CorrectedNoInfo, UncorrectedErrors = mc.UncorrectedNoInfo });
        }
        return result;
    }

    // Legacy layout: csrowN/{size_mb,mem_type,dev_type,edac_mode,chK_ce_count,chK_dimm_label}; one entry per channel.
    private static IEnumerable<EdacDimm> ReadCsRows(KernelRoot root, string mc, string? mcName, ParseContext ctx)
    {
        foreach (var row in Ordered(root.EnumerateEntries($"{McDirectory}/{mc}"), "csrow"))
        {
            string r = $"{McDirectory}/{mc}/{row}/";
            var files = root.EnumerateEntries(r).ToHashSet();
            var channels = files.Where(f => f.StartsWith("ch") && f.EndsWith("_ce_count")).Select(f => f[2..^"_ce_count".Length])
                .Where(c => int.TryParse(c, out _)).OrderBy(int.Parse).ToArray();
            long? size = Mebibytes(root, r + "size_mb", ctx);
            if (channels.Length == 0)
            {
                yield return new EdacDimm
                {
                    Controller = mc, ControllerName = mcName, Name = row, SizeBytes = size,
                    MemoryType = root.TryReadValue(r + "mem_type"), DeviceType = root.TryReadValue(r + "dev_type"), EdacMode = root.TryReadValue(r + "edac_mode"),
                    CorrectedErrors = Number(root, r + "ce_count", ctx) ?? 0, UncorrectedErrors = Number(root, r + "ue_count", ctx) ?? 0,
                };
                continue;
            }
            foreach (var ch in channels)
                yield return new EdacDimm
                {
                    Controller = mc, ControllerName = mcName, Name = $"{row}/ch{ch}",
                    Label = root.TryReadValue($"{r}ch{ch}_dimm_label"), Location = $"csrow {row[5..]} channel {ch}",
                    SizeBytes = size is long s ? s / channels.Length : null,
                    MemoryType = root.TryReadValue(r + "mem_type"), DeviceType = root.TryReadValue(r + "dev_type"), EdacMode = root.TryReadValue(r + "edac_mode"),
                    CorrectedErrors = Number(root, $"{r}ch{ch}_ce_count", ctx) ?? 0,
                    // Uncorrected errors are counted per row only: charged to its first channel so totals add up.
                    UncorrectedErrors = ch == channels[0] ? Number(root, r + "ue_count", ctx) ?? 0 : 0,
                };
        }
    }

    private static IEnumerable<string> Ordered(IEnumerable<string> entries, string prefix) =>
        entries.Where(n => n.StartsWith(prefix) && n.Length > prefix.Length && int.TryParse(n.AsSpan(prefix.Length), out _))
               .OrderBy(n => int.Parse(n.AsSpan(prefix.Length)));

    private static long? Number(KernelRoot root, string path, ParseContext ctx)
    {
        string? s = root.TryReadValue(path);
        if (s is null) return null;
        if (Fields.TryLong(s, out long v) && v >= 0) return v;
        ctx.Warn(root.Resolve(path), 1, "not a count", s);
        return null;
    }

    // Sizes are in MiB; a size whose bytes pass long is refused like a malformed one.
    private static long? Mebibytes(KernelRoot root, string path, ParseContext ctx)
    {
        if (Number(root, path, ctx) is not long mb) return null;
        if (Fields.TryScale(mb, 1L << 20, out long bytes)) return bytes;
        ctx.Warn(root.Resolve(path), 1, "size in MiB is past the range of a byte count", mb.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return null;
    }

    private static TimeSpan? Seconds(KernelRoot root, string path, ParseContext ctx)
    {
        if (Number(root, path, ctx) is not long secs) return null;
        if (Fields.TrySeconds(secs, out var t)) return t;
        ctx.Warn(root.Resolve(path), 1, "seconds past the range of a duration", secs.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return null;
    }
}
