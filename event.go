package cutbot

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Event is something that happened to a cut. Apply it with Cut.Apply.
type Event interface {
	// apply changes c (a private copy) or says why it may not; it returns the audit entry
	// to record, if the event is worth one.
	apply(c *Cut, now time.Time) (*AuditEntry, error)
}

func (c *Cut) refuse(format string, args ...any) error {
	return Errorf(EINVALID, "%s: %s", c.Spec.Version, fmt.Sprintf(format, args...))
}

func (c *Cut) conflict(format string, args ...any) error {
	return Errorf(ECONFLICT, "%s: %s", c.Spec.Version, fmt.Sprintf(format, args...))
}

func (c *Cut) mustBeActive() error {
	switch c.Status {
	case CutAborted:
		return c.refuse("the cut was aborted (%s); open a new cut to try again", c.AbortReason)
	case CutDone:
		return c.refuse("the cut is done")
	}
	return nil
}

func (c *Cut) stage(k StageKind) (*Stage, error) {
	s := c.Stage(k)
	if s == nil {
		return nil, c.refuse("this cut has no stage %q", k)
	}
	return s, nil
}

// attempt returns the stage's current attempt if it is attempt n and in flight.
func (c *Cut) inFlightAttempt(k StageKind, n int) (*Attempt, error) {
	s, err := c.stage(k)
	if err != nil {
		return nil, err
	}
	a := s.Current()
	switch {
	case a == nil:
		return nil, c.refuse("%s has not started", k.Title())
	case a.N != n:
		return nil, c.conflict("%s attempt %d is not the current attempt (%d is)", k.Title(), n, a.N)
	case !a.Status.InFlight():
		return nil, c.conflict("%s attempt %d already %s", k.Title(), n, a.Status)
	}
	return a, nil
}

// StartStage starts the next attempt of a stage: the first, or a retry after a failure or
// cancellation. Stages run in plan order; Force (a reason) overrides the order and is
// recorded. A build stage needs the build version it builds from. A no-mock stage starts only
// from its pending confirmation (Confirmation names it), by the user who asked for it; the
// force reason and build version are then the ones that were confirmed.
type StartStage struct {
	Stage        StageKind
	By           string
	Force        string
	BuildVersion string
	Confirmation string
	// OpenPR, for the image promotion: cutbot opens the PR itself (OpenPromotionPR).
	OpenPR bool
}

// startable checks that stage k may start now, and returns the earlier stages that have not
// finished (which only a force may skip).
func (c *Cut) startable(k StageKind, force string) (*Stage, []string, error) {
	if err := c.mustBeActive(); err != nil {
		return nil, nil, err
	}
	s, err := c.stage(k)
	if err != nil {
		return nil, nil, err
	}
	if c.MissingBranch != "" && k.IsBuild() {
		return nil, nil, c.refuse("%s builds from the hotfix branch %s, which does not exist yet: press *Create %s* in the cut's thread (<@%s>, who opened the cut, confirms it)", k.Title(), c.MissingBranch, c.MissingBranch, c.OpenedBy)
	}
	switch st := s.Status(); st {
	case StatusSkipped:
		return nil, nil, c.refuse("%s is not in this cut's plan (the mock pair was skipped with --no-mock-run)", k.Title())
	case StatusSucceeded:
		return nil, nil, c.conflict("%s already succeeded", k.Title())
	case StatusSubmitting, StatusRunning:
		return nil, nil, c.conflict("%s is already %s (attempt %d)", k.Title(), st, s.Current().N)
	}
	for i := range c.Stages {
		if o := &c.Stages[i]; o.Status().InFlight() {
			return nil, nil, c.conflict("%s is %s; wait for it or cancel it before starting %s", o.Kind.Title(), o.Status(), k.Title())
		}
	}
	var unmet []string
	for i := range c.Stages {
		o := &c.Stages[i]
		if o.Kind == k {
			break
		}
		if !o.Status().Finished() {
			unmet = append(unmet, fmt.Sprintf("%s (%s)", o.Kind.Title(), o.Status()))
		}
	}
	if len(unmet) > 0 && strings.TrimSpace(force) == "" {
		return nil, nil, c.refuse("%s needs %s to succeed first; --force \"reason\" overrides, and is recorded", k.Title(), strings.Join(unmet, ", "))
	}
	if k == NoMockStage && !c.Gates.OK() {
		why := "the gates have not been checked (`/release gates " + c.Spec.Version.String() + "`)"
		if c.Gates != nil {
			why = "a gate failed: " + c.Gates.Failures()
		}
		if strings.TrimSpace(force) == "" {
			return nil, nil, c.refuse("%s is blocked: %s; --force \"reason\" overrides, and is recorded", k.Title(), why)
		}
		unmet = append(unmet, "gates ("+why+")")
	}
	return s, unmet, nil
}

