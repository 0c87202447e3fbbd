#!/usr/bin/env pwsh
# The main job (build.ps1 Report): what this kernel is, what it lets us debug, and how it is doing right now.
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $OutDirectory
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $ModulePath 'KernelDebug.psd1') -Force

function Write-Section([string] $Title) { Write-Host "`n== $Title" -ForegroundColor Cyan }

Write-Section 'Kernel'
Get-KernelInfo | Format-List | Out-Host

Write-Section 'Debugging facilities'
$caps = Get-KernelDebugCapability
$caps | Format-Table -Wrap | Out-Host
Write-Host ("{0} of {1} facilities available" -f @($caps | Where-Object Available).Count, $caps.Count)

Write-Section 'Memory'
Get-MemoryInfo | Format-List | Out-Host

Write-Section 'CPU (1 s interval)'
Get-CpuStat -Interval 00:00:01 | Format-Table | Out-Host

Write-Section 'Load'
Get-LoadAverage | Format-Table | Out-Host

Write-Section 'Pressure stalls'
try { Get-PressureStall | Format-Table | Out-Host }
catch { Write-Host "PSI unavailable: $($_.Exception.Message) $($_.ErrorDetails.RecommendedAction)" }
