package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/handlers"
	"sigs.k8s.io/cutbot/integrations/githubfake"
	"sigs.k8s.io/cutbot/store"
)

const k8s = "kubernetes/kubernetes"

// recordedPR is one of the release-1.25 cherry-picks krel recorded (testdata/github).
type recordedPR struct {
	Number int      `json:"number"`
	Title  string   `json:"title"`
	Head   string   `json:"head"`
	Base   string   `json:"base"`
	User   string   `json:"user"`
	Labels []string `json:"labels"`
}

func recordedPulls(t testing.TB) []recordedPR {
	t.Helper()
	raw, err := os.ReadFile("testdata/github/krel-recorded-pulls-v1.25.3.json")
	if err != nil {
		t.Fatal(err)
	}
	var prs []recordedPR
	if err := json.Unmarshal(raw, &prs); err != nil {
		t.Fatal(err)
	}
	return prs
}

func headSHA(n int) string { return fmt.Sprintf("%040x", n) }

// openRecorded puts the recorded PRs into the fake GitHub as they were before they merged:
// open, into release-1.25, with their real labels, and a passing unit-test status.
func openRecorded(gh *githubfake.Server, prs []recordedPR) {
	for _, p := range prs {
		gh.AddPullRequest(k8s, githubfake.PR{Number: p.Number, Title: p.Title, Base: p.Base, HeadRef: p.Head, HeadSHA: headSHA(p.Number), Author: p.User, Labels: p.Labels, State: "open"})
		gh.SetStatus(k8s, headSHA(p.Number), "pull-kubernetes-unit", "success", "https://prow.k8s.io/view/unit")
	}
}

func without(labels []string, drop string) []string {
	return slices.DeleteFunc(slices.Clone(labels), func(l string) bool { return l == drop })
}

// clickReply presses the button labelled label on a private reply owner got, as clicker.
func (r *running) clickReply(owner, clicker, label string) {
	r.t.Helper()
	b, ok := r.fake.FindEphemeralButton(owner, label)
	if !ok {
		r.t.Fatalf("no %q button in the replies to %s", label, owner)
	}
	ctx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	id, err := r.fake.Click(ctx, clicker, channelID, b)
	if err != nil {
		r.t.Fatal(err)
	}
	r.waitHandled(id)
}

// writes counts the calls that change PRs in kubernetes/kubernetes.
func writes(gh *githubfake.Server) int {
	n := 0
	for _, q := range gh.Requests("") {
		if q.Method != "GET" && strings.HasPrefix(q.Path, "/repos/"+k8s+"/") {
			n++
		}
	}
	return n
}

func freezeComments(gh *githubfake.Server, n int, kind string) int {
	k := 0
	for _, c := range gh.CommentsOn(k8s, n) {
		if strings.Contains(c, "<!-- cutbot:"+kind+" ") {
			k++
		}
	}
	return k
}

