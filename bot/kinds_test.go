package bot

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/integrations/github"
	"sigs.k8s.io/cutbot/integrations/githubfake"
	"sigs.k8s.io/cutbot/integrations/schedule"
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
	promoteByHand(t, bl, "v1.31.4")
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

const privateID = "G0PRIVATE"

// clickIn presses the latest button labelled label in channel.
func (r *running) clickIn(user, channel, label string) {
	r.t.Helper()
	b, ok := r.fake.FindButton(channel, label)
	if !ok {
		r.t.Fatalf("no %q button in %s:\n%s", label, channel, r.fake.Transcript(channel))
	}
	ctx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	id, err := r.fake.Click(ctx, user, channel, b)
	if err != nil {
		r.t.Fatal(err)
	}
	r.waitHandled(id)
}

// leaks lists what names the embargoed cut where the public (or guest) can see it: every
// version of every message in the release channel, the guest's ephemeral replies, the
// guest's App Home, the issues and comments cutbot wrote on GitHub.
func leaks(r *running, bl *builds, secrets ...string) []string {
	var seen []string
	look := func(where, text string) {
		text = reExample.ReplaceAllString(text, "") // help's examples name versions, not cuts
		for _, s := range secrets {
			if strings.Contains(text, s) {
				seen = append(seen, where+" names "+s)
			}
		}
	}
	for _, m := range r.fake.Messages(channelID) {
		for i, v := range m.Versions {
			look("release channel message "+m.TS+" version "+itoa(i), v.Text+string(v.Blocks))
		}
	}
	for _, m := range r.fake.Ephemerals(guest) {
		look("a reply to the guest", m.Text+string(m.Blocks))
	}
	if v, ok := r.fake.Home(guest); ok {
		look("the guest's Home", string(v.Blocks))
	}
	for _, req := range bl.gh.Requests("POST ") {
		if !strings.Contains(req.Path, "/kubernetes-security/") {
			look("GitHub "+req.Method+" "+req.Path, req.Body)
		}
	}
	for _, req := range bl.gh.Requests("PATCH ") {
		look("GitHub "+req.Method+" "+req.Path, req.Body)
	}
	return seen
}