func forcedDetail(force string, unmet []string) string {
	if force == "" {
		return ""
	}
	d := fmt.Sprintf("forced: %q", force)
	if len(unmet) > 0 {
		d += " past " + strings.Join(unmet, ", ")
	}
	return d
}

func (e StartStage) apply(c *Cut, now time.Time) (*AuditEntry, error) {
	force, buildVersion := strings.TrimSpace(e.Force), e.BuildVersion
	confirmed := ""
	if e.Stage.NeedsConfirmation() {
		p := c.Pending
		switch {
		case e.Confirmation == "" || p == nil || p.ID != e.Confirmation:
			if outcome := c.ConfirmationOutcomes[e.Confirmation]; outcome != "" {
				return nil, c.conflict("that confirmation was already %s", outcome)
			}
			return nil, c.refuse("%s creates real artifacts and starts only after its requester confirms", e.Stage.Title())
		case p.Stage != e.Stage:
			return nil, c.refuse("the pending confirmation is for %s, not %s", p.Stage.Title(), e.Stage.Title())
		case p.By != e.By:
			return nil, Errorf(EUNAUTHORIZED, "%s: only <@%s>, who asked for %s, can confirm it", c.Spec.Version, p.By, e.Stage.Title())
		}
		force, buildVersion, confirmed = p.Force, p.BuildVersion, p.ID
	}
	s, unmet, err := c.startable(e.Stage, force)
	if err != nil {
		return nil, err
	}
	if e.Stage.IsBuild() && buildVersion == "" {
		return nil, c.refuse("%s needs a build version to build from", e.Stage.Title())
	}
	if confirmed != "" {
		c.Pending = nil
		c.setOutcome(confirmed, "confirmed")
	}
	n := len(s.Attempts) + 1
	s.Attempts = append(s.Attempts, Attempt{N: n, Status: StatusSubmitting, StartedBy: e.By, StartedAt: now, Force: force, BuildVersion: buildVersion, Confirmation: confirmed})
	switch {
	case e.Stage.IsBuild():
		c.intend(SubmitBuild{Stage: e.Stage, Attempt: n})
		if confirmed == "" { // a confirmed stage shows in its confirmation's message
			c.intend(PostMessage{Message: StageMessageKey(e.Stage, n)})
		}
	case e.Stage == ImagePromotion:
		// The line says which kpromo command to run (or that cutbot opens the PR), and
		// becomes the PR's line once found.
		if e.OpenPR {
			c.intend(OpenPromotionPR{Attempt: n})
		}
		c.intend(PostMessage{Message: StageMessageKey(e.Stage, n)})
	}
	entry := &AuditEntry{Actor: e.By, Action: "stage.started", Stage: e.Stage, Attempt: n, Detail: forcedDetail(force, unmet)}
	if n > 1 {
		entry.Action = "stage.retried"
	}
	if buildVersion != "" {
		entry.Detail = strings.TrimSpace("build version " + buildVersion + "; " + entry.Detail)
		entry.Detail = strings.TrimSuffix(entry.Detail, ";")
	}
	return entry, nil
}

func (c *Cut) setOutcome(id, outcome string) {
	if c.ConfirmationOutcomes == nil {
		c.ConfirmationOutcomes = map[string]string{}
	}
	c.ConfirmationOutcomes[id] = outcome
}

