#!/usr/bin/env pwsh
<#
.SYNOPSIS
    The BPF tools beside their peers, in one run, each on the same workload:
      Measure-BlockIoLatency   vs biolatency (libbpf-tools)   — O_DIRECT 4 KiB writes to a private loop device
      Measure-LockContention   vs a bpftrace contention_begin/end script (klockstat needs kprobes, absent here)
      Trace-KernelMemoryLeak   vs a bpftrace kmalloc/kfree map script — pipe()+close() loop (kmalloc-heavy)
      Measure-KernelCpuProfile vs bpftrace profile:hz:99 stacks — getppid() loop
    Prints the workload's cost untraced and under each tool (its slowdown), what our tool reports about its own BPF
    cost (OverheadPerEvent where it has one), and the time from invocation (ours, warm pwsh) or launch (theirs) to attached.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [int] $Ios = 20000,
    [long] $PipeLoops = 200000,
    [long] $Calls = 3000000
)
$ErrorActionPreference = 'Stop'
$ModulePath = (Resolve-Path $ModulePath).Path
Set-StrictMode -Version 3.0

$work = Join-Path ([IO.Path]::GetTempPath()) "kd-bpftools-bench-$PID"
New-Item -ItemType Directory -Force $work | Out-Null
$w = Join-Path $work 'kdbench_work'
@'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
    long n = atol(argv[2]);
    struct timespec a, b;
    int fds[2];
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (!strcmp(argv[1], "pipes")) for (long i = 0; i < n; i++) { if (pipe(fds)) return 1; close(fds[0]); close(fds[1]); }
    else for (long i = 0; i < n; i++) getppid();
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
    return 0;
}
'@ | Set-Content "$w.c"
$compiler = if (Get-Command cc -ErrorAction SilentlyContinue) { 'cc' } else { 'clang' }
& $compiler -O2 -o $w "$w.c"
if ($LASTEXITCODE -ne 0) { throw 'compiling the workload failed' }

$img = Join-Path $work 'disk.img'
[IO.File]::Create($img).Dispose(); [IO.File]::Open($img, 'Open').SetLength(256MB)
$dev = (losetup -f --show $img).Trim()
$disk = Split-Path $dev -Leaf

# Workloads: nanoseconds per operation.
$workloads = @{
    BlockIo = { $sw = [Diagnostics.Stopwatch]::StartNew(); dd if=/dev/zero of=$dev bs=4096 count=$Ios oflag=direct status=none; $sw.Elapsed.TotalMilliseconds * 1e6 / $Ios }
    Lock    = { $sw = [Diagnostics.Stopwatch]::StartNew(); sh -c 'dd if=/dev/zero bs=4k count=200000 status=none | cat > /dev/null'; $sw.Elapsed.TotalMilliseconds * 1e6 / 200000 }
    Leak    = { [double](& $w pipes $PipeLoops) }
    Profile = { [double](& $w getppid $Calls) }
}

