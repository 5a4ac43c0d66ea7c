package githubfake

import _ "embed"

// CutReleaseTemplate is kubernetes/sig-release's .github/ISSUE_TEMPLATE/cut-release.md, the
// template of "Cut a release" issues (see data/PROVENANCE.json).
//
//go:embed data/cut-release.md
var CutReleaseTemplate string
