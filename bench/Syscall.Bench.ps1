#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Measure-SyscallLatency against libbpf-tools' syscount -L and a bpftrace histogram script, in one run, on the same
    loop: N getppid() calls from a small C program. Prints ns/call untraced and under each tracer (system-wide, all
    syscalls), the time from invocation/launch to attached, the overhead our tool reports about itself
    (OverheadPerEvent, from BPF stats), and our process's extra memory.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [long] $Calls = 5000000,
    [int] $Repeat = 1
)
$ErrorActionPreference = 'Stop'
$ModulePath = (Resolve-Path $ModulePath).Path
Set-StrictMode -Version 3.0

$work = Join-Path ([IO.Path]::GetTempPath()) "kd-syscall-bench-$PID"
New-Item -ItemType Directory -Force $work | Out-Null
$loopSrc = Join-Path $work 'kdbench_loop.c'
$loop = Join-Path $work 'kdbench_loop'
@'
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 5000000;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) getppid();
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
    return 0;
}
'@ | Set-Content $loopSrc
$compiler = if (Get-Command cc -ErrorAction SilentlyContinue) { 'cc' } else { 'clang' }   # clang is in $AptBuild
& $compiler -O2 -o $loop $loopSrc
if ($LASTEXITCODE -ne 0) { throw 'cc failed' }

function Invoke-Loop { [double] (& $loop $Calls) }