// RequestConfirmation records a request to start a no-mock stage, which waits for the
// requester to confirm. It is refused for the same reasons starting the stage would be. A
// newer request supersedes an older one.
type RequestConfirmation struct {
	ID           string
	Stage        StageKind
	By           string
	Force        string
	BuildVersion string
	Target       string
}

func (e RequestConfirmation) apply(c *Cut, now time.Time) (*AuditEntry, error) {
	if !e.Stage.NeedsConfirmation() {
		return nil, c.refuse("%s needs no confirmation", e.Stage.Title())
	}
	if e.ID == "" {
		return nil, c.refuse("a confirmation needs an id")
	}
	if _, seen := c.ConfirmationOutcomes[e.ID]; seen {
		return nil, c.conflict("confirmation %s was already used", e.ID)
	}
	force := strings.TrimSpace(e.Force)
	_, unmet, err := c.startable(e.Stage, force)
	if err != nil {
		return nil, err
	}
	if e.Stage.IsBuild() && e.BuildVersion == "" {
		return nil, c.refuse("%s needs a build version to build from", e.Stage.Title())
	}
	if c.Pending != nil {
		c.setOutcome(c.Pending.ID, "superseded")
	}
	p := Confirmation{ID: e.ID, Stage: e.Stage, By: e.By, Force: force, BuildVersion: e.BuildVersion, Target: e.Target, At: now}
	c.Pending = &p
	c.Confirmations = append(c.Confirmations, p)
	c.intend(PostMessage{Message: ConfirmationMessageKey(e.ID)})
	detail := "build version " + e.BuildVersion
	if f := forcedDetail(force, unmet); f != "" {
		detail += "; " + f
	}
	return &AuditEntry{Actor: e.By, Action: "stage.confirmation_requested", Stage: e.Stage, Detail: detail}, nil
}

// DeclineConfirmation withdraws a pending confirmation: nothing is submitted.
type DeclineConfirmation struct {
	ID string
	By string
}

func (e DeclineConfirmation) apply(c *Cut, _ time.Time) (*AuditEntry, error) {
	if c.Pending == nil || c.Pending.ID != e.ID {
		if outcome := c.ConfirmationOutcomes[e.ID]; outcome != "" {
			return nil, c.conflict("that confirmation was already %s", outcome)
		}
		return nil, c.refuse("no confirmation %q is pending", e.ID)
	}
	stage := c.Pending.Stage
	c.Pending = nil
	c.setOutcome(e.ID, "declined")
	return &AuditEntry{Actor: e.By, Action: "stage.confirmation_declined", Stage: stage}, nil
}

// StageWarned records a warning about an attempt that is taking too long (kind "queued" or
// "running"), so it is given once.
type StageWarned struct {
	Stage   StageKind
	Attempt int
	Kind    string
	Detail  string
}

func (e StageWarned) apply(c *Cut, _ time.Time) (*AuditEntry, error) {
	a, err := c.inFlightAttempt(e.Stage, e.Attempt)
	if err != nil {
		return nil, err
	}
	if slices.Contains(a.Warned, e.Kind) {
		return nil, c.conflict("%s attempt %d was already warned about (%s)", e.Stage.Title(), e.Attempt, e.Kind)
	}
	a.Warned = append(a.Warned, e.Kind)
	kind, _, _ := strings.Cut(e.Kind, ":")
	return &AuditEntry{Actor: a.StartedBy, Action: "stage.warned." + kind, Stage: e.Stage, Attempt: e.Attempt, Detail: e.Detail}, nil
}

func (StageWarned) threadNote() {}

// BuildSubmitted records that the outside system accepted an attempt and gave it an id.
type BuildSubmitted struct {
	Stage   StageKind
	Attempt int
	BuildID string
	LogURL  string
}

