# The module as a user meets it: import, exported commands, help, format views.
BeforeDiscovery {
    Import-Module $env:KERNELDEBUG_MODULE -Force
    $script:Commands = Get-Command -Module KernelDebug | ForEach-Object { @{ Name = $_.Name } }
}

BeforeAll {
    Import-Module $env:KERNELDEBUG_MODULE -Force
}

Describe 'KernelDebug module' {
    It 'exports its cmdlets explicitly, without wildcards' {
        $manifest = Import-PowerShellDataFile $env:KERNELDEBUG_MODULE
        $manifest.CmdletsToExport | Should -Not -Contain '*'
        $manifest.CmdletsToExport.Count | Should -BeGreaterThan 0
        (Get-Command -Module KernelDebug).Count | Should -Be $manifest.CmdletsToExport.Count
    }

    It 'loads every format file it lists' {
        $manifest = Import-PowerShellDataFile $env:KERNELDEBUG_MODULE
        foreach ($f in $manifest.FormatsToProcess) {
            Join-Path (Split-Path $env:KERNELDEBUG_MODULE) $f | Should -Exist
        }
    }
}

Describe '<Name> help and metadata' -ForEach $Commands {
    BeforeAll { $script:Help = Get-Help $Name -Full; $script:Cmd = Get-Command $Name }

    It 'has a synopsis' {
        $Help.Synopsis | Should -Not -BeNullOrEmpty
        $Help.Synopsis | Should -Not -Match "^\s*$Name\s*\[" # the auto-generated syntax is not a synopsis
    }
    It 'has a description' {
        ($Help.description | Out-String).Trim() | Should -Not -BeNullOrEmpty
    }
    It 'has at least two examples' {
        @((Get-Help $Name -Examples).examples.example).Count | Should -BeGreaterOrEqual 2
    }
    It 'declares [OutputType]' {
        $Cmd.OutputType.Count | Should -BeGreaterThan 0
    }
    It 'uses an approved verb' {
        (Get-Verb).Verb | Should -Contain $Cmd.Verb
    }
    It 'documents every parameter' {
        $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
        foreach ($p in $Cmd.Parameters.Keys | Where-Object { $_ -notin $common }) {
            $ph = $Help.parameters.parameter | Where-Object name -eq $p
            ($ph.description | Out-String).Trim() | Should -Not -BeNullOrEmpty -Because "-$p needs a description"
        }
    }
}
