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
        'formats/Bpf.format.ps1xml'
    )
    CmdletsToExport      = @(
        'Get-KernelInfo'
        'Measure-SyscallLatency'
        'Get-BpfProgram'
        'Format-Histogram'
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
