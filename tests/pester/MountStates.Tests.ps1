# The module on each mount state a machine can be in (nothing mounted on a fresh boot; debugfs only, whose
# automount brings tracefs at /sys/kernel/debug/tracing; both), each built in a private mount namespace, so the
# test owns its precondition and the machine's own mounts are never touched. And what the module writes under
# tracefs, seen by strace: only its own instances.
BeforeAll {
    $script:Pwsh = Join-Path $PSHOME 'pwsh.dll'
    $script:Tmp = Join-Path ([IO.Path]::GetTempPath()) "kd-mounts-$PID"
    New-Item -ItemType Directory -Force -Path $script:Tmp | Out-Null

    # Inside the namespace only: take away every tracing-related mount, then make the state asked for.
    $script:Bare = 'set -e; for mp in /sys/fs/bpf /sys/kernel/debug/tracing /sys/kernel/debug /sys/kernel/tracing; do while mountpoint -q $mp; do umount $mp; done; done'
    $script:States = @{
        bare    = $script:Bare
        debugfs = "$script:Bare; mount -t debugfs nodev /sys/kernel/debug"
        both    = "$script:Bare; mount -t debugfs nodev /sys/kernel/debug; mount -t tracefs nodev /sys/kernel/tracing"
    }

    # Runs a script in a child pwsh in a private mount namespace; returns the object the script returns (through a
    # JSON file, so warnings on the child's stdout cannot spoil it); /proc/mounts of the namespace comes back as .Mounts.
    function Invoke-InMountState([string] $State, [string] $Script, [string] $Prefix = '') {
        $file = Join-Path $script:Tmp "$State-$([guid]::NewGuid().ToString('n')).ps1"
        $json = "$file.json"
        Set-Content $file -Value @"
`$ErrorActionPreference = 'Stop'
`$Module = '$env:KERNELDEBUG_MODULE'
Import-Module `$Module
`$result = & { $Script }
`$result | Add-Member -NotePropertyName Mounts -NotePropertyValue @(Get-Content /proc/mounts | Where-Object { `$_ -match ' (tracefs|debugfs|bpf) ' }) -Force
`$result | ConvertTo-Json -Depth 5 | Set-Content '$json'
"@
        $cmd = "$($script:States[$State]); exec $Prefix dotnet '$script:Pwsh' -NoProfile -NonInteractive -File '$file'"
        $out = & unshare --mount --propagation private bash -c $cmd 2>&1
        $LASTEXITCODE | Should -Be 0 -Because ($out -join "`n")
        Get-Content $json -Raw | ConvertFrom-Json
    }
}

AfterAll { Remove-Item -Recurse -Force $script:Tmp -ErrorAction SilentlyContinue }

