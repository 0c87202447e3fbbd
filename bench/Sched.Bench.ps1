#!/usr/bin/env pwsh
<#
.SYNOPSIS
    The scheduler tools beside libbpf-tools on a context-switch-heavy workload (a pipe ping-pong between two
    processes, every round trip two context switches):
      Measure-RunQueueLatency           vs runqlat
      Measure-OffCpuTime                vs offcputime
      Measure-OffCpuTime -IncludeWaker  vs wakeuptime
      Measure-CpuTimeSlice              vs cpudist
    Interleaved repetitions (BenchSupport): median ns per context switch untraced, under ours, under the peer, with
    spread and "within noise"; time to attached (ours from cmdlet invocation in a warm pwsh, theirs from launch to
    their ready line, or for offcputime, which prints none, to its programs being attached); what our tool reports
    as its BPF cost per program run.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [long] $RoundTrips = 200000,
    [int] $Repetitions = 5
)
$ErrorActionPreference = 'Stop'
$ModulePath = (Resolve-Path $ModulePath).Path
Set-StrictMode -Version 3.0
. (Join-Path $PSScriptRoot 'BenchSupport.ps1')

$work = Join-Path ([IO.Path]::GetTempPath()) "kd-sched-bench-$PID"
New-Item -ItemType Directory -Force $work | Out-Null
$w = Join-Path $work 'kdbench_pingpong'
@'
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
int main(int argc, char **argv) {
    long n = atol(argv[1]);
    int a[2], b[2];
    char c = 0;
    if (pipe(a) || pipe(b)) return 1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t p = fork();
    if (p == 0) { for (long i = 0; i < n; i++) { if (read(a[0], &c, 1) != 1 || write(b[1], &c, 1) != 1) _exit(1); } _exit(0); }
    for (long i = 0; i < n; i++) { if (write(a[1], &c, 1) != 1 || read(b[0], &c, 1) != 1) return 1; }
    waitpid(p, 0, 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%.1f\n", ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / (2.0 * n));
    return 0;
}
'@ | Set-Content "$w.c"
$compiler = if (Get-Command cc -ErrorAction SilentlyContinue) { 'cc' } else { 'clang' }
& $compiler -O2 -o $w "$w.c"
if ($LASTEXITCODE -ne 0) { throw 'compiling the workload failed' }
$workload = { [double](& $w $RoundTrips) }

Import-Module (Join-Path $ModulePath 'KernelDebug.psd1')
$iss = [initialsessionstate]::CreateDefault2()
$iss.ImportPSModule((Join-Path $ModulePath 'KernelDebug.psd1'))
$rs = [runspacefactory]::CreateRunspace($iss); $rs.Open()

$ours = [ordered]@{
    RunQueue = 'Measure-RunQueueLatency'
    OffCpu   = 'Measure-OffCpuTime'
    Waker    = 'Measure-OffCpuTime -IncludeWaker'
    Slice    = 'Measure-CpuTimeSlice'
}
$peers = [ordered]@{
    RunQueue = @{ Name = 'runqlat (libbpf-tools)'; File = (Get-BenchTool runqlat libbpf-tools); Ready = 'Tracing' }
    OffCpu   = @{ Name = 'offcputime (libbpf-tools)'; File = (Get-BenchTool offcputime libbpf-tools); Ready = $null }
    Waker    = @{ Name = 'wakeuptime (libbpf-tools)'; File = (Get-BenchTool wakeuptime libbpf-tools); Ready = 'Tracing' }
    Slice    = @{ Name = 'cpudist (libbpf-tools)'; File = (Get-BenchTool cpudist libbpf-tools); Ready = 'Tracing' }
}

function Measure-Ours([string] $Tool) {
    $ps = [powershell]::Create($rs).AddScript("$($ours[$Tool]) -Interval 0:0:0.5 -Duration 0:10:0 -Verbose")
    $out = [System.Management.Automation.PSDataCollection[psobject]]::new()
    $null = $ps.BeginInvoke([System.Management.Automation.PSDataCollection[psobject]]$null, $out)
    $deadline = [DateTime]::UtcNow.AddSeconds(30)
    while (-not ($attached = $ps.Streams.Verbose | Where-Object Message -like 'Attached*' | Select-Object -First 1)) {
        if ($ps.InvocationStateInfo.State -in 'Failed', 'Completed', 'Stopped' -or [DateTime]::UtcNow -gt $deadline) {
            throw "$($ours[$Tool]) did not attach: $($ps.InvocationStateInfo.Reason) $($ps.Streams.Error)"
        }
        Start-Sleep -Milliseconds 5
    }
    $traced = & $workload
    Start-Sleep -Milliseconds 600
    $ps.Stop()
    if ($ps.Streams.Error.Count) { throw "$($ours[$Tool]): $($ps.Streams.Error[0])" }
    $m = [regex]::Match($attached.Message, 'Attached with (\S+) ([\d.]+) ms')
    $reported = @($out | Where-Object { $_.PSObject.Properties['OverheadPerEvent'] -and $null -ne $_.OverheadPerEvent } | Select-Object -First 1)
    @{ Value = $traced; AttachMs = [double]$m.Groups[2].Value; Reported = if ($reported) { [double]$reported[0].OverheadPerEvent } else { $null } }
}

function Start-Silent([string] $File) {
    # offcputime prints nothing before its report: attached is when the kernel lists links of its programs it holds.
    $psi = [Diagnostics.ProcessStartInfo]::new($File)
    $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true; $psi.UseShellExecute = $false
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $p = [Diagnostics.Process]::Start($psi)
    $null = $p.StandardError.ReadToEndAsync()
    $deadline = [DateTime]::UtcNow.AddSeconds(30)
    while (-not (Get-ChildItem "/proc/$($p.Id)/fd" -ErrorAction SilentlyContinue | Where-Object { $_.LinkTarget -like 'anon_inode:bpf_link*' })) {
        if ($p.HasExited -or [DateTime]::UtcNow -gt $deadline) { throw "$File did not attach" }
        Start-Sleep -Milliseconds 1
    }
    [pscustomobject]@{ Process = $p; AttachMs = $sw.Elapsed.TotalMilliseconds }
}

function Measure-Peer([string] $Tool) {
    $peer = $peers[$Tool]
    $t = if ($peer.Ready) { Start-BenchTool $peer.File @() $peer.Ready } else { Start-Silent $peer.File }
    $traced = & $workload
    $null = Stop-BenchTool $t
    @{ Value = $traced; AttachMs = $t.AttachMs }
}

$note = {
    param($v)
    $parts = @()
    $a = Get-BenchDetail $v AttachMs; if ($null -ne $a) { $parts += 'attached in {0:N1} ms' -f $a }
    $o = Get-BenchDetail $v Reported; if ($null -ne $o) { $parts += 'reports {0:N0} ns BPF time/run' -f $o }
    $parts -join '; '
}
try {
    foreach ($tool in $ours.Keys) {
        $null = ([powershell]::Create($rs).AddScript("$($ours[$tool]) -Duration 0:0:0.05")).Invoke()   # JIT, libbpf
        $r = Invoke-BenchLoop -Repetitions $Repetitions -Variant ([ordered]@{
                'untraced'         = { & $workload }
                $ours[$tool]       = { Measure-Ours $tool }
                $peers[$tool].Name = { Measure-Peer $tool }
            })
        Format-BenchTable $r -Baseline 'untraced' -Unit 'ns/switch' -Note $note -Title "$RoundTrips pipe round trips (2 context switches each) under $($ours[$tool]) and $($peers[$tool].Name)"
    }
    'Ours: time to attached from cmdlet invocation in a warm pwsh; theirs from process launch to their ready line (offcputime: to its BPF links).'
    Get-BenchLoad
}
finally {
    $rs.Dispose()
    Remove-Item -Recurse -Force $work
}