func (e BuildSubmitted) apply(c *Cut, _ time.Time) (*AuditEntry, error) {
	if e.BuildID == "" {
		return nil, c.refuse("a submitted build needs its id")
	}
	a, err := c.inFlightAttempt(e.Stage, e.Attempt)
	if err != nil {
		return nil, err
	}
	if a.Status == StatusRunning {
		if a.BuildID == e.BuildID {
			return nil, nil // already recorded: reconciling the same fact twice is harmless
		}
		return nil, c.conflict("%s attempt %d already runs as build %s, not %s", e.Stage.Title(), e.Attempt, a.BuildID, e.BuildID)
	}
	a.Status, a.BuildID, a.LogURL = StatusRunning, e.BuildID, e.LogURL
	c.done(SubmitBuild{Stage: e.Stage, Attempt: e.Attempt}.Key())
	return &AuditEntry{Action: "stage.submitted", Stage: e.Stage, Attempt: e.Attempt, Detail: "build " + e.BuildID}, nil
}

// StageProgressed records what a running attempt is doing now. It is not audited.
type StageProgressed struct {
	Stage   StageKind
	Attempt int
	Step    string
	Queued  bool
}

func (e StageProgressed) apply(c *Cut, _ time.Time) (*AuditEntry, error) {
	a, err := c.inFlightAttempt(e.Stage, e.Attempt)
	if err != nil {
		return nil, err
	}
	if a.Status != StatusRunning {
		return nil, c.refuse("%s attempt %d has not been submitted yet", e.Stage.Title(), e.Attempt)
	}
	a.Step, a.Queued = e.Step, e.Queued
	return nil, nil
}

// StageSucceeded records the success of an attempt and what it produced. When the last
// stage succeeds, the cut is done.
type StageSucceeded struct {
	Stage   StageKind
	Attempt int
	Outputs map[string]string
}

func (e StageSucceeded) apply(c *Cut, now time.Time) (*AuditEntry, error) {
	a, err := c.inFlightAttempt(e.Stage, e.Attempt)
	if err != nil {
		return nil, err
	}
	a.Status, a.FinishedAt, a.Step, a.Queued = StatusSucceeded, now, "", false
	if len(e.Outputs) > 0 || a.BuildVersion != "" {
		a.Outputs = make(map[string]string, len(e.Outputs)+1)
		for k, v := range e.Outputs {
			a.Outputs[k] = v
		}
		if a.Outputs[OutputBuildVersion] == "" && a.BuildVersion != "" && e.Stage.IsStage() {
			a.Outputs[OutputBuildVersion] = a.BuildVersion
		}
	}
	if c.Next() == nil {
		c.Status, c.EndedAt = CutDone, now
	}
	detail := ""
	if bv := a.Outputs[OutputBuildVersion]; bv != "" {
		detail = "build version " + bv
	}
	return &AuditEntry{Action: "stage.succeeded", Stage: e.Stage, Attempt: e.Attempt, Detail: detail}, nil
}

// StageFailed records the failure of an attempt.
type StageFailed struct {
	Stage   StageKind
	Attempt int
	Reason  string
}

func (e StageFailed) apply(c *Cut, now time.Time) (*AuditEntry, error) {
	a, err := c.inFlightAttempt(e.Stage, e.Attempt)
	if err != nil {
		return nil, err
	}
	a.Status, a.FinishedAt, a.Error, a.Queued = StatusFailed, now, e.Reason, false
	c.done(SubmitBuild{Stage: e.Stage, Attempt: e.Attempt}.Key()) // a submission refused for good
	return &AuditEntry{Action: "stage.failed", Stage: e.Stage, Attempt: e.Attempt, Detail: e.Reason}, nil
}

// StageCancelled records that an attempt was cancelled: by a user (By), which for a build
// needs the build cancelled in Cloud Build, or in Cloud Build itself (By empty).
type StageCancelled struct {
	Stage   StageKind
	Attempt int
	By      string
}

