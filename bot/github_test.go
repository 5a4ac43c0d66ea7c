package bot

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/integrations/githubfake"
)

const sigRelease = "kubernetes/sig-release"

// issueBody returns the body of the cut's issue in the fake GitHub.
func issueBody(t *testing.T, bl *builds, number int) string {
	t.Helper()
	_, body, _, _, ok := bl.gh.Issue(sigRelease, number)
	if !ok {
		t.Fatalf("no issue %d", number)
	}
	return body
}

// passStage runs the cut's next stage through to success (confirming no-mock stages).
func passStage(t *testing.T, r *running, bl *builds, confirm string) {
	t.Helper()
	r.run(alice, "next v1.31.3")
	if confirm != "" {
		r.click(alice, confirm)
	}
	bl.cb.Succeed(bl.lastBuild(t))
	bl.poll(t)
}

func TestCutIssue(t *testing.T) {
	fake := workspace(t)
	bl := newBuilds(t)
	r := startBotWith(t, fake, "", bl)
	r.run(alice, "cut v1.31.3")

	issues := bl.gh.IssueNumbers(sigRelease)
	if len(issues) != 2 || issues[1] != 2991 {
		t.Fatalf("issues = %v, want the cut's issue 2991 opened", issues)
	}
	title, body, _, labels, _ := bl.gh.Issue(sigRelease, 2991)
	if title != "Cut v1.31.3 release" || strings.Join(labels, ",") != "sig/release,area/release-eng" {
		t.Errorf("issue %q labels %v", title, labels)
	}
	thread := activeCut(t, r.store, "v1.31.3").Messages[cutbot.MessageThread].Permalink
	mustContain(t, "new issue", body, "- [x] Create a thread on #release-management: "+thread, "- Mock Run\n  - [ ] Stage\n  - [ ] Release", "| Step | Command | Link | Start | Duration | Succeeded? |", cutbot.IssueMarker("00000001"))
	if !strings.Contains(string(parent(t, fake).Blocks), "https://github.com/kubernetes/sig-release/issues/2991|GH Issue") {
		t.Errorf("the thread does not link the issue:\n%s", string(parent(t, fake).Blocks))
	}

	// A person edits the issue; cutbot's updates keep it.
	bl.gh.EditBody(sigRelease, 2991, strings.Replace(body, "## Action Items\n", "## Action Items\n\n- [ ] Follow up on the flaky test (a person wrote this)\n", 1))
	passStage(t, r, bl, "")
	body = issueBody(t, bl, 2991)
	mustContain(t, "after the mock stage", body, "- Mock Run\n  - [x] Stage\n  - [ ] Release", "| Mock stage | `krel stage --type official --branch release-1.31` | [logs](https://console.cloud.google.com/cloud-build/builds;region=us-central1/", "| yes |",
		"- [ ] Follow up on the flaky test (a person wrote this)")
	edits := len(bl.gh.Requests("PATCH /repos/kubernetes/sig-release/issues/2991"))
	bl.poll(t)
	bl.poll(t)
	if got := len(bl.gh.Requests("PATCH /repos/kubernetes/sig-release/issues/2991")); got != edits {
		t.Errorf("polls with no change edited the issue %d more times", got-edits)
	}

	// Linking an existing issue opens none.
	bl.gh.AddIssue(sigRelease, 2995, "Cut v1.30.7 release", "open", "bob")
	bl.gh.EditBody(sigRelease, 2995, "Written by bob.\n")
	r.run(bob, "cut v1.30.7 --issue 2995")
	if n := len(bl.gh.IssueNumbers(sigRelease)); n != 3 {
		t.Errorf("issues = %d after linking, want no new one", n)
	}
	linked := issueBody(t, bl, 2995)
	if !strings.HasPrefix(linked, "Written by bob.\n") || !strings.Contains(linked, "## Release Steps (kept by cutbot)") {
		t.Errorf("linked issue body:\n%s", linked)
	}
	// A wrong issue number is bad input: refused, and nothing is opened.
	r.run(bob, "cut v1.29.11 --issue 9999")
	mustContain(t, "missing issue", r.lastReply(bob), "could not read kubernetes/sig-release#9999")
	if _, err := r.store.ActiveCut(context.Background(), cutbot.MustParseVersion("v1.29.11")); cutbot.ErrorCode(err) != cutbot.ENOTFOUND {
		t.Errorf("a cut was opened with a missing issue: %v", err)
	}
}