// TestEmbargoedCut runs an embargoed security release from open to lift on the fakes, with
// every command and every kind of message it has (thread, plan, stage lines, a failure and
// its retry, gates, confirmations, the promotion's line, notes), and looks everywhere public
// for its version and CVE: nothing until the lift. The cut lives in the private channel, has
// no issue (no private issue repository is set), builds Kubernetes from the security fork,
// and waits with "is live" and its public PR comment until a release manager lifts the
// embargo; then the public thread appears with the history, and they go out.
func TestEmbargoedCut(t *testing.T) {
	fake := workspace(t)
	fake.AddPrivateChannel(privateID, "release-managers-private", fake.Options().BotUserID, alice, bob)
	bl := newBuilds(t)
	// The GitHub client goes through the guard, as cutbot run makes it.
	ghGuard := &GitHubGuard{}
	guarded, err := github.New(context.Background(), bl.gh.URL(), "ghp_fake", &http.Client{Transport: ghGuard.Wrap(nil)})
	if err != nil {
		t.Fatal(err)
	}
	edit := func(cfg *Config) { cfg.PrivateChannel = privateID; cfg.GitHub = guarded; cfg.GitHubGuard = ghGuard }
	r := startBotEdit(t, fake, "", bl, edit)
	secrets := []string{"v1.31.3", "CVE-2026-1234"}

	r.run(alice, `cut v1.31.3 --embargo "CVE-2026-1234" --k8s-org kubernetes-security --k8s-ref release-1.31`)
	mustContain(t, "reply", r.lastReply(alice), "Opened the cut")
	priv := func() string { return fake.Transcript(privateID) }
	mustContain(t, "private thread", priv(), ":thread: Release Cut :lock: v1.31.3, embargoed security release (no GH issue: it would be public)",
		"embargo: CVE-2026-1234 (private until `/release lift v1.31.3`)", "Kubernetes from `kubernetes-security@release-1.31`",
		":lock: No cut issue: an embargoed cut is not tracked in a public repository, and CUTBOT_PRIVATE_ISSUE_REPO is not set.")

	// Everyone's commands: the guest sees nothing of it; release managers do, privately.
	for _, cmd := range []string{"status", "status v1.31.3", "log v1.31.3", "help", "schedule", "reminders", "lift v1.31.3", "next v1.31.3", "picks", "known-issues release-1.31"} {
		r.run(guest, cmd)
	}
	var toGuest []string
	for _, m := range fake.Ephemerals(guest) {
		toGuest = append(toGuest, fake.Text(m))
	}
	mustContain(t, "guest replies", strings.Join(toGuest, "\n"), "No cut of that version has been opened", "No active cuts",
		"Only release managers (@release-managers and @carol) may run `/release lift`")
	r.openHome(guest)
	r.run(alice, "status")
	mustContain(t, "manager status", r.lastReply(alice), "v1.31.3")
	r.run(bob, "log v1.31.3")
	mustContain(t, "manager log", r.lastReply(bob), "opened the cut of v1.31.3")
	r.openHome(alice)

	// The stages, with a failure and a retry, the gates, the confirmations.
	r.run(alice, "next v1.31.3")
	if subs := lastBuildSubs(t, bl); subs["_K8S_ORG"] != "kubernetes-security" || subs["_K8S_REPO"] != "kubernetes" || subs["_K8S_REF"] != "release-1.31" {
		t.Errorf("the stage does not build from the security fork: %v", subs)
	}
	bl.cb.Fail(bl.lastBuild(t), 1, "step failed")
	bl.poll(t)
	r.run(alice, "retry v1.31.3")
	bl.cb.Succeed(bl.lastBuild(t))
	bl.poll(t)
	r.clickIn(alice, privateID, "Next stage")
	bl.cb.Succeed(bl.lastBuild(t))
	bl.poll(t)
	r.run(alice, "gates v1.31.3")
	r.run(alice, "next v1.31.3")
	r.clickIn(alice, privateID, "Confirm No-mock Stage")
	bl.cb.Succeed(bl.lastBuild(t))
	bl.poll(t)
	pr := promoteByHand(t, bl, "v1.31.3")
	r.clickIn(alice, privateID, "Next stage")
	r.clickIn(alice, privateID, "Confirm No-mock Release")
	bl.cb.Succeed(bl.lastBuild(t))
	bl.poll(t)
	bl.gh.AddRelease(k8s, "v1.31.3")
	bl.poll(t)
	r.run(alice, "announce v1.31.3 https://groups.google.com/a/kubernetes.io/g/dev/c/sec")
	r.run(guest, "status v1.31.3")
	r.openHome(guest)

	if got := leaks(r, bl, secrets...); len(got) > 0 {
		t.Fatalf("the embargoed cut leaked before the lift:\n%s", strings.Join(got, "\n"))
	}
	if n := len(bl.gh.Requests("POST /repos/kubernetes/sig-release/issues")); n != 0 {
		t.Errorf("%d public issues opened for an embargoed cut", n)
	}
	if c := bl.gh.CommentsOn("kubernetes/k8s.io", pr); len(c) != 0 {
		t.Errorf("the promotion PR got comments before the lift: %q", c)
	}
	if strings.Contains(priv(), "is live! (shoutout") {
		t.Error("\"is live\" before the lift")
	}
	for _, c := range fake.Calls("chat.postMessage", "chat.update", "chat.postEphemeral", "views.publish") {
		if c.Error != "" {
			t.Logf("%s %s: %s", c.Method, c.Params.Get("channel"), c.Error)
		}
	}
	if n := r.bot.embargo.refusals(); n != 0 {
		t.Errorf("the guard had to refuse %d writes: a caller forgot the embargo", n)
	}
	// The guard holds even against a caller that forgets: a public post naming the cut is
	// refused, one in the private channel goes out.
	if _, _, err := r.bot.api.PostMessage(channelID, slackMsgText("v1.31.3 is almost out")); err == nil || !strings.Contains(err.Error(), "cutbot_embargoed") {
		t.Errorf("a public post naming the embargoed cut was not refused: %v", err)
	}
	if _, _, err := r.bot.api.PostMessage(privateID, slackMsgText("v1.31.3 is almost out")); err != nil {
		t.Errorf("a private post was refused: %v", err)
	}
	// So does GitHub's: a comment naming the cut on the public promotion PR is refused.
	if err := guarded.Comment(context.Background(), "kubernetes/k8s.io", pr, "v1.31.3 fixes CVE-2026-1234"); err == nil || !strings.Contains(err.Error(), "embargoed") {
		t.Errorf("a public GitHub comment naming the embargoed cut was not refused: %v", err)
	}
	if got := leaks(r, bl, secrets...); len(got) > 0 {
		t.Fatalf("leaked: %s", strings.Join(got, "\n"))
	}

	// After a restart the guard knows the embargo again from the cuts it reads (resume).
	r.stop()
	r = startBotEdit(t, fake, r.dbPath, bl, edit)
	if _, _, err := r.bot.api.PostMessage(channelID, slackMsgText("v1.31.3 is almost out")); err == nil || !strings.Contains(err.Error(), "cutbot_embargoed") {
		t.Errorf("after a restart, a public post naming the embargoed cut was not refused: %v", err)
	}

	// The lift: recorded; the public thread with the history, "is live" in it, the comment.
	r.run(alice, "lift v1.31.3")
	mustContain(t, "lift reply", r.lastReply(alice), "Lifted the embargo", "\"Is live\" follows in it.")
	ctx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	if err := fake.WaitFor(ctx, func() bool { return strings.Contains(fake.Transcript(channelID), "is live!") }); err != nil {
		t.Fatalf("no \"is live\" after the lift:\n%s", fake.Transcript(channelID))
	}
	public := fake.Transcript(channelID)
	mustContain(t, "public thread", public, ":thread: Release Cut v1.31.3, security release (CVE-2026-1234)", "embargo lifted by @alice", "*History*", "lifted the embargo",
		"cutbot (replied to a thread, also sent to the channel)\n  :kubernetes: Kubernetes v1.31.3 is live!", "https://groups.google.com/a/kubernetes.io/g/dev/c/sec")
	mustContain(t, "private note", priv(), ":unlock: @alice lifted the embargo (CVE-2026-1234).")
	if err := fake.WaitFor(ctx, func() bool { return len(bl.gh.CommentsOn("kubernetes/k8s.io", pr)) == 1 }); err != nil {
		t.Errorf("the promotion PR's comment did not follow the lift: %q", bl.gh.CommentsOn("kubernetes/k8s.io", pr))
	}
	r.run(alice, "lift v1.31.3")
	mustContain(t, "twice", r.lastReply(alice), "the embargo was already lifted by @alice")
	r.run(guest, "log v1.31.3 2")
	mustContain(t, "guest log after", r.lastReply(guest), "lifted the embargo")
}

