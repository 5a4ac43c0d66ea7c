package cutbot

import (
	"fmt"
	"strings"
	"time"
)

// IssueRef names the GitHub issue that tracks a cut (kubernetes/sig-release's "Cut a
// release"). A ref with Number 0 records the intent to create it.
type IssueRef struct {
	Repo    string // owner/name
	Number  int
	URL     string
	Created bool // cutbot opened it (else a release manager linked an existing one)
}

// Known reports whether the issue exists and its number is recorded.
func (r IssueRef) Known() bool { return r.Number > 0 }

// IssueMarker is hidden in the body of every issue cutbot opens, so that an issue opened just
// before a crash is found again rather than opened twice.
func IssueMarker(cutID string) string { return "<!-- cutbot:cut " + cutID + " -->" }

// GateCheck is one check done before the no-mock stage.
type GateCheck struct {
	Name   string // "publishing-bot", "testgrid"
	OK     bool
	Detail string // what was seen, e.g. "kubernetes/kubernetes#56876 is closed"
	URL    string
	// Failing lists what failed, e.g. the failing testgrid jobs, each "name <url>".
	Failing []string
}

// Gates is the result of checking every gate at one moment.
type Gates struct {
	At     time.Time
	By     string
	Checks []GateCheck
}

// OK reports whether every check passed.
func (g *Gates) OK() bool {
	if g == nil || len(g.Checks) == 0 {
		return false
	}
	for _, c := range g.Checks {
		if !c.OK {
			return false
		}
	}
	return true
}

// Failures says in a line what failed.
func (g *Gates) Failures() string {
	var out []string
	for _, c := range g.Checks {
		if !c.OK {
			s := c.Detail
			if len(c.Failing) > 0 {
				s += ": " + strings.Join(c.Failing, ", ")
			}
			out = append(out, s)
		}
	}
	return strings.Join(out, "; ")
}

// IssueIntent records that cutbot is about to open the cut's issue, before it does.
type IssueIntent struct {
	Repo string
}

func (e IssueIntent) apply(c *Cut, _ time.Time) (*AuditEntry, error) {
	if e.Repo == "" {
		return nil, c.refuse("an issue intent needs a repository")
	}
	if c.Issue != nil && c.Issue.Known() {
		return nil, c.conflict("the cut already has issue %s#%d", c.Issue.Repo, c.Issue.Number)
	}
	c.Issue = &IssueRef{Repo: e.Repo}
	return nil, nil
}

// IssueLinked records the cut's issue: opened by cutbot, or an existing one a release manager
// named.
type IssueLinked struct {
	Ref IssueRef
	By  string
}

func (e IssueLinked) apply(c *Cut, _ time.Time) (*AuditEntry, error) {
	if !e.Ref.Known() || e.Ref.Repo == "" || e.Ref.URL == "" {
		return nil, c.refuse("a linked issue needs its repository, number and URL")
	}
	if c.Issue != nil && c.Issue.Known() && c.Issue.Number != e.Ref.Number {
		return nil, c.conflict("the cut already tracks issue %s#%d", c.Issue.Repo, c.Issue.Number)
	}
	ref := e.Ref
	c.Issue = &ref
	action := "issue.linked"
	if ref.Created {
		action = "issue.opened"
	}
	return &AuditEntry{Actor: e.By, Action: action, Detail: fmt.Sprintf("%s#%d %s", ref.Repo, ref.Number, ref.URL)}, nil
}

// GatesChecked records the result of the checks done before the no-mock stage: each is a fact
// the no-mock stage is allowed (or refused) on.
type GatesChecked struct {
	Gates Gates
}

func (e GatesChecked) apply(c *Cut, now time.Time) (*AuditEntry, error) {
	if len(e.Gates.Checks) == 0 {
		return nil, c.refuse("a gate result needs checks")
	}
	g := e.Gates
	if g.At.IsZero() {
		g.At = now
	}
	g.Checks = append([]GateCheck(nil), g.Checks...)
	c.Gates = &g
	var parts []string
	for _, ch := range g.Checks {
		state := "passed"
		if !ch.OK {
			state = "FAILED"
		}
		part := fmt.Sprintf("%s %s (%s)", ch.Name, state, ch.Detail)
		if len(ch.Failing) > 0 {
			part += ": " + strings.Join(ch.Failing, ", ")
		}
		parts = append(parts, part)
	}
	return &AuditEntry{Actor: g.By, Action: "gates.checked", Stage: NoMockStage, Detail: strings.Join(parts, "; ")}, nil
}

