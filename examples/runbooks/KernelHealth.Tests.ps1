# Kernel health runbooks as Pester checks: copy this file into your own pipeline and run
#   Invoke-Pester ./KernelHealth.Tests.ps1
# on a host (or through Invoke-Command on a fleet). Each It block is one question an on-call engineer asks.
BeforeAll {
    # Installed: by name. From a clone: the built module (./build.ps1 Build writes out/KernelDebug).
    if (-not (Get-Module KernelDebug)) {
        if (Get-Module -ListAvailable KernelDebug) { Import-Module KernelDebug }
        else { Import-Module (Join-Path $PSScriptRoot '../../out/KernelDebug/KernelDebug.psd1') }
    }
}

Describe 'Kernel health runbook' {
    It 'has had no oops, BUG or panic since boot' {
        # WARNINGs are reported too, but one WARN_ON is not an outage: they are judged by the health check (KD1103).
        $crashes = Get-KernelOops | Where-Object Kind -ne 'Warning'
        $crashes | Should -BeNullOrEmpty -Because ($crashes | Select-Object -First 3 | ForEach-Object Title) -join '; '
    }

    It 'has not died since boot (no D taint)' {
        (Get-KernelInfo).Taint.Letters | Should -Not -Match 'D'
    }

    It 'has no task stuck in D state for more than 60 s' {
        # Two samples 2 s apart: a task seen blocked in both is carried with how long it has been seen blocked,
        # and SinceLastRun says how long it has not run when the kernel lets us tell.
        $stuck = Get-BlockedTask -Interval 00:00:02 -Count 2 |
            Where-Object { $_.SinceLastRun -gt [timespan]'00:01:00' -or $_.BlockedFor -gt [timespan]'00:01:00' }
        $stuck | Should -BeNullOrEmpty -Because ($stuck | ForEach-Object { "$($_.Command)[$($_.ThreadId)] in $($_.WaitChannel)" }) -join ', '
    }

    It 'uses less than 90 % of memory' {
        (Get-MemoryInfo).UsedPercent | Should -BeLessThan 90
    }

    It 'has no uncorrected memory errors' {
        try { $controllers = Get-EdacError -Controller }
        catch [System.Management.Automation.RuntimeException] {
            if ($_.FullyQualifiedErrorId -notlike 'EdacUnavailable*') { throw }
            Set-ItResult -Skipped -Because 'this machine reports no memory errors: no EDAC (a virtual machine, or no EDAC driver loaded)'
            return
        }
        ($controllers | Measure-Object UncorrectedErrors -Sum).Sum | Should -Be 0
    }

    It 'has had no OOM kill outside cgroup limits' {
        Get-KernelOomEvent | Where-Object Constraint -eq 'None' | Should -BeNullOrEmpty
    }

    It 'passes the memory and locking health checks (one line)' {
        { Assert-KernelHealth -Area Memory, Locking -MaximumSeverity Warning } | Should -Not -Throw
    }
}
