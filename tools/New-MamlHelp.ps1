#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Writes the module's MAML help (en-US/KernelDebug.PowerShell.dll-Help.xml) from the cmdlets' XML doc comments.
.DESCRIPTION
    platyPS is not served here, so this is our own generator. It imports the built module to get each cmdlet's
    real parameter sets, and reads the compiler's XML documentation files for the text:
      class <summary>:  <para type="synopsis"> and <para type="description"> (plain text falls back to synopsis)
      class <example>:  <code> is the command, each <para> a paragraph of remarks
      property <summary>: the parameter's description (para tags or plain text)
    A cmdlet missing a synopsis, a description or two examples fails the build: help is part of the product.
#>
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $OutFile
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$module = Import-Module (Join-Path $ModulePath 'KernelDebug.psd1') -PassThru -Force
$docs = @{}
foreach ($xmlFile in Get-ChildItem $ModulePath -Filter 'KernelDebug.*.xml') {
    [xml] $x = Get-Content $xmlFile.FullName -Raw
    foreach ($m in $x.doc.members.member) { $docs[$m.name] = $m }
}

function Get-Text($node) {
    if ($null -eq $node) { return '' }
    # Collapse the indentation of doc comments into single spaces; keep <c>, <see cref> readable.
    $clone = $node.Clone()
    foreach ($see in @($clone.SelectNodes('.//see'))) {
        $name = if ($see.cref) { ($see.cref -split '[.:]')[-1] } else { $see.InnerText }
        $see.ParentNode.ReplaceChild($clone.OwnerDocument.CreateTextNode($name), $see) | Out-Null
    }
    ($clone.InnerText -replace '\s+', ' ').Trim()
}

function Get-Paras($summary, [string] $type) {
    if ($null -eq $summary) { return @() }
    $paras = @($summary.SelectNodes('para') | Where-Object { $_.GetAttribute('type') -eq $type } | ForEach-Object { Get-Text $_ })
    if ($paras.Count -eq 0 -and $type -eq 'synopsis' -and -not $summary.SelectNodes('para[@type]').Count) { $paras = @(Get-Text $summary) }
    return $paras
}

function Get-MemberDoc([type] $Type, [string] $Prefix, [string] $Name) {
    for ($t = $Type; $null -ne $t; $t = $t.BaseType) {
        $key = "$Prefix`:$($t.FullName).$Name".TrimEnd('.')
        if ($Prefix -eq 'T') { $key = "T:$($t.FullName)" }
        if ($docs.ContainsKey($key)) { return $docs[$key] }
        if ($Prefix -eq 'T') { return $null }
    }
    $null
}

$common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
$nsCommand = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
$nsMaml = 'http://schemas.microsoft.com/maml/2004/10'
$nsDev = 'http://schemas.microsoft.com/maml/dev/2004/10'

$settings = [System.Xml.XmlWriterSettings]::new()
$settings.Indent = $true
$settings.Encoding = [System.Text.UTF8Encoding]::new($false)
New-Item -ItemType Directory -Force -Path (Split-Path $OutFile) | Out-Null
$w = [System.Xml.XmlWriter]::Create($OutFile, $settings)

function Write-Paras([string[]] $Paras) {
    $w.WriteStartElement('maml', 'description', $nsMaml)
    foreach ($p in $Paras) { $w.WriteElementString('maml', 'para', $nsMaml, $p) }
    $w.WriteEndElement()
}

function Write-Parameter($p, $pset, $propDoc, [bool] $pipeline, [string] $pipelineText) {
    $attr = $p.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] } | Select-Object -First 1
    $w.WriteStartElement('command', 'parameter', $nsCommand)
    $w.WriteAttributeString('required', $(if ($pset -and $pset.IsMandatory) { 'true' } else { 'false' }))
    $w.WriteAttributeString('variableLength', $(if ($p.ParameterType.IsArray) { 'true' } else { 'false' }))
    $globbing = [bool]($p.Attributes | Where-Object { $_.GetType().Name -eq 'SupportsWildcardsAttribute' })
    $w.WriteAttributeString('globbing', $globbing.ToString().ToLowerInvariant())
    $w.WriteAttributeString('pipelineInput', $pipelineText)
    $pos = if ($pset -and $pset.Position -ge 0) { [string]$pset.Position } else { 'named' }
    $w.WriteAttributeString('position', $pos)
    $w.WriteAttributeString('aliases', $(if ($p.Aliases.Count) { $p.Aliases -join ', ' } else { 'none' }))
    $w.WriteElementString('maml', 'name', $nsMaml, $p.Name)
    Write-Paras @(if ($propDoc) { Get-Text $propDoc.SelectSingleNode('summary') } else { '' })
    $typeName = $p.ParameterType.Name
    if ($p.ParameterType -ne [System.Management.Automation.SwitchParameter]) {
        $w.WriteStartElement('command', 'parameterValue', $nsCommand)
        $w.WriteAttributeString('required', 'true')
        $w.WriteAttributeString('variableLength', $(if ($p.ParameterType.IsArray) { 'true' } else { 'false' }))
        $w.WriteString($typeName)
        $w.WriteEndElement()
    }
    $w.WriteStartElement('dev', 'type', $nsDev)
    $w.WriteElementString('maml', 'name', $nsMaml, $p.ParameterType.FullName)
    $w.WriteEndElement()
    $w.WriteEndElement()
}