// TestIssueIntentReconciled: cutbot died after opening the issue and before recording it.
// The restarted bot finds the issue by its marker and opens no second one.
func TestIssueIntentReconciled(t *testing.T) {
	fake := workspace(t)
	bl := newBuilds(t)
	first := startBotWith(t, fake, "", bl)
	first.run(alice, "cut v1.31.3")
	c := activeCut(t, first.store, "v1.31.3")
	first.store.UpdateCut(context.Background(), c.ID, func(c *cutbot.Cut) error {
		c.Issue = nil // the intent only
		c.Journal = append(c.Journal, cutbot.OpenIssue{Repo: sigRelease})
		return nil
	})
	first.stop()
	second := startBotWith(t, fake, first.dbPath, bl)
	if got := activeCut(t, second.store, "v1.31.3").Issue; got == nil || got.Number != 2991 {
		t.Errorf("issue after restart = %+v", got)
	}
	if n := len(bl.gh.IssueNumbers(sigRelease)); n != 2 {
		t.Errorf("issues = %d, want no second issue", n)
	}
}

func TestGates(t *testing.T) {
	fake := workspace(t)
	bl := newBuilds(t)
	r := startBotWith(t, fake, "", bl)
	r.run(alice, "cut v1.31.3")
	passStage(t, r, bl, "")
	passStage(t, r, bl, "")

	bl.gh.SetIssueState("kubernetes/kubernetes", 56876, "open")
	bl.testgrid.Set("sig-release-1.31-blocking", map[string]string{"build-1.31": "PASSING", "ci-kubernetes-e2e-gci-gce": "FAILING", "ci-kubernetes-unit": "FLAKY"})
	r.run(alice, "next v1.31.3")
	reply := r.lastReply(alice)
	mustContain(t, "blocked", reply, "No-mock Stage is blocked: a gate failed: kubernetes/kubernetes#56876 is open; sig-release-1.31-blocking: 1 of 3 jobs failing: ci-kubernetes-e2e-gci-gce", "--force")
	mustContain(t, "gates note", fake.Transcript(channelID), ":x: Gates for the no-mock stage of v1.31.3 failed", "ci-kubernetes-e2e-gci-gce")
	if _, ok := fake.FindButton(channelID, "Confirm No-mock Stage"); ok {
		t.Fatal("a blocked no-mock stage asked for confirmation")
	}

	bl.gh.SetIssueState("kubernetes/kubernetes", 56876, "closed")
	r.run(alice, "gates v1.31.3")
	mustContain(t, "still failing", r.lastReply(alice), "Gates failed: sig-release-1.31-blocking: 1 of 3 jobs failing")
	r.run(alice, `next v1.31.3 --force "e2e-gci-gce flake, tracked in kubernetes/kubernetes#128001"`)
	r.click(alice, "Confirm No-mock Stage")
	if bl.created() != 3 {
		t.Fatalf("builds = %d, want the forced no-mock stage", bl.created())
	}
	c := activeCut(t, r.store, "v1.31.3")
	var gateFacts, forced int
	for _, e := range c.Audit {
		if e.Action == "gates.checked" {
			gateFacts++
		}
		if e.Stage == cutbot.NoMockStage && strings.Contains(e.Detail, `forced: "e2e-gci-gce flake, tracked in kubernetes/kubernetes#128001" past gates (a gate failed: sig-release-1.31-blocking: 1 of 3 jobs failing`) {
			forced++
		}
	}
	if gateFacts != 3 || forced == 0 {
		t.Errorf("gate facts %d, forced %d in the audit trail: %+v", gateFacts, forced, c.Audit)
	}
	mustContain(t, "forced line", fake.Text(lastLine(t, fake, "No-mock Stage")), ":warning: forced by @alice: e2e-gci-gce flake")
}

