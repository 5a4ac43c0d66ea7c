package bot

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/handlers"
	"sigs.k8s.io/cutbot/integrations/githubfake"
	"sigs.k8s.io/cutbot/integrations/schedule"
	"sigs.k8s.io/cutbot/integrations/slackfake"
)

// boardSchedule plans the next patch of three branches, with 1.31's past patches (t0 is
// 2026-11-10).
const boardSchedule = `schedules:
- release: "1.31"
  maintenanceModeStartDate: "2027-08-28"
  endOfLifeDate: "2027-10-28"
  next:
    release: 1.31.3
    cherryPickDeadline: "2026-11-13"
    targetDate: "2026-11-18"
  previousPatches:
  - release: 1.31.2
    cherryPickDeadline: "2026-10-17"
    targetDate: "2026-10-21"
  - release: 1.31.1
    cherryPickDeadline: "2026-09-12"
    targetDate: "2026-09-16"
- release: "1.30"
  maintenanceModeStartDate: "2027-04-28"
  endOfLifeDate: "2027-06-28"
  next:
    release: 1.30.7
    cherryPickDeadline: "2026-11-13"
    targetDate: "2026-11-18"
- release: "1.29"
  maintenanceModeStartDate: "2026-12-28"
  endOfLifeDate: "2027-02-28"
  next:
    release: 1.29.11
    cherryPickDeadline: "2026-11-13"
    targetDate: "2026-11-18"
`

// seedBoard puts real-shaped cherry-picks on the fake GitHub: a cluster of #128000 across
// three branches, one ready but for the review, one failing, one approved (later marked
// CVE), two merged into earlier windows, and a known issue in the patch-release format.
func seedBoard(bl *builds) {
	day := func(s string) time.Time { d, _ := cutbot.ParseDay(s); return d.At(12, 0, time.UTC) }
	ready := []string{"lgtm", "approved", "cncf-cla: yes", cutbot.NotApprovedLabel, "release-note"}
	add := func(n int, branch, title, head string, labels []string, state string, closed time.Time) {
		p := githubfake.PR{Number: n, Title: title, Base: branch, HeadRef: head, HeadSHA: "sha" + itoa(n), Author: "dev" + itoa(n%7), Labels: labels, CreatedAt: day("2026-11-01"),
			Body: "Cherry pick of #" + strings.TrimPrefix(strings.Split(head, "-")[4], "#") + " on " + branch + ".\n\nFixes #127999"}
		if state != "open" {
			p.State, p.Merged, p.MergedAt, p.ClosedAt = "closed", state == "merged", closed, closed
		}
		bl.gh.AddPullRequest(k8s, p)
		if state == "open" {
			bl.gh.SetStatus(k8s, p.HeadSHA, "pull-kubernetes-unit", "success", "https://prow.k8s.io/view/1")
		}
	}
	add(128101, "release-1.31", "Automated cherry pick of #128000: kubelet: fix probe race", "automated-cherry-pick-of-#128000-upstream-release-1.31", append(ready, "kind/bug", "sig/node"), "open", time.Time{})
	add(128102, "release-1.31", "Automated cherry pick of #127900: apiserver: fix watch cache", "automated-cherry-pick-of-#127900-upstream-release-1.31", []string{"lgtm", cutbot.NotApprovedLabel, "kind/bug", "sig/api-machinery", "release-note-none"}, "open", time.Time{})
	bl.gh.SetStatus(k8s, "sha128102", "pull-kubernetes-e2e-gce", "failure", "https://prow.k8s.io/view/2")
	add(128103, "release-1.31", "Automated cherry pick of #127950: kubelet: check subpaths", "automated-cherry-pick-of-#127950-upstream-release-1.31", []string{"lgtm", "approved", "cherry-pick-approved", "kind/bug", "sig/auth"}, "open", time.Time{})
	add(128050, "release-1.31", "Automated cherry pick of #127700: kubectl: fix diff", "automated-cherry-pick-of-#127700-upstream-release-1.31", []string{"lgtm", "approved", "cherry-pick-approved", "kind/bug", "sig/cli"}, "merged", day("2026-11-01"))
	add(127800, "release-1.31", "Automated cherry pick of #127600: scheduler: fix panic", "automated-cherry-pick-of-#127600-upstream-release-1.31", []string{"lgtm", "approved", "cherry-pick-approved", "kind/bug", "sig/scheduling"}, "merged", day("2026-10-10"))
	add(128104, "release-1.30", "Automated cherry pick of #128000: kubelet: fix probe race", "automated-cherry-pick-of-#128000-upstream-release-1.30", []string{"approved", cutbot.NotApprovedLabel, "kind/bug", "sig/node"}, "open", time.Time{})
	add(128105, "release-1.29", "Automated cherry pick of #128000: kubelet: fix probe race", "automated-cherry-pick-of-#128000-upstream-release-1.29", []string{"lgtm", "approved", "cherry-pick-approved", "kind/bug", "sig/node"}, "merged", day("2026-11-05"))
	bl.gh.AddIssue(k8s, 128200, "kubelet restarts pods after a probe race", "open", "someone")
	bl.gh.EditBody(k8s, 128200, "```release\nintroduced-in=v1.31.1\n```\n```release\nresolved-in=v1.31.3\n```\n## Symptoms\nPods restart.")
	bl.gh.SetLabels(k8s, 128200, "priority/critical-urgent", "sig/node", "kind/regression")
}

