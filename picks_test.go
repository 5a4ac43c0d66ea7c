package cutbot

import (
	"bufio"
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func readJSONL[T any](t *testing.T, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []T
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 1<<20), 1<<22)
	for s.Scan() {
		var v T
		if err := json.Unmarshal(s.Bytes(), &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, v)
	}
	return out
}

// TestPickParentsOnRealCherryPicks reads the parents of the 297 real cherry-picks merged into
// kubernetes/kubernetes 2017-2023 (testdata/cherry-picks, copied from shared/data). The
// branch hack/cherry_pick_pull.sh names is the truth where it has numbers; the title and body
// must agree with it, and the ones nothing resolves are listed.
func TestPickParentsOnRealCherryPicks(t *testing.T) {
	rows := readJSONL[struct {
		PR     int      `json:"kubernetes_pr"`
		Title  string   `json:"pr_title"`
		Branch string   `json:"head_branch"`
		Body   []string `json:"pr_body_rest"`
	}](t, "testdata/cherry-picks/k8s-cherry-pick-merges-2017-2023.jsonl")
	if len(rows) != 297 {
		t.Fatalf("%d rows, want 297", len(rows))
	}
	resolved, byTitle := 0, 0
	var unresolved, disagree []int
	for _, r := range rows {
		body := strings.Join(r.Body, "\n")
		got, from := PickParents(r.Title, r.Branch, body)
		if from == "" {
			unresolved = append(unresolved, r.PR)
			continue
		}
		resolved++
		// Without the branch (a PR read from a fork that was deleted), the title alone.
		if alone, _ := PickParents(r.Title, "", ""); len(alone) > 0 {
			byTitle++
			if !slices.ContainsFunc(alone, func(n int) bool { return slices.Contains(got, n) }) {
				disagree = append(disagree, r.PR)
				t.Logf("#%d: the title names %v, the branch %v (%q, %q)", r.PR, alone, got, r.Title, r.Branch)
			}
		}
	}
	t.Logf("parents read for %d of %d; from the title alone for %d; unresolved: %v", resolved, len(rows), byTitle, unresolved)
	// #71334's branch names #71325, its title #70753, #70676 and #70971: the board goes by the
	// branch, which the script wrote; a person can tell it otherwise in a note.
	if !slices.Equal(disagree, []int{71334}) {
		t.Errorf("title and branch disagree on %v, want only #71334", disagree)
	}
	// #55457's branch and title name a commit (eac2049), not a PR: nothing to read.
	if !slices.Equal(unresolved, []int{55457}) {
		t.Errorf("unresolved = %v, want only #55457", unresolved)
	}
}

// TestPickParentsOutsideTheScript: 47 real cherry-picks made by prow's cherrypicker or by
// hand, with their parents as recorded.
func TestPickParentsOutsideTheScript(t *testing.T) {
	rows := readJSONL[struct {
		Repo    string `json:"repo"`
		Number  int    `json:"number"`
		Shape   string `json:"shape"`
		Title   string `json:"title"`
		Branch  string `json:"head_branch"`
		Body    string `json:"body"`
		Parents []int  `json:"parent_prs"`
		Cluster string `json:"cluster"`
	}](t, "testdata/cherry-picks/prow-cherrypicker-and-manual.jsonl")
	resolved := 0
	clusters := map[string][]int{}
	for _, r := range rows {
		got, from := PickParents(r.Title, r.Branch, r.Body)
		if !slices.Equal(got, r.Parents) {
			t.Errorf("%s#%d (%s): parents %v from %q, want %v\n  title %q\n  branch %q\n  body %.200q", r.Repo, r.Number, r.Shape, got, from, r.Parents, r.Title, r.Branch, r.Body)
			continue
		}
		resolved++
		p := CherryPick{Repo: r.Repo, Number: r.Number, Title: r.Title, HeadRef: r.Branch, Body: r.Body}
		if r.Cluster != "" {
			clusters[r.Cluster] = append(clusters[r.Cluster], r.Number)
			if p.Cluster() != r.Cluster {
				t.Errorf("%s#%d: cluster %s, want %s", r.Repo, r.Number, p.Cluster(), r.Cluster)
			}
		}
	}
	t.Logf("parents read for %d of %d; %d clusters", resolved, len(rows), len(clusters))
}