Describe 'tracefs on every mount state' {
    It 'on a fresh boot (nothing mounted) says tracefs is missing, then mounts it at /sys/kernel/tracing on first use and says so' {
        $r = Invoke-InMountState bare {
            $before = Get-KernelDebugCapability TraceFs
            $verbose = Get-KernelTracepoint sched:sched_switch -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message
            $tp = Get-KernelTracepoint sched:sched_switch
            $events = Trace-KernelEvent -Event sched:sched_process_exec -ScriptBlock { Start-Process /usr/bin/true -Wait }
            [pscustomobject]@{
                BeforeAvailable = $before.Available; BeforeRemedy = $before.Remedy; Verbose = @($verbose)
                TracepointId = $tp.Id; Execs = @($events).Count
                After = (Get-KernelDebugCapability TraceFs).Detail
                Left = @(Get-ChildItem /sys/kernel/tracing/instances -Name -Filter "kerneldebug-$PID-*")
            }
        }
        $r.BeforeAvailable | Should -BeFalse
        $r.BeforeRemedy | Should -Match 'mount -t tracefs nodev /sys/kernel/tracing'
        $r.Verbose -join "`n" | Should -Match 'mounted it at /sys/kernel/tracing'
        $r.TracepointId | Should -BeGreaterThan 0
        $r.Execs | Should -BeGreaterThan 0
        $r.After | Should -Be '/sys/kernel/tracing'
        $r.Left | Should -BeNullOrEmpty
        @($r.Mounts | Where-Object { $_ -match ' tracefs ' }).Count | Should -Be 1 -Because 'one mount, not one per first use'
        $r.Mounts -join "`n" | Should -Match '^nodev /sys/kernel/tracing tracefs'
    }

    It 'with debugfs only, uses its /sys/kernel/debug/tracing and mounts nothing' {
        $r = Invoke-InMountState debugfs {
            $verbose = Get-KernelTracepoint sched:sched_switch -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message
            $c = Start-FtraceCapture -Event sched:sched_process_exec
            try { $instance = $c.Instance } finally { Remove-FtraceCapture -Name $c.Name }
            [pscustomobject]@{ Verbose = @($verbose); Detail = (Get-KernelDebugCapability TraceFs).Detail; Instance = $instance; Gone = -not (Test-Path $instance) }
        }
        $r.Verbose -join "`n" | Should -Not -Match 'mounted it'
        $r.Detail | Should -Be '/sys/kernel/debug/tracing'
        $r.Instance | Should -BeLike '/sys/kernel/debug/tracing/instances/kerneldebug-*'
        $r.Gone | Should -BeTrue
        $r.Mounts -join "`n" | Should -Not -Match ' /sys/kernel/tracing tracefs'
    }

    It 'with two tracefs mounts (debugfs and /sys/kernel/tracing), every part of the module and its snapshot pick the same one' {
        $snap = Join-Path $script:Tmp 'both-snap'
        $r = Invoke-InMountState both ([scriptblock]::Create(@"
            Get-ChildItem /sys/kernel/debug/tracing -Name | Out-Null   # trigger the automount: now two tracefs mounts
            `$c = Start-FtraceCapture -Event sched:sched_process_exec
            try { `$instance = `$c.Instance } finally { Remove-FtraceCapture -Name `$c.Name }
            Save-KernelSnapshot -Path '$snap' | Out-Null
            [pscustomobject]@{ Detail = (Get-KernelDebugCapability TraceFs).Detail; Instance = `$instance
                SnapDetail = (Get-KernelDebugCapability TraceFs -Root '$snap').Detail
                SnapTracepoint = (Get-KernelTracepoint sched:sched_switch -Root '$snap').Id
                LiveTracepoint = (Get-KernelTracepoint sched:sched_switch).Id }
"@))
        @($r.Mounts | Where-Object { $_ -match ' tracefs ' }).Count | Should -Be 2
        $r.Detail | Should -Be '/sys/kernel/tracing'
        $r.Instance | Should -BeLike '/sys/kernel/tracing/instances/kerneldebug-*'
        $r.SnapDetail | Should -Be '/sys/kernel/tracing'
        Test-Path (Join-Path $snap 'sys/kernel/tracing/available_events') | Should -BeTrue
        Test-Path (Join-Path $snap 'sys/kernel/debug/tracing') | Should -BeFalse -Because 'the snapshot copies the one tracefs the module uses'
        $r.SnapTracepoint | Should -Be $r.LiveTracepoint
    }
}

Describe 'what the module writes under tracefs' -Skip:(-not (Get-Command strace -ErrorAction SilentlyContinue)) {
    It 'writes, creates and removes only inside its own kerneldebug-* instances, from a fresh boot on (strace)' {
        $trace = Join-Path $script:Tmp 'writes.strace'
        $r = Invoke-InMountState bare -Prefix "strace -f --seccomp-bpf -qq -e trace=open,openat,openat2,mkdir,mkdirat,rmdir,unlinkat,unlink,rename,renameat,renameat2 -o '$trace'" -Script {
            Get-KernelTracepoint 'sched:*' | Out-Null
            Trace-KernelEvent -Event sched:sched_process_exec -ScriptBlock { Start-Process /usr/bin/true -Wait } | Out-Null
            $c = Start-FtraceCapture -Event raw_syscalls:sys_enter -Filter 'id == 39'
            Start-Process /usr/bin/true -Wait
            Stop-FtraceCapture -Name $c.Name
            Receive-FtraceCapture -Name $c.Name | Out-Null
            Remove-FtraceCapture -Name $c.Name
            Measure-SyscallLatency -Duration 00:00:01 | Out-Null
            Get-FtraceCapture | Out-Null
            [pscustomobject]@{ Done = $true }
        }
        $r.Done | Should -BeTrue
        $lines = Get-Content $trace
        $lines.Count | Should -BeGreaterThan 100 -Because 'strace saw the child'
        # Every call that names a path under tracefs and writes, creates or removes.
        $writes = $lines | Where-Object { $_ -match '"/sys/kernel/(debug/)?tracing/' -and ($_ -match 'O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND' -or $_ -match '\b(mkdir|mkdirat|rmdir|unlink|unlinkat|rename\w*)\(') }
        $writes | Should -Not -BeNullOrEmpty -Because 'the captures write their own instance files'
        $foreign = $writes | Where-Object { $_ -notmatch '"/sys/kernel/(debug/)?tracing/instances/kerneldebug-\d+-\d+(/|")' }
        $foreign | Should -BeNullOrEmpty -Because 'the top instance and other instances are never written (a write to the top events/enable or current_tracer would expand its ring buffer on a fresh boot)'
    }
}