func startBoard(t *testing.T, notice string) (*slackfake.Server, *builds, *running) {
	t.Helper()
	fake := workspace(t)
	bl := newBuilds(t)
	seedBoard(bl)
	path := filepath.Join(t.TempDir(), "schedule.yaml")
	os.WriteFile(path, []byte(boardSchedule), 0o644)
	r := startBotEdit(t, fake, "", bl, func(c *Config) {
		c.Calendars = []cutbot.CalendarSource{&schedule.Source{Spec: path}}
		c.KnownIssuesQuery = `repo:kubernetes/kubernetes is:issue "introduced-in"`
		c.ApprovableNotice = notice
	})
	r.runJob("board")
	return fake, bl, r
}

func (r *running) openHome(user string) slackfake.View {
	r.t.Helper()
	ctx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	id, err := r.fake.OpenHome(ctx, user)
	if err != nil {
		r.t.Fatal(err)
	}
	r.waitHandled(id)
	v, ok := r.fake.Home(user)
	if !ok {
		r.t.Fatalf("no Home tab published for %s", user)
	}
	return v
}

func (r *running) clickView(user string, v slackfake.View, label, value string) {
	r.t.Helper()
	for _, b := range slackfake.ViewButtons(v) {
		if strings.HasPrefix(b.Label, label) && (value == "" || b.Value == value) {
			ctx, done := context.WithTimeout(context.Background(), 10*time.Second)
			defer done()
			id, err := r.fake.ClickInView(ctx, user, v, b)
			if err != nil {
				r.t.Fatal(err)
			}
			r.waitHandled(id)
			return
		}
	}
	r.t.Fatalf("no button %q (%s) in the view:\n%s", label, value, v.Blocks)
}

func (r *running) submit(user string, values map[string]string) slackfake.Ack {
	r.t.Helper()
	ctx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	ack, err := r.fake.SubmitModal(ctx, user, values)
	if err != nil {
		r.t.Fatal(err)
	}
	r.waitHandled(ack.EnvelopeID)
	return ack
}

func viewText(v slackfake.View) string { return string(v.Blocks) }