// TestPicksOfARealBranch: the 127 cherry-picks krel recorded for v1.25.3 (all merged into
// release-1.25), as the board derives each row.
func TestPicksOfARealBranch(t *testing.T) {
	rows := readJSONL[struct {
		Number   int       `json:"number"`
		Title    string    `json:"title"`
		Head     string    `json:"head_ref"`
		Base     string    `json:"base_ref"`
		User     string    `json:"user"`
		Labels   []string  `json:"labels"`
		Merged   bool      `json:"merged"`
		Body     string    `json:"body"`
		MergedAt time.Time `json:"merged_at"`
	}](t, "testdata/cherry-picks/krel-v1.25.3-pulls.jsonl")
	var unresolved []int
	kinds, notes := map[string]int{}, map[string]int{}
	for _, r := range rows {
		p := CherryPick{Repo: "kubernetes/kubernetes", Number: r.Number, Title: r.Title, HeadRef: r.Head, Body: r.Body, Labels: r.Labels, State: PickMerged, ClosedAt: r.MergedAt, Branch: r.Base}
		if ps, _ := p.Parents(); len(ps) == 0 {
			unresolved = append(unresolved, r.Number)
		}
		for _, k := range p.Kinds() {
			kinds[k]++
		}
		notes[p.ReleaseNote()]++
		if p.Colour("cherry-pick-approved") != "green" || p.Disposition("cherry-pick-approved", "to close?") != "merged" {
			t.Errorf("#%d merged: colour %s, disposition %s", r.Number, p.Colour("cherry-pick-approved"), p.Disposition("cherry-pick-approved", "to close?"))
		}
	}
	t.Logf("%d rows; parents unresolved: %v; kinds %v; release notes %v", len(rows), unresolved, kinds, notes)
	// Made on the branch, picking nothing from master: Go and dependency bumps, a revert, fixes
	// written for the branch. The board shows them on their own.
	madeOnBranch := []int{118556, 118799, 117315, 117682, 117775, 117131, 115889, 116406, 115788, 115832, 115641, 115013, 114929, 114286, 113684, 113592, 112902, 112807}
	if !slices.Equal(unresolved, madeOnBranch) {
		t.Errorf("unresolved %v\nwant       %v", unresolved, madeOnBranch)
	}
}

func TestApprovalBlockersAndDisposition(t *testing.T) {
	const label = "cherry-pick-approved"
	ready := []string{"lgtm", "approved", "cncf-cla: yes", NotApprovedLabel, "kind/bug", "sig/node", "release-note"}
	open := CherryPick{State: PickOpen, Labels: ready, StatusState: "success"}
	if !open.Approvable(label) || open.Colour(label) != "yellow" || open.Disposition(label, "") != "to merge?" {
		t.Errorf("ready, not approved: approvable %v colour %s disposition %s", open.Approvable(label), open.Colour(label), open.Disposition(label, ""))
	}
	failing := open
	failing.StatusState, failing.Failing = "failure", []string{"pull-kubernetes-e2e-gce"}
	if failing.Approvable(label) || !slices.Equal(failing.Blockers(), []string{"failing: pull-kubernetes-e2e-gce"}) {
		t.Errorf("failing: %v", failing.Blockers())
	}
	approved := open
	approved.Labels = append(slices.Clone(ready[:3]), label)
	if approved.Approvable(label) || approved.Colour(label) != "green" || approved.Disposition(label, "") != "merging" {
		t.Errorf("approved: approvable %v colour %s disposition %s", approved.Approvable(label), approved.Colour(label), approved.Disposition(label, ""))
	}
	held := open
	held.Labels = append(slices.Clone(ready), "do-not-merge/hold")
	if held.Disposition(label, "") != "hold" || held.Disposition(label, "to close?") != "to close?" {
		t.Errorf("held: %s", held.Disposition(label, ""))
	}
	closed := CherryPick{State: PickClosed}
	if closed.Colour(label) != "red" || closed.Disposition(label, "to merge") != "closed" || closed.Blockers() != nil {
		t.Errorf("closed: %s %s", closed.Colour(label), closed.Disposition(label, "to merge"))
	}
	if k := (CherryPick{}).Kinds(); !slices.Equal(k, []string{"?"}) {
		t.Errorf("no kind label: %v", k)
	}
}

func TestDiffBoards(t *testing.T) {
	const label = "cherry-pick-approved"
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	old := &BranchBoard{Branch: "release-1.31", Picks: []CherryPick{
		{Repo: "k/k", Number: 1, State: PickOpen, Labels: []string{"lgtm"}},
		{Repo: "k/k", Number: 2, State: PickOpen, Labels: []string{label}},
		{Repo: "k/k", Number: 3, State: PickOpen},
	}}
	cur := &BranchBoard{Branch: "release-1.31", Picks: []CherryPick{
		{Repo: "k/k", Number: 1, State: PickOpen, Labels: []string{"lgtm", label}},
		{Repo: "k/k", Number: 2, State: PickMerged, Labels: []string{label}},
		{Repo: "k/k", Number: 3, State: PickClosed},
		{Repo: "k/k", Number: 4, State: PickOpen, Title: "Automated cherry pick of #9: x"},
	}}
	var got []string
	for _, c := range DiffBoards(old, cur, label, now) {
		got = append(got, c.PR+" "+c.What+" "+c.Detail)
	}
	want := []string{"k/k#4 new Automated cherry pick of #9: x", "k/k#3 closed ", "k/k#2 merged ", "k/k#1 approved cherry-pick-approved", "k/k#1 labels +cherry-pick-approved"}
	if !slices.Equal(got, want) {
		t.Errorf("changes:\n%q\nwant\n%q", got, want)
	}
	if first := DiffBoards(nil, cur, label, now); len(first) != 0 {
		t.Errorf("the first read is news: %v", first)
	}
}