function Start-Tool([string] $File, [string[]] $Arguments, [string] $ReadyPattern) {
    $psi = [Diagnostics.ProcessStartInfo]::new('stdbuf')
    $psi.ArgumentList.Add('-oL'); $psi.ArgumentList.Add($File)
    foreach ($a in $Arguments) { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true; $psi.UseShellExecute = $false
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $p = [Diagnostics.Process]::Start($psi)
    while ($null -ne ($line = $p.StandardOutput.ReadLine())) {
        if ($line -match $ReadyPattern) { break }
    }
    $ms = $sw.Elapsed.TotalMilliseconds
    if ($p.HasExited) { throw "$File exited early: $($p.StandardError.ReadToEnd())" }
    [pscustomobject]@{ Process = $p; AttachMs = $ms }
}

function Stop-Tool($t) {
    & kill -INT $t.Process.Id
    $rest = $t.Process.StandardOutput.ReadToEndAsync()
    if (-not $t.Process.WaitForExit(30000)) { $t.Process.Kill() }
    $rest.Result
}

function Get-RssBytes { [long](((Get-Content /proc/self/status | Where-Object { $_ -like 'VmRSS:*' }) -split '\s+')[1]) * 1024 }

# --- our tool, in this warm pwsh process (a runspace so the loop can run while it measures)
Import-Module (Join-Path $ModulePath 'KernelDebug.psd1')
$iss = [initialsessionstate]::CreateDefault2()
$iss.ImportPSModule((Join-Path $ModulePath 'KernelDebug.psd1'))
$rs = [runspacefactory]::CreateRunspace($iss); $rs.Open()
function Invoke-Ours([string] $Script) { $ps = [powershell]::Create($rs); $null = $ps.AddScript($Script); $ps }
$rssBefore = Get-RssBytes
# warm up: first invocation JITs the cmdlet and libbpf paths
$null = (Invoke-Ours 'Measure-SyscallLatency -Duration 0:0:0.05').Invoke()
$attach = foreach ($i in 1..7) {
    $ps = Invoke-Ours 'Measure-SyscallLatency -Duration 0:0:0.01 -Verbose'
    $null = $ps.Invoke()
    $m = $ps.Streams.Verbose | ForEach-Object Message | Select-String 'Attached with (\S+) ([\d.]+) ms after invocation'
    [double] $m.Matches[0].Groups[2].Value
    $method = $m.Matches[0].Groups[1].Value
}
$oursAttach = ($attach | Sort-Object)[[int][math]::Floor($attach.Count / 2)]

$rows = [System.Collections.Generic.List[object]]::new()
$untraced = @(foreach ($i in 1..$Repeat) { Invoke-Loop }) | Measure-Object -Minimum
$rows.Add([pscustomobject]@{ Tool = 'untraced'; NsPerCall = $untraced.Minimum; AttachMs = $null; Note = '' })

function Measure-Ours([string] $Extra) {
    $best = $null
    foreach ($i in 1..$Repeat) {
        $ps = Invoke-Ours "Measure-SyscallLatency -Interval 0:0:1 -Verbose $Extra"
        $out = [System.Management.Automation.PSDataCollection[psobject]]::new()
        $null = $ps.BeginInvoke([System.Management.Automation.PSDataCollection[psobject]]$null, $out)
        while (-not ($ps.Streams.Verbose | Where-Object Message -like 'Attached*')) { Start-Sleep -Milliseconds 5 }
        $ns = Invoke-Loop
        $script:rssPeak = [math]::Max($script:rssPeak, (Get-RssBytes))
        Start-Sleep -Milliseconds 1100   # let the last interval close
        $ps.Stop()
        $recs = @($out | Where-Object { $_.Syscall -eq 'getppid' })
        $count = [long]($recs | Measure-Object Count -Sum).Sum
        $top = $recs | Sort-Object Count -Descending | Select-Object -First 1
        if (-not $best -or $ns -lt $best.NsPerCall) {
            $best = [pscustomobject]@{ NsPerCall = $ns; Count = $count; Reported = $top.OverheadPerEvent; P50 = $top.P50; Histogram = $top.Histogram }
        }
    }
    $best
}
$rssPeak = 0
$ours = Measure-Ours ''
$rows.Add([pscustomobject]@{ Tool = "Measure-SyscallLatency ($method)"; NsPerCall = $ours.NsPerCall; AttachMs = $oursAttach
        Note = ('counted {0:N0} getppid; reports {1:N0} ns BPF time/call; P50 {2:N0} ns' -f $ours.Count, $ours.Reported, ($ours.P50.Ticks * 100)) })
$quiet = Measure-Ours '-NoProgramStatistics'
$rows.Add([pscustomobject]@{ Tool = "Measure-SyscallLatency -NoProgramStatistics"; NsPerCall = $quiet.NsPerCall; AttachMs = $null
        Note = ('counted {0:N0} getppid' -f $quiet.Count) })

$syscount = (Get-Command syscount -ErrorAction SilentlyContinue)?.Source
if ($syscount) {
    $best = $null
    foreach ($i in 1..$Repeat) {
        $t = Start-Tool $syscount @('-L') 'Tracing syscalls'
        $ns = Invoke-Loop
        $null = Stop-Tool $t
        if (-not $best -or $ns -lt $best.NsPerCall) { $best = [pscustomobject]@{ NsPerCall = $ns; AttachMs = $t.AttachMs } }
    }
    $rows.Add([pscustomobject]@{ Tool = 'syscount -L (libbpf-tools)'; NsPerCall = $best.NsPerCall; AttachMs = $best.AttachMs; Note = 'counts + average only' })
}
else { Write-Warning 'syscount (libbpf-tools) is not installed' }

$bt = (Get-Command bpftrace -ErrorAction SilentlyContinue)?.Source
if ($bt) {
    $script = Join-Path $work 'syslat.bt'
    @'
BEGIN { printf("Attached\n"); }
tracepoint:raw_syscalls:sys_enter { @start[tid] = nsecs; @sid[tid] = args->id; }
tracepoint:raw_syscalls:sys_exit /@start[tid]/ { @lat[@sid[tid]] = hist(nsecs - @start[tid]); delete(@start[tid]); delete(@sid[tid]); }
'@ | Set-Content $script
    $best = $null
    foreach ($i in 1..$Repeat) {
        $t = Start-Tool $bt @($script) '^Attached'
        $ns = Invoke-Loop
        $btOut = Stop-Tool $t
        if (-not $best -or $ns -lt $best.NsPerCall) { $best = [pscustomobject]@{ NsPerCall = $ns; AttachMs = $t.AttachMs } }
    }
    # bpftrace's getppid (110) histogram: the power-of-two row holding its median, next to our interpolated P50
    $rowsBt = @(); $in = $false
    foreach ($l in $btOut -split "`n") {
        if ($l -match '^@lat\[110\]:') { $in = $true; continue }
        if ($in -and $l -match '^\[(\S+), (\S+)\)\s+(\d+)') { $rowsBt += , @($Matches[1], $Matches[2], [long]$Matches[3]) }
        elseif ($in -and $rowsBt.Count) { break }
    }
    $median = ''
    if ($rowsBt.Count) {
        $half = ($rowsBt | ForEach-Object { $_[2] } | Measure-Object -Sum).Sum / 2; $acc = 0
        foreach ($r in $rowsBt) { $acc += $r[2]; if ($acc -ge $half) { $median = "getppid median in [$($r[0]), $($r[1])) ns"; break } }
    }
    $rows.Add([pscustomobject]@{ Tool = 'bpftrace hist script'; NsPerCall = $best.NsPerCall; AttachMs = $best.AttachMs; Note = $median })
}
else { Write-Warning 'bpftrace is not installed' }

$base = $untraced.Minimum
"Syscall latency tracing overhead: $Calls getppid() calls, system-wide tracing of all syscalls, best of $Repeat"
$rows | ForEach-Object {
    [pscustomobject]@{
        Tool           = $_.Tool
        'ns/call'      = '{0:N0}' -f $_.NsPerCall
        'overhead ns'  = if ($_.Tool -eq 'untraced') { '' } else { '{0:N0}' -f ($_.NsPerCall - $base) }
        'to attached'  = if ($null -ne $_.AttachMs) { '{0:N1} ms' -f $_.AttachMs } else { '' }
        Note           = $_.Note
    }
} | Format-Table -AutoSize | Out-String -Width 200
'Ours: time to attached is from cmdlet invocation in a warm pwsh (median of 7); theirs from process launch to their ready line.'
'Ours: extra memory of this pwsh process while measuring: {0:N1} MB (RSS after module import {1:N1} MB)' -f (($rssPeak - $rssBefore) / 1MB), ($rssBefore / 1MB)
"Ours: getppid P50 {0:N0} ns; our nsecs histogram (same power-of-two rows as bpftrace's hist):" -f ($ours.P50.Ticks * 100)
$ours.Histogram.ToLog2Text('nsecs', 1)
$rs.Dispose()
Remove-Item -Recurse -Force $work