func TestBoardOfABranch(t *testing.T) {
	_, _, r := startBoard(t, handlers.NoticeOff)
	r.run(guest, "picks release-1.31")
	got := r.lastReply(guest)
	mustContain(t, "board", got,
		"RELEASE-1.31 CHERRY-PICKS", "*1 approvable* · :large_yellow_circle: 2 · :large_green_circle: 3 · :red_circle: 0",
		"*v1.31.3* · cherry-pick deadline Fri, 2026-11-13 · target Wed, 2026-11-18",
		":large_yellow_circle: #128101 <https://github.com/kubernetes/kubernetes/pull/128101> Automated cherry pick of #128000: kubelet: fix probe race",
		"picks #128000 <https://github.com/kubernetes/kubernetes/pull/128000> · issue: #127999 <https://github.com/kubernetes/kubernetes/issues/127999> · kind: bug · SIG: node · release note: yes · by dev1",
		"*to merge?* · :white_check_mark: approvable",
		"#128102", "needs approve; failing: pull-kubernetes-e2e-gce",
		"CP in other releases: 1.30 #128104 <https://github.com/kubernetes/kubernetes/pull/128104> (open), 1.29 #128105 <https://github.com/kubernetes/kubernetes/pull/128105> (merged)",
		":large_green_circle: #128103", "*merging*",
		"*v1.31.2* · target Wed, 2026-10-21", "#127800",
		"*Known issues*", "kubernetes/kubernetes#128200", "the next patch resolves it", "priority/critical-urgent")
	// #128050 merged after v1.31.2's target: it is in v1.31.3's section, above v1.31.2's.
	if i, j := strings.Index(got, "#128050"), strings.Index(got, "*v1.31.2*"); i < 0 || i > j {
		t.Errorf("#128050 is not in v1.31.3's section:\n%s", got)
	}
	// Newest PR first within a section.
	if strings.Index(got, "#128103") > strings.Index(got, "#128101") {
		t.Errorf("rows are not newest first")
	}

	r.run(guest, "known-issues release-1.31")
	mustContain(t, "known issues", r.lastReply(guest), "Known issues of release-1.31 before v1.31.3", "kubernetes/kubernetes#128200", "the next patch resolves it")
	r.run(guest, "picks release-9")
	mustContain(t, "bad branch", r.lastReply(guest), `"release-9" is not a release branch: use release-1.31`)
	r.run(guest, "picks main")
	mustContain(t, "not a branch", r.lastReply(guest), `"main" is not a release branch: use release-1.31`)
}

