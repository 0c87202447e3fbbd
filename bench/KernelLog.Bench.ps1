<#
.SYNOPSIS
    Kernel log parsing speed: Get-KernelMessage -Path beside Python, dmesg and the PowerShell one-liners, on one
    generated 1,000,000-line kernel log, all measured in this run.
.DESCRIPTION
    Writes a realistic log (driver chatter, audit lines, WARNING reports with Call Trace blocks) with
    bench/New-KernelLogSample.py into a temporary folder, in dmesg text form and in the raw '<prio>[ts] text' form that
    dmesg -F reads, then times:
      - Get-KernelMessage -Path (typed KernelMessage records, collected into a variable, and streamed to Measure-Object)
        after one warm-up read;
      - Get-KernelOops -Path on the same file, when the module has it;
      - a Python regex parse of timestamp and text (bench/parse_dmesg.py);
      - dmesg -F on the raw form;
      - switch -Regex -File and Get-Content | Select-String, as people write them;
    all interleaved (BenchSupport: median and spread of the repetitions). Then the peak memory (maximum RSS from
    /usr/bin/time -v) of a pwsh running Get-KernelMessage beside python's and dmesg's.
.PARAMETER ModulePath
    The built module folder (out/KernelDebug).
.PARAMETER Lines
    Lines in the generated log.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [int] $Lines = 1000000,
    [int] $Repetitions = 5
)
$ErrorActionPreference = 'Stop'
$ModulePath = (Resolve-Path $ModulePath).Path
Set-StrictMode -Version 3.0

$dir = Join-Path ([IO.Path]::GetTempPath()) "kd-logbench-$PID"
New-Item -ItemType Directory -Force -Path $dir | Out-Null
$text = Join-Path $dir 'kernel.log'
$raw = Join-Path $dir 'kernel-raw.log'
. (Join-Path $PSScriptRoot 'BenchSupport.ps1')
Import-Module (Join-Path $ModulePath 'KernelDebug.psd1')

# Wall time is what the goal is about; CPU time (user + system, all threads) is kept beside it because this
# machine is shared and a busy neighbour stretches wall time but not CPU time.
$me = [Diagnostics.Process]::GetCurrentProcess()
function Measure-InProcess([scriptblock] $Script) {
    $me.Refresh(); $cpu0 = $me.TotalProcessorTime
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $out = & $Script
    $sw.Stop(); $me.Refresh()
    @{ Value = $sw.Elapsed.TotalSeconds; Cpu = ($me.TotalProcessorTime - $cpu0).TotalSeconds; Out = $out }
}
function Measure-External([string] $File, [string[]] $Arguments) {
    $m = Measure-MaxRss $File $Arguments
    @{ Value = $m.Seconds; Cpu = $m.CpuSeconds; MaxRss = $m.MaxRssBytes }
}

try {
    Write-Host "Generating $Lines lines in $dir ..."
    & python3 (Join-Path $PSScriptRoot 'New-KernelLogSample.py') $Lines $text $raw
    if ($LASTEXITCODE -ne 0) { throw 'log generation failed' }
    $size = (Get-Item $text).Length
    Write-Host ('  {0:N0} lines, {1:N1} MB' -f $Lines, ($size / 1MB))

    $python = Get-BenchTool python3 python3
    $dmesg = Get-BenchTool dmesg util-linux
    $pattern = '^\[\s*(\d+\.\d+)\]\s?(.*)$'
    $null = Get-KernelMessage -Path $text | Measure-Object          # warm-up: JIT and page cache
    $null = Get-KernelOops -Path $text | Measure-Object
    $r = Invoke-BenchLoop -Repetitions $Repetitions -Variant ([ordered]@{
            'Get-KernelMessage -Path (into a variable)' = { $m = Measure-InProcess { $records = Get-KernelMessage -Path $text; $records.Count }; $m.Out = "$($m.Out) records"; $m }
            'Get-KernelMessage -Path | Measure-Object' = { $m = Measure-InProcess { (Get-KernelMessage -Path $text | Measure-Object).Count }; $m.Out = "$($m.Out) streamed"; $m }
            # What PowerShell itself costs to pass that many ready objects into a variable: the floor for any cmdlet.
            '(floor) Write-Output of ready records' = { $records = Get-KernelMessage -Path $text; $m = Measure-InProcess { $copy = Write-Output $records; $copy.Count }; $m.Out = "$($m.Out) objects, no parsing"; $m }
            'Get-KernelOops -Path | Measure-Object' = { $m = Measure-InProcess { (Get-KernelOops -Path $text | Measure-Object).Count }; $m.Out = "$($m.Out) reports"; $m }
            'python3 regex (timestamp, text)' = { Measure-External $python @((Join-Path $PSScriptRoot 'parse_dmesg.py'), $text) }
            'dmesg -F (raw <prio>[ts] form)' = { Measure-External $dmesg @('-F', $raw) }
            'switch -Regex -File' = { Measure-InProcess { $rows = switch -Regex -File $text { $pattern { [pscustomobject]@{ Uptime = [double]$Matches[1]; Text = $Matches[2] } } }; "$($rows.Count) PSCustomObjects" } }
            'Get-Content | Select-String' = { Measure-InProcess { "$((Get-Content -Path $text | Select-String -Pattern $pattern | Measure-Object).Count) MatchInfo" } }
        })
    $cpuNote = { param($v) 'cpu {0:N2} s; {1}' -f (Get-BenchDetail $v Cpu), $v.Details[-1].Out }
    $rowNote = { param($v) $d = $v.Details[-1]; if ($d.Contains('MaxRss')) { 'cpu {0:N2} s; max RSS {1:N0} MB' -f (Get-BenchDetail $v Cpu), ($d.MaxRss / 1MB) } else { & $cpuNote $v } }
    Format-BenchTable $r -Baseline 'python3 regex (timestamp, text)' -Unit 's' -Format 'N3' -Note $rowNote -Title ('Kernel log parsing, {0:N0} lines' -f $Lines)

    # Memory: each in its own process under /usr/bin/time -v (pwsh with the module imported and nothing read is the base).
    $rss = [ordered]@{
        'pwsh + Import-Module (nothing read)'      = Measure-PwshMaxRss $ModulePath
        'Get-KernelMessage -Path | Measure-Object' = Measure-PwshMaxRss $ModulePath "Get-KernelMessage -Path '$text' | Measure-Object"
        '$r = Get-KernelMessage -Path (kept)'      = Measure-PwshMaxRss $ModulePath "`$r = Get-KernelMessage -Path '$text'; `$r.Count"
        'python3 regex (timestamp, text)'          = Measure-MaxRss $python @((Join-Path $PSScriptRoot 'parse_dmesg.py'), $text)
        'dmesg -F'                                 = Measure-MaxRss $dmesg @('-F', $raw)
    }
    Format-MaxRssTable $rss
    Get-BenchLoad
    $base = $r['Get-KernelMessage -Path (into a variable)'].Stat.Median
    'Goal: Get-KernelMessage -Path under 1.0 s for {0:N0} lines: {1}' -f $Lines, $(if ($base -lt 1.0) { 'met' } else { "not met ($('{0:N3}' -f $base) s)" })
}
finally {
    Remove-Item -Recurse -Force $dir -ErrorAction SilentlyContinue
}
