package bot

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/integrations/githubfake"
	"sigs.k8s.io/cutbot/integrations/promotion"
	"sigs.k8s.io/cutbot/integrations/schedule"
)

// TestAutopilot: with autopilot on, the mock stage starts when the cut opens and the mock
// release when it succeeds, each exactly once (also across a restart); the gates are checked
// and a failing one stops autopilot with a note in the thread; once a person goes on, the
// opener is asked to confirm the no-mock stage, and the no-mock release is asked for as soon
// as the images are promoted. A failed build stops it too. --no-start opens a cut without it.
func TestAutopilot(t *testing.T) {
	fake := workspace(t)
	bl := newBuilds(t)
	bl.testgrid.Set("sig-release-1.31-blocking", map[string]string{"build-1.31": "PASSING", "ci-kubernetes-e2e-gci-gce": "FAILING"})
	edit := func(cfg *Config) { cfg.Autopilot = true }
	r := startBotEdit(t, fake, "", bl, edit)

	// A freeze made with autopilot on thaws by itself once the cut is live.
	bl.gh.AddPullRequest(k8s, githubfake.PR{Number: 128001, Title: "Automated cherry pick of #128000: fix", Base: "release-1.31", HeadSHA: headSHA(128001), Labels: []string{"cherry-pick-approved", "lgtm"}})
	r.run(alice, `freeze release-1.31 --reason "v1.31.3 cut"`)
	mustContain(t, "preview", r.lastReply(alice), "It thaws by itself once the branch's cut is live")
	r.clickReply(alice, alice, "Freeze: take cherry-pick-approved off 1 PR")

	r.run(alice, "cut v1.31.3")
	mustContain(t, "reply", r.lastReply(alice), "The mock stage starts now")
	if n := bl.created(); n != 1 {
		t.Fatalf("%d builds after the cut opened, want the mock stage", n)
	}
	if subs := lastBuildSubs(t, bl); subs["_NOMOCK"] != "" || subs["_RELEASE_BRANCH"] != "release-1.31" {
		t.Errorf("first build %v", subs)
	}
	// A restart while the mock stage runs starts nothing twice.
	r.stop()
	r = startBotEdit(t, fake, r.dbPath, bl, edit)
	bl.cb.Succeed(bl.lastBuild(t))
	bl.poll(t)
	if n := bl.created(); n != 2 {
		t.Fatalf("%d builds after the mock stage succeeded, want the mock release too", n)
	}
	if subs := lastBuildSubs(t, bl); subs["_BUILDVERSION"] != "v1.31.3-rc.0.12+8f0c0a4d" || !strings.Contains(subs["_KUBERNETES_GCS_BUCKET"], "kubernetes-release-gcb") {
		t.Errorf("mock release %v", subs)
	}
	bl.cb.Succeed(bl.lastBuild(t))
	bl.poll(t)
	// The gates fail: autopilot stops and says why; nothing is asked.
	transcript := fake.Transcript(channelID)
	mustContain(t, "stopped", transcript, ":x: Gates for the no-mock stage of v1.31.3 failed", ":pause_button: Autopilot stopped: No-mock Stage did not start", "Go on by hand with `/release next v1.31.3`")
	if strings.Contains(transcript, "Confirm No-mock Stage") {
		t.Fatal("asked to confirm past a failing gate")
	}
	bl.poll(t)
	if n := strings.Count(fake.Transcript(channelID), "Autopilot stopped"); n != 1 {
		t.Errorf("autopilot stopped %d times, want once", n)
	}
	bl.testgrid.Set("sig-release-1.31-blocking", map[string]string{"build-1.31": "PASSING", "ci-kubernetes-e2e-gci-gce": "PASSING"})
	r.run(alice, "next v1.31.3")
	r.click(alice, "Confirm No-mock Stage")
	bl.cb.Succeed(bl.lastBuild(t))
	bl.poll(t)
	promoteByHand(t, bl, "v1.31.3")
	mustContain(t, "release asked", fake.Transcript(channelID), ":warning: *Confirm No-mock Release of v1.31.3*")
	r.click(bob, "Confirm No-mock Release")
	mustContain(t, "opener confirms", r.lastReply(bob), "only @alice, who asked for No-mock Release, can confirm it")
	r.click(alice, "Confirm No-mock Release")
	bl.cb.Succeed(bl.lastBuild(t))
	bl.poll(t)
	bl.gh.AddRelease(k8s, "v1.31.3")
	bl.poll(t)
	mustContain(t, "live", fake.Transcript(channelID), ":kubernetes: Kubernetes v1.31.3 is live!")
	ctx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	if err := fake.WaitFor(ctx, func() bool { return strings.Contains(fake.Transcript(channelID), ":sunny: Thawed by itself") }); err != nil {
		t.Errorf("no thaw by itself:\n%s", fake.Transcript(channelID))
	}
	if _, _, _, labels, _ := bl.gh.Issue(k8s, 128001); !slices.Contains(labels, "cherry-pick-approved") {
		t.Errorf("#128001 labels after the thaw: %v", labels)
	}
	c, _ := r.store.LatestCut(context.Background(), cutbot.MustParseVersion("v1.31.3"))
	if got := len(c.AutoTried); got != 4 {
		t.Errorf("autopilot took %d steps (%v), want 4", got, c.AutoTried)
	}

	// A failure stops autopilot; --no-start opens a cut without it.
	r.run(alice, "cut v1.30.7")
	bl.cb.Fail(bl.lastBuild(t), 1, "boom")
	bl.poll(t)
	before := bl.created()
	bl.poll(t)
	if bl.created() != before {
		t.Error("autopilot went on past a failed build")
	}
	r.run(alice, "cut v1.29.11 --no-start")
	if bl.created() != before {
		t.Error("--no-start started a build")
	}
	mustContain(t, "no-start reply", r.lastReply(alice), "Opened the cut.")
}