func slackMsgText(s string) slack.MsgOption { return slack.MsgOptionText(s, false) }

// TestPrivateChannelChecked: cutbot refuses to start when the channel of embargoed cuts is
// public, is the release channel, or does not have cutbot in it; a good one is reported.
func TestPrivateChannelChecked(t *testing.T) {
	fake := workspace(t)
	fake.AddChannel("C0PUBLIC", "random", fake.Options().BotUserID, alice)
	fake.AddPrivateChannel("G0NOBOT", "secret", alice)
	fake.AddPrivateChannel(privateID, "release-managers-private", fake.Options().BotUserID, alice)
	opts := fake.Options()
	probe := func(private string) (Workspace, error) {
		return Probe(context.Background(), Config{AppToken: opts.AppToken, BotToken: opts.BotToken, APIURL: fake.APIURL(), Channel: channelID, PrivateChannel: private, ManagersGroup: groupID})
	}
	for private, want := range map[string]string{
		"C0PUBLIC": "CUTBOT_PRIVATE_CHANNEL C0PUBLIC (#random) is public",
		channelID:  "is the release channel",
		"G0NOBOT":  "channel_not_found: give the id of a private channel and /invite @cutbot there", // Slack hides a private channel from a bot not in it
		"G0NONE":   "CUTBOT_PRIVATE_CHANNEL G0NONE: conversations.info",
	} {
		if _, err := probe(private); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("private channel %s: %v, want %q", private, err, want)
		}
	}
	ws, err := probe(privateID)
	if err != nil || ws.PrivateChannel != "#release-managers-private (private)" {
		t.Errorf("good private channel: %+v, %v", ws, err)
	}
}

