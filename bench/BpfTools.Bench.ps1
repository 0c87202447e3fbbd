#!/usr/bin/env pwsh
<#
.SYNOPSIS
    The BPF tools beside their peers, in one run, each on the same workload:
      Measure-BlockIoLatency   vs biolatency (libbpf-tools)   — O_DIRECT 4 KiB writes to a private loop device
      Measure-LockContention   vs a bpftrace contention_begin/end script (klockstat needs kprobes, absent here)
      Trace-KernelMemoryLeak   vs a bpftrace kmalloc/kfree map script — pipe()+close() loop (kmalloc-heavy)
      Measure-KernelCpuProfile vs bpftrace profile:hz:99 stacks — getppid() loop
      Measure-InterruptTime -Kind Soft vs softirqs (libbpf-tools) — loopback UDP send+receive (NET_RX per datagram)
      Measure-InterruptTime -Kind Hard vs hardirqs (libbpf-tools) — O_DIRECT|O_DSYNC 4 KiB writes to the root disk
    Per tool, interleaved repetitions (BenchSupport) of the workload untraced, under our tool and under the peer: the
    median ns per operation with its spread, the slowdown against untraced ("within noise" where the spread is larger),
    what our tool reports about its own BPF cost (OverheadPerEvent where it has one), and the time from invocation
    (ours, warm pwsh) or launch (theirs) to attached.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [int] $Ios = 20000,
    [long] $PipeLoops = 200000,
    [long] $Calls = 3000000,
    [long] $Datagrams = 300000,
    [int] $DiskWrites = 2000,
    [int] $Repetitions = 5,
    # Only these tools (BlockIo, Lock, Leak, Profile, SoftIrq, HardIrq); all by default.
    [string[]] $Tool = @()
)
$ErrorActionPreference = 'Stop'
$ModulePath = (Resolve-Path $ModulePath).Path
Set-StrictMode -Version 3.0
. (Join-Path $PSScriptRoot 'BenchSupport.ps1')

$work = Join-Path ([IO.Path]::GetTempPath()) "kd-bpftools-bench-$PID"
New-Item -ItemType Directory -Force $work | Out-Null
$w = Join-Path $work 'kdbench_work'
@'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
    long n = atol(argv[2]);
    struct timespec a, b;
    int fds[2];
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (!strcmp(argv[1], "pipes")) for (long i = 0; i < n; i++) { if (pipe(fds)) return 1; close(fds[0]); close(fds[1]); }
    else if (!strcmp(argv[1], "udp")) {
        int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof sa;
        char buf[64] = { 0 };
        if (bind(rx, (struct sockaddr *)&sa, sizeof sa) || getsockname(rx, (struct sockaddr *)&sa, &len)) return 1;
        for (long i = 0; i < n; i++) { if (sendto(tx, buf, sizeof buf, 0, (struct sockaddr *)&sa, sizeof sa) < 0 || recv(rx, buf, sizeof buf, 0) < 0) return 1; }
    }
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

