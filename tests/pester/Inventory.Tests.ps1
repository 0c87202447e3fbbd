BeforeAll {
    Import-Module $env:KERNELDEBUG_MODULE -Force
}

Describe 'Get-KernelInfo' {
    It 'reports the running release, as uname -r does' {
        (Get-KernelInfo).Release | Should -Be (uname -r)
    }
    It 'formats as a list with the release in it' {
        Get-KernelInfo | Out-String | Should -Match ([regex]::Escape((uname -r)))
    }
    It 'exports to CSV with useful columns' {
        $csv = Get-KernelInfo | ConvertTo-Csv | ConvertFrom-Csv
        $csv.Release | Should -Be (uname -r)
        $csv.PSObject.Properties.Name | Should -Contain 'BootTime'
    }
}
