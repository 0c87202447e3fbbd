# Trace-ProcessExec, Trace-ProcessExit and Trace-Signal on the live kernel: oracles this test causes itself.
BeforeAll {
    Import-Module $env:KERNELDEBUG_MODULE -Force

    # Runs the trace in a runspace of this process and the workload once the tool's programs are attached (its
    # link fds are in /proc/$PID/fdinfo: programs load before they attach, and events between are not seen).
    function Invoke-WhileTracing([scriptblock] $Trace, [string] $Prefix, [scriptblock] $Workload) {
        $ps = [powershell]::Create()
        $null = $ps.AddCommand('Import-Module').AddArgument($env:KERNELDEBUG_MODULE).AddStatement().AddScript($Trace)
        $handle = $ps.BeginInvoke()
        try {
            $deadline = (Get-Date).AddSeconds(20)
            do {
                Start-Sleep -Milliseconds 10
                $ids = @((Get-BpfProgram "$Prefix*").Id)
                $linked = @(Get-ChildItem /proc/$PID/fdinfo -ErrorAction Ignore | ForEach-Object {
                        $t = Get-Content -Raw $_.FullName -ErrorAction Ignore
                        if ($t -match 'link_type:' -and $t -match 'prog_id:\s+(\d+)' -and [uint32]$Matches[1] -in $ids) { 1 } })
            } while ($linked.Count -lt 1 -and (Get-Date) -lt $deadline -and -not $handle.IsCompleted)
            $linked.Count | Should -BeGreaterThan 0 -Because 'the tool attached within 20 s'
            & $Workload
            $out = @($ps.EndInvoke($handle))
            [pscustomobject]@{ Output = $out; Errors = @($ps.Streams.Error); Warnings = @($ps.Streams.Warning) }
        }
        finally { $ps.Dispose() }
    }
}

Describe 'Trace-ProcessExec and Trace-ProcessExit' {
    BeforeAll {
        $work = { foreach ($i in 1..10) { & /bin/true; & /bin/false } }
        $script:Execs = Invoke-WhileTracing { Trace-ProcessExec -Name true, false -Duration 0:0:4 } 'kd_ex_' $work
        $script:Exits = Invoke-WhileTracing { Trace-ProcessExit -Name true, false -Duration 0:0:4 } 'kd_xt_' $work
        $script:Mine = @($Execs.Output | Where-Object ParentProcessId -eq $PID)
        $script:MyExits = @($Exits.Output | Where-Object ParentProcessId -eq $PID)
    }
    It 'sees the 20 execs with their command lines' {
        $Execs.Errors | Should -BeNullOrEmpty
        $Mine.Count | Should -Be 20
        @($Mine | Where-Object Command -eq 'true').Count | Should -Be 10
        @($Mine | Where-Object Command -eq 'false').Count | Should -Be 10
        $Mine[0].CommandLine | Should -Match '^/bin/(true|false)$'
        $Mine[0].ArgumentSource | Should -Be 'Kernel'
        $Mine[0].FileName | Should -Match '/bin/(true|false)$'
    }
    It 'sees the 20 exits with their exit codes and lifetimes' {
        $Exits.Errors | Should -BeNullOrEmpty
        $MyExits.Count | Should -Be 20
        ($MyExits | Where-Object Command -eq 'true').ExitCode | Sort-Object -Unique | Should -Be 0
        ($MyExits | Where-Object Command -eq 'false').ExitCode | Sort-Object -Unique | Should -Be 1
        $MyExits.Signal | Where-Object { $_ } | Should -BeNullOrEmpty
        foreach ($x in $MyExits) { $x.Lifetime | Should -BeGreaterThan ([timespan]::Zero); $x.Lifetime | Should -BeLessThan ([timespan]::FromSeconds(5)) }
    }
    It 'shows them in a table' {
        $text = $Mine | Format-Table | Out-String -Width 200
        $text | Should -Match 'CommandLine'
        $text | Should -Match '/bin/false'
        ($MyExits | Format-Table | Out-String -Width 200) | Should -Match 'ExitCode'
    }
    It 'leaves none of its programs loaded' {
        Get-BpfProgram kd_ex_*, kd_xt_* | Where-Object { $_.OwnerProcessIds -contains $PID } | Should -BeNullOrEmpty
    }
}

Describe 'Trace-Signal' {
    BeforeAll {
        $script:Sleeper = Start-Process sleep 30 -PassThru
        $script:Signals = Invoke-WhileTracing ([scriptblock]::Create("Trace-Signal -ProcessId $($Sleeper.Id) -Target -Duration 0:0:3")) 'kd_sg_' {
            & /bin/kill -USR1 $Sleeper.Id
        }
        $script:Usr1 = @($Signals.Output | Where-Object Signal -eq 'SIGUSR1')
    }
    AfterAll { if (-not $Sleeper.HasExited) { $Sleeper.Kill() } }
    It 'sees the kill -USR1 with sender and target' {
        $Signals.Errors | Should -BeNullOrEmpty
        $Usr1.Count | Should -Be 1
        $Usr1[0].TargetProcessId | Should -Be $Sleeper.Id
        $Usr1[0].TargetCommand | Should -Be 'sleep'
        $Usr1[0].Command | Should -Be 'kill'
        $Usr1[0].Code | Should -Be 'SI_USER'
        $Usr1[0].SignalNumber | Should -Be 10
        $Usr1[0].Result | Should -Be 'Delivered'
    }
    It 'rejects an unknown signal name with an ErrorId' {
        { Trace-Signal -Signal NOSUCH -Duration 1 -ErrorAction Stop } | Should -Throw -ErrorId 'UnknownSignal*'
    }
    It 'completes signal names' {
        $c = (TabExpansion2 'Trace-Signal -Signal US' 23).CompletionMatches.CompletionText
        $c | Should -Contain 'USR1'
        $c | Should -Contain 'USR2'
    }
    It 'leaves none of its programs loaded' {
        Get-BpfProgram kd_sg_* | Where-Object { $_.OwnerProcessIds -contains $PID } | Should -BeNullOrEmpty
    }
}