// promoteByHand plays a person's image promotion of version: kpromo's PR, opened approved,
// merged, and post-k8sio-image-promo passing on the merge; cutbot polls after each step.
func promoteByHand(t testing.TB, bl *builds, version string) int {
	t.Helper()
	pr := bl.gh.AddPR("kubernetes/k8s.io", "releng: Image promotion for kubernetes "+version, "kubernetes-"+version+"-image-promotion", "alice", "approved", "lgtm")
	bl.poll(t)
	sha := bl.gh.Merge("kubernetes/k8s.io", pr)
	bl.gh.SetStatus("kubernetes/k8s.io", sha, "post-k8sio-image-promo", "success", "https://prow.k8s.io/view/x/1")
	bl.poll(t)
	return pr
}

// toPromotion runs a cut to the point where cutbot watches for the promotion PR.
func toPromotion(t *testing.T, r *running, bl *builds) {
	t.Helper()
	r.run(alice, "cut v1.31.3")
	passStage(t, r, bl, "")
	passStage(t, r, bl, "")
	passStage(t, r, bl, "Confirm No-mock Stage")
}

func TestPromotionChase(t *testing.T) {
	fake := workspace(t)
	bl := newBuilds(t)
	r := startBotWith(t, fake, "", bl)
	toPromotion(t, r, bl)
	const k8sio = "kubernetes/k8s.io"
	bl.gh.AddPR(k8sio, "releng: Image promotion for kubernetes v1.30.7", "kubernetes-v1.30.7-image-promotion", "bob")
	bl.gh.AddPR(k8sio, "Bump the registry sync", "bump", "someone")
	bl.poll(t)
	if lines := stageLines(fake, "Image Promotion"); len(lines) != 0 || strings.Contains(fake.Transcript(channelID), "Image Promotion PR") {
		t.Fatal("another version's PR was taken for this one")
	}
	// The bot restarts while it waits for the PR; kpromo opens it meanwhile.
	r.stop()
	pr := bl.gh.AddPR(k8sio, "releng: Image promotion for kubernetes v1.31.3", "kubernetes-v1.31.3-image-promotion", "alice", "do-not-merge/hold")
	r = startBotWith(t, fake, r.dbPath, bl) // its first poll finds the PR
	transcript := fake.Transcript(channelID)
	mustContain(t, "PR posted", transcript, "https://github.com/kubernetes/k8s.io/pull/"+itoa(pr)+"\n  │   Image Promotion PR (link <https://github.com/kubernetes/k8s.io/pull/"+itoa(pr)+">)\n  │   cc: @release-managers\n  │   Current status: waiting for approval")
	var ping bool
	for _, m := range fake.Messages(channelID) {
		ping = ping || strings.Contains(m.Text, "cc: <!subteam^S0RELMGRS>")
	}
	if !ping {
		t.Error("the PR line does not mention the usergroup")
	}
	comments := bl.gh.CommentsOn(k8sio, pr)
	if len(comments) != 1 || !strings.Contains(comments[0], "Mock Stage: https://console.cloud.google.com/cloud-build/builds") || !strings.Contains(comments[0], "No-mock Stage: ") {
		t.Errorf("PR comments = %q", comments)
	}

	// Unapproved for longer than the reminder time: the release managers are reminded, once.
	bl.clock.Add(2*time.Hour + time.Minute)
	bl.poll(t)
	bl.poll(t)
	reminders := strings.Count(fake.Transcript(channelID), ":bell: @release-managers: the image promotion PR")
	if reminders != 1 {
		t.Errorf("reminders = %d, want 1", reminders)
	}

	// The bot restarts while it waits for the approval: it goes on.
	r.stop()
	r = startBotWith(t, fake, r.dbPath, bl)
	bl.gh.SetLabels(k8sio, pr, "approved", "lgtm")
	bl.poll(t)
	mustContain(t, "approved", fake.Transcript(channelID), "Current status: approved; waiting for the merge")
	sha := bl.gh.Merge(k8sio, pr)
	bl.poll(t)
	mustContain(t, "merged", fake.Transcript(channelID), "Current status: merged; waiting for post-k8sio-image-promo")

	// The job fails; cutbot says so and keeps watching; a rerun passes; the no-mock release
	// is unlocked. A restart in the middle changes nothing.
	bl.gh.SetStatus(k8sio, sha, "post-k8sio-image-promo", "failure", "https://prow.k8s.io/view/gs/kubernetes-ci-logs/logs/post-k8sio-image-promo/100")
	bl.poll(t)
	mustContain(t, "job failed", fake.Transcript(channelID), ":x: post-k8sio-image-promo failed: https://prow.k8s.io/view/gs/kubernetes-ci-logs/logs/post-k8sio-image-promo/100; cutbot keeps watching for a rerun")
	r.click(alice, "Next stage")
	mustContain(t, "next during the promotion", r.lastReply(alice), "Image Promotion is running; wait for it")
	r.stop()
	r = startBotWith(t, fake, r.dbPath, bl)
	bl.gh.SetStatus(k8sio, sha, "post-k8sio-image-promo", "success", "https://prow.k8s.io/view/gs/kubernetes-ci-logs/logs/post-k8sio-image-promo/101")
	bl.poll(t)
	mustContain(t, "promoted", fake.Transcript(channelID), "-> Image promotion is :white_check_mark:")
	mustContain(t, "parent after the promotion", fake.Text(parent(t, fake)), "Next: No-mock Release", "[Next stage]")
	if got := bl.gh.CommentsOn(k8sio, pr); len(got) != 1 {
		t.Errorf("the PR got %d comments across restarts, want 1", len(got))
	}
	c := activeCut(t, r.store, "v1.31.3")
	facts := map[string]bool{}
	for _, e := range c.Audit {
		if strings.HasPrefix(e.Action, "fact.") {
			facts[e.Action] = true
		}
	}
	for _, f := range []string{"fact.promotion_pr", "fact.approved", "fact.merge_sha", "fact.pr_comment"} {
		if !facts[f] {
			t.Errorf("the audit trail lacks %s: %v", f, facts)
		}
	}
	if last := c.Audit[slices.IndexFunc(c.Audit, func(e cutbot.AuditEntry) bool {
		return e.Stage == cutbot.ImagePromotion && e.Action == "stage.succeeded"
	})]; !strings.Contains(last.Detail, "post-k8sio-image-promo passed on") {
		t.Errorf("the promotion's success does not say which run passed: %+v", last)
	}
	mustContain(t, "issue", issueBody(t, bl, 2991), "  - [x] Image Promotion PR: https://github.com/kubernetes/k8s.io/pull/"+itoa(pr))
}

