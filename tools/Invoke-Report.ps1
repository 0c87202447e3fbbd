#!/usr/bin/env pwsh
# The main job (build.ps1 Report): is this kernel healthy, and if not, what to look at first.
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $OutDirectory
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $ModulePath 'KernelDebug.psd1') -Force
Write-Host "`n== Kernel" -ForegroundColor Cyan
Get-KernelInfo | Format-List | Out-Host

Write-Host "== Health findings" -ForegroundColor Cyan
$sw = [System.Diagnostics.Stopwatch]::StartNew()
$findings = Invoke-KernelHealthCheck -ProgressAction SilentlyContinue
$sw.Stop()
$findings | Sort-Object Severity -Descending | Format-Table -Wrap | Out-Host
$findings | Where-Object Severity -ge Warning | ForEach-Object {
    Write-Host ("{0} {1}: {2}" -f $_.CheckId, $_.Check, $_.Recommendation)
}
$report = Join-Path $OutDirectory 'kernel-health.html'
$findings | Export-KernelHealthReport -Path $report | Out-Null
Write-Host ("{0} findings from {1} checks in {2:0.0} s; worst: {3}" -f $findings.Count, @($findings.CheckId | Select-Object -Unique).Count,
    $sw.Elapsed.TotalSeconds, ($findings | Sort-Object Severity -Descending | Select-Object -First 1).Severity)
Write-Host "HTML report: $report"