function Start-Tool([string] $File, [string[]] $Arguments, [string] $ReadyPattern) {
    $psi = [Diagnostics.ProcessStartInfo]::new('stdbuf')
    $psi.ArgumentList.Add('-oL'); $psi.ArgumentList.Add($File)
    foreach ($a in $Arguments) { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true; $psi.UseShellExecute = $false
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $p = [Diagnostics.Process]::Start($psi)
    while ($null -ne ($line = $p.StandardOutput.ReadLine())) { if ($line -match $ReadyPattern) { break } }
    $ms = $sw.Elapsed.TotalMilliseconds
    if ($p.HasExited) { throw "$File exited early: $($p.StandardError.ReadToEnd())" }
    [pscustomobject]@{ Process = $p; AttachMs = $ms }
}
function Stop-Tool($t) {
    & kill -INT $t.Process.Id
    $rest = $t.Process.StandardOutput.ReadToEndAsync()
    if (-not $t.Process.WaitForExit(30000)) { $t.Process.Kill() }
    $null = $rest.Result
}

Import-Module (Join-Path $ModulePath 'KernelDebug.psd1')
$iss = [initialsessionstate]::CreateDefault2()
$iss.ImportPSModule((Join-Path $ModulePath 'KernelDebug.psd1'))
$rs = [runspacefactory]::CreateRunspace($iss); $rs.Open()

$ours = [ordered]@{
    BlockIo = "Measure-BlockIoLatency -Disk $disk -ByOperation"
    Lock    = 'Measure-LockContention'
    Leak    = 'Trace-KernelMemoryLeak -MaxTracked 262144'
    Profile = 'Measure-KernelCpuProfile'
}
$bt = (Get-Command bpftrace -ErrorAction SilentlyContinue)?.Source
$peers = [ordered]@{
    BlockIo = @{ Name = 'biolatency (libbpf-tools)'; File = (Get-Command biolatency -ErrorAction SilentlyContinue)?.Source; Args = @(); Ready = 'Tracing' }
    Lock    = @{ Name = 'bpftrace contention script'; File = $bt; Ready = '^Attached'; Args = @('-e',
        'BEGIN { printf("Attached\n"); } tracepoint:lock:contention_begin { @s[tid] = nsecs; } tracepoint:lock:contention_end /@s[tid]/ { @w[args->lock_addr] = hist(nsecs - @s[tid]); delete(@s[tid]); }') }
    Leak    = @{ Name = 'bpftrace kmalloc/kfree map'; File = $bt; Ready = '^Attached'; Args = @('-e',
        'BEGIN { printf("Attached\n"); } tracepoint:kmem:kmalloc { @a[args->ptr] = args->bytes_alloc; @s[args->ptr] = kstack; } tracepoint:kmem:kmem_cache_alloc { @a[args->ptr] = args->bytes_alloc; @s[args->ptr] = kstack; } tracepoint:kmem:kfree /@a[args->ptr]/ { delete(@a[args->ptr]); delete(@s[args->ptr]); } tracepoint:kmem:kmem_cache_free /@a[args->ptr]/ { delete(@a[args->ptr]); delete(@s[args->ptr]); } END { clear(@a); clear(@s); }') }
    Profile = @{ Name = 'bpftrace profile:hz:99'; File = $bt; Ready = '^Attached'; Args = @('-e',
        'BEGIN { printf("Attached\n"); } profile:hz:99 { @[kstack, ustack, comm] = count(); }') }
}

function Invoke-Ours([string] $Script) { $ps = [powershell]::Create($rs); $null = $ps.AddScript($Script); $ps }

$rows = [System.Collections.Generic.List[object]]::new()
$methods = @{}
foreach ($tool in $ours.Keys) {
    $untraced = & $workloads[$tool]
    # warm-up, then the median time to attached of 5 short runs
    $null = (Invoke-Ours "$($ours[$tool]) -Duration 0:0:0.05").Invoke()
    $attach = foreach ($i in 1..5) {
        $ps = Invoke-Ours "$($ours[$tool]) -Duration 0:0:0.01 -Verbose"
        $null = $ps.Invoke()
        $m = $ps.Streams.Verbose | ForEach-Object Message | Select-String 'Attached with (\S+) ([\d.]+) ms after invocation'
        $methods[$tool] = $m.Matches[0].Groups[1].Value
        [double]$m.Matches[0].Groups[2].Value
    }
    $oursAttach = ($attach | Sort-Object)[2]
    # the workload while our tool runs
    $ps = Invoke-Ours "$($ours[$tool]) -Interval 0:0:0.5 -Duration 0:10:0"
    $out = [System.Management.Automation.PSDataCollection[psobject]]::new()
    $null = $ps.BeginInvoke([System.Management.Automation.PSDataCollection[psobject]]$null, $out)
    Start-Sleep -Milliseconds 300
    $deadline = (Get-Date).AddSeconds(10)
    while (-not (Get-BpfProgram 'kd_*' | Where-Object { $_.OwnerProcessIds -contains $PID }) -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 20 }
    $traced = & $workloads[$tool]
    Start-Sleep -Milliseconds 600   # one more interval, so a record reports the program cost of the workload
    $ps.Stop()
    $reported = @($out | Where-Object { $_.PSObject.Properties['OverheadPerEvent'] -and $null -ne $_.OverheadPerEvent } | Select-Object -First 1)
    $note = if ($reported) { 'reports {0:N0} ns BPF time/event' -f $reported[0].OverheadPerEvent } else { '' }
    $rows.Add([pscustomobject]@{ Workload = $tool; Tool = "$(($ours[$tool] -split ' ')[0]) ($($methods[$tool]))"; Untraced = $untraced; Traced = $traced; AttachMs = $oursAttach; Note = $note })

    $peer = $peers[$tool]
    if (-not $peer.File) { Write-Warning "$($peer.Name): not installed"; continue }
    $untraced2 = & $workloads[$tool]
    $t = Start-Tool $peer.File $peer.Args $peer.Ready
    $traced2 = & $workloads[$tool]
    Stop-Tool $t
    $rows.Add([pscustomobject]@{ Workload = $tool; Tool = $peer.Name; Untraced = $untraced2; Traced = $traced2; AttachMs = $t.AttachMs; Note = '' })
}

"BPF tools beside their peers (ns per workload operation; slowdown = traced - untraced, measured back to back)"
$rows | ForEach-Object {
    [pscustomobject]@{
        Workload      = $_.Workload
        Tool          = $_.Tool
        'untraced ns' = '{0:N0}' -f $_.Untraced
        'traced ns'   = '{0:N0}' -f $_.Traced
        'slowdown ns' = '{0:N0}' -f ($_.Traced - $_.Untraced)
        'to attached' = '{0:N1} ms' -f $_.AttachMs
        Note          = $_.Note
    }
} | Format-Table -AutoSize | Out-String -Width 220
'Workloads: BlockIo = {0:N0} O_DIRECT 4 KiB writes to {1}; Lock = 200000 4 KiB pipe writes (dd | cat); Leak = {2:N0} pipe()+close(); Profile = {3:N0} getppid().' -f $Ios, $disk, $PipeLoops, $Calls
'Ours: time to attached from cmdlet invocation in a warm pwsh (median of 5); theirs from process launch to their ready line.'
$rs.Dispose()
losetup -d $dev
Remove-Item -Recurse -Force $work
