# Runs last (Pester takes files in name order, after the xunit suites): whatever the suite wrote into the real
# kernel log must not read as a crash report, or Get-KernelOops and the health check report it on this machine.
BeforeAll {
    Import-Module $env:KERNELDEBUG_MODULE -Force
}

Describe 'The test suite leaves the kernel log alone' {
    It 'Get-KernelOops on the live log finds no report that the suite wrote' -Skip:(-not (Test-Path /dev/kmsg)) {
        # build.ps1 Test records when the suite started; run alone, this file checks from its own start.
        $since = if ($env:KERNELDEBUG_TEST_START) { [DateTimeOffset]::Parse($env:KERNELDEBUG_TEST_START) } else { (Get-Process -Id $PID).StartTime }
        $marker = 'kerneldebug-test-|kerneldebug_selftest|kd_marker_|drivers/kd/'
        $ours = @(Get-KernelOops -Since $since | Where-Object { ($_.Lines -join "`n") -match $marker -or $_.Title -match $marker })
        $ours | ForEach-Object Title | Should -BeNullOrEmpty
        # The live log was read at all (an unreadable log would make the check above pass for nothing).
        @(Get-KernelMessage -Since $since.AddDays(-1)).Count | Should -BeGreaterThan 0
    }
}
