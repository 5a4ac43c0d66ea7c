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

// IssueIntent asks for the cut's issue to be opened in Repo (OpenIssue), unless it has one.
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
	c.intend(OpenIssue{Repo: e.Repo})
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
	c.done(OpenIssue{}.Key())
	if c.Status == CutAborted {
		c.intendCloseIssue() // the issue was opened as the cut was being aborted
	}
	action := "issue.linked"
	if ref.Created {
		action = "issue.opened"
	}
	return &AuditEntry{Actor: e.By, Action: action, Detail: fmt.Sprintf("%s#%d %s", ref.Repo, ref.Number, ref.URL)}, nil
}

// intendCloseIssue asks for the aborted cut's issue to say why, and to be closed if cutbot
// opened it.
func (c *Cut) intendCloseIssue() {
	if c.Issue == nil || !c.Issue.Known() {
		return
	}
	c.intend(CloseIssue{Repo: c.Issue.Repo, Number: c.Issue.Number, Reason: c.AbortReason, Close: c.Issue.Created})
}

// IssueClosed records that the aborted cut's issue says why (and is closed, if cutbot opened
// it).
type IssueClosed struct {
	Closed bool
}

func (e IssueClosed) apply(c *Cut, _ time.Time) (*AuditEntry, error) {
	if !c.Intends(CloseIssue{}.Key()) {
		return nil, c.conflict("the cut's issue is not waiting to be closed")
	}
	c.done(CloseIssue{}.Key())
	action := "issue.commented"
	if e.Closed {
		action = "issue.closed"
	}
	return &AuditEntry{Action: action, Detail: fmt.Sprintf("%s#%d: the cut was aborted", c.Issue.Repo, c.Issue.Number)}, nil
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

func (GatesChecked) threadNote() {}

// The Outputs of an image-promotion attempt, each set by one typed event below.
const (
	OutputPRComment = "pr_comment" // the PR the build links were commented on
	OutputApproved  = "approved"   // "yes" once the PR is approved
	OutputHeld      = "held"       // "yes" while an approved PR is on hold
	OutputMergeSHA  = "merge_sha"  // the merge commit
	OutputJobFailed = "job_failed" // the last failed run of the promotion job
	OutputJobRun    = "job_run"    // the run of the promotion job seen running
	OutputJobURL    = "job_url"    // the run of the promotion job that passed
	OutputPRClosed  = "pr_closed"  // "yes" when the PR was closed without merging
	OutputRelease   = "release_url"
)

// PromotionPRFound records the image-promotion PR of the cut's promotion attempt: found by
// cutbot among kubernetes/k8s.io's PRs, or named by a release manager. cutbot then comments
// the cut's build links on it (CommentBuilds), once.
type PromotionPRFound struct {
	Attempt int
	Ref     string // e.g. kubernetes/k8s.io#9340
	URL     string
	Title   string
	By      string
	// Opened: cutbot opened it (OpenPromotionPR), with the build links in its body.
	Opened bool
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
		for _, k := range []string{OutputApproved, OutputHeld, OutputMergeSHA, OutputJobFailed, OutputPRClosed} {
			delete(a.Outputs, k)
		}
	}
	a.Status, a.BuildID, a.LogURL = StatusRunning, e.Ref, e.URL
	c.done(OpenPromotionPR{Attempt: e.Attempt}.Key())
	if e.Opened {
		if a.Outputs == nil {
			a.Outputs = map[string]string{}
		}
		a.Outputs[OutputOpened], a.Outputs[OutputPRComment] = "yes", e.Ref // its body has the links
	}
	if a.Outputs[OutputPRComment] != e.Ref {
		c.intend(CommentBuilds{Attempt: e.Attempt, PR: e.Ref})
	}
	detail := fmt.Sprintf("%s %q %s", e.Ref, e.Title, e.URL)
	if e.Opened {
		detail = "opened " + detail
	}
	return &AuditEntry{Actor: e.By, Action: "fact.promotion_pr", Stage: ImagePromotion, Attempt: e.Attempt, Detail: detail}, nil
}

// promotion returns the running promotion attempt n and its outputs, ready to write.
func (c *Cut) promotion(n int) (*Attempt, error) {
	a, err := c.inFlightAttempt(ImagePromotion, n)
	if err != nil {
		return nil, err
	}
	if a.BuildID == "" {
		return nil, c.refuse("the image promotion has no PR yet")
	}
	if a.Outputs == nil {
		a.Outputs = map[string]string{}
	}
	return a, nil
}

// PromotionCommented records that the build links are on the promotion PR.
type PromotionCommented struct {
	Attempt int
	PR      string
}

func (e PromotionCommented) apply(c *Cut, _ time.Time) (*AuditEntry, error) {
	a, err := c.promotion(e.Attempt)
	if err != nil {
		return nil, err
	}
	a.Outputs[OutputPRComment] = e.PR
	c.done(CommentBuilds{Attempt: e.Attempt, PR: e.PR}.Key())
	return &AuditEntry{Action: "fact.pr_comment", Stage: ImagePromotion, Attempt: e.Attempt, Detail: "commented on " + e.PR + " with the build links"}, nil
}

// PromotionApproved records that the promotion PR is approved, and whether it is on hold.
type PromotionApproved struct {
	Attempt int
	Held    bool
}

