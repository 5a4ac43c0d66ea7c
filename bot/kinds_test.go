package bot

import (
	"context"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/integrations/githubfake"
)

// lastBuildSubs are the substitutions of the newest build the fake Cloud Build holds.
func lastBuildSubs(t *testing.T, bl *builds) map[string]string {
	t.Helper()
	all := bl.cb.Builds()
	if len(all) == 0 {
		t.Fatal("no builds")
	}
	return all[len(all)-1].GetSubstitutions()
}

// TestHotfixCut runs a hotfix release end to end on the fakes: v1.31.4 from release-1.31.3,
// made from the tag v1.31.3. The branch does not exist: only the requester may create it,
// and it is created once although the answer to the creation is lost and cutbot restarts in
// between. The stages build from the hotfix branch, the gate reads the minor's dashboard
// (the hotfix branch has none) and says so, and the thread and the issue say "hotfix".
func TestHotfixCut(t *testing.T) {
	fake := workspace(t)
	bl := newBuilds(t)
	bl.gh.AddTags(k8s, "v1.31.3")
	r := startBotWith(t, fake, "", bl)

	r.run(alice, "cut v1.31.4 --branch release-1.31.2")
	mustContain(t, "wrong hotfix branch", r.lastReply(alice), "--branch release-1.31.2 cannot produce v1.31.4: use release-1.31 or release-1.31.3 (a hotfix, --hotfix)")
	r.run(alice, "cut v1.31.0 --hotfix")
	mustContain(t, "not a patch", r.lastReply(alice), "--hotfix is for patch releases")

	r.run(alice, "cut v1.31.4 --hotfix")
	mustContain(t, "reply", r.lastReply(alice), "Opened the cut")
	p := fake.Text(parent(t, fake))
	mustContain(t, "parent", p, ":thread: Release Cut v1.31.4 hotfix", "official *hotfix* from `release-1.31.3` (only what is cherry-picked onto release-1.31.3; it leaves out everything merged on release-1.31 since v1.31.3)",
		"The hotfix branch `release-1.31.3` does not exist yet. @alice, who opened the cut, can create it from the tag `v1.31.3`")
	body := issueBody(t, bl, 2991)
	mustContain(t, "issue", body, "> **Hotfix release** from `release-1.31.3`: only what is cherry-picked onto release-1.31.3; it leaves out everything merged on release-1.31 since v1.31.3.")

	r.run(alice, "next v1.31.4")
	mustContain(t, "stage before the branch", r.lastReply(alice), "builds from the hotfix branch release-1.31.3, which does not exist yet")
	r.click(bob, "Create release-1.31.3")
	mustContain(t, "someone else", r.lastReply(bob), "only @alice, who opened the cut, can confirm creating release-1.31.3")
	if n := len(bl.gh.Requests("POST /repos/kubernetes/kubernetes/git/refs")); n != 0 {
		t.Fatalf("%d branch creations after a refusal", n)
	}

	// GitHub creates the branch, but its answer is lost: cutbot cannot know, and stops
	// before it records anything. The next start looks before creating.
	bl.gh.LoseNextAnswer("POST /repos/kubernetes/kubernetes/git/refs", 502)
	r.click(alice, "Create release-1.31.3")
	mustContain(t, "lost answer", r.lastReply(alice), "could not be created yet", "never created twice")
	r.stop()
	r = startBotWith(t, fake, r.dbPath, bl)
	ctx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	if err := fake.WaitFor(ctx, func() bool { return strings.Contains(fake.Transcript(channelID), "created the hotfix branch") }); err != nil {
		t.Fatalf("the branch was not recorded after the restart:\n%s", fake.Transcript(channelID))
	}
	if n := len(bl.gh.Requests("POST /repos/kubernetes/kubernetes/git/refs")); n != 1 {
		t.Errorf("the branch was created %d times, want once", n)
	}
	if got, want := bl.gh.BranchSHA(k8s, "release-1.31.3"), githubfake.TagCommit("v1.31.3"); got != want {
		t.Errorf("release-1.31.3 at %q, want the commit of v1.31.3 %q", got, want)
	}
	mustContain(t, "note", fake.Transcript(channelID), ":deciduous_tree: @alice created the hotfix branch release-1.31.3 from v1.31.3 (found already there). The stages may run.")
	if strings.Contains(fake.Text(parent(t, fake)), "does not exist yet") {
		t.Error("the parent still offers to create the branch")
	}

	// A hotfix branch has no CI build: cutbot says how to name one.
	r.run(alice, "next v1.31.4")
	mustContain(t, "no CI", r.lastReply(alice), "no CI build of the hotfix branch release-1.31.3 is published", "--build-version v1.31.4-rc.0.N+SHA")
	r.run(alice, "next v1.31.4 --build-version v1.31.4-rc.0.3+0a1b2c3d")
	subs := lastBuildSubs(t, bl)
	if subs["_RELEASE_BRANCH"] != "release-1.31.3" || subs["_BUILDVERSION"] != "v1.31.4-rc.0.3+0a1b2c3d" || subs["_TYPE"] != "official" {
		t.Errorf("mock stage substitutions %v", subs)
	}
	bl.cb.Succeed(bl.lastBuild(t))
	bl.poll(t)
	r.click(alice, "Next stage")
	if subs := lastBuildSubs(t, bl); subs["_RELEASE_BRANCH"] != "release-1.31.3" || subs["_BUILDVERSION"] != "v1.31.4-rc.0.3+0a1b2c3d" {
		t.Errorf("mock release substitutions %v", subs)
	}
	bl.cb.Succeed(bl.lastBuild(t))
	bl.poll(t)
	r.run(alice, "next v1.31.4 --build-version v1.31.4-rc.0.3+0a1b2c3d")
	mustContain(t, "gates", fake.Transcript(channelID), "testgrid has no dashboard sig-release-1.31.3-blocking; read the minor's instead: sig-release-1.31-blocking")
	r.click(alice, "Confirm No-mock Stage")
	if subs := lastBuildSubs(t, bl); subs["_RELEASE_BRANCH"] != "release-1.31.3" || subs["_NOMOCK"] != "--nomock" {
		t.Errorf("no-mock stage substitutions %v", subs)
	}
	bl.cb.Succeed(bl.lastBuild(t))
	bl.poll(t)
	pr := bl.gh.AddPR("kubernetes/k8s.io", "releng: Image promotion for kubernetes v1.31.4", "kubernetes-v1.31.4-image-promotion", "alice", "approved", "lgtm")
	bl.poll(t)
	sha := bl.gh.Merge("kubernetes/k8s.io", pr)
	bl.gh.SetStatus("kubernetes/k8s.io", sha, "post-k8sio-image-promo", "success", "https://prow.k8s.io/view/x/1")
	bl.poll(t)
	r.click(alice, "Next stage")
	r.click(alice, "Confirm No-mock Release")
	bl.cb.Succeed(bl.lastBuild(t))
	bl.poll(t)
	bl.gh.AddRelease(k8s, "v1.31.4")
	bl.poll(t)
	mustContain(t, "live", fake.Transcript(channelID), ":kubernetes: Kubernetes v1.31.4 is live!")
	c, err := r.store.LatestCut(context.Background(), cutbot.MustParseVersion("v1.31.4"))
	if err != nil || c.Status != cutbot.CutDone {
		t.Fatalf("cut %v, %v", c, err)
	}
	var actions []string
	for _, e := range c.Audit {
		actions = append(actions, e.Action)
	}
	mustContain(t, "audit", strings.Join(actions, " "), "branch.missing", "branch.requested", "branch.created")
	r.run(guest, "log v1.31.4")
	mustContain(t, "log", r.lastReply(guest), "confirmed creating the hotfix branch", "created the hotfix branch")
}
