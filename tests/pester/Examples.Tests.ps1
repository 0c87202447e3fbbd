# The example scripts in examples/ run as documented.
BeforeAll {
    Import-Module $env:KERNELDEBUG_MODULE -Force
    $script:Repo = (Resolve-Path "$PSScriptRoot/../..").Path
}

Describe 'examples/Investigate-IntermittentPanic.ps1' {
    BeforeAll {
        $script:Dir = Join-Path ([IO.Path]::GetTempPath()) "kd-panic-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
        New-Item -ItemType Directory $Dir | Out-Null
        # The same crash on two machines, and another one on a third.
        Copy-Item "$Repo/tests/fixtures/oops/null-deref-module.log" "$Dir/web1-console.log"
        Copy-Item "$Repo/tests/fixtures/oops/null-deref-module.log" "$Dir/web2-console.log"
        Copy-Item "$Repo/tests/fixtures/oops/two-warnings.log" "$Dir/db1-console.log"
        $script:Output = & "$Repo/examples/Investigate-IntermittentPanic.ps1" -LogPath "$Dir/*.log" 6>&1 | Out-String
    }
    AfterAll { Remove-Item -Recurse -Force $Dir -ErrorAction SilentlyContinue }

    It 'groups the same crash on two machines under one signature' {
        $expected = (Get-KernelOops -Path "$Dir/web1-console.log")[0].Title
        $Output | Should -Match "2\s+web1,web2\s+\d+\s+\w+\s+$([regex]::Escape($expected))"
    }
    It 'lists the guilty frames and what to enable next' {
        $Output | Should -Match '== Top guilty frames'
        $Output | Should -Match '\[/\] Kdump: '
    }
}
