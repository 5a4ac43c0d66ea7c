package bot

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/cutbot/integrations/githubfake"
	"sigs.k8s.io/cutbot/integrations/promotion"
	"sigs.k8s.io/cutbot/integrations/schedule"
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
	ghWrites := 0
	for _, m := range []string{"POST ", "PUT ", "PATCH ", "DELETE "} {
		ghWrites += len(bl.gh.Requests(m))
	}
	t.Logf("%d Slack writes: %d posts, %d edits; %d GitHub writes (freeze and thaw included)\n%s", writes, posts, edits, ghWrites, strings.Join(lines, "\n"))
	if writes > 30 {
		t.Errorf("a clean patch cut took %d Slack writes, want at most 30", writes)
	}
}

// TestAutopilotCleanCutWrites plays a clean patch cut on autopilot, with cutbot opening the
// promotion PR and the schedule.yaml PR, and counts what people did (four touches: open the
// cut, confirm the no-mock stage, approve the promotion PR on GitHub, confirm the no-mock
// release) and what cutbot wrote to Slack and GitHub. The freeze at the deadline and its thaw
// are left out, as in TestCleanPatchCutWrites's count of the manual cut they are in.
func TestAutopilotCleanCutWrites(t *testing.T) {
	fake := workspace(t)
	bl := newBuilds(t)
	reg := promotion.NewFakeRegistry()
	t.Cleanup(reg.Close)
	const k8sio, website = "kubernetes/k8s.io", "kubernetes/website"
	bl.gh.AddBranches(k8sio, "main")
	bl.gh.SetFile(k8sio, promotion.DefaultImagesPath, "- name: kube-apiserver\n  dmap:\n    \"sha256:0000000000000000000000000000000000000000000000000000000000000001\": [\"v1.31.2\"]\n")
	bl.gh.AddBranches(website, "main")
	bl.gh.SetFile(website, schedule.DefaultSchedulePath, `schedules:
- endOfLifeDate: "2027-10-28"
  maintenanceModeStartDate: "2027-08-28"
  next:
    cherryPickDeadline: "2026-11-06"
    release: 1.31.3
    targetDate: "2026-11-10"
  release: "1.31"
  releaseDate: "2026-08-13"
upcoming_releases:
- cherryPickDeadline: "2026-12-04"
  targetDate: "2026-12-08"
`)
	r := startBotEdit(t, fake, "", bl, func(cfg *Config) {
		cfg.Autopilot = true
		cfg.Promoter = &promotion.Opener{GitHub: bl.ghClient, Staging: &promotion.Registry{Base: reg.Host() + "/k8s-staging-kubernetes"}, Repo: k8sio, Base: "main", Fork: "bot/k8s.io", Path: promotion.DefaultImagesPath}
		cfg.Schedule = &schedule.Updater{GitHub: bl.ghClient, Repo: website, Base: "main", Fork: "bot/website", Path: schedule.DefaultSchedulePath}
	})
	slackBefore := len(fake.Calls("chat.postMessage")) + len(fake.Calls("chat.update"))
	ghWrites := func() int {
		n := 0
		for _, m := range []string{"POST ", "PUT ", "PATCH ", "DELETE "} {
			n += len(bl.gh.Requests(m))
		}
		return n
	}
	ghBefore := ghWrites()
	touches := 0
	touch := func() { touches++ }

	r.run(alice, "cut v1.31.3")
	touch()
	bl.cb.Succeed(bl.lastBuild(t)) // the mock stage
	bl.poll(t)
	bl.cb.Succeed(bl.lastBuild(t)) // the mock release, started by autopilot
	bl.poll(t)
	r.click(alice, "Confirm No-mock Stage") // asked for by autopilot once the gates passed
	touch()
	reg.Push("k8s-staging-kubernetes/kube-apiserver", "v1.31.3") // what krel stage --nomock pushes
	reg.Push("k8s-staging-kubernetes/kube-proxy", "v1.31.3")
	bl.cb.Succeed(bl.lastBuild(t))
	bl.poll(t)
	n, ok := bl.gh.PRByTitle(k8sio, "releng: Image promotion for kubernetes v1.31.3")
	if !ok {
		t.Fatalf("cutbot opened no promotion PR:\n%s", fake.Transcript(channelID))
	}
	bl.gh.SetLabels(k8sio, n, "approved", "lgtm", "do-not-merge/hold") // a reviewer approves on GitHub
	touch()
	bl.poll(t)
	bl.gh.SetLabels(k8sio, n, "approved", "lgtm") // prow, on cutbot's /hold cancel
	sha := bl.gh.Merge(k8sio, n)                  // tide
	bl.gh.SetStatus(k8sio, sha, "post-k8sio-image-promo", "success", "https://prow.k8s.io/view/x/1")
	bl.poll(t)
	r.click(alice, "Confirm No-mock Release") // asked for by autopilot once promoted
	touch()
	bl.cb.Succeed(bl.lastBuild(t))
	bl.poll(t)
	bl.gh.AddRelease(k8s, "v1.31.3") // krel release --nomock publishes it
	bl.poll(t)
	bl.poll(t)

	transcript := fake.Transcript(channelID)
	mustContain(t, "the cut", transcript, ":kubernetes: Kubernetes v1.31.3 is live!", ":calendar: schedule.yaml PR https://github.com/kubernetes/website/pull/")
	if touches != 4 {
		t.Errorf("%d human touches, want 4", touches)
	}
	slackWrites := len(fake.Calls("chat.postMessage")) + len(fake.Calls("chat.update")) - slackBefore
	github := ghWrites() - ghBefore
	var kinds []string
	for _, req := range bl.gh.Requests("") {
		if req.Method != "GET" {
			kinds = append(kinds, req.Method+" "+req.Path)
		}
	}
	t.Logf("autopilot clean patch cut: %d human touches, %d Slack writes, %d GitHub writes:\n%s", touches, slackWrites, github, strings.Join(kinds, "\n"))
	if slackWrites > 35 {
		t.Errorf("%d Slack writes, want at most 35", slackWrites)
	}
}