func TestFreezeAndThaw(t *testing.T) {
	fake := workspace(t)
	bl := newBuilds(t)
	prs := recordedPulls(t)
	if len(prs) != 127 {
		t.Fatalf("%d recorded PRs", len(prs))
	}
	// A mix of the ready and the not ready, as on the eve of a cut. The list is longer than
	// a page (100), so listing them needs the Link header.
	noLGTM, noApproval, hold, failing, rebase, unlabelled := prs[3], prs[10], prs[20], prs[30], prs[40], prs[50]
	noLGTM.Labels = without(noLGTM.Labels, "lgtm")
	noApproval.Labels = without(noApproval.Labels, "approved")
	hold.Labels = append(slices.Clone(hold.Labels), "do-not-merge/hold")
	rebase.Labels = append(slices.Clone(rebase.Labels), "needs-rebase")
	unlabelled.Labels = without(unlabelled.Labels, "cherry-pick-approved")
	unlabelled.Labels = without(unlabelled.Labels, "lgtm")
	for _, p := range []*recordedPR{&noLGTM, &noApproval, &hold, &failing, &rebase, &unlabelled} {
		prs[slices.IndexFunc(prs, func(q recordedPR) bool { return q.Number == p.Number })] = *p
	}
	otherBranch := prs[60]
	otherBranch.Number, otherBranch.Base, otherBranch.Labels = 200001, "release-1.24", without(otherBranch.Labels, "lgtm")
	openRecorded(bl.gh, append(prs, otherBranch))
	bl.gh.SetStatus(k8s, headSHA(failing.Number), "pull-kubernetes-e2e-gce", "failure", "https://prow.k8s.io/view/e2e")
	bl.gh.AddPullRequest(k8s, githubfake.PR{Number: 200002, Title: "Automated cherry pick of #1: long merged", Base: "release-1.25", HeadSHA: headSHA(200002), Labels: []string{"cherry-pick-approved"}, State: "closed", Merged: true})

	dbPath := t.TempDir() + "/cutbot.db"
	r := startBotWith(t, fake, dbPath, bl)
	r.run(alice, "cut v1.25.4")

	// Bad input changes nothing.
	r.run(alice, `freeze 1.25 --reason "v1.25.4 cut"`)
	mustContain(t, "bad branch", r.lastReply(alice), `"1.25" is not a release branch: give it as release-1.31`)
	r.run(alice, "freeze release-1.25")
	mustContain(t, "no reason", r.lastReply(alice), "--reason")
	r.run(guest, `freeze release-1.25 --reason "v1.25.4 cut"`)
	mustContain(t, "refused", r.lastReply(guest), "release-managers")
	r.run(alice, "thaw release-1.25")
	mustContain(t, "thaw unfrozen", r.lastReply(alice), "release-1.25 is not frozen")

	// A dry run, which anyone may ask for, says which PRs would lose the label and why.
	r.run(guest, `freeze release-1.25 --reason "v1.25.4 cut" --dry-run`)
	dry := r.lastReply(guest)
	mustContain(t, "dry run", dry, "Dry run of the cherry-pick freeze of release-1.25: nothing was changed. 5 of 126 PRs with cherry-pick-approved would lose it.",
		fmt.Sprintf("#%d", noLGTM.Number), "needs lgtm", "needs approve", "on hold", "failing: pull-kubernetes-e2e-gce", "needs a rebase",
		"121 PRs are ready to merge")
	if strings.Contains(dry, fmt.Sprint(unlabelled.Number)) || strings.Contains(dry, "200001") || strings.Contains(dry, "200002") {
		t.Errorf("the dry run lists a PR without the label, on another branch, or closed:\n%s", dry)
	}
	if _, ok := fake.FindEphemeralButton(guest, "Freeze"); ok {
		t.Error("the dry run has a button")
	}
	if n := writes(bl.gh); n != 0 {
		t.Fatalf("dry runs and refusals wrote to GitHub %d times", n)
	}
	if all, _ := r.store.Freezes(context.Background()); len(all) != 0 {
		t.Fatalf("a dry run stored %d freezes", len(all))
	}
	openLists := 0
	for _, req := range bl.gh.Requests("GET /repos/" + k8s + "/pulls") {
		if !strings.HasPrefix(req.Path, "/repos/"+k8s+"/pulls/") && !strings.Contains(req.Query, "state=closed") {
			openLists++ // not the cut's release-notes draft, which lists the closed ones
		}
	}
	if got := openLists; got != 2 {
		t.Errorf("listed the open PRs in %d requests, want the 2 pages of 127 open PRs", got)
	}

	// The preview waits for its requester's button; nobody else's click starts it.
	r.run(alice, `freeze release-1.25 --reason "v1.25.4 cut"`)
	mustContain(t, "preview", r.lastReply(alice), "Cherry-pick freeze of release-1.25 (v1.25.4 cut): 5 of 126 PRs with cherry-pick-approved would lose it.")
	r.clickReply(alice, bob, "Freeze: take cherry-pick-approved off 5 PRs")
	mustContain(t, "bob's click", r.lastReply(bob), "only @alice, who asked for the freeze of release-1.25, can confirm it")
	r.clickReply(alice, guest, "Freeze: take cherry-pick-approved off 5 PRs")
	mustContain(t, "guest's click", r.lastReply(guest), "release-managers")
	if n := writes(bl.gh); n != 0 {
		t.Fatalf("the preview and refused clicks wrote to GitHub %d times", n)
	}

	// Before alice confirms, the PR without approval gets it; the freeze leaves it alone. The
	// third PR's label removal fails: the freeze stops there.
	bl.gh.SetLabels(k8s, noApproval.Number, append(slices.Clone(noApproval.Labels), "approved")...)
	f := freezes(t, r.store)[0]
	var order []int
	for _, p := range f.NotReady() {
		order = append(order, p.Number)
	}
	var third, firstLost int
	for _, n := range order {
		if n != noApproval.Number && firstLost == 0 {
			firstLost = n
		}
		if n != noApproval.Number {
			third++
			if third == 3 {
				third = n
				break
			}
		}
	}
	bl.gh.FailNext(fmt.Sprintf("DELETE /repos/%s/issues/%d/labels/", k8s, third), 502)
	r.clickReply(alice, alice, "Freeze: take cherry-pick-approved off 5 PRs")
	mustContain(t, "stopped", r.lastReply(alice), fmt.Sprintf("The freeze of release-1.25 stopped halfway: GitHub could not remove cherry-pick-approved from kubernetes/kubernetes#%d just now (502). cutbot tries again by itself", third), "`/release freeze release-1.25` goes on now. Nothing done so far is repeated.")
	f = freezes(t, r.store)[0]
	if f.State != cutbot.FreezeFreezing || !f.PR(third).Unlabel.Pending() {
		t.Fatalf("after the failure: state %s, PR #%d %+v", f.State, third, f.PR(third).Unlabel)
	}
	r.run(alice, "thaw release-1.25")
	mustContain(t, "thaw while freezing", r.lastReply(alice), "has not finished")
	w := writes(bl.gh)
	r.run(guest, `freeze release-1.25 --reason "v1.25.4 cut" --dry-run`)
	mustContain(t, "dry run while freezing", r.lastReply(guest), "release-1.25 is already frozen")
	if writes(bl.gh) != w {
		t.Fatal("a guest's dry run went on with the freeze")
	}

	// cutbot died after removing the first PR's label and before recording it, and after
	// commenting on the second PR and before recording that.
	var second int
	for _, p := range f.NotReady() {
		if p.Number != noApproval.Number && !p.Notice.Done.IsZero() {
			second = p.Number
		}
	}
	r.stop()
	st, err := store.Open(dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateFreeze(context.Background(), f.ID, func(f *cutbot.Freeze) error {
		f.PR(second).Notice.Done = time.Time{}
		f.PR(firstLost).Unlabel.Done = time.Time{}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	deletes := len(bl.gh.Requests("DELETE "))

	// The restart finishes the freeze without repeating a label removal or a comment.
	r = startBotWith(t, fake, dbPath, bl)
	f = freezes(t, r.store)[0]
	if f.State != cutbot.FreezeFrozen {
		t.Fatalf("after the restart the freeze is %s", f.State)
	}
	if got := len(bl.gh.Requests("DELETE ")) - deletes; got != 2 {
		t.Errorf("the restart removed %d labels, want the third PR's and the last's", got)
	}
	lost := []int{noLGTM.Number, hold.Number, failing.Number, rebase.Number}
	for _, p := range append(prs, otherBranch) {
		has := slices.Contains(bl.gh.Labels(k8s, p.Number), "cherry-pick-approved")
		should := slices.Contains(p.Labels, "cherry-pick-approved") && !slices.Contains(lost, p.Number)
		if has != should {
			t.Errorf("#%d has cherry-pick-approved: %v, want %v", p.Number, has, should)
		}
		want := 0
		if slices.Contains(lost, p.Number) {
			want = 1
		}
		if got := freezeComments(bl.gh, p.Number, "freeze"); got != want {
			t.Errorf("#%d has %d freeze comments, want %d", p.Number, got, want)
		}
	}
	if got := len(bl.gh.Requests(fmt.Sprintf("DELETE /repos/%s/issues/%d/labels/cherry-pick-approved", k8s, third))); got != 2 {
		t.Errorf("#%d: %d removals, want the failed one and its retry", third, got)
	}
	if p := f.PR(noApproval.Number); p.Skipped != "ready to merge by the time of the freeze" || !p.Unlabel.Done.IsZero() {
		t.Errorf("the PR approved meanwhile: %+v", p)
	}
	for _, n := range lost {
		if p := f.PR(n); p.Unlabel.Done.IsZero() || p.Notice.Done.IsZero() {
			t.Errorf("#%d not recorded as done: %+v", n, p)
		}
	}
	mustContain(t, "comment", bl.gh.CommentsOn(k8s, hold.Number)[0], "The cherry-pick freeze of `release-1.25` (v1.25.4 cut) took `cherry-pick-approved` off this PR: on hold.")
	thread := fake.Transcript(channelID)
	mustContain(t, "thread", thread, fmt.Sprintf(":ice_cube: @alice froze cherry-picks on release-1.25 (v1.25.4 cut): 4 PRs lost cherry-pick-approved: #%d", firstLost), "`/release thaw release-1.25`")

	// The old button and the command again change nothing.
	before := writes(bl.gh)
	r.clickReply(alice, alice, "Freeze: take cherry-pick-approved off 5 PRs")
	mustContain(t, "second click", r.lastReply(alice), "already confirmed (it is frozen)")
	r.run(bob, `freeze release-1.25 --reason "again"`)
	mustContain(t, "again", r.lastReply(bob), "release-1.25 is already frozen (v1.25.4 cut, by @alice)")
	if writes(bl.gh) != before {
		t.Error("a second click or freeze wrote to GitHub")
	}

	// Meanwhile one PR merges and one is closed; the thaw puts the label back on the others.
	bl.gh.Merge(k8s, noLGTM.Number)
	bl.gh.ClosePR(k8s, rebase.Number, false)
	bl.gh.FailNext(fmt.Sprintf("POST /repos/%s/issues/%d/labels", k8s, hold.Number), 500)
	r.run(bob, "thaw release-1.25")
	mustContain(t, "thaw stopped", r.lastReply(bob), "The thaw of release-1.25 stopped halfway: GitHub could not add cherry-pick-approved", "`/release thaw release-1.25` goes on now")
	// The poller tries again once the backoff (15 s after a first failure) has passed, not before.
	bl.poll(t)
	if f := freezes(t, r.store)[0]; f.State != cutbot.FreezeThawing {
		t.Fatalf("the poller retried before the backoff passed: %s", f.State)
	}
	bl.clock.Add(31 * time.Second)
	bl.poll(t)
	if f := freezes(t, r.store)[0]; f.State != cutbot.FreezeThawed {
		t.Fatalf("the poller did not finish the thaw: %s", f.State)
	}
	r.run(bob, "thaw release-1.25")
	mustContain(t, "thaw twice", r.lastReply(bob), "release-1.25 is not frozen")
	r.run(bob, `freeze release-1.25 --reason "v1.25.4 cut" --dry-run`)
	mustContain(t, "dry run after the thaw", r.lastReply(bob), "2 of 124 PRs with cherry-pick-approved would lose it")
	last := freezes(t, r.store)[0]
	reply := freezeText(last)
	mustContain(t, "thawed", reply, "cherry-pick-approved is back", "merged meanwhile; nothing to put back", "closed meanwhile; nothing to put back")
	for _, n := range lost {
		want := n == hold.Number || n == failing.Number
		if has := slices.Contains(bl.gh.Labels(k8s, n), "cherry-pick-approved"); has != want {
			t.Errorf("after the thaw #%d has the label: %v, want %v", n, has, want)
		}
		if got, want := freezeComments(bl.gh, n, "thaw"), map[bool]int{true: 1}[want]; got != want {
			t.Errorf("#%d has %d thaw comments, want %d", n, got, want)
		}
	}
	for n, want := range map[int]int{hold.Number: 2, failing.Number: 1, noLGTM.Number: 0, rebase.Number: 0} {
		if got := len(bl.gh.Requests(fmt.Sprintf("POST /repos/%s/issues/%d/labels", k8s, n))); got != want {
			t.Errorf("#%d: %d label posts, want %d", n, got, want)
		}
	}
	mustContain(t, "thread", fake.Transcript(channelID), ":sunny: @bob thawed release-1.25: 2 PRs got cherry-pick-approved back; 2 closed or merged meanwhile.")
}

// freezeText is how a freeze's outcome reads in Slack.
func freezeText(f *cutbot.Freeze) string {
	text, blocks := Reply(handlers.FreezeReply{Freeze: f})
	for _, b := range blocks {
		if s, ok := b.(*slack.SectionBlock); ok && s.Text != nil {
			text += "\n" + s.Text.Text
		}
	}
	return text
}

func freezes(t testing.TB, st *store.Store) []*cutbot.Freeze {
	t.Helper()
	all, err := st.Freezes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// A label with "/" in its name goes into the URL path escaped: go-github puts it there as it
// is, and GitHub would read "cherry-pick/approved" as two path segments.
func TestFreezeLabelWithSlash(t *testing.T) {
	fake := workspace(t)
	bl := newBuilds(t)
	const label = "cherry-pick/approved"
	bl.gh.AddPullRequest(k8s, githubfake.PR{Number: 7, Title: "Automated cherry pick of #5: fix", Base: "release-1.31", HeadSHA: headSHA(7), Labels: []string{label, "approved"}})
	bl.gh.AddPullRequest(k8s, githubfake.PR{Number: 8, Title: "Automated cherry pick of #6: fix", Base: "release-1.31", HeadSHA: headSHA(8), Labels: []string{label, "approved", "lgtm"}})
	r := startBotEdit(t, fake, "", bl, func(c *Config) { c.FreezeLabel = label })
	// A preview confirmed more than an hour later is stale.
	r.run(alice, `freeze release-1.31 --reason "v1.31.4 cut"`)
	bl.clock.Add(61 * time.Minute)
	r.clickReply(alice, alice, "Freeze: take cherry-pick/approved off 1 PR")
	mustContain(t, "stale", r.lastReply(alice), "this preview of the freeze of release-1.31 is more than an hour old", "run `/release freeze release-1.31 --reason \"v1.31.4 cut\"` again")
	if len(bl.gh.Requests("DELETE ")) != 0 {
		t.Fatal("a stale preview removed a label")
	}
	r.run(alice, `freeze release-1.31 --reason "v1.31.4 cut"`)
	r.clickReply(alice, alice, "Freeze: take cherry-pick/approved off 1 PR")
	if got := bl.gh.Labels(k8s, 7); slices.Contains(got, label) {
		t.Fatalf("#7 still has %s: %v", label, got)
	}
	if got := bl.gh.Requests("DELETE "); len(got) != 1 || got[0].Path != "/repos/kubernetes/kubernetes/issues/7/labels/cherry-pick%2Fapproved" || got[0].Status != 200 {
		t.Fatalf("DELETE requests: %+v", got)
	}
	if !slices.Contains(bl.gh.Labels(k8s, 8), label) {
		t.Error("#8, ready, lost its label")
	}
	r.run(alice, "thaw release-1.31")
	if got := bl.gh.Labels(k8s, 7); !slices.Contains(got, label) {
		t.Fatalf("#7 did not get %s back: %v", label, got)
	}
}