func TestBoardNotesModalAndCVE(t *testing.T) {
	_, _, r := startBoard(t, handlers.NoticeOff)
	home := r.openHome(alice)
	mustContain(t, "home", viewText(home), "Patch-release board", "*release-1.31* · *1 approvable*", "Next dates", "#128101")
	// Show all of release-1.31, then Notes on #128103 from the branch modal.
	r.clickView(alice, home, "Show all", "release-1.31")
	all, ok := r.fake.Modal(alice)
	if !ok || !strings.Contains(viewText(all), "#128103") {
		t.Fatalf("no branch modal: %v", all)
	}
	r.clickView(alice, all, "Notes", "release-1.31#128103")
	if m, _ := r.fake.Modal(alice); !strings.Contains(m.Title, "Notes on #128103") {
		t.Fatalf("notes modal: %q", m.Title)
	}
	ack := r.submit(alice, map[string]string{blockSummary: "subpath check missing in kubelet", blockTODO: "CVE-2026-1234\nneeds a SIG Auth review", blockDisposition: "to merge", blockCVE: "cve"})
	if strings.Contains(string(ack.Payload), "errors") {
		t.Fatalf("submission refused: %s", ack.Payload)
	}
	if m, _ := r.fake.Modal(alice); m.ID != all.ID {
		t.Errorf("the notes modal did not close back to the branch modal")
	}

	// A release manager sees the row, its note and its TODO lines; a guest does not see it.
	r.run(bob, "picks release-1.31")
	mustContain(t, "manager", r.lastReply(bob), "#128103", ":lock: *CVE*", "_subpath check missing in kubelet_ (@alice", "• CVE-2026-1234 (@alice", "*to merge* (@alice)")
	r.run(guest, "picks release-1.31 --changes")
	guestView := r.lastReply(guest)
	if strings.Contains(guestView, "128103") || strings.Contains(guestView, "subpath") {
		t.Errorf("a guest sees the CVE row:\n%s", guestView)
	}
	mustContain(t, "guest", guestView, "1 more only release managers see")

	// A note on one branch's pick shows on every branch's pick of the same change.
	home = r.openHome(alice)
	r.clickView(alice, home, "Notes", "release-1.31#128101")
	r.submit(alice, map[string]string{blockSummary: "probe race → kubelet restarts pods"})
	r.run(guest, "picks release-1.30")
	mustContain(t, "cluster note", r.lastReply(guest), "#128104", "_probe race → kubelet restarts pods_ (@alice", "CP in other releases: 1.31 #128101 <https://github.com/kubernetes/kubernetes/pull/128101> (open), 1.29 #128105")

	// Two people open the same note; the second save is refused with both texts, nothing lost.
	bobHome := r.openHome(bob)
	r.clickView(bob, bobHome, "Notes", "release-1.31#128101")
	home = r.openHome(alice)
	r.clickView(alice, home, "Notes", "release-1.31#128101")
	r.submit(alice, map[string]string{blockSummary: "alice's newer summary"})
	ack = r.submit(bob, map[string]string{blockSummary: "bob's summary"})
	if !strings.Contains(string(ack.Payload), `"response_action":"update"`) {
		t.Fatalf("bob's stale save was not refused: %s", ack.Payload)
	}
	m, _ := r.fake.Modal(bob)
	mustContain(t, "conflict", viewText(m), "saved this meanwhile; nothing of yours was saved", "bob's summary", "alice's newer summary")
	r.run(bob, "picks release-1.31")
	mustContain(t, "kept", r.lastReply(bob), "_alice's newer summary_")
	// Saving again from the refreshed form works.
	r.submit(bob, map[string]string{blockSummary: "merged: alice's and bob's"})
	r.run(bob, "picks release-1.31")
	mustContain(t, "merged", r.lastReply(bob), "_merged: alice's and bob's_ (@bob")

	// A guest cannot write notes.
	guestHome := r.openHome(guest)
	if strings.Contains(viewText(guestHome), "#128103") {
		t.Errorf("the guest's Home shows the CVE row")
	}
	r.clickView(guest, guestHome, "Notes", "release-1.31#128101")
	if _, open := r.fake.Modal(guest); open {
		t.Errorf("a guest opened the notes modal")
	}

	// Notes survive a restart.
	r.stop()
	r2 := startBotEdit(t, r.fake, r.dbPath, r.builds, func(c *Config) {
		path := filepath.Join(t.TempDir(), "schedule.yaml")
		os.WriteFile(path, []byte(boardSchedule), 0o644)
		c.Calendars = []cutbot.CalendarSource{&schedule.Source{Spec: path}}
	})
	r2.run(bob, "picks release-1.31")
	mustContain(t, "after restart", r2.lastReply(bob), "_merged: alice's and bob's_", ":lock: *CVE*")
}

func TestBoardChangesAndNotices(t *testing.T) {
	fake, bl, r := startBoard(t, handlers.NoticeNow)
	notices := func() []string {
		var out []string
		for _, m := range fake.Messages(channelID) {
			if text := fake.Text(m); strings.Contains(text, "wait only for a release manager's approving review") {
				out = append(out, text)
			}
		}
		return out
	}
	// The first refresh noticed #128101 (not #128103: approved already; nothing CVE ever).
	got := notices()
	if len(got) != 1 || !strings.Contains(got[0], "#128101") || strings.Contains(got[0], "#128102") {
		t.Fatalf("notices after the first read: %q", got)
	}
	r.runJob("board")
	if n := len(notices()); n != 1 {
		t.Errorf("%d notices after a second read with nothing new, want 1", n)
	}

	r.run(bob, "picks release-1.31 --changes") // bob's first look
	mustContain(t, "first look", r.lastReply(bob), "What changed since ever:* nothing")

	// GitHub moves: #128102 gets approve and passes; #128050 ... a new pick arrives.
	bl.gh.SetLabels(k8s, 128102, "lgtm", "approved", cutbot.NotApprovedLabel, "kind/bug", "sig/api-machinery", "release-note-none")
	bl.gh.SetStatus(k8s, "sha128102", "pull-kubernetes-e2e-gce", "success", "https://prow.k8s.io/view/3")
	bl.gh.AddPullRequest(k8s, githubfake.PR{Number: 128120, Title: "Automated cherry pick of #128110: etcd: bump client", Base: "release-1.31", HeadRef: "automated-cherry-pick-of-#128110-upstream-release-1.31", Labels: []string{"kind/cleanup"}, CreatedAt: t0})
	bl.gh.Merge(k8s, 128103)
	bl.clock.Add(time.Minute)
	r.runJob("board")
	got = notices()
	if len(got) != 2 || !strings.Contains(got[1], "#128102") || strings.Contains(got[1], "#128101") {
		t.Errorf("notices: %q", got)
	}
	r.run(bob, "picks release-1.31 --changes")
	mustContain(t, "changes", r.lastReply(bob), "What changed since you last looked", "kubernetes/kubernetes#128120 <https://github.com/kubernetes/kubernetes/pull/128120>: new cherry-pick", "#128103 <https://github.com/kubernetes/kubernetes/pull/128103>: merged", "#128102 <https://github.com/kubernetes/kubernetes/pull/128102>: labels +approved", "(GitHub)")
	r.run(bob, "picks release-1.31 --changes")
	mustContain(t, "nothing new", r.lastReply(bob), "nothing.")
}

