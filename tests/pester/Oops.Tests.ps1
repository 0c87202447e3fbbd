BeforeAll {
    Import-Module $env:KERNELDEBUG_MODULE -Force
    $script:Repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:Corpus = Join-Path $Repo '../shared/fixtures/oops/syzkaller'
    # A git worktree sits one level deeper (/work/wt/<name>) than the main checkout.
    if (-not (Test-Path $Corpus) -and (Test-Path (Join-Path $Repo '../../shared/fixtures/oops/syzkaller'))) {
        $script:Corpus = Join-Path $Repo '../../shared/fixtures/oops/syzkaller'
    }
    $script:Fixtures = Join-Path $Repo 'tests/fixtures/oops'
}

Describe 'Get-KernelOops' {
    It 'groups reports of a crash log by signature' {
        # syzkaller case 4: a WARNING whose panic_on_warn panic repeats the stack: one bug, one group.
        # The case file starts with expectation headers; the console log follows the first blank line.
        $text = (Get-Content -Raw (Join-Path $Corpus '4')) -replace '\r', ''
        $log = Join-Path $TestDrive 'case4.log'
        $text.Substring($text.IndexOf("`n`n") + 2) | Set-Content $log
        $groups = Get-KernelOops -Path $log | Group-Object Signature
        @($groups).Count | Should -Be 1
        $groups[0].Group[0].Title | Should -Be 'WARNING in kvm_arch_vcpu_ioctl_run'
        $groups[0].Name | Should -Match '^[0-9a-f]{16}$'
    }

    It 'groups the same bug from two machines together' {
        $a = Join-Path $Fixtures 'null-deref-module.log'
        $b = Join-Path $TestDrive 'other-machine.log'
        (Get-Content $a -Raw).Replace('4711.', '88.').Replace('CPU: 3 PID: 0', 'CPU: 5 PID: 0') | Set-Content $b
        $groups = Get-KernelOops -Path $a, $b | Group-Object Signature
        @($groups).Count | Should -Be 1
        $groups[0].Count | Should -Be 2
    }

    It 'exports to CSV, one row per report with flat columns' {
        $csv = Join-Path $TestDrive 'oops.csv'
        Get-KernelOops -Path (Join-Path $Fixtures 'two-warnings.log') | Export-Csv $csv
        $rows = Import-Csv $csv
        @($rows).Count | Should -Be 3
        $rows[0].Title | Should -Be 'WARNING in drm_wait_one_vblank'
        $rows[0].Kind | Should -Be 'Warning'
        $rows[0].GuiltyFrame | Should -Be 'drm_wait_one_vblank'
        $rows[2].Command | Should -Be 'jbd2/sda1-8'
        $rows[0].PSObject.Properties.Name | Should -Contain 'Signature'
    }

    It 'shows Time, Kind, Title and Panicked by default' {
        $text = Get-KernelOops -Path (Join-Path $Fixtures 'null-deref-module.log') | Out-String -Width 200
        $text | Should -Match 'Time\s+Kind\s+Title\s+Panicked'
        $text | Should -Match 'BUG: unable to handle kernel NULL pointer dereference in acme_rx_poll\s+True'
    }

    It 'reads the whole development corpus without an error' {
        $files = Get-ChildItem $Corpus -File | Where-Object Name -NotMatch '\.'
        # Some cases hold binary console garbage: those lines are warned about (file and line) and skipped.
        $reports = $files | Get-KernelOops -ErrorVariable errs -WarningAction SilentlyContinue -WarningVariable warns
        @($warns).Count | Should -BeGreaterThan 0
        $errs | Should -BeNullOrEmpty
        @($reports).Count | Should -BeGreaterThan ($files.Count * 0.9)
    }
}