func (e StageCancelled) apply(c *Cut, now time.Time) (*AuditEntry, error) {
	a, err := c.inFlightAttempt(e.Stage, e.Attempt)
	if err != nil {
		return nil, err
	}
	a.Status, a.FinishedAt, a.Queued = StatusCancelled, now, false
	if e.Stage.IsBuild() {
		submitting := SubmitBuild{Stage: e.Stage, Attempt: e.Attempt}.Key()
		if e.By != "" && (a.BuildID != "" || c.Intends(submitting)) {
			c.intend(CancelBuild{Stage: e.Stage, Attempt: e.Attempt, BuildID: a.BuildID})
		}
		c.done(submitting)
	}
	return &AuditEntry{Actor: e.By, Action: "stage.cancelled", Stage: e.Stage, Attempt: e.Attempt}, nil
}

// Abort ends an active cut. It stays in the record with its reason.
type Abort struct {
	By     string
	Reason string
}

func (e Abort) apply(c *Cut, now time.Time) (*AuditEntry, error) {
	reason := strings.TrimSpace(e.Reason)
	if reason == "" {
		return nil, c.refuse("aborting needs a reason: --reason \"...\"")
	}
	if err := c.mustBeActive(); err != nil {
		return nil, err
	}
	for i := range c.Stages {
		if s := &c.Stages[i]; s.Status().InFlight() {
			return nil, c.conflict("%s is %s; cancel it before aborting the cut", s.Kind.Title(), s.Status())
		}
	}
	if c.Pending != nil {
		c.setOutcome(c.Pending.ID, "declined")
		c.Pending = nil
	}
	c.Status, c.EndedAt, c.AbortReason = CutAborted, now, reason
	c.intendCloseIssue()
	return &AuditEntry{Actor: e.By, Action: "cut.aborted", Detail: reason}, nil
}

func (Abort) threadNote() {}

// MessagePosted records where a message cutbot posted lives. It is not audited.
type MessagePosted struct {
	Key string
	Ref MessageRef
}

func (e MessagePosted) apply(c *Cut, _ time.Time) (*AuditEntry, error) {
	if e.Key == "" || !e.Ref.Posted() || e.Ref.Channel == "" {
		return nil, c.refuse("a posted message needs a key, a channel and a timestamp")
	}
	if old, ok := c.Messages[e.Key]; ok && old.Posted() && old.TS != e.Ref.TS {
		return nil, c.conflict("message %q is already posted as %s, not %s", e.Key, old.TS, e.Ref.TS)
	}
	c.Messages[e.Key] = e.Ref
	c.done(PostMessage{Message: e.Key}.Key())
	return nil, nil
}

// Noted records something worth a line in the cut's thread and audit trail that is not a
// change of the cut itself, such as a cherry-pick freeze of its branch.
type Noted struct {
	By     string
	Action string // e.g. freeze.started
	Detail string
}

func (e Noted) apply(c *Cut, _ time.Time) (*AuditEntry, error) {
	if e.Action == "" {
		return nil, c.refuse("a note needs an action")
	}
	return &AuditEntry{Actor: e.By, Action: e.Action, Detail: e.Detail}, nil
}

func (Noted) threadNote() {}

// NeedsAttention records that cutbot hit an internal error working on the cut (a panic, say)
// and a person should look at it; the thread says so.
type NeedsAttention struct {
	Detail string
}

func (e NeedsAttention) apply(c *Cut, _ time.Time) (*AuditEntry, error) {
	if e.Detail == "" {
		return nil, c.refuse("attention needs a reason")
	}
	if c.Attention != "" {
		return nil, c.conflict("the cut already waits for a person: %s", c.Attention)
	}
	c.Attention = e.Detail
	return &AuditEntry{Action: "cut.attention", Detail: e.Detail}, nil
}

func (NeedsAttention) threadNote() {}

// VersionChecked records what the version of a new cut was checked against (the release
// repository's branch and tags), and the reason given to cut it anyway, if any.
type VersionChecked struct {
	By     string
	Detail string
	Force  string
}

func (e VersionChecked) apply(c *Cut, _ time.Time) (*AuditEntry, error) {
	if e.Detail == "" {
		return nil, nil
	}
	action := "version.checked"
	if e.Force != "" {
		action = "version.forced"
	}
	return &AuditEntry{Actor: e.By, Action: action, Detail: e.Detail}, nil
}
