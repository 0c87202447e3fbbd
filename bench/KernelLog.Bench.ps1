<#
.SYNOPSIS
    Kernel log parsing speed: Get-KernelMessage -Path beside Python, dmesg and the PowerShell one-liners, on one
    generated 1,000,000-line kernel log, all measured in this run.
.DESCRIPTION
    Writes a realistic log (driver chatter, audit lines, WARNING reports with Call Trace blocks) with
    bench/New-KernelLogSample.py into a temporary folder, in dmesg text form and in the raw '<prio>[ts] text' form that
    dmesg -F reads, then times:
      - Get-KernelMessage -Path (typed KernelMessage records, collected into a variable, and streamed to Measure-Object),
        in a fresh pwsh after one warm-up read, with its peak working set while streaming;
      - Get-KernelOops -Path on the same file, when the module has it;
      - a Python regex parse of timestamp and text (bench/parse_dmesg.py);
      - dmesg -F on the raw form;
      - switch -Regex -File and Get-Content | Select-String, as people write them.
.PARAMETER ModulePath
    The built module folder (out/KernelDebug).
.PARAMETER Lines
    Lines in the generated log.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [int] $Lines = 1000000
)
$ErrorActionPreference = 'Stop'
$ModulePath = (Resolve-Path $ModulePath).Path
Set-StrictMode -Version 3.0

$dir = Join-Path ([IO.Path]::GetTempPath()) "kd-logbench-$PID"
New-Item -ItemType Directory -Force -Path $dir | Out-Null
$text = Join-Path $dir 'kernel.log'
$raw = Join-Path $dir 'kernel-raw.log'
$results = [Collections.Generic.List[object]]::new()

# Wall time is what the goal is about; CPU time (user + system, all threads) is printed beside it because this
# machine is shared and a busy neighbour stretches wall time but not CPU time.
function Add-Result([string] $Tool, [string] $What, [double] $Seconds, $Cpu, [string] $Note = '') {
    $results.Add([pscustomobject]@{
            Tool = $Tool; What = $What; Seconds = [math]::Round($Seconds, 3)
            CpuSeconds = if ($null -ne $Cpu) { [math]::Round([double]$Cpu, 3) } else { $null }; Note = $Note
        })
}

function Measure-Process([string] $File, [string[]] $Arguments) {
    $timeFile = Join-Path $dir 'time.txt'
    if (Test-Path /usr/bin/time) {
        & /usr/bin/time -f '%e %U %S' -o $timeFile $File @Arguments > /dev/null
        if ($LASTEXITCODE -ne 0) { Write-Warning "$File exited with $LASTEXITCODE" }
        $e, $u, $s = (Get-Content $timeFile -Tail 1).Split(' ') | ForEach-Object { [double]::Parse($_, [cultureinfo]::InvariantCulture) }
        return @{ Wall = $e; Cpu = $u + $s }
    }
    $sw = [Diagnostics.Stopwatch]::StartNew()
    & $File @Arguments > /dev/null
    @{ Wall = $sw.Elapsed.TotalSeconds; Cpu = $null }
}

function Measure-InProcess([scriptblock] $Script) {
    $me = [Diagnostics.Process]::GetCurrentProcess()
    $cpu0 = $me.TotalProcessorTime
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $out = & $Script
    $sw.Stop(); $me.Refresh()
    @{ Wall = $sw.Elapsed.TotalSeconds; Cpu = ($me.TotalProcessorTime - $cpu0).TotalSeconds; Out = $out }
}

