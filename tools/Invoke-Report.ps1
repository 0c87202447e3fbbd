#!/usr/bin/env pwsh
# The main job (build.ps1 Report): what this kernel is, what it lets us debug, and how it is doing right now.
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $OutDirectory
)
$ErrorActionPreference = 'Stop'
Import-Module (Resolve-Path (Join-Path $ModulePath 'KernelDebug.psd1')).ProviderPath -Force

function Write-Section([string] $Title) { Write-Host "`n== $Title" -ForegroundColor Cyan }
# Wide enough for the CPU and PSI tables in a CI log, whatever the terminal width.
function Show { $input | Out-String -Width 220 | Write-Host }

Write-Section 'Kernel'
Get-KernelInfo | Format-List | Show

Write-Section 'Debugging facilities'
$caps = Get-KernelDebugCapability
$caps | Format-Table -Wrap | Show
Write-Host ("{0} of {1} facilities available" -f @($caps | Where-Object Available).Count, $caps.Count)

Write-Section 'Memory'
Get-MemoryInfo | Format-List | Show

Write-Section 'CPU (1 s interval)'
Get-CpuStat -Interval 00:00:01 | Format-Table | Show

Write-Section 'Load'
Get-LoadAverage | Format-Table | Show

Write-Section 'Pressure stalls'
try { Get-PressureStall | Format-Table | Show }
catch { Write-Host "PSI unavailable: $($_.Exception.Message) $($_.ErrorDetails.RecommendedAction)" }