func (e PromotionApproved) apply(c *Cut, _ time.Time) (*AuditEntry, error) {
	a, err := c.promotion(e.Attempt)
	if err != nil {
		return nil, err
	}
	held := map[bool]string{true: "yes"}[e.Held]
	if a.Outputs[OutputApproved] == "yes" && a.Outputs[OutputHeld] == held {
		return nil, c.conflict("the approval of %s is already recorded", a.BuildID)
	}
	first := a.Outputs[OutputApproved] == ""
	a.Outputs[OutputApproved], a.Outputs[OutputHeld] = "yes", held
	if e.Held && a.Outputs[OutputOpened] == "yes" && a.Outputs[OutputUnheld] == "" {
		c.intend(UnholdPromotion{Attempt: e.Attempt, PR: a.BuildID}) // cutbot's own hold
	}
	if !first {
		return nil, nil
	}
	return &AuditEntry{Action: "fact.approved", Stage: ImagePromotion, Attempt: e.Attempt, Detail: a.BuildID + " approved"}, nil
}

// PromotionMerged records the merge commit of the promotion PR.
type PromotionMerged struct {
	Attempt int
	SHA     string
}

func (e PromotionMerged) apply(c *Cut, _ time.Time) (*AuditEntry, error) {
	a, err := c.promotion(e.Attempt)
	if err != nil {
		return nil, err
	}
	if e.SHA == "" || a.Outputs[OutputMergeSHA] != "" {
		return nil, c.conflict("the merge of %s is already recorded", a.BuildID)
	}
	a.Outputs[OutputMergeSHA] = e.SHA
	delete(a.Outputs, OutputHeld)
	return &AuditEntry{Action: "fact.merge_sha", Stage: ImagePromotion, Attempt: e.Attempt, Detail: fmt.Sprintf("%s merged at %s", a.BuildID, e.SHA)}, nil
}

// PromotionPRClosed records that the promotion PR was closed without merging.
type PromotionPRClosed struct{ Attempt int }

func (e PromotionPRClosed) apply(c *Cut, _ time.Time) (*AuditEntry, error) {
	a, err := c.promotion(e.Attempt)
	if err != nil {
		return nil, err
	}
	if a.Outputs[OutputPRClosed] == "yes" {
		return nil, c.conflict("%s is already known to be closed", a.BuildID)
	}
	a.Outputs[OutputPRClosed] = "yes"
	return &AuditEntry{Action: "fact.pr_closed", Stage: ImagePromotion, Attempt: e.Attempt, Detail: a.BuildID + " was closed without merging"}, nil
}

// PromotionJobFailed records a failed run of the promotion job after the merge; cutbot keeps
// watching for a rerun, and the thread says so.
type PromotionJobFailed struct {
	Attempt int
	Job     string // e.g. post-k8sio-image-promo
	URL     string
}

func (e PromotionJobFailed) apply(c *Cut, _ time.Time) (*AuditEntry, error) {
	a, err := c.promotion(e.Attempt)
	if err != nil {
		return nil, err
	}
	if a.Outputs[OutputJobFailed] == e.URL {
		return nil, c.conflict("the failed run %s is already recorded", e.URL)
	}
	a.Outputs[OutputJobFailed] = e.URL
	return &AuditEntry{Action: "stage.job_failed", Stage: ImagePromotion, Attempt: e.Attempt,
		Detail: fmt.Sprintf("%s failed: %s; cutbot keeps watching for a rerun", e.Job, e.URL)}, nil
}

func (PromotionJobFailed) threadNote() {}

// PromotionJobRunning records a run of the promotion job seen running after the merge.
// It is not audited.
type PromotionJobRunning struct {
	Attempt int
	URL     string
}

func (e PromotionJobRunning) apply(c *Cut, _ time.Time) (*AuditEntry, error) {
	a, err := c.promotion(e.Attempt)
	if err != nil {
		return nil, err
	}
	if a.Outputs[OutputJobRun] == e.URL {
		return nil, c.conflict("the run %s is already recorded", e.URL)
	}
	a.Outputs[OutputJobRun] = e.URL
	return nil, nil
}

// PromotionJobPassed records the run of the promotion job that passed on the merge commit or
// a later one: the images are promoted, and the stage has succeeded.
type PromotionJobPassed struct {
	Attempt int
	Job     string
	URL     string
}

func (e PromotionJobPassed) apply(c *Cut, now time.Time) (*AuditEntry, error) {
	a, err := c.promotion(e.Attempt)
	if err != nil {
		return nil, err
	}
	a.Outputs[OutputJobURL] = e.URL
	a.Status, a.FinishedAt = StatusSucceeded, now
	if c.Next() == nil {
		c.Status, c.EndedAt = CutDone, now
	}
	return &AuditEntry{Action: "stage.succeeded", Stage: ImagePromotion, Attempt: e.Attempt,
		Detail: fmt.Sprintf("%s passed on %s or later: %s", e.Job, shortSHA(a.Outputs[OutputMergeSHA]), e.URL)}, nil
}

func shortSHA(sha string) string { return sha[:min(12, len(sha))] }

// ReleasePublished records that the GitHub release of the cut's tag exists: the release is
// out, "is live" is posted, and the cut is done.
type ReleasePublished struct {
	Attempt int
	URL     string
}

func (e ReleasePublished) apply(c *Cut, now time.Time) (*AuditEntry, error) {
	a, err := c.inFlightAttempt(Announcement, e.Attempt)
	if err != nil {
		return nil, err
	}
	if e.URL == "" {
		return nil, c.refuse("a published release needs its URL")
	}
	a.Outputs = map[string]string{OutputRelease: e.URL}
	a.Status, a.FinishedAt = StatusSucceeded, now
	c.intend(PostMessage{Message: MessageLive})
	if c.Next() == nil {
		c.Status, c.EndedAt = CutDone, now
	}
	return &AuditEntry{Action: "stage.succeeded", Stage: Announcement, Attempt: e.Attempt,
		Detail: "the GitHub release " + c.Spec.Version.String() + " exists: " + e.URL}, nil
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