// realSchedule is kubernetes/website's schedule.yaml as of October 2024 (a copy kept by the
// schedule package's tests): release-1.31's v1.31.1 came out on 2024-09-11, release-1.30's
// v1.30.5 on 2024-09-10.
const realSchedule = "../integrations/schedule/testdata/website/schedule.yaml"

// TestTimingGuard holds patch cuts to the playbook's 2 to 4 weeks on the real schedule.yaml
// dates: a cut 2 days after the branch's last release (its GitHub release) or 10 days after
// (the calendar's previous patch) needs --force "reason", recorded and said in the thread;
// a branch 29 days without a patch while a cherry-pick merged on it is reminded once.
func TestTimingGuard(t *testing.T) {
	fake := workspace(t)
	bl := newBuilds(t)
	bl.clock.Add(time.Date(2024, 9, 20, 16, 0, 0, 0, time.UTC).Sub(bl.clock.Now()))
	bl.gh.AddReleaseAt(k8s, "v1.31.2", time.Date(2024, 9, 18, 14, 0, 0, 0, time.UTC))
	bl.gh.AddPullRequest(k8s, githubfake.PR{Number: 127900, Title: "Automated cherry pick of #127000: fix", Base: "release-1.30", HeadRef: "automated-cherry-pick-of-#127000-upstream-release-1.30",
		HeadSHA: "sha127900", State: "closed", Merged: true, CreatedAt: time.Date(2024, 9, 20, 0, 0, 0, 0, time.UTC), MergedAt: time.Date(2024, 9, 25, 0, 0, 0, 0, time.UTC)})
	r := startBotEdit(t, fake, "", bl, func(c *Config) {
		c.Calendars = []cutbot.CalendarSource{&schedule.Source{Spec: realSchedule}}
		c.BoardBranches = []string{"release-1.30"}
	})

	r.run(alice, "cut v1.31.3")
	mustContain(t, "GitHub's date", r.lastReply(alice), "v1.31.3 would come 2 days after v1.31.2 (2024-09-18, from its GitHub release)", "at least 14 days", `Add --force "reason" to cut it now`)
	r.run(alice, "cut v1.30.7 --dry-run")
	mustContain(t, "dry run", r.lastReply(alice), "It would be refused: v1.30.7 would come 10 days after v1.30.5 (2024-09-10, from the calendar)")
	if cuts, _ := r.store.ActiveCuts(context.Background()); len(cuts) != 0 {
		t.Fatalf("a refused cut was opened: %v", cuts)
	}
	r.run(alice, `cut v1.30.7 --force "CVE fix cannot wait"`)
	mustContain(t, "forced", r.lastReply(alice), "Opened the cut")
	mustContain(t, "thread", fake.Transcript(channelID), ":hourglass: @alice cut sooner than the timing guard allows: v1.30.7 would come 10 days after v1.30.5 (2024-09-10, from the calendar)", "cut anyway: CVE fix cannot wait")
	c := activeCut(t, r.store, "v1.30.7")
	forced := 0
	for _, e := range c.Audit {
		if e.Action == "timing.forced" && e.Actor == alice && strings.Contains(e.Detail, "CVE fix cannot wait") {
			forced++
		}
	}
	if forced != 1 {
		t.Errorf("timing.forced recorded %d times: %+v", forced, c.Audit)
	}

	// 29 days after v1.30.5, with a cherry-pick merged since: reminded once.
	bl.clock.Add(time.Date(2024, 10, 9, 16, 0, 0, 0, time.UTC).Sub(bl.clock.Now()))
	r.runJob("board")
	r.runJob("digest")
	r.runJob("digest")
	var gaps []string
	for _, m := range topLevel(fake.Messages(channelID)) {
		if strings.HasPrefix(m.Text, ":hourglass:") {
			gaps = append(gaps, m.Text)
		}
	}
	if len(gaps) != 1 || !strings.Contains(gaps[0], "release-1.30 has gone 29 days without a patch release (the last, v1.30.5, on 2024-09-10) and 1 cherry-pick has merged on it since") {
		t.Errorf("gap reminders %q, want one for release-1.30", gaps)
	}
}
