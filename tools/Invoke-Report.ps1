#!/usr/bin/env pwsh
# The main job (build.ps1 Report): is this kernel healthy, and if not, what to look at first.
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $OutDirectory
)
$ErrorActionPreference = 'Stop'
Import-Module (Resolve-Path (Join-Path $ModulePath 'KernelDebug.psd1')).ProviderPath -Force

function Write-Section([string] $Title) { Write-Host "`n== $Title" -ForegroundColor Cyan }
# Wide enough for the tables in a CI log, whatever the terminal width.
function Show { $input | Out-String -Width 220 | Write-Host }

Write-Section 'Kernel'
Get-KernelInfo | Format-List | Show

Write-Section 'Health findings'
$sw = [System.Diagnostics.Stopwatch]::StartNew()
$findings = Invoke-KernelHealthCheck -ProgressAction SilentlyContinue
$sw.Stop()
$findings | Sort-Object Severity -Descending | Format-Table -Wrap | Show

$attention = @($findings | Where-Object Severity -ge Warning | Sort-Object Severity -Descending)
if ($attention) {
    Write-Section 'What to look at first'
    foreach ($f in $attention) { Write-Host ("[{0}] {1} {2}: {3}" -f $f.Severity, $f.CheckId, $f.Check, $f.Recommendation) }
}

$report = Join-Path $OutDirectory 'kernel-health.html'
$findings | Export-KernelHealthReport -Path $report | Out-Null
Write-Host ("`n{0} findings from {1} checks in {2:0.0} s; worst: {3}" -f $findings.Count, @($findings.CheckId | Select-Object -Unique).Count,
    $sw.Elapsed.TotalSeconds, ($findings | Sort-Object Severity -Descending | Select-Object -First 1).Severity)
Write-Host "HTML report: $report"
