package cutbot

import (
	"fmt"
	"slices"
	"time"
)

// FreezeState is where a cherry-pick freeze of a branch stands.
type FreezeState string

// The states of a freeze.
const (
	FreezePreviewed FreezeState = "previewed" // waiting for its requester to confirm
	FreezeFreezing  FreezeState = "freezing"  // removing labels
	FreezeFrozen    FreezeState = "frozen"
	FreezeThawing   FreezeState = "thawing" // putting labels back
	FreezeThawed    FreezeState = "thawed"
	FreezeCancelled FreezeState = "cancelled"
)

// Active reports whether the freeze holds the branch (or is on its way in or out).
func (s FreezeState) Active() bool {
	return s == FreezeFreezing || s == FreezeFrozen || s == FreezeThawing
}

// SideEffect is one side effect on one PR: the intent is recorded before it, the time after.
type SideEffect struct {
	Intent bool
	Done   time.Time
}

// Pending reports whether the step may have started but is not known to be done.
func (s SideEffect) Pending() bool { return s.Intent && s.Done.IsZero() }

// FreezePR is one pull request a freeze looked at.
type FreezePR struct {
	Number  int
	Title   string
	URL     string
	Reasons []string // why it is not ready; none: it keeps its label
	Unlabel SideEffect
	Notice  SideEffect
	Skipped string // why the freeze left it after all (it became ready)
	Outcome string // at the thaw: OutcomeRelabeled, OutcomeMerged or OutcomeClosed
	Relabel SideEffect
	Thawed  SideEffect // the thaw's comment
}

// What the thaw found a PR that lost the label to be.
const (
	OutcomeRelabeled = "relabeled" // still open: the label goes back
	OutcomeMerged    = "merged"
	OutcomeClosed    = "closed"
)

// Ready reports whether the PR was ready to merge when the freeze looked.
func (p FreezePR) Ready() bool { return len(p.Reasons) == 0 }

// Freeze is a cherry-pick freeze of a branch: which PRs lost the label, when, and whether
// they got it back.
type Freeze struct {
	ID     string
	Repo   string
	Branch string
	Label  string
	Reason string
	By     string
	At     time.Time
	State  FreezeState
	PRs    []FreezePR
	ThawBy string
	ThawAt time.Time
	CutID  string // the active cut of the branch when it froze, whose thread shows it
	// AutoThaw: the freeze ends by itself once a cut of the branch is live (autopilot).
	AutoThaw bool
}

// NotReady lists the PRs that lose the label.
func (f *Freeze) NotReady() []*FreezePR {
	var out []*FreezePR
	for i := range f.PRs {
		if !f.PRs[i].Ready() {
			out = append(out, &f.PRs[i])
		}
	}
	return out
}

// Lost lists the PRs the freeze took the label from.
func (f *Freeze) Lost() []*FreezePR {
	var out []*FreezePR
	for _, p := range f.NotReady() {
		if !p.Unlabel.Done.IsZero() {
			out = append(out, p)
		}
	}
	return out
}

// ThawCounts says how many PRs got the label back at the thaw, and how many were merged or
// closed meanwhile.
func (f *Freeze) ThawCounts() (back, gone int) {
	for _, p := range f.Lost() {
		switch p.Outcome {
		case OutcomeRelabeled:
			back++
		case OutcomeMerged, OutcomeClosed:
			gone++
		}
	}
	return back, gone
}

// PR returns the freeze's PR number n.
func (f *Freeze) PR(n int) *FreezePR {
	for i := range f.PRs {
		if f.PRs[i].Number == n {
			return &f.PRs[i]
		}
	}
	return nil
}

// Move changes the freeze's state if the move is legal.
func (f *Freeze) Move(to FreezeState) error {
	legal := map[FreezeState][]FreezeState{
		FreezePreviewed: {FreezeFreezing, FreezeCancelled},
		FreezeFreezing:  {FreezeFrozen},
		FreezeFrozen:    {FreezeThawing},
		FreezeThawing:   {FreezeThawed},
	}
	if !slices.Contains(legal[f.State], to) {
		return Errorf(ECONFLICT, "the freeze of %s is %s; it cannot become %s", f.Branch, f.State, to)
	}
	f.State = to
	return nil
}

// FreezeMarker is hidden in cutbot's comments about a freeze, so that a comment posted just
// before a crash is found and not posted again.
func FreezeMarker(id, kind string) string { return fmt.Sprintf("<!-- cutbot:%s %s -->", kind, id) }

// PRs says "1 PR" or "n PRs".
func PRs(n int) string {
	if n == 1 {
		return "1 PR"
	}
	return fmt.Sprintf("%d PRs", n)
}