$problems = [System.Collections.Generic.List[string]]::new()
$w.WriteStartDocument()
$w.WriteStartElement('helpItems', 'http://msh')
$w.WriteAttributeString('schema', 'maml')
foreach ($cmd in Get-Command -Module $module.Name -CommandType Cmdlet | Sort-Object Name) {
    $type = $cmd.ImplementingType
    $typeDoc = Get-MemberDoc $type 'T' ''
    $synopsis = @(Get-Paras $(if ($typeDoc) { $typeDoc.SelectSingleNode('summary') }) 'synopsis')
    $description = @(Get-Paras $(if ($typeDoc) { $typeDoc.SelectSingleNode('summary') }) 'description')
    $examples = @(if ($typeDoc) { $typeDoc.SelectNodes('example') })
    if ($synopsis.Count -eq 0 -or -not $synopsis[0]) { $problems.Add("$($cmd.Name): no synopsis") }
    if ($description.Count -eq 0) { $problems.Add("$($cmd.Name): no description") }
    if ($examples.Count -lt 2) { $problems.Add("$($cmd.Name): $($examples.Count) example(s), two or more needed") }

    $w.WriteStartElement('command', 'command', $nsCommand)
    $w.WriteAttributeString('xmlns', 'maml', $null, $nsMaml)
    $w.WriteAttributeString('xmlns', 'dev', $null, $nsDev)
    $w.WriteStartElement('command', 'details', $nsCommand)
    $w.WriteElementString('command', 'name', $nsCommand, $cmd.Name)
    $w.WriteElementString('command', 'verb', $nsCommand, $cmd.Verb)
    $w.WriteElementString('command', 'noun', $nsCommand, $cmd.Noun)
    Write-Paras $synopsis
    $w.WriteEndElement()
    Write-Paras $description

    $params = $cmd.Parameters.Values | Where-Object { $_.Name -notin $common }
    $w.WriteStartElement('command', 'syntax', $nsCommand)
    foreach ($set in $cmd.ParameterSets) {
        $w.WriteStartElement('command', 'syntaxItem', $nsCommand)
        $w.WriteElementString('maml', 'name', $nsMaml, $cmd.Name)
        foreach ($sp in $set.Parameters | Where-Object { $_.Name -notin $common }) {
            $p = $cmd.Parameters[$sp.Name]
            $pset = $p.ParameterSets[$set.Name]; if (-not $pset) { $pset = $p.ParameterSets['__AllParameterSets'] }
            Write-Parameter $p $pset (Get-MemberDoc $type 'P' $p.Name) $false 'False'
        }
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'parameters', $nsCommand)
    foreach ($p in $params | Sort-Object Name) {
        $sets = @($p.ParameterSets.Values)
        $byValue = [bool]($sets | Where-Object ValueFromPipeline)
        $byName = [bool]($sets | Where-Object ValueFromPipelineByPropertyName)
        $pipe = if ($byValue -and $byName) { 'True (ByValue, ByPropertyName)' } elseif ($byValue) { 'True (ByValue)' } elseif ($byName) { 'True (ByPropertyName)' } else { 'False' }
        Write-Parameter $p ($sets | Select-Object -First 1) (Get-MemberDoc $type 'P' $p.Name) ($pipe -ne 'False') $pipe
    }
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'inputTypes', $nsCommand)
    foreach ($p in $params | Where-Object { $_.ParameterSets.Values | Where-Object { $_.ValueFromPipeline -or $_.ValueFromPipelineByPropertyName } }) {
        $w.WriteStartElement('command', 'inputType', $nsCommand)
        $w.WriteStartElement('dev', 'type', $nsDev); $w.WriteElementString('maml', 'name', $nsMaml, $p.ParameterType.FullName); $w.WriteEndElement()
        Write-Paras @("Bound to -$($p.Name).")
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'returnValues', $nsCommand)
    foreach ($ot in $cmd.OutputType) {
        $w.WriteStartElement('command', 'returnValue', $nsCommand)
        $w.WriteStartElement('dev', 'type', $nsDev); $w.WriteElementString('maml', 'name', $nsMaml, $ot.Name); $w.WriteEndElement()
        $tdoc = if ($ot.Type) { Get-MemberDoc $ot.Type 'T' '' }
        Write-Paras @(if ($tdoc) { Get-Text $tdoc.SelectSingleNode('summary') } else { '' })
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'examples', $nsCommand)
    $i = 0
    foreach ($ex in $examples) {
        $i++
        $w.WriteStartElement('command', 'example', $nsCommand)
        $w.WriteElementString('maml', 'title', $nsMaml, "-------------------------- Example $i --------------------------")
        $code = ($ex.SelectSingleNode('code').InnerText.Trim() -split "`n" | ForEach-Object { $_.Trim() }) -join "`n"
        $w.WriteElementString('dev', 'code', $nsDev, $code)
        $w.WriteStartElement('dev', 'remarks', $nsDev)
        foreach ($para in $ex.SelectNodes('para')) { $w.WriteElementString('maml', 'para', $nsMaml, (Get-Text $para)) }
        $w.WriteEndElement()
        $w.WriteEndElement()
    }
    $w.WriteEndElement()
    $w.WriteEndElement()
}
$w.WriteEndElement()
$w.WriteEndDocument()
$w.Dispose()