// PromotionPRFound records the image-promotion PR of the cut's promotion attempt: found by
// cutbot among kubernetes/k8s.io's PRs, or named by a release manager.
type PromotionPRFound struct {
	Attempt int
	Ref     string // e.g. kubernetes/k8s.io#9340
	URL     string
	Title   string
	By      string
}

func (e PromotionPRFound) apply(c *Cut, _ time.Time) (*AuditEntry, error) {
	if e.Ref == "" || e.URL == "" {
		return nil, c.refuse("a promotion PR needs its reference and URL")
	}
	a, err := c.inFlightAttempt(ImagePromotion, e.Attempt)
	if err != nil {
		return nil, err
	}
	if a.BuildID != "" && a.BuildID != e.Ref {
		// A release manager may point at another PR (the first was closed, say).
		if e.By == "" {
			return nil, c.conflict("the promotion already follows %s", a.BuildID)
		}
	}
	a.Status, a.BuildID, a.LogURL, a.Step = StatusRunning, e.Ref, e.URL, "waiting for approval"
	detail := fmt.Sprintf("%s %q %s", e.Ref, e.Title, e.URL)
	return &AuditEntry{Actor: e.By, Action: "fact.promotion_pr", Stage: ImagePromotion, Attempt: e.Attempt, Detail: detail}, nil
}

// StageNoted records an outside fact about a running attempt (the PR merged at a commit, the
// promotion job passed at a URL) and what the attempt now waits for. Facts are audited.
type StageNoted struct {
	Stage   StageKind
	Attempt int
	Key     string // Outputs key, e.g. "merge_sha"
	Value   string
	Fact    string // the audit line, e.g. "kubernetes/k8s.io#9340 merged at 1a2b3c"
	Step    string // what the attempt waits for now, if it changed
}

func (e StageNoted) apply(c *Cut, _ time.Time) (*AuditEntry, error) {
	a, err := c.inFlightAttempt(e.Stage, e.Attempt)
	if err != nil {
		return nil, err
	}
	if e.Key != "" {
		if a.Outputs == nil {
			a.Outputs = map[string]string{}
		}
		a.Outputs[e.Key] = e.Value
	}
	if e.Step != "" {
		a.Step = e.Step
	}
	if e.Fact == "" {
		return nil, nil
	}
	return &AuditEntry{Action: "fact." + e.Key, Stage: e.Stage, Attempt: e.Attempt, Detail: e.Fact}, nil
}

// AnnouncementLinked records the link of the release announcement (the kubernetes-dev mail).
type AnnouncementLinked struct {
	URL string
	By  string
}

func (e AnnouncementLinked) apply(c *Cut, _ time.Time) (*AuditEntry, error) {
	if !strings.HasPrefix(e.URL, "https://") && !strings.HasPrefix(e.URL, "http://") {
		return nil, c.refuse("%q is not a link: give the announcement's URL, e.g. https://groups.google.com/a/kubernetes.io/g/dev/c/…", e.URL)
	}
	if c.Status == CutAborted {
		return nil, c.refuse("the cut was aborted")
	}
	c.AnnouncementURL = e.URL
	return &AuditEntry{Actor: e.By, Action: "announcement.linked", Detail: e.URL}, nil
}

// Helpers are the people who ran the cut's commands, in the order they first did, for the
// "is live" shoutout.
func (c *Cut) Helpers() []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range c.Audit {
		if e.Actor == "" || seen[e.Actor] || strings.HasPrefix(e.Action, "fact.") || strings.HasPrefix(e.Action, "stage.warned") {
			continue
		}
		seen[e.Actor] = true
		out = append(out, e.Actor)
	}
	return out
}
