package bot

import (
	"slices"
	"testing"
)

// BenchmarkFreezeThaw freezes and thaws release-1.25 over krel's 127 recorded PRs (5 of them
// not ready), through the real bot, fake Slack and fake GitHub, and reports the GitHub
// requests one freeze (preview, confirm) and its thaw take.
//
//	go test ./bot -run '^$' -bench FreezeThaw -benchtime 20x
func BenchmarkFreezeThaw(b *testing.B) {
	fake := workspace(b)
	bl := newBuilds(b)
	prs := recordedPulls(b)
	for _, i := range []int{3, 10, 20, 30, 40} {
		prs[i].Labels = slices.DeleteFunc(slices.Clone(prs[i].Labels), func(l string) bool { return l == "lgtm" })
	}
	openRecorded(bl.gh, prs)
	r := startBotWith(b, fake, "", bl)
	before := len(bl.gh.Requests(""))
	b.ResetTimer()
	for b.Loop() {
		r.run(alice, `freeze release-1.25 --reason "v1.25.4 cut"`)
		r.clickReply(alice, alice, "Freeze: take cherry-pick-approved off 5 PRs")
		r.run(alice, "thaw release-1.25")
	}
	b.StopTimer()
	b.ReportMetric(float64(len(bl.gh.Requests(""))-before)/float64(b.N), "github-requests/op")
	if f := freezes(b, r.store); f[len(f)-1].State != "thawed" {
		b.Fatalf("last freeze %s", f[len(f)-1].State)
	}
}
