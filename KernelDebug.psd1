@{
    RootModule           = 'KernelDebug.PowerShell.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '5d6c3c1e-8f0b-4a57-9a8e-2f4b6f1c9e21'
    Author               = 'KernelDebug contributors'
    CompanyName          = 'KernelDebug'
    Copyright            = '(c) KernelDebug contributors. MIT License.'
    Description          = 'Linux kernel debugging as typed PowerShell objects: kernel log and crash reports, memory and slab, blocked tasks, hardware errors, ftrace captures and eBPF measurements.'
    PowerShellVersion    = '7.6'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @(
        'formats/Inventory.format.ps1xml'
        'formats/Health.format.ps1xml'
        'formats/Symbols.format.ps1xml'
        'formats/Memory.format.ps1xml'
        'formats/Hardware.format.ps1xml'
        'formats/Tracing.format.ps1xml'
        'formats/Kmsg.format.ps1xml'
        'formats/Oops.format.ps1xml'
        'formats/Bpf.format.ps1xml'
        'formats/BpfTools.format.ps1xml'
    )
    CmdletsToExport      = @(
        'Get-KernelInfo'
        'Get-KernelConfig'
        'Get-KernelDebugCapability'
        'Get-KernelSysctl'
        'Get-MemoryInfo'
        'Get-CpuStat'
        'Get-LoadAverage'
        'Get-PressureStall'
        'Save-KernelSnapshot'
        'Invoke-KernelHealthCheck'
        'Assert-KernelHealth'
        'Export-KernelHealthReport'
        'Get-KernelSymbol'
        'ConvertTo-FoldedStack'
        'Export-FlameGraph'
        'Get-SlabCache'
        'Get-VmStat'
        'Get-MemoryFragmentation'
        'Get-BlockedTask'
        'Get-LockStat'
        'Get-EdacError'
        'Get-MachineCheck'
        'Start-FtraceCapture'
        'Receive-FtraceCapture'
        'Stop-FtraceCapture'
        'Remove-FtraceCapture'
        'Get-FtraceCapture'
        'Trace-KernelEvent'
        'Get-KernelTracepoint'
        'Measure-KernelFunction'
        'Get-FtraceEvent'
        'Get-KernelMessage'
        'Get-KernelOomEvent'
        'Get-KernelOops'
        'Measure-SyscallLatency'
        'Get-BpfProgram'
        'Format-Histogram'
        'Measure-BlockIoLatency'
        'Measure-LockContention'
        'Trace-KernelMemoryLeak'
        'Measure-KernelCpuProfile'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('Linux', 'Kernel', 'Debugging', 'eBPF', 'ftrace', 'Oops', 'Tracing', 'SRE')
            LicenseUri   = 'https://example.invalid/kerneldebug/LICENSE'
            ProjectUri   = 'https://example.invalid/kerneldebug'
            ReleaseNotes = 'First release: kernel inventory, kernel log and crash reports, memory and slab, ftrace and eBPF tools.'
        }
    }
}