if ($problems.Count) {
    Remove-Item $OutFile
    $problems | ForEach-Object { Write-Host "help: $_" -ForegroundColor Red }
    exit 1
}

# about_KernelHealthChecks is generated from the check catalog itself, so the documented ids never drift from the code.
$about = Join-Path (Split-Path $OutFile) 'about_KernelHealthChecks.help.txt'
$sb = [System.Text.StringBuilder]::new()
[void]$sb.AppendLine('TOPIC')
[void]$sb.AppendLine('    about_KernelHealthChecks')
[void]$sb.AppendLine('')
[void]$sb.AppendLine('SHORT DESCRIPTION')
[void]$sb.AppendLine('    The checks Invoke-KernelHealthCheck runs, by stable CheckId.')
[void]$sb.AppendLine('')
[void]$sb.AppendLine('LONG DESCRIPTION')
[void]$sb.AppendLine('    Every finding carries the CheckId of the check that made it. Ids are stable: select them with')
[void]$sb.AppendLine('    -CheckId/-ExcludeCheckId (wildcards: KD13* is every memory check), change limits with -Threshold.')
[void]$sb.AppendLine('    Checks marked "live only" sample the running system and report Info on a snapshot (-Root).')
[void]$sb.AppendLine('')
foreach ($c in [KernelDebug.Core.Health.HealthChecks]::All | Sort-Object CheckId) {
    $live = if ($c.NeedsLive) { ' (live only)' } else { '' }
    [void]$sb.AppendLine("    $($c.CheckId)  $($c.Area): $($c.Name)$live")
    $words = $c.Description -split ' '; $line = '        '
    foreach ($wd in $words) {
        if ($line.Length + $wd.Length -gt 110) { [void]$sb.AppendLine($line.TrimEnd()); $line = '        ' }
        $line += "$wd "
    }
    [void]$sb.AppendLine($line.TrimEnd())
    [void]$sb.AppendLine('')
}
[void]$sb.AppendLine('THRESHOLDS')
$defaults = [KernelDebug.Core.Health.HealthThresholds]::new()
foreach ($n in [KernelDebug.Core.Health.HealthThresholds]::Names) { [void]$sb.AppendLine("    $n = $($defaults.$n)") }
[void]$sb.AppendLine('')
[void]$sb.AppendLine('SEE ALSO')
[void]$sb.AppendLine('    Invoke-KernelHealthCheck, Assert-KernelHealth, Export-KernelHealthReport')
Set-Content -Path $about -Value $sb.ToString() -Encoding utf8NoBOM