// TestPromotionThroughProw: no commit status on the merge commit; prow ran the job on a later
// commit, which includes the merge.
func TestPromotionThroughProw(t *testing.T) {
	fake := workspace(t)
	bl := newBuilds(t)
	r := startBotWith(t, fake, "", bl)
	toPromotion(t, r, bl)
	pr := bl.gh.AddPR("kubernetes/k8s.io", "releng: Image promotion for kubernetes v1.31.3", "kubernetes-v1.31.3-image-promotion", "alice")
	r.run(alice, "promotion v1.31.3 https://github.com/kubernetes/k8s.io/pull/"+itoa(pr))
	mustContain(t, "named PR", r.lastReply(alice), "Following kubernetes/k8s.io#"+itoa(pr))
	bl.gh.SetLabels("kubernetes/k8s.io", pr, "approved", "lgtm")
	sha := bl.gh.Merge("kubernetes/k8s.io", pr)
	later := bl.gh.Commit("kubernetes/k8s.io")
	bl.prow.Add("post-k8sio-image-promo", later, "triggered", "https://prow.k8s.io/view/gs/kubernetes-ci-logs/logs/post-k8sio-image-promo/7", bl.clock.Now())
	bl.poll(t)
	mustContain(t, "triggered", fake.Transcript(channelID), "post-k8sio-image-promo is running (its queue is shared with a daily job, so a long wait is normal)")
	bl.prow.Add("post-k8sio-image-promo", later, "success", "https://prow.k8s.io/view/gs/kubernetes-ci-logs/logs/post-k8sio-image-promo/8", bl.clock.Now().Add(time.Hour))
	bl.poll(t)
	mustContain(t, "promoted", fake.Transcript(channelID), "-> Image promotion is :white_check_mark:")
	_ = sha
	r.run(alice, "promotion v1.31.3 https://example.com/x")
	mustContain(t, "bad URL", r.lastReply(alice), "is not a pull request URL")
}