func TestBoardKeepsTheLastGoodRead(t *testing.T) {
	_, bl, r := startBoard(t, handlers.NoticeOff)
	for range 3 {
		bl.gh.FailNext("GET /repos/kubernetes/kubernetes/pulls", http.StatusBadGateway)
	}
	bl.clock.Add(10 * time.Minute)
	r.runJob("board")
	r.run(guest, "picks release-1.31")
	mustContain(t, "failed read", r.lastReply(guest), ":warning: the last read failed", "this is the last good one", "#128101", "#128103")
}

func TestKnownIssuesInTheCutThread(t *testing.T) {
	fake, _, r := startBoard(t, handlers.NoticeOff)
	r.run(alice, "cut v1.31.3")
	var notes []string
	for _, m := range fake.Messages(channelID) {
		if m.ThreadTS != "" {
			notes = append(notes, fake.Text(m))
		}
	}
	mustContain(t, "thread", strings.Join(notes, "\n"), "v1.31.3 resolves 1 known issue: kubernetes/kubernetes#128200")
}

// TestBoardFitsSlack: a branch with 300 cherry-picks still renders within Slack's limits in
// the reply, the Home tab and the modal (the fake refuses what Slack refuses).
func TestBoardFitsSlack(t *testing.T) {
	fake := workspace(t)
	bl := newBuilds(t)
	seedBoard(bl)
	for i := range 300 {
		n := 129000 + i
		bl.gh.AddPullRequest(k8s, githubfake.PR{Number: n, Title: strings.Repeat("Automated cherry pick of #1: a long title ", 10), Base: "release-1.31", HeadRef: "automated-cherry-pick-of-#" + itoa(120000+i) + "-upstream-release-1.31",
			HeadSHA: "s" + itoa(n), Labels: []string{"lgtm", "approved", "kind/bug", "sig/node"}, CreatedAt: t0})
	}
	path := filepath.Join(t.TempDir(), "schedule.yaml")
	os.WriteFile(path, []byte(boardSchedule), 0o644)
	r := startBotEdit(t, fake, "", bl, func(c *Config) { c.Calendars = []cutbot.CalendarSource{&schedule.Source{Spec: path}} })
	r.runJob("board")
	r.run(alice, "picks release-1.31")
	mustContain(t, "reply", r.lastReply(alice), "more not shown here", "App Home")
	home := r.openHome(alice)
	var blocks []json.RawMessage
	json.Unmarshal(home.Blocks, &blocks)
	if len(blocks) > 100 {
		t.Errorf("Home has %d blocks", len(blocks))
	}
	r.clickView(alice, home, "Show all", "release-1.31")
	m, ok := r.fake.Modal(alice)
	if !ok || !strings.Contains(viewText(m), "more not shown here") {
		t.Errorf("the branch modal did not open within limits")
	}
}
