package bot

import (
	"context"
	"strings"
	"testing"

	"sigs.k8s.io/cutbot"
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
	pr := bl.gh.AddPR("kubernetes/k8s.io", "releng: Image promotion for kubernetes v1.31.3", "kubernetes-v1.31.3-image-promotion", "alice", "approved", "lgtm")
	bl.poll(t)
	sha := bl.gh.Merge("kubernetes/k8s.io", pr)
	bl.gh.SetStatus("kubernetes/k8s.io", sha, "post-k8sio-image-promo", "success", "https://prow.k8s.io/view/x/1")
	bl.poll(t)
	mustContain(t, "release asked", fake.Transcript(channelID), ":warning: *Confirm No-mock Release of v1.31.3*")
	r.click(bob, "Confirm No-mock Release")
	mustContain(t, "opener confirms", r.lastReply(bob), "only @alice, who asked for No-mock Release, can confirm it")
	r.click(alice, "Confirm No-mock Release")
	bl.cb.Succeed(bl.lastBuild(t))
	bl.poll(t)
	bl.gh.AddRelease(k8s, "v1.31.3")
	bl.poll(t)
	mustContain(t, "live", fake.Transcript(channelID), ":kubernetes: Kubernetes v1.31.3 is live!")
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
