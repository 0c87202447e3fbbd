#!/usr/bin/env pwsh
# Get-SlabCache beside slabtop -o: the time of one full read of every slab cache, measured in the same run.
# slabtop is timed as a user runs it (a process start plus one /proc/slabinfo read); Get-SlabCache as a cmdlet
# call in a session that has the module loaded, cold (first call) and warm (median of the repeats).
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [int] $Repeat = 15
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path (Resolve-Path $ModulePath) 'KernelDebug.psd1') -Force
if (-not (Get-Command slabtop -ErrorAction SilentlyContinue)) { Write-Warning 'slabtop (procps) is not installed'; exit 1 }

function Measure-Median([scriptblock] $Block, [int] $N) {
    $t = foreach ($i in 1..$N) { (Measure-Command $Block).TotalMilliseconds }
    ($t | Sort-Object)[[int][math]::Floor($N / 2)]
}

$cold = (Measure-Command { Get-SlabCache | Out-Null }).TotalMilliseconds
$rows = @(
    [pscustomobject]@{ Tool = 'Get-SlabCache (cold, first call)'; Milliseconds = [math]::Round($cold, 2) }
    [pscustomobject]@{ Tool = 'Get-SlabCache (slabinfo + sysfs aliases, reclaimability)'; Milliseconds = [math]::Round((Measure-Median { Get-SlabCache | Out-Null } $Repeat), 2) }
    [pscustomobject]@{ Tool = 'Get-SlabCache -Detailed (+ a dozen sysfs files per cache)'; Milliseconds = [math]::Round((Measure-Median { Get-SlabCache -Detailed | Out-Null } $Repeat), 2) }
    [pscustomobject]@{ Tool = 'Get-SlabCache -Interval path (slabinfo only, per sample)'; Milliseconds = [math]::Round((Measure-Median { [KernelDebug.Core.Memory.SlabReader]::Read([KernelDebug.Core.KernelRoot]::Live, 'None', [KernelDebug.Core.Parsing.ParseContext]::new('bench')) | Out-Null } $Repeat), 2) }
    [pscustomobject]@{ Tool = 'slabtop -o (process)'; Milliseconds = [math]::Round((Measure-Median { slabtop -o | Out-Null } $Repeat), 2) }
)
$caches = (Get-SlabCache).Count
Write-Host "One read of $caches slab caches, median of $Repeat runs (Linux $(uname -r), $([Environment]::ProcessorCount) CPUs):"
$rows | Format-Table -AutoSize | Out-String | Write-Host
