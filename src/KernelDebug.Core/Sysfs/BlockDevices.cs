namespace KernelDebug.Core.Sysfs;

/// <summary>A whole disk under /sys/block: its name and device number.</summary>
public sealed record BlockDisk(string Name, int Major, int Minor)
{
    /// <summary>The device number as the kernel encodes dev_t internally (major &lt;&lt; 20 | minor), as BPF programs see it.</summary>
    public uint KernelDev => ((uint)Major << 20) | (uint)Minor;
}

/// <summary>Reads the disks of /sys/block (name and the "major:minor" of each disk's dev file).</summary>
public static class BlockDevices
{
    /// <summary>Every disk the root lists; entries with an unreadable or malformed dev file are skipped.</summary>
    public static IReadOnlyList<BlockDisk> ReadDisks(KernelRoot root)
    {
        var list = new List<BlockDisk>();
        foreach (var name in root.EnumerateEntries("sys/block"))
            if (TryParseDev(root.TryReadValue($"sys/block/{name}/dev"), out int major, out int minor))
                list.Add(new BlockDisk(name, major, minor));
        list.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return list;
    }

    /// <summary>Parses "major:minor" as in /sys/block/*/dev.</summary>
    public static bool TryParseDev(string? text, out int major, out int minor)
    {
        major = minor = 0;
        if (text is null) return false;
        int colon = text.IndexOf(':');
        return colon > 0 && int.TryParse(text.AsSpan(0, colon), out major) && int.TryParse(text.AsSpan(colon + 1).Trim(), out minor);
    }

    /// <summary>The disk's name for a kernel dev_t (major &lt;&lt; 20 | minor), or "major:minor" when no disk has it.</summary>
    public static string NameOf(IReadOnlyList<BlockDisk> disks, uint kernelDev)
    {
        foreach (var d in disks)
            if (d.KernelDev == kernelDev) return d.Name;
        return $"{kernelDev >> 20}:{kernelDev & 0xFFFFF}";
    }
}
