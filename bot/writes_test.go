package bot

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/cutbot/integrations/githubfake"
)

// cleanPatchCut plays the sandbox script's v1.31.3 path without its detours (no failing gate,
// no failed build, no failed promotion job): freeze, cut, mock stage, mock release, gates and
// no-mock stage, image promotion, no-mock release, "is live", the announcement, thaw.
func cleanPatchCut(t testing.TB, r *running, bl *builds) {
	bl.gh.AddPullRequest(k8s, githubfake.PR{Number: 128001, Title: "Automated cherry pick of #128000: fix", Base: "release-1.31", HeadSHA: headSHA(128001), Labels: []string{"cherry-pick-approved", "lgtm"}})
	r.run(alice, "cut v1.31.3")
	r.run(alice, `freeze release-1.31 --reason "v1.31.3 cut"`)
	r.clickReply(alice, alice, "Freeze: take cherry-pick-approved off 1 PR")
	r.run(alice, "next v1.31.3")
	bl.cb.Succeed(bl.lastBuild(t))
	bl.poll(t)
	r.click(alice, "Next stage")
	bl.cb.Succeed(bl.lastBuild(t))
	bl.poll(t)
	r.run(alice, "next v1.31.3")
	r.click(alice, "Confirm No-mock Stage")
	bl.cb.Succeed(bl.lastBuild(t))
	bl.poll(t)
	pr := bl.gh.AddPR("kubernetes/k8s.io", "releng: Image promotion for kubernetes v1.31.3", "kubernetes-v1.31.3-image-promotion", "alice", "do-not-merge/hold")
	bl.poll(t)
	bl.gh.SetLabels("kubernetes/k8s.io", pr, "approved", "lgtm")
	sha := bl.gh.Merge("kubernetes/k8s.io", pr)
	bl.poll(t)
	bl.gh.SetStatus("kubernetes/k8s.io", sha, "post-k8sio-image-promo", "success", "https://prow.k8s.io/view/x/1")
	bl.poll(t)
	r.click(alice, "Next stage")
	r.click(alice, "Confirm No-mock Release")
	bl.cb.Succeed(bl.lastBuild(t))
	bl.poll(t)
	bl.gh.AddRelease("kubernetes/kubernetes", "v1.31.3")
	bl.poll(t)
	r.run(alice, "announce v1.31.3 https://groups.google.com/a/kubernetes.io/g/dev/c/E14i6e2ndNc")
	r.run(alice, "thaw release-1.31")
}

// TestCleanPatchCutWrites counts the Slack writes (posts and edits) of a whole clean patch
// cut: one change of state edits only the messages whose text changes, so the cut takes at
// most 30 writes (the seed's design took 81: the parent, the plan and the line were edited on
// every change).
func TestCleanPatchCutWrites(t *testing.T) {
	fake := workspace(t)
	bl := newBuilds(t)
	r := startBotWith(t, fake, "", bl)
	before := len(fake.Calls("chat.postMessage")) + len(fake.Calls("chat.update"))
	cleanPatchCut(t, r, bl)
	mustContain(t, "the cut", fake.Transcript(channelID), ":kubernetes: Kubernetes v1.31.3 is live!", ":sunny: @alice thawed release-1.31")
	posts, edits := len(fake.Calls("chat.postMessage")), len(fake.Calls("chat.update"))
	writes := posts + edits - before
	var lines []string
	for _, m := range fake.Messages(channelID) {
		first, _, _ := strings.Cut(m.Versions[0].Text, "\n")
		lines = append(lines, fmt.Sprintf("%2d edits  %s", m.Edits(), first))
	}
	sort.Strings(lines)
	t.Logf("%d Slack writes: %d posts, %d edits\n%s", writes, posts, edits, strings.Join(lines, "\n"))
	if writes > 30 {
		t.Errorf("a clean patch cut took %d Slack writes, want at most 30", writes)
	}
}
