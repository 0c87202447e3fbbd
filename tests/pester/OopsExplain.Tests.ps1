BeforeAll {
    Import-Module $env:KERNELDEBUG_MODULE -Force
    $script:Repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:Fixtures = Join-Path $Repo 'tests/fixtures/oops'
    $script:Log = Join-Path $Fixtures 'null-deref-module.log'
}

Describe 'Get-KernelOops explains the crash' {
    It 'shows the faulting instruction, the NULL pointer plus offset and the guilty module in the list view' {
        $text = Get-KernelOops -Path $Log | Format-List | Out-String -Width 250
        $text | Should -Match 'FaultingInstruction\s+: mov rax, qword ptr \[r12\+10h\]'
        $text | Should -Match 'FaultingAccess\s+: .*R12 \(0x0\) \+ 0x10: a NULL pointer plus offset 0x10.*matches the fault address'
        $text | Should -Match '\+0x0: mov rax, qword ptr \[r12\+10h\]  <-- faulting'
        $text | Should -Match 'GuiltyModule\s+: acme_nic\(PO\)'
        $text | Should -Match 'FaultAddress\s+: 0x10'
    }

    It 'keeps the table view to Time, Kind, Title and Panicked' {
        $text = Get-KernelOops -Path $Log | Format-Table | Out-String -Width 200
        $text | Should -Match 'Time\s+Kind\s+Title\s+Panicked'
        $text | Should -Not -Match 'FaultingAccess'
    }

    It 'prints AT&T syntax with -Syntax Att, and the instructions as a table' {
        $o = Get-KernelOops -Path $Log -Syntax Att
        $o.FaultingInstruction | Should -Be 'mov 0x10(%r12),%rax'
        $o.Code.Syntax | Should -Be 'Att'
        $o.FaultingAccess.NullPointerOffset | Should -Be 16
        $rows = $o.Code.Instructions | Format-Table | Out-String -Width 200
        $rows | Should -Match 'Offset\s+Address\s+Bytes\s+Instruction'
        $rows | Should -Match '\+0x0\s+49 8b 44 24 10\s+mov 0x10\(%r12\),%rax\s+<-- faulting'
    }

    It 'filters on numbers and exports flat text columns' {
        $o = Get-KernelOops -Path $Log
        ($o | Where-Object { $_.FaultingAccess.Address -lt 4096 }) | Should -Not -BeNullOrEmpty
        $csv = Join-Path $TestDrive 'explain.csv'
        $o | Export-Csv $csv
        $row = Import-Csv $csv
        $row.CodeText | Should -Match '<mov rax, qword ptr \[r12\+10h\]>'
        $row.Code | Should -Match '<mov rax, qword ptr \[r12\+10h\]>'
        $row.GuiltyModule | Should -Be 'acme_nic(PO)'
        $row.FaultAddressHex | Should -Be '0x10'
        $row.FaultingAccess | Should -Match 'NULL pointer plus offset 0x10'
    }

    It 'documents -Syntax with examples' {
        $help = Get-Help Get-KernelOops -Full
        ($help.examples.example.code -join "`n") | Should -Match '-Syntax Att'
        ($help.parameters.parameter | Where-Object name -eq 'Syntax').description.Text | Should -Match 'AT&T|Att'
    }
}