// TestPromotionPRByCutbot: after the no-mock stage, cutbot opens the image-promotion PR from
// its fork with the staged digests (the in-memory registry) and the build links; its first
// try is refused after the branch was pushed and cutbot restarts: one PR, one commit. Once a
// person approves the PR, cutbot lifts its hold ("/hold cancel") before the no-mock release
// is asked for; no separate build-links comment is made (they are in the body).
func TestPromotionPRByCutbot(t *testing.T) {
	fake := workspace(t)
	bl := newBuilds(t)
	reg := promotion.NewFakeRegistry()
	t.Cleanup(reg.Close)
	for _, im := range []string{"kube-apiserver", "kube-proxy"} {
		if _, err := reg.Push("k8s-staging-kubernetes/"+im, "v1.31.3"); err != nil {
			t.Fatal(err)
		}
	}
	const k8sio = "kubernetes/k8s.io"
	bl.gh.AddBranches(k8sio, "main")
	bl.gh.SetFile(k8sio, promotion.DefaultImagesPath, "- name: kube-apiserver\n  dmap:\n    \"sha256:0000000000000000000000000000000000000000000000000000000000000001\": [\"v1.31.2\"]\n")
	edit := func(cfg *Config) {
		cfg.Promoter = &promotion.Opener{GitHub: bl.ghClient, Staging: &promotion.Registry{Base: reg.Host() + "/k8s-staging-kubernetes"},
			Repo: k8sio, Base: "main", Fork: "cutbot-bot/k8s.io", Path: promotion.DefaultImagesPath}
	}
	r := startBotEdit(t, fake, "", bl, edit)
	bl.gh.FailNext("POST /repos/kubernetes/k8s.io/pulls", 502)
	toPromotion(t, r, bl)
	if _, ok := bl.gh.PRByTitle(k8sio, "releng: Image promotion for kubernetes v1.31.3"); ok {
		t.Fatal("a PR despite the refusal")
	}
	mustContain(t, "opening", fake.Transcript(channelID), "cutbot is opening the PR, as `kpromo pr` does")
	r.stop()
	r = startBotEdit(t, fake, r.dbPath, bl, edit)
	bl.poll(t)
	n, ok := bl.gh.PRByTitle(k8sio, "releng: Image promotion for kubernetes v1.31.3")
	if !ok {
		t.Fatalf("no PR after the restart:\n%s", fake.Transcript(channelID))
	}
	if c := len(bl.gh.Requests("PUT /repos/cutbot-bot/k8s.io/contents/")); c != 1 {
		t.Errorf("%d commits of the manifest, want 1", c)
	}
	if c := len(bl.gh.Requests("POST /repos/kubernetes/k8s.io/pulls")); c != 2 {
		t.Errorf("%d PR creations, want 2 (refused, opened)", c)
	}
	_, body, head, _ := bl.gh.PullBody(k8sio, n)
	mustContain(t, "PR", head+"\n"+body, "cutbot-bot:kubernetes-v1.31.3-image-promotion", "/hold", "Builds of the v1.31.3 release cut", "Build version: `v1.31.3-rc.0.12+8f0c0a4d`")
	manifest, _ := bl.gh.FileOn("cutbot-bot/k8s.io", "kubernetes-v1.31.3-image-promotion", promotion.DefaultImagesPath)
	if strings.Count(manifest, `["v1.31.3"]`) != 2 {
		t.Errorf("manifest on the branch:\n%s", manifest)
	}
	bl.poll(t)
	mustContain(t, "PR line", fake.Transcript(channelID), "Image Promotion PR (link <https://github.com/kubernetes/k8s.io/pull/")

	// Approved, held (prow's /hold): cutbot lifts the hold, once.
	bl.gh.SetLabels(k8sio, n, "approved", "lgtm", "do-not-merge/hold")
	bl.poll(t)
	bl.poll(t)
	var unholds int
	for _, c := range bl.gh.CommentsOn(k8sio, n) {
		if strings.HasPrefix(c, "/hold cancel") {
			unholds++
		}
	}
	if unholds != 1 {
		t.Fatalf("%d /hold cancel comments, want 1: %q", unholds, bl.gh.CommentsOn(k8sio, n))
	}
	if len(bl.gh.CommentsOn(k8sio, n)) != 1 {
		t.Errorf("comments on the PR %q: the build links are in its body", bl.gh.CommentsOn(k8sio, n))
	}
	mustContain(t, "unheld", fake.Transcript(channelID), "approved; cutbot lifted its hold; waiting for the merge")
	bl.gh.SetLabels(k8sio, n, "approved", "lgtm")
	sha := bl.gh.Merge(k8sio, n)
	bl.gh.SetStatus(k8sio, sha, "post-k8sio-image-promo", "success", "https://prow.k8s.io/view/x/1")
	bl.poll(t)
	mustContain(t, "promoted", fake.Transcript(channelID), "-> Image promotion is :white_check_mark:")
}

