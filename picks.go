package cutbot

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Cherry-picks, as the patch-release team triages them (the playbook's "Patch branch merge
// workflow and status tracking"): one row per cherry-pick PR, grouped by branch, with the
// parent PRs on master it picks, so that a cluster (one parent picked to several branches) is
// triaged once.

var (
	// hack/cherry_pick_pull.sh: automated-cherry-pick-of-#A-#B-upstream-release-1.31, with
	// the remote's name (upstream, origin, ...) and sometimes a timestamp after it; some were
	// pushed as "origin/automated-...".
	reScriptBranch = regexp.MustCompile(`(?:^|/)automated-cherry-pick-of-((?:#[^-]*-)+)`)
	// prow's cherrypicker: cherry-pick-14105-to-release-1.13.
	reCherrypickerBranch = regexp.MustCompile(`^cherry-pick-(\d+)-to-`)
	// "Automated cherry pick of #N: ...", "[1.16] Automated cherry pick of #N", "Manual cherry
	// pick of #16494 on release-1.1", "cherry pick #100341 #98576 on 1.18", "Automated
	// cherry-pick of #66516 to v1.12".
	reTitle = regexp.MustCompile(`(?i)cherry[- ]?pick(?:ed)?s?(?:\s+of)?:?\s+((?:#\d+[\s,]*(?:and\s+)?)+)`)
	// "cherry-pick: chore(release): Create prepare-release-branch script (#1013)": a squash
	// title's trailing PR number.
	reTitleSquash = regexp.MustCompile(`(?i)^cherry[- ]?pick\b.*\(#(\d+)\)\s*$`)
	// "Cherry pick 114857 to release-1.25".
	reTitleBare = regexp.MustCompile(`(?i)^cherry[- ]?pick\s+(\d+)\b`)
	// Bodies: "Cherry pick of #N on release-X.Y.", "This is an automated cherry-pick of #N",
	// "Manual cherry-pick of https://github.com/o/r/pull/N", "Cherry pick this PR: URL",
	// "Cherrypick #48786 to fix ...".
	// "Manual pick of URL", "This PR backports part of #113827".
	reBody = regexp.MustCompile(`(?i)(?:cherry[- ]?pick(?:ed)?|manual(?:ly)?\s+pick(?:ed)?|backports?(?:\s+part)?)(?:\s+this\s+PR)?(?:\s+of)?:?\s+(?:#(\d+)|https://github\.com/[^/\s]+/[^/\s]+/pull/(\d+))`)
	// "Cherry-pick of the following PR (/commits) on release-1.25:" then a numbered or
	// bulleted list of PR links, one per line.
	reFollowing = regexp.MustCompile(`(?i)cherry[- ]?picks?\s+of\s+the\s+following`)
	reListPR    = regexp.MustCompile(`(?m)^\s*(?:\d+\.|[-*])\s+https://github\.com/[^/\s]+/[^/\s]+/pull/(\d+)`)
	// "This PR cherry-picks the missing changelog entries for 1.25.2 from #112655."
	reFrom = regexp.MustCompile(`(?i)cherry[- ]?picks?\b[^\n]{0,80}?\bfrom\s+#(\d+)`)
	// "This picks the following PRs:" then "#N: subject" lines.
	rePicksList = regexp.MustCompile(`(?mi)^#(\d+):`)
	reNumber    = regexp.MustCompile(`#(\d+)`)
	// "fixes #123", "Fixes https://github.com/kubernetes/kubernetes/issues/123".
	reFixes = regexp.MustCompile(`(?i)\b(?:fix|fixes|fixed|close|closes|closed|resolve|resolves|resolved)\s*:?\s+(?:#(\d+)|https://github\.com/[^/\s]+/[^/\s]+/issues/(\d+))`)
)

// PickParents reads which pull requests a cherry-pick picks: from its branch as
// hack/cherry_pick_pull.sh or prow's cherrypicker names it, else from its title, else from
// its body. from says which ("branch", "title", "body"); none found is ("", nil): the board
// shows such a row on its own, not guessed into a cluster.
func PickParents(title, branch, body string) (parents []int, from string) {
	if m := reScriptBranch.FindStringSubmatch(branch); m != nil {
		if ns := numbers(m[1]); len(ns) > 0 {
			return ns, "branch"
		}
	}
	if m := reCherrypickerBranch.FindStringSubmatch(branch); m != nil {
		return numbers("#" + m[1]), "branch"
	}
	if m := reTitle.FindStringSubmatch(title); m != nil {
		return numbers(m[1]), "title"
	}
	if m := reTitleSquash.FindStringSubmatch(title); m != nil {
		return numbers("#" + m[1]), "title"
	}
	if m := reTitleBare.FindStringSubmatch(title); m != nil {
		return numbers("#" + m[1]), "title"
	}
	if m := reBody.FindStringSubmatch(body); m != nil {
		n := m[1] + m[2]
		return numbers("#" + n), "body"
	}
	if loc := reFollowing.FindStringIndex(body); loc != nil {
		var out []int
		for _, m := range reListPR.FindAllStringSubmatch(body[loc[1]:], -1) {
			out = append(out, numbers("#"+m[1])...)
		}
		if len(out) > 0 {
			return dedupe(out), "body"
		}
	}
	if m := reFrom.FindStringSubmatch(body); m != nil {
		return numbers("#" + m[1]), "body"
	}
	if strings.Contains(strings.ToLower(body), "picks the following") {
		var out []int
		for _, m := range rePicksList.FindAllStringSubmatch(body, -1) {
			out = append(out, numbers("#"+m[1])...)
		}
		if len(out) > 0 {
			return dedupe(out), "body"
		}
	}
	return nil, ""
}

// numbers are the #N numbers in s, in order, once each.
func numbers(s string) []int {
	var out []int
	for _, m := range reNumber.FindAllStringSubmatch(s, -1) {
		if n, err := strconv.Atoi(m[1]); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return dedupe(out)
}

func dedupe(ns []int) []int {
	var out []int
	for _, n := range ns {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// FixedIssues are the issues a PR's body says it fixes.
func FixedIssues(body string) []int {
	var out []int
	for _, m := range reFixes.FindAllStringSubmatch(body, -1) {
		if n, err := strconv.Atoi(m[1] + m[2]); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return dedupe(out)
}

// The labels prow's cherrypickapproved plugin refuses to approve a cherry-pick with, and
// how the board says each.
var approvalBlockingLabels = []struct{ label, words string }{
	{"do-not-merge/hold", "on hold"},
	{"needs-rebase", "needs a rebase"},
	{"do-not-merge/work-in-progress", "work in progress"},
	{"cncf-cla: no", "CLA not signed"},
	{"needs-ok-to-test", "needs ok-to-test"},
	{"do-not-merge/release-note-label-needed", "needs a release note"},
	{"do-not-merge/blocked-paths", "touches blocked paths"},
	{"do-not-merge/invalid-owners-file", "invalid OWNERS file"},
	{"do-not-merge/invalid-commit-message", "invalid commit message"},
}

// NotApprovedLabel is the label a cherry-pick carries until it is approved.
const NotApprovedLabel = "do-not-merge/cherry-pick-not-approved"

// ApprovalBlockers says, in words, what prow's cherrypickapproved plugin would still refuse
// before it adds cherry-pick-approved on a release manager's approving review: it needs lgtm
// and approved, none of the blocking labels, and no commit status in error or failure. None
// means the review is all it waits for.
func ApprovalBlockers(labels []string, statusState string, failing []string) []string {
	var why []string
	lgtm, approved := slices.Contains(labels, "lgtm"), slices.Contains(labels, "approved")
	switch {
	case !lgtm && !approved:
		why = append(why, "needs lgtm/approve")
	case !lgtm:
		why = append(why, "needs lgtm")
	case !approved:
		why = append(why, "needs approve")
	}
	for _, b := range approvalBlockingLabels {
		if slices.Contains(labels, b.label) {
			why = append(why, b.words)
		}
	}
	if statusState == "failure" || statusState == "error" {
		if len(failing) > 0 {
			why = append(why, "failing: "+strings.Join(failing, ", "))
		} else {
			why = append(why, "failing status")
		}
	}
	return why
}

// Readiness says why a PR is not ready to merge, by the rules release managers apply before
// a cut: what the approval plugin refuses (ApprovalBlockers), and any other do-not-merge
// label, which tide refuses to merge with. None means ready.
func Readiness(pr PullRequest, statusState string, failing []string) []string {
	why := ApprovalBlockers(pr.Labels, statusState, failing)
	for _, l := range pr.Labels {
		if strings.HasPrefix(l, "do-not-merge/") && l != NotApprovedLabel && !slices.ContainsFunc(approvalBlockingLabels, func(b struct{ label, words string }) bool { return b.label == l }) {
			why = append(why, l)
		}
	}
	return why
}

// Dispositions are the team's short forms of where a cherry-pick stands (the playbook's).
var Dispositions = []string{"to merge?", "to close?", "to merge", "merging", "merged", "hold", "closed"}

// Pick states.
const (
	PickOpen   = "open"
	PickMerged = "merged"
	PickClosed = "closed"
)

// CherryPick is one cherry-pick PR as the board shows it: what GitHub says of it.
type CherryPick struct {
	Repo        string
	Number      int
	URL         string
	Title       string
	Branch      string // the release branch it merges into
	HeadRef     string
	Author      string
	Body        string
	Labels      []string
	State       string // PickOpen, PickMerged, PickClosed
	CreatedAt   time.Time
	ClosedAt    time.Time // merged or closed
	StatusState string    // the head's combined status (open PRs)
	Failing     []string  // the contexts in error or failure
}

// Ref is "owner/repo#N".
func (p CherryPick) Ref() string { return p.Repo + "#" + strconv.Itoa(p.Number) }

// Parents are the PRs it picks (see PickParents).
func (p CherryPick) Parents() ([]int, string) { return PickParents(p.Title, p.HeadRef, p.Body) }

// Cluster names the cherry-picks of one change: "owner/repo#PARENT" (its first parent), or
// the PR itself when no parent can be read.
func (p CherryPick) Cluster() string {
	if ps, _ := p.Parents(); len(ps) > 0 {
		return p.Repo + "#" + strconv.Itoa(ps[0])
	}
	return p.Ref()
}

// Kinds are its kind/* labels, "?" when it has none (the playbook marks unsure cells so).
func (p CherryPick) Kinds() []string {
	out := labelled(p.Labels, "kind/")
	if len(out) == 0 {
		return []string{"?"}
	}
	return out
}

// SIGs are its sig/* labels, "?" when it has none.
func (p CherryPick) SIGs() []string {
	out := labelled(p.Labels, "sig/")
	if len(out) == 0 {
		return []string{"?"}
	}
	return out
}

func labelled(labels []string, prefix string) []string {
	var out []string
	for _, l := range labels {
		if v, ok := strings.CutPrefix(l, prefix); ok {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

// ReleaseNote says where its release note stands: "yes", "none", "action required",
// "missing" (do-not-merge/release-note-label-needed) or "?".
func (p CherryPick) ReleaseNote() string {
	switch {
	case slices.Contains(p.Labels, "do-not-merge/release-note-label-needed"):
		return "missing"
	case slices.Contains(p.Labels, "release-note-action-required"):
		return "action required"
	case slices.Contains(p.Labels, "release-note"):
		return "yes"
	case slices.Contains(p.Labels, "release-note-none"):
		return "none"
	}
	return "?"
}

// Blockers is what the approval plugin would still refuse (open PRs only).
func (p CherryPick) Blockers() []string {
	if p.State != PickOpen {
		return nil
	}
	return ApprovalBlockers(p.Labels, p.StatusState, p.Failing)
}

// Approved reports whether it carries the approval label.
func (p CherryPick) Approved(label string) bool { return slices.Contains(p.Labels, label) }

// Approvable reports whether a release manager's approving review is all it waits for.
func (p CherryPick) Approvable(label string) bool {
	return p.State == PickOpen && !p.Approved(label) && len(p.Blockers()) == 0
}

// Colour is the playbook's row colour: red closed without merging, green approved or merged,
// yellow open without the approval label.
func (p CherryPick) Colour(label string) string {
	switch {
	case p.State == PickClosed:
		return "red"
	case p.State == PickMerged || p.Approved(label):
		return "green"
	}
	return "yellow"
}

// Disposition is where the row stands: what GitHub says (merged, closed, merging once
// approved, hold), or for an open PR the disposition a person set, if any; else "to merge?".
func (p CherryPick) Disposition(label, set string) string {
	switch {
	case p.State == PickMerged:
		return "merged"
	case p.State == PickClosed:
		return "closed"
	case set != "":
		return set
	case slices.Contains(p.Labels, "do-not-merge/hold"):
		return "hold"
	case p.Approved(label):
		return "merging"
	}
	return "to merge?"
}

// PickNote is what the team wrote about a cluster: a one-line summary, TODO lines, whether it
// is a CVE or security fix. It is shared by every branch's row of the cluster; Rev counts its
// writes, so that an edit made on top of an older one is refused, not lost.
type PickNote struct {
	Cluster string
	Summary string
	TODO    []TODOLine
	CVE     bool
	By      string
	At      time.Time
	Rev     int
}

// TODOLine is one line of a note's TODO, with who wrote it and when.
type TODOLine struct {
	Text string
	By   string
	At   time.Time
}

// PickDisposition is the disposition a person set on one PR (the branches of a cluster may
// diverge), with Rev as for notes.
type PickDisposition struct {
	PR    string // owner/repo#N
	Value string
	By    string
	At    time.Time
	Rev   int
}

// BranchBoard is one branch's cherry-picks as last read, and when.
type BranchBoard struct {
	Repo   string
	Branch string
	ReadAt time.Time
	Picks  []CherryPick
	// Error is why the last refresh failed, if it did (the picks are the last good read).
	Error   string
	ErrorAt time.Time
}

// Pick returns the board's PR number n.
func (b *BranchBoard) Pick(n int) *CherryPick {
	for i := range b.Picks {
		if b.Picks[i].Number == n {
			return &b.Picks[i]
		}
	}
	return nil
}

// PickChange is one thing that changed on the board: a new cherry-pick, an approval, a merge,
// a close, labels, or a note.
type PickChange struct {
	At     time.Time
	Branch string
	PR     string // owner/repo#N
	Number int
	What   string // "new", "approved", "merged", "closed", "labels", "note", "disposition"
	Detail string
	By     string // a person, for notes and dispositions; "" for what GitHub said
}

// DiffBoards says what changed between two reads of a branch, newest PR first.
func DiffBoards(old, cur *BranchBoard, label string, now time.Time) []PickChange {
	var out []PickChange
	for _, p := range cur.Picks {
		ch := func(what, detail string) {
			out = append(out, PickChange{At: now, Branch: cur.Branch, PR: p.Ref(), Number: p.Number, What: what, Detail: detail})
		}
		var was *CherryPick
		if old != nil {
			was = old.Pick(p.Number)
		}
		if was == nil {
			if old != nil { // the first read of a branch is not news
				ch("new", p.Title)
			}
			continue
		}
		switch {
		case was.State != PickMerged && p.State == PickMerged:
			ch("merged", "")
		case was.State != PickClosed && p.State == PickClosed:
			ch("closed", "")
		case !was.Approved(label) && p.Approved(label):
			ch("approved", label)
		}
		if added, removed := labelDiff(was.Labels, p.Labels); len(added)+len(removed) > 0 {
			var parts []string
			for _, l := range added {
				parts = append(parts, "+"+l)
			}
			for _, l := range removed {
				parts = append(parts, "-"+l)
			}
			ch("labels", strings.Join(parts, " "))
		}
	}
	slices.SortStableFunc(out, func(a, b PickChange) int { return cmp.Compare(b.Number, a.Number) })
	return out
}

func labelDiff(was, is []string) (added, removed []string) {
	for _, l := range is {
		if !slices.Contains(was, l) {
			added = append(added, l)
		}
	}
	for _, l := range was {
		if !slices.Contains(is, l) {
			removed = append(removed, l)
		}
	}
	return added, removed
}

// PatchSection is one upcoming (or past) patch release of a branch on the board, with its
// dates from the calendar, and the cherry-picks that belong to it.
type PatchSection struct {
	Version     string // v1.31.4; "" when the calendar does not say
	Deadline    Day    // cherry-pick deadline
	Target      Day    // target date
	Picks       []CherryPick
	WithoutDate bool
}

// Sections sorts a branch's cherry-picks into patch releases, newest first, as the
// playbook's spreadsheet does: open ones and those merged since the last patch go to the next
// patch release; earlier merges and closes to the release whose window they closed in.
// patches are the branch's patch releases from the calendar (version and dates), any order.
func Sections(b *BranchBoard, patches []PatchSection) []PatchSection {
	ps := slices.Clone(patches)
	slices.SortFunc(ps, func(x, y PatchSection) int { return y.Target.Compare(x.Target) })
	if len(ps) == 0 {
		ps = []PatchSection{{WithoutDate: true}}
	}
	for _, p := range b.Picks {
		i := 0 // the newest section, unless it closed before an older release's target
		if p.State != PickOpen && !p.ClosedAt.IsZero() {
			closed := DayOf(p.ClosedAt.UTC())
			for j := len(ps) - 1; j >= 0; j-- {
				if !ps[j].WithoutDate && closed.Compare(ps[j].Target) <= 0 {
					i = j
					break
				}
			}
		}
		ps[i].Picks = append(ps[i].Picks, p)
	}
	for i := range ps {
		slices.SortFunc(ps[i].Picks, func(x, y CherryPick) int { return cmp.Compare(y.Number, x.Number) })
	}
	return ps
}

// KnownIssue is an issue in the patch-release format: a ```release block with
// introduced-in= and resolved-in= lines, and priority and SIG labels.
type KnownIssue struct {
	Repo       string
	Number     int
	Title      string
	URL        string
	State      string // open, closed
	Labels     []string
	Introduced []Version
	Resolved   []Version
	Problems   []string // what in its release blocks could not be read
}

// ParseReleaseBlocks reads the ```release blocks of an issue body, as
// patch-release-issues-format describes them. Lines that are not key=version, unknown keys,
// placeholders (vX.Y.Z) and an unclosed block are problems, reported, never guessed.
func ParseReleaseBlocks(body string) (introduced, resolved []Version, problems []string, found bool) {
	lines := strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n")
	in := false
	for i, raw := range lines {
		line := strings.TrimSpace(raw)
		switch {
		case !in && (line == "```release" || line == "``` release"):
			in, found = true, true
			continue
		case in && strings.HasPrefix(line, "```"):
			in = false
			continue
		case !in || line == "":
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			problems = append(problems, fmt.Sprintf("line %d: %q is not key=version", i+1, line))
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		v, err := ParseVersion(val)
		if err != nil {
			problems = append(problems, fmt.Sprintf("line %d: %s=%q is not a version like v1.31.2", i+1, key, val))
			continue
		}
		switch key {
		case "introduced-in":
			introduced = append(introduced, v)
		case "resolved-in":
			resolved = append(resolved, v)
		default:
			problems = append(problems, fmt.Sprintf("line %d: unknown key %q (introduced-in or resolved-in)", i+1, key))
		}
	}
	if in {
		problems = append(problems, "a ```release block is not closed")
	}
	return introduced, resolved, problems, found
}

// KnownStanding is where a known issue stands on one branch before its next patch release.
type KnownStanding string

// The standings of a known issue on a branch.
const (
	KnownNotHere    KnownStanding = ""          // not introduced on this branch
	KnownOpen       KnownStanding = "open"      // no fix on this branch yet
	KnownFixedNext  KnownStanding = "next"      // the next patch release resolves it
	KnownFixedLater KnownStanding = "later"     // a later patch release is to resolve it
	KnownFixed      KnownStanding = "fixed"     // resolved in a release already out
	KnownUnreadable KnownStanding = "malformed" // its release block could not be read
)

// On says where the issue stands on minor (e.g. v1.31) given the branch's next patch release.
func (k KnownIssue) On(major, minor uint64, next Version) KnownStanding {
	if len(k.Problems) > 0 {
		return KnownUnreadable
	}
	here := func(vs []Version) []Version {
		var out []Version
		for _, v := range vs {
			if v.Major == major && v.Minor == minor {
				out = append(out, v)
			}
		}
		return out
	}
	intro, res := here(k.Introduced), here(k.Resolved)
	if len(intro) == 0 && len(res) == 0 {
		return KnownNotHere
	}
	if len(res) == 0 {
		return KnownOpen
	}
	r := res[0]
	switch c := r.Compare(next); {
	case c == 0:
		return KnownFixedNext
	case c > 0:
		return KnownFixedLater
	}
	return KnownFixed
}