try {
    Write-Host "Generating $Lines lines in $dir ..."
    & python3 (Join-Path $PSScriptRoot 'New-KernelLogSample.py') $Lines $text $raw
    if ($LASTEXITCODE -ne 0) { throw 'log generation failed' }
    $size = (Get-Item $text).Length
    Write-Host ('  {0:N0} lines, {1:N1} MB' -f $Lines, ($size / 1MB))

    # Ours, in a fresh pwsh so its memory figure is its own.
    $child = @'
param($Module, $File)
Import-Module $Module
$null = Get-KernelMessage -Path $File | Measure-Object          # warm-up: JIT and page cache
$p = [Diagnostics.Process]::GetCurrentProcess()
function Time([scriptblock] $s) {
    $p.Refresh(); $c0 = $p.TotalProcessorTime
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $r = & $s
    $sw.Stop(); $p.Refresh()
    @{ Wall = $sw.Elapsed.TotalSeconds; Cpu = ($p.TotalProcessorTime - $c0).TotalSeconds; Result = $r }
}
$stream = Time { (Get-KernelMessage -Path $File | Measure-Object).Count }
$p.Refresh(); $peak = $p.PeakWorkingSet64
$collect = Time { $records = Get-KernelMessage -Path $File; @($records.Count, $records[0].GetType().Name) }
# What PowerShell itself costs to pass that many ready objects down a pipeline into a variable: the floor for any cmdlet.
$records = Get-KernelMessage -Path $File
$floor = Time { $copy = Write-Output $records; $copy.Count }
$records = $null; $copy = $null
$oops = $null
if (Get-Command Get-KernelOops -ErrorAction SilentlyContinue) {
    $null = Get-KernelOops -Path $File | Measure-Object
    $oops = Time { (Get-KernelOops -Path $File | Measure-Object).Count }
}
[pscustomobject]@{ Stream = $stream; Collect = $collect; Floor = $floor; Peak = $peak; Oops = $oops } | ConvertTo-Json -Compress -Depth 4
'@
    $childFile = Join-Path $dir 'ours.ps1'
    Set-Content -Path $childFile -Value $child
    $json = & dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -File $childFile (Join-Path $ModulePath 'KernelDebug.psd1') $text
    $ours = $json | Select-Object -Last 1 | ConvertFrom-Json
    Add-Result 'Get-KernelMessage -Path' "$($ours.Collect.Result[0]) $($ours.Collect.Result[1]) records into a variable" $ours.Collect.Wall $ours.Collect.Cpu
    Add-Result 'Get-KernelMessage -Path | Measure-Object' "$($ours.Stream.Result) records streamed" $ours.Stream.Wall $ours.Stream.Cpu ('peak working set {0:N0} MB' -f ($ours.Peak / 1MB))
    Add-Result '(floor) Write-Output of ready records' "$($ours.Floor.Result) objects into a variable" $ours.Floor.Wall $ours.Floor.Cpu 'PowerShell pipeline cost alone, no parsing'
    if ($ours.Oops) { Add-Result 'Get-KernelOops -Path | Measure-Object' "$($ours.Oops.Result) reports" $ours.Oops.Wall $ours.Oops.Cpu }
    else { Write-Host '  (Get-KernelOops is not in this module; not timed)' }

    $py = Measure-Process python3 @((Join-Path $PSScriptRoot 'parse_dmesg.py'), $text)
    Add-Result 'python3 regex (timestamp, text)' 'list of tuples' $py.Wall $py.Cpu
    if (Get-Command dmesg -ErrorAction SilentlyContinue) {
        $dm = Measure-Process dmesg @('-F', $raw)
        Add-Result 'dmesg -F (raw <prio>[ts] form)' 'text to /dev/null' $dm.Wall $dm.Cpu
    }

    $pattern = '^\[\s*(\d+\.\d+)\]\s?(.*)$'
    $sw = Measure-InProcess { $rows = switch -Regex -File $text { $pattern { [pscustomobject]@{ Uptime = [double]$Matches[1]; Text = $Matches[2] } } }; $rows.Count }
    Add-Result 'switch -Regex -File' "$($sw.Out) PSCustomObjects" $sw.Wall $sw.Cpu

    $ss = Measure-InProcess { (Get-Content -Path $text | Select-String -Pattern $pattern | Measure-Object).Count }
    Add-Result 'Get-Content | Select-String' "$($ss.Out) MatchInfo" $ss.Wall $ss.Cpu

    $base = ($results | Where-Object Tool -eq 'Get-KernelMessage -Path').Seconds
    $results | Select-Object Tool, What, Seconds, CpuSeconds, @{ n = 'xOurs'; e = { '{0:N1}' -f ($_.Seconds / $base) } }, Note | Format-Table -AutoSize | Out-String -Width 200 | Write-Host
    Write-Host ('Load average during the run: {0}' -f (Get-Content /proc/loadavg))
    Write-Host ('Goal: Get-KernelMessage -Path under 1.0 s for {0:N0} lines: {1}' -f $Lines, $(if ($base -lt 1.0) { 'met' } else { "not met ($base s)" }))
}
finally {
    Remove-Item -Recurse -Force $dir -ErrorAction SilentlyContinue
}