// TestNoopPromotion: when every staged image of the release is in the manifest already,
// cutbot opens no PR and the promotion stage passes, saying why.
func TestNoopPromotion(t *testing.T) {
	fake := workspace(t)
	bl := newBuilds(t)
	reg := promotion.NewFakeRegistry()
	t.Cleanup(reg.Close)
	d, err := reg.Push("k8s-staging-kubernetes/kube-apiserver", "v1.31.3")
	if err != nil {
		t.Fatal(err)
	}
	const k8sio = "kubernetes/k8s.io"
	bl.gh.AddBranches(k8sio, "main")
	bl.gh.SetFile(k8sio, promotion.DefaultImagesPath, "- name: kube-apiserver\n  dmap:\n    \""+d+"\": [\"v1.31.3\"]\n")
	r := startBotEdit(t, fake, "", bl, func(cfg *Config) {
		cfg.Promoter = &promotion.Opener{GitHub: bl.ghClient, Staging: &promotion.Registry{Base: reg.Host() + "/k8s-staging-kubernetes"},
			Repo: k8sio, Base: "main", Fork: "cutbot-bot/k8s.io", Path: promotion.DefaultImagesPath}
	})
	toPromotion(t, r, bl)
	bl.poll(t)
	transcript := fake.Transcript(channelID)
	mustContain(t, "no-op", transcript, "nothing to promote: every staged image of v1.31.3 is already in the promoter's manifest", "Next: No-mock Release")
	if c := len(bl.gh.Requests("POST /repos/kubernetes/k8s.io/pulls")); c != 0 {
		t.Errorf("%d PRs opened for a no-op promotion", c)
	}
}