func TestIsLive(t *testing.T) {
	fake := workspace(t)
	bl := newBuilds(t)
	r := startBotWith(t, fake, "", bl)
	toPromotion(t, r, bl)
	// The branch is frozen for the cut; "is live" reminds the thread to thaw it.
	bl.gh.AddPullRequest(k8s, githubfake.PR{Number: 128001, Title: "Automated cherry pick of #128000: fix", Base: "release-1.31", HeadSHA: headSHA(128001), Labels: []string{"cherry-pick-approved", "lgtm"}})
	r.run(alice, `freeze release-1.31 --reason "v1.31.3 cut"`)
	r.clickReply(alice, alice, "Freeze: take cherry-pick-approved off 1 PR")
	mustContain(t, "frozen", fake.Transcript(channelID), ":ice_cube: @alice froze cherry-picks on release-1.31 (v1.31.3 cut): 1 PR lost cherry-pick-approved: #128001")
	promoteByHand(t, bl, "v1.31.3")
	r.click(bob, "Next stage")
	r.click(bob, "Confirm No-mock Release")
	bl.cb.Succeed(bl.lastBuild(t))
	bl.poll(t)
	mustContain(t, "waiting for the release", fake.Text(parent(t, fake)), "Next: Announcement", ":white_check_mark: No-mock Release")
	if strings.Contains(fake.Transcript(channelID), "is live! (shoutout") {
		t.Fatal("announced before the GitHub release exists")
	}
	bl.gh.AddRelease("kubernetes/kubernetes", "v1.31.3")
	bl.poll(t)
	transcript := fake.Transcript(channelID)
	mustContain(t, "live", transcript, "cutbot (replied to a thread, also sent to the channel)\n  :kubernetes: Kubernetes v1.31.3 is live! (shoutout to @alice & @bob for helping cut the release)")
	mustContain(t, "done", fake.Text(parent(t, fake)), "Done")
	mustContain(t, "thaw reminder", transcript, ":ice_cube: v1.31.3 is out and release-1.31 is still frozen: `/release thaw release-1.31` puts cherry-pick-approved back on 1 PR.")
	r.run(alice, "announce v1.31.3 https://groups.google.com/a/kubernetes.io/g/dev/c/E14i6e2ndNc")
	mustContain(t, "announce", fake.Transcript(channelID), "is live! (shoutout to @alice & @bob for helping cut the release)\n  https://groups.google.com/a/kubernetes.io/g/dev/c/E14i6e2ndNc")
	body := issueBody(t, bl, 2991)
	mustContain(t, "final issue", body, "- [x] Send email notification: https://groups.google.com/a/kubernetes.io/g/dev/c/E14i6e2ndNc", "- [x] Notify #release-management on Slack: https://cutbot-sandbox.slack.com/archives/C0RELMGMT/p",
		"- [x] Collect metrics", "| Release | `krel release --type official --branch release-1.31 --nomock --build-version v1.31.3-rc.0.12+8f0c0a4d` |")
	c, _ := r.store.LatestCut(context.Background(), cutbot.MustParseVersion("v1.31.3"))
	if c.Status != cutbot.CutDone {
		t.Errorf("cut status %s", c.Status)
	}
	r.run(alice, "announce v1.31.3 soon")
	mustContain(t, "bad link", r.lastReply(alice), `"soon" is not a link`)
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestVersionsAgainstGitHub: a cut is checked against the release repository's branches,
// tags and releases before anything is recorded; a refusal opens nothing, and a version
// other than the next patch needs --force "reason", which the audit keeps.
func TestVersionsAgainstGitHub(t *testing.T) {
	fake := workspace(t)
	bl := newBuilds(t)
	r := startBotWith(t, fake, "", bl)
	issues := len(bl.gh.IssueNumbers(sigRelease))
	refused := func(text string, want ...string) {
		t.Helper()
		r.run(alice, text)
		mustContain(t, text, r.lastReply(alice), want...)
		v := cutbot.MustParseVersion(strings.Fields(text)[1])
		if _, err := r.store.LatestCut(context.Background(), v); cutbot.ErrorCode(err) != cutbot.ENOTFOUND {
			t.Errorf("%s: a cut was recorded: %v", text, err)
		}
		if n := len(bl.gh.IssueNumbers(sigRelease)); n != issues {
			t.Errorf("%s: %d issues opened", text, n-issues)
		}
	}
	refused("cut v1.31.0", "v1.31.0 is already tagged in kubernetes/kubernetes", "https://github.com/kubernetes/kubernetes/releases/tag/v1.31.0")
	refused("cut v1.31.2 --force \"again\"", "v1.31.2 is already tagged")
	refused("cut v1.99.1", "the branch release-1.99 does not exist in kubernetes/kubernetes")
	refused("cut v1.31.4", "v1.31.4 is not the official krel builds next from release-1.31: that is v1.31.3 (the latest is v1.31.2 in kubernetes/kubernetes)", `--force "reason"`)

	// A release published without its tag listed yet is refused too.
	bl.gh.AddRelease("kubernetes/kubernetes", "v1.30.7")
	refused("cut v1.30.7", "v1.30.7 is already released in kubernetes/kubernetes")

	// The dry run says what the real cut would refuse.
	r.run(alice, "cut v1.31.4 --dry-run")
	mustContain(t, "dry run", r.lastReply(alice), "v1.31.4 is not the official krel builds next")

	// Forced: cut, and the reason is in the audit.
	r.run(alice, `cut v1.31.4 --force "v1.31.3 was burned by a bad tag"`)
	c := activeCut(t, r.store, "v1.31.4")
	var got *cutbot.AuditEntry
	for i := range c.Audit {
		if c.Audit[i].Action == "version.forced" {
			got = &c.Audit[i]
		}
	}
	if got == nil || got.Actor != alice || !strings.Contains(got.Detail, "v1.31.3 was burned by a bad tag") {
		t.Errorf("audit = %+v, want version.forced with the reason", c.Audit)
	}

	// The next patch is cut without a word, and its check is recorded.
	r.run(bob, "cut v1.29.11")
	c = activeCut(t, r.store, "v1.29.11")
	if last := c.Audit[1]; last.Action != "version.checked" || !strings.Contains(last.Detail, "the latest is v1.29.10") {
		t.Errorf("audit = %+v", c.Audit)
	}

	// GitHub down: refused unless forced.
	issues = len(bl.gh.IssueNumbers(sigRelease))
	for range 5 {
		bl.gh.FailNext("GET /repos/kubernetes/kubernetes/branches/release-1.28", http.StatusBadGateway)
	}
	refused("cut v1.28.15", "v1.28.15 was not checked: GitHub could not read the branch release-1.28 of kubernetes/kubernetes just now (502)", "Try again in a moment")
	r.run(bob, `cut v1.28.15 --force "GitHub is down, the branch is there"`)
	c = activeCut(t, r.store, "v1.28.15")
	if i := slices.IndexFunc(c.Audit, func(e cutbot.AuditEntry) bool { return e.Action == "version.forced" }); i < 0 || !strings.Contains(c.Audit[i].Detail, "could not be checked (GitHub could not read the branch release-1.28 of kubernetes/kubernetes just now (502)); cut anyway: GitHub is down") {
		t.Errorf("audit = %+v", c.Audit)
	}
}

// TestAbortEndsTheIssue: an aborted cut tells its issue why; an issue cutbot opened is closed
// as not planned, one a person linked stays open. A restart between the comment and its
// record finds the comment and does not comment twice.
func TestAbortEndsTheIssue(t *testing.T) {
	fake := workspace(t)
	bl := newBuilds(t)
	r := startBotWith(t, fake, "", bl)
	r.run(alice, "cut v1.31.3")
	r.run(alice, `abort v1.31.3 --reason "kube-proxy regression, see #128000"`)
	mustContain(t, "abort reply", r.lastReply(alice), "Its issue kubernetes/sig-release#2991 is told why and closed as not planned.")
	_, _, state, _, _ := bl.gh.Issue(sigRelease, 2991)
	if state != "closed" || bl.gh.StateReason(sigRelease, 2991) != "not_planned" {
		t.Errorf("issue state %q reason %q, want closed as not_planned", state, bl.gh.StateReason(sigRelease, 2991))
	}
	comments := bl.gh.CommentsOn(sigRelease, 2991)
	if len(comments) != 1 {
		t.Fatalf("comments = %q", comments)
	}
	mustContain(t, "comment", comments[0], "The v1.31.3 release cut was aborted by a release manager:", "> kube-proxy regression, see #128000", "The cut's thread: https://", "Closing this issue as not planned")
	c, err := r.store.LatestCut(context.Background(), cutbot.MustParseVersion("v1.31.3"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Journal) != 0 || c.Audit[len(c.Audit)-1].Action != "issue.closed" {
		t.Errorf("journal %v, audit %+v", c.Journal, c.Audit[len(c.Audit)-1])
	}

	// A linked issue: told, left open.
	bl.gh.AddIssue(sigRelease, 2995, "Cut v1.30.7 release", "open", "bob")
	r.run(bob, "cut v1.30.7 --issue 2995")
	r.run(bob, `abort v1.30.7 --reason "wrong branch"`)
	mustContain(t, "linked abort reply", r.lastReply(bob), "left open (a person linked it)")
	if _, _, state, _, _ := bl.gh.Issue(sigRelease, 2995); state != "open" {
		t.Errorf("the linked issue was %s", state)
	}
	if got := bl.gh.CommentsOn(sigRelease, 2995); len(got) != 1 || !strings.Contains(got[0], "leaves it open") {
		t.Errorf("linked issue comments = %q", got)
	}

	// Interrupted after commenting, before recording: the restart finds the comment.
	r.run(alice, "cut v1.29.11")
	c = activeCut(t, r.store, "v1.29.11")
	number := c.Issue.Number
	bl.gh.FailNext("PATCH /repos/kubernetes/sig-release/issues/"+strconv.Itoa(number), http.StatusBadGateway) // the close fails once
	r.run(alice, `abort v1.29.11 --reason "not needed"`)
	if c, _ := r.store.LatestCut(context.Background(), cutbot.MustParseVersion("v1.29.11")); !c.Intends(cutbot.CloseIssue{}.Key()) {
		t.Fatalf("the failed close was not kept as an intent: %v", c.Journal)
	}
	if got := bl.gh.CommentsOn(sigRelease, number); len(got) != 1 {
		t.Fatalf("comments before the restart = %d, want 1", len(got))
	}
	r.stop()
	startBotWith(t, fake, r.dbPath, bl)
	if _, _, state, _, _ := bl.gh.Issue(sigRelease, number); state != "closed" {
		t.Errorf("after the restart the issue is %s", state)
	}
	if got := bl.gh.CommentsOn(sigRelease, number); len(got) != 1 {
		t.Errorf("comments after the restart = %d, want 1", len(got))
	}
}