func TestSections(t *testing.T) {
	d := func(s string) Day { v, _ := ParseDay(s); return v }
	at := func(s string) time.Time { return d(s).At(12, 0, time.UTC) }
	b := &BranchBoard{Picks: []CherryPick{
		{Number: 10, State: PickOpen},
		{Number: 9, State: PickMerged, ClosedAt: at("2026-11-20")}, // after v1.31.3's target: next release
		{Number: 8, State: PickMerged, ClosedAt: at("2026-11-05")}, // before it
		{Number: 7, State: PickClosed, ClosedAt: at("2026-10-01")}, // before v1.31.2's
	}}
	ss := Sections(b, []PatchSection{
		{Version: "v1.31.2", Deadline: d("2026-10-10"), Target: d("2026-10-14")},
		{Version: "v1.31.4", Deadline: d("2026-12-05"), Target: d("2026-12-09")},
		{Version: "v1.31.3", Deadline: d("2026-11-07"), Target: d("2026-11-11")},
	})
	var got []string
	for _, s := range ss {
		var ns []string
		for _, p := range s.Picks {
			ns = append(ns, itoa(p.Number))
		}
		got = append(got, s.Version+":"+strings.Join(ns, ","))
	}
	if want := []string{"v1.31.4:10,9", "v1.31.3:8", "v1.31.2:7"}; !slices.Equal(got, want) {
		t.Errorf("sections %q, want %q", got, want)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestParseReleaseBlocks(t *testing.T) {
	// The two real priority/critical-urgent regressions have no release block: found is false
	// and nothing is guessed.
	for _, r := range readJSONL[struct {
		Number int    `json:"number"`
		Body   string `json:"body"`
	}](t, "testdata/known-issues/known-issues.jsonl") {
		if in, res, problems, found := ParseReleaseBlocks(r.Body); found || in != nil || res != nil || problems != nil {
			t.Errorf("#%d: %v %v %v %v", r.Number, in, res, problems, found)
		}
	}
	v := MustParseVersion
	for _, tc := range []struct {
		name       string
		body       string
		intro, res []Version
		problems   int
		standing   KnownStanding // on v1.31 before v1.31.3
	}{
		{"the format's example, filled in", "## Summary\n```release\nintroduced-in=v1.31.1\n```\n```release\nresolved-in=v1.31.3\nresolved-in=v1.32.1\n```\n## Symptoms\n",
			[]Version{v("v1.31.1")}, []Version{v("v1.31.3"), v("v1.32.1")}, 0, KnownFixedNext},
		{"still open", "```release\nintroduced-in=v1.31.2\n```", []Version{v("v1.31.2")}, nil, 0, KnownOpen},
		{"fixed before", "```release\nintroduced-in=v1.31.0\nresolved-in=v1.31.1\n```", []Version{v("v1.31.0")}, []Version{v("v1.31.1")}, 0, KnownFixed},
		{"a later patch", "```release\nintroduced-in=v1.31.0\nresolved-in=v1.31.4\n```", []Version{v("v1.31.0")}, []Version{v("v1.31.4")}, 0, KnownFixedLater},
		{"another branch", "```release\nintroduced-in=v1.30.2\n```", []Version{v("v1.30.2")}, nil, 0, KnownNotHere},
		{"the placeholders of the format document", "```release\nintroduced-in=vX.Y.Z\n```\n```release\nresolved-in=vX.Y.Z\nresolved-in=vX.Y+1.Z\n```", nil, nil, 3, KnownUnreadable},
		{"unknown key, unclosed", "```release\nfixed-in=v1.31.3\n", nil, nil, 2, KnownUnreadable},
		{"CRLF", "```release\r\nintroduced-in=v1.31.1\r\n```\r\n", []Version{v("v1.31.1")}, nil, 0, KnownOpen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, res, problems, found := ParseReleaseBlocks(tc.body)
			if !found || !slices.Equal(in, tc.intro) || !slices.Equal(res, tc.res) || len(problems) != tc.problems {
				t.Errorf("= %v %v %q %v", in, res, problems, found)
			}
			k := KnownIssue{Introduced: in, Resolved: res, Problems: problems}
			if got := k.On(1, 31, v("v1.31.3")); got != tc.standing {
				t.Errorf("on v1.31 before v1.31.3: %q, want %q", got, tc.standing)
			}
		})
	}
}

func TestVersionCompare(t *testing.T) {
	order := []string{"v1.31.9", "v1.32.0-alpha.1", "v1.32.0-alpha.2", "v1.32.0-beta.0", "v1.32.0-rc.0", "v1.32.0-rc.1", "v1.32.0", "v1.32.1", "v2.0.0"}
	for i := range order {
		for j := range order {
			if got, want := MustParseVersion(order[i]).Compare(MustParseVersion(order[j])), cmpInt(i, j); got != want {
				t.Errorf("%s vs %s = %d, want %d", order[i], order[j], got, want)
			}
		}
	}
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