// TestCalendarOpensTheDay: at the cherry-pick deadline the reminder offers to freeze the
// branch (the preview, then the same confirmation); the day before the target date it offers
// to open the cut, which with autopilot starts the mock run. The buttons are release
// managers' only.
func TestCalendarOpensTheDay(t *testing.T) {
	fake := workspace(t)
	bl := newBuilds(t)
	la, _ := time.LoadLocation("America/Los_Angeles")
	bl.clock.Add(time.Date(2024, 10, 11, 9, 1, 0, 0, la).Sub(bl.clock.Now()))
	path := filepath.Join(t.TempDir(), "schedule.yaml")
	os.WriteFile(path, []byte(`schedules:
- release: "1.31"
  maintenanceModeStartDate: "2025-08-28"
  endOfLifeDate: "2025-10-28"
  next: {release: 1.31.3, cherryPickDeadline: "2024-10-11", targetDate: "2024-10-15"}
`), 0o644)
	bl.gh.AddPullRequest(k8s, githubfake.PR{Number: 128001, Title: "Automated cherry pick of #128000: fix", Base: "release-1.31", HeadSHA: headSHA(128001), Labels: []string{"cherry-pick-approved", "lgtm"}})
	r := startBotEdit(t, fake, "", bl, func(cfg *Config) {
		cfg.Autopilot = true
		cfg.Calendars = []cutbot.CalendarSource{&schedule.Source{Spec: path}}
		cfg.Policy = cutbot.ReminderPolicy{Leads: []int{3, 0}, Hour: 9, Location: la}
	})
	r.runJob("reminders")
	mustContain(t, "deadline", fake.Transcript(channelID), ":cherries: The cherry-pick deadline for v1.31.3 is today (Fri, 2024-10-11).", "[Freeze release-1.31]")
	r.click(guest, "Freeze release-1.31")
	mustContain(t, "guest", r.lastReply(guest), "Only release managers")
	r.click(alice, "Freeze release-1.31")
	mustContain(t, "preview", r.lastReply(alice), "Cherry-pick freeze of release-1.31 (v1.31.3 cut): 1 of 1 PR with cherry-pick-approved would lose it.")
	r.clickReply(alice, alice, "Freeze: take cherry-pick-approved off 1 PR")
	if f := freezes(t, r.store); len(f) != 1 || f[0].State != cutbot.FreezeFrozen {
		t.Fatalf("freezes %v", f)
	}

	bl.clock.Add(time.Date(2024, 10, 14, 9, 1, 0, 0, la).Sub(bl.clock.Now()))
	r.runJob("reminders")
	mustContain(t, "due tomorrow", fake.Transcript(channelID), ":kubernetes: v1.31.3 is due tomorrow (Tue, 2024-10-15).", "[Open the cut of v1.31.3]")
	if bl.created() != 0 {
		t.Fatal("a build before anyone pressed")
	}
	r.click(guest, "Open the cut of v1.31.3")
	mustContain(t, "guest", r.lastReply(guest), "Only release managers")
	r.click(alice, "Open the cut of v1.31.3")
	mustContain(t, "opened", r.lastReply(alice), "Opened the cut. The mock stage starts now")
	if bl.created() != 1 {
		t.Errorf("%d builds after the cut opened from the reminder, want the mock stage", bl.created())
	}
	c := activeCut(t, r.store, "v1.31.3")
	if c.OpenedBy != alice {
		t.Errorf("opened by %s", c.OpenedBy)
	}
	r.click(alice, "Open the cut of v1.31.3")
	mustContain(t, "twice", r.lastReply(alice), "v1.31.3 already has an active cut")
}

// TestFreezeKeepChoice: with autopilot on, the freeze preview offers both: freeze and thaw by
// itself once the cut is live (the first button), or keep the branch frozen (the second).
func TestFreezeKeepChoice(t *testing.T) {
	fake := workspace(t)
	bl := newBuilds(t)
	bl.gh.AddPullRequest(k8s, githubfake.PR{Number: 128001, Title: "Automated cherry pick of #128000: fix", Base: "release-1.31", HeadSHA: headSHA(128001), Labels: []string{"cherry-pick-approved", "lgtm"}})
	r := startBotEdit(t, fake, "", bl, func(cfg *Config) { cfg.Autopilot = true })
	r.run(alice, `freeze release-1.31 --reason "v1.31.3 cut"`)
	mustContain(t, "preview", r.lastReply(alice), "[Freeze: take cherry-pick-approved off 1 PR]", "[Freeze, and keep it frozen after the release]")
	r.clickReply(alice, alice, "Freeze, and keep it frozen")
	f := freezes(t, r.store)
	if len(f) != 1 || f[0].State != cutbot.FreezeFrozen || f[0].AutoThaw {
		t.Fatalf("freeze after the keep button: %+v", f)
	}
	bl.gh.AddPullRequest(k8s, githubfake.PR{Number: 128002, Title: "Automated cherry pick of #128000: fix", Base: "release-1.30", HeadSHA: headSHA(128002), Labels: []string{"cherry-pick-approved", "lgtm"}})
	r.run(alice, `freeze release-1.30 --reason "v1.30.7 cut" --no-thaw`)
	reply := r.lastReply(alice)
	mustContain(t, "no-thaw preview", reply, "[Freeze: take cherry-pick-approved off 1 PR]", "It stays frozen until `/release thaw release-1.30`.")
	if strings.Contains(reply, "keep it frozen after the release]") {
		t.Error("--no-thaw still offers the choice")
	}
}
