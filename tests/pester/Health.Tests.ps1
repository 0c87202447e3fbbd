BeforeAll {
    Import-Module $env:KERNELDEBUG_MODULE -Force
    $script:Chromium = Get-Command chromium -ErrorAction SilentlyContinue
    function Invoke-Chromium([string[]] $Arguments) {
        $profile = Join-Path ([IO.Path]::GetTempPath()) "kd-chromium-$([guid]::NewGuid().ToString('N'))"
        try {
            # Flags as this machine needs them: no sandbox as root, no background network (the network is closed).
            & $Chromium.Source --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking `
                --disable-component-update --disable-sync --disable-dev-shm-usage "--user-data-dir=$profile" @Arguments 2>$null
        }
        finally { Remove-Item -Recurse -Force $profile -ErrorAction SilentlyContinue }
    }
}

Describe 'Invoke-KernelHealthCheck on this machine' {
    BeforeAll { $script:Findings = Invoke-KernelHealthCheck -ProgressAction SilentlyContinue }

    It 'returns findings with sortable severities and stable ids' {
        $Findings.Count | Should -BeGreaterThan 3
        $Findings | ForEach-Object { $_.CheckId | Should -Match '^KD1\d{3}$' }
        ($Findings | Sort-Object Severity -Descending | Select-Object -First 1).Severity | Should -BeOfType [KernelDebug.Core.Health.HealthSeverity]
    }
    It 'says the next panic leaves no evidence here (no kexec, no pstore backend)' {
        ($Findings | Where-Object CheckId -eq KD1101).Severity | Should -Be 'Warning'
    }
    It 'formats as a table with severity first' {
        ($Findings | Format-Table | Out-String) | Should -Match 'Severity\s+CheckId\s+Area\s+Message'
    }
    It 'exports to CSV' {
        $csv = $Findings | ConvertTo-Csv | ConvertFrom-Csv
        $csv[0].PSObject.Properties.Name | Should -Contain 'Recommendation'
        $csv.CheckId | Should -Contain 'KD1001'
    }
    It 'documents every check id in about_KernelHealthChecks' {
        $about = Get-Help about_KernelHealthChecks | Out-String
        foreach ($id in $Findings.CheckId | Select-Object -Unique) { $about | Should -Match $id }
    }
    It 'fails an assertion in one line' {
        { Invoke-KernelHealthCheck -CheckId KD1101 | Assert-KernelHealth -MaximumSeverity Info } | Should -Throw -ErrorId 'KernelHealthAssertionFailed*'
        { Assert-KernelHealth -CheckId KD1001 -MaximumSeverity Warning } | Should -Not -Throw
    }
}

Describe 'Export-KernelHealthReport seen in a browser' {
    BeforeAll {
        $script:Dir = Join-Path ([IO.Path]::GetTempPath()) "kd-report-$([guid]::NewGuid().ToString('N'))"
        New-Item -ItemType Directory $Dir | Out-Null
        $script:Report = Export-KernelHealthReport -Path (Join-Path $Dir 'report.html') -ProgressAction SilentlyContinue
    }
    AfterAll { Remove-Item -Recurse -Force $Dir -ErrorAction SilentlyContinue }

    It 'renders in headless Chromium with its findings table and its script run' {
        $dom = Invoke-Chromium @('--dump-dom', "file://$($Report.FullName)") | Out-String
        $dom | Should -Match 'id="findings-table"'
        $dom | Should -Match 'data-check="KD1101"'
        # The inline script sets data-ready at its end: it ran without an error.
        $dom | Should -Match '<body data-ready="true"'
    }
    It 'screenshots to a PNG' {
        $png = Join-Path $Dir 'report.png'
        Invoke-Chromium @("--screenshot=$png", '--window-size=1280,900', "file://$($Report.FullName)") | Out-Null
        $png | Should -Exist
        $bytes = [IO.File]::ReadAllBytes($png)
        $bytes[1..3] -join ',' | Should -Be '80,78,71' # "PNG"
        $bytes.Length | Should -BeGreaterThan 20000    # a blank page compresses to a few KB
    }
}