$descriptions = @{
    BlockIo = "$Ios O_DIRECT 4 KiB writes to $disk"; Lock = '200000 4 KiB pipe writes (dd | cat)'
    Leak = "$PipeLoops pipe()+close()"; Profile = "$Calls getppid()"
    SoftIrq = "$Datagrams loopback UDP datagrams sent and received"; HardIrq = "$DiskWrites O_DIRECT|O_DSYNC 4 KiB writes to the root disk"
}
$rootFile = Join-Path $PSScriptRoot "../out/kd-irq-bench-$PID.bin"
# Workloads: nanoseconds per operation.
$workloads = @{
    BlockIo = { $sw = [Diagnostics.Stopwatch]::StartNew(); dd if=/dev/zero of=$dev bs=4096 count=$Ios oflag=direct status=none; $sw.Elapsed.TotalMilliseconds * 1e6 / $Ios }
    Lock    = { $sw = [Diagnostics.Stopwatch]::StartNew(); sh -c 'dd if=/dev/zero bs=4k count=200000 status=none | cat > /dev/null'; $sw.Elapsed.TotalMilliseconds * 1e6 / 200000 }
    Leak    = { [double](& $w pipes $PipeLoops) }
    Profile = { [double](& $w getppid $Calls) }
    SoftIrq = { [double](& $w udp $Datagrams) }
    HardIrq = { $sw = [Diagnostics.Stopwatch]::StartNew(); dd if=/dev/zero of=$rootFile bs=4096 count=$DiskWrites oflag=direct,dsync status=none; $sw.Elapsed.TotalMilliseconds * 1e6 / $DiskWrites }
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
    SoftIrq = 'Measure-InterruptTime -Kind Soft'
    HardIrq = 'Measure-InterruptTime -Kind Hard'
}
$bt = Get-BenchTool bpftrace bpftrace
$peers = [ordered]@{
    BlockIo = @{ Name = 'biolatency (libbpf-tools)'; File = (Get-BenchTool biolatency libbpf-tools); Args = @(); Ready = 'Tracing' }
    Lock    = @{ Name = 'bpftrace contention script'; File = $bt; Ready = '^Attached'; Args = @('-e',
        'BEGIN { printf("Attached\n"); } tracepoint:lock:contention_begin { @s[tid] = nsecs; } tracepoint:lock:contention_end /@s[tid]/ { @w[args->lock_addr] = hist(nsecs - @s[tid]); delete(@s[tid]); }') }
    Leak    = @{ Name = 'bpftrace kmalloc/kfree map'; File = $bt; Ready = '^Attached'; Args = @('-e',
        'BEGIN { printf("Attached\n"); } tracepoint:kmem:kmalloc { @a[args->ptr] = args->bytes_alloc; @s[args->ptr] = kstack; } tracepoint:kmem:kmem_cache_alloc { @a[args->ptr] = args->bytes_alloc; @s[args->ptr] = kstack; } tracepoint:kmem:kfree /@a[args->ptr]/ { delete(@a[args->ptr]); delete(@s[args->ptr]); } tracepoint:kmem:kmem_cache_free /@a[args->ptr]/ { delete(@a[args->ptr]); delete(@s[args->ptr]); } END { clear(@a); clear(@s); }') }
    Profile = @{ Name = 'bpftrace profile:hz:99'; File = $bt; Ready = '^Attached'; Args = @('-e',
        'BEGIN { printf("Attached\n"); } profile:hz:99 { @[kstack, ustack, comm] = count(); }') }
    # -d: histograms, as ours always keeps.
    SoftIrq = @{ Name = 'softirqs -d (libbpf-tools)'; File = (Get-BenchTool softirqs libbpf-tools); Args = @('-d'); Ready = 'Tracing' }
    HardIrq = @{ Name = 'hardirqs -d (libbpf-tools)'; File = (Get-BenchTool hardirqs libbpf-tools); Args = @('-d'); Ready = 'Tracing' }
}

function Measure-Ours([string] $Tool) {
    $started = Start-BenchCmdlet $rs "$($ours[$Tool]) -Interval 0:0:0.5 -Duration 0:10:0"
    $traced = & $workloads[$Tool]
    Start-Sleep -Milliseconds 600   # one more interval, so a record reports the program cost of the workload
    $out = Stop-BenchCmdlet $started
    $methods[$Tool] = $started.AttachMethod
    $reported = @($out | Where-Object { $_.PSObject.Properties['OverheadPerEvent'] -and $null -ne $_.OverheadPerEvent } | Select-Object -First 1)
    @{ Value = $traced; AttachMs = $started.AttachMs; Reported = if ($reported) { [double]$reported[0].OverheadPerEvent } else { $null } }
}
function Measure-Peer([string] $Tool) {
    $peer = $peers[$Tool]
    $t = Start-BenchTool $peer.File $peer.Args $peer.Ready
    $traced = & $workloads[$Tool]
    $null = Stop-BenchTool $t
    @{ Value = $traced; AttachMs = $t.AttachMs }
}

$methods = @{}
$note = {
    param($v)
    $parts = @()
    $a = Get-BenchDetail $v AttachMs; if ($null -ne $a) { $parts += 'attached in {0:N1} ms' -f $a }
    $o = Get-BenchDetail $v Reported; if ($null -ne $o) { $parts += 'reports {0:N0} ns BPF time/event' -f $o }
    $parts -join '; '
}
try {
    foreach ($tool in @($ours.Keys | Where-Object { $Tool.Count -eq 0 -or $_ -in $Tool })) {
        $null = ([powershell]::Create($rs).AddScript("$($ours[$tool]) -Duration 0:0:0.05")).Invoke()   # JIT, libbpf
        $r = Invoke-BenchLoop -Repetitions $Repetitions -Variant ([ordered]@{
                'untraced'               = { & $workloads[$tool] }
                ($ours[$tool] -split ' ')[0] = { Measure-Ours $tool }
                $peers[$tool].Name       = { Measure-Peer $tool }
            })
        Format-BenchTable $r -Baseline 'untraced' -Unit 'ns/op' -Note $note -Title "$tool workload: $($descriptions[$tool]), under $($ours[$tool]) ($($methods[$tool])) and $($peers[$tool].Name)"
    }
    'Ours: time to attached from cmdlet invocation in a warm pwsh; theirs from process launch to their ready line.'
    Get-BenchLoad
}
finally {
    $rs.Dispose()
    losetup -d $dev
    Remove-Item -Recurse -Force $work
    Remove-Item -Force $rootFile -ErrorAction Ignore
}
