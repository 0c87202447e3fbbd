#!/usr/bin/env pwsh
# Get-SlabCache beside slabtop -o: the time of one full read of every slab cache, interleaved repetitions
# (BenchSupport). slabtop is timed as a user runs it (a process start plus one /proc/slabinfo read); Get-SlabCache
# as a cmdlet call in a session that has the module loaded (the cold first call is printed apart).
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [int] $Repetitions = 15
)
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'BenchSupport.ps1')
Import-Module (Join-Path (Resolve-Path $ModulePath) 'KernelDebug.psd1') -Force
$slabtop = Get-BenchTool slabtop procps

$cold = (Measure-Command { Get-SlabCache | Out-Null }).TotalMilliseconds
$ctx = [KernelDebug.Core.Parsing.ParseContext]::new('bench')
$r = Invoke-BenchLoop -WarmUp -Repetitions $Repetitions -Variant ([ordered]@{
        'slabtop -o (process)' = { (Measure-Command { & $slabtop -o | Out-Null }).TotalMilliseconds }
        'Get-SlabCache (slabinfo + sysfs aliases, reclaimability)' = { (Measure-Command { Get-SlabCache | Out-Null }).TotalMilliseconds }
        'Get-SlabCache -Detailed (+ a dozen sysfs files per cache)' = { (Measure-Command { Get-SlabCache -Detailed | Out-Null }).TotalMilliseconds }
        'Get-SlabCache -Interval path (slabinfo only, per sample)' = { (Measure-Command { [KernelDebug.Core.Memory.SlabReader]::Read([KernelDebug.Core.KernelRoot]::Live, 'None', $ctx) | Out-Null }).TotalMilliseconds }
    })
$caches = (Get-SlabCache).Count
Format-BenchTable $r -Baseline 'slabtop -o (process)' -Unit 'ms' -Format 'N2' -Title "One read of $caches slab caches (Linux $(uname -r))"
'Get-SlabCache cold (first call in the session): {0:N2} ms' -f $cold
Get-BenchLoad
