package cutbot

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CutStatus is where a cut is in its life.
type CutStatus string

// The statuses of a cut.
const (
	CutActive  CutStatus = "active"
	CutDone    CutStatus = "done"
	CutAborted CutStatus = "aborted"
)

// StageStatus is where one stage of a cut stands.
type StageStatus string

// The statuses of a stage. An attempt is Submitting from the moment cutbot decides to run it
// (persisted before anything is submitted) until the outside system has accepted it.
const (
	StatusPending    StageStatus = "pending"
	StatusSkipped    StageStatus = "skipped"
	StatusSubmitting StageStatus = "submitting"
	StatusRunning    StageStatus = "running"
	StatusSucceeded  StageStatus = "succeeded"
	StatusFailed     StageStatus = "failed"
	StatusCancelled  StageStatus = "cancelled"
)

// InFlight reports whether a stage in this status has work outside cutbot under way.
func (s StageStatus) InFlight() bool { return s == StatusSubmitting || s == StatusRunning }

// Finished reports whether the stage needs nothing more before the next can start.
func (s StageStatus) Finished() bool { return s == StatusSucceeded || s == StatusSkipped }

// OutputBuildVersion is the Outputs key of the build version a stage resolved, which the
// matching release consumes.
const OutputBuildVersion = "build_version"

// Attempt is one run of a stage. A retry is a new attempt; old attempts stay for the record.
type Attempt struct {
	N          int
	Status     StageStatus
	StartedBy  string // Slack user id
	StartedAt  time.Time
	FinishedAt time.Time
	Force      string // the reason given to start it out of order, if any
	BuildID    string
	LogURL     string
	Step       string // what the outside job is doing now
	Queued     bool   // the outside job is accepted but waiting to start
	Warned     []string
	Error      string
	// BuildVersion is what the attempt builds from: resolved from CI for a stage, taken from
	// the matching stage's success for a release.
	BuildVersion string
	// Confirmation is the id of the confirmation the attempt started from, if any: its
	// message becomes the attempt's line.
	Confirmation string
	Outputs      map[string]string
}

// Duration is how long the attempt ran, or has run until now.
func (a *Attempt) Duration(now time.Time) time.Duration {
	end := a.FinishedAt
	if end.IsZero() {
		end = now
	}
	return end.Sub(a.StartedAt)
}

// Stage is one step of a cut's plan and its attempts.
type Stage struct {
	Kind     StageKind
	Skipped  bool
	Attempts []Attempt
}

// Status is the stage's status: skipped, pending, or that of its latest attempt.
func (s *Stage) Status() StageStatus {
	switch {
	case s.Skipped:
		return StatusSkipped
	case len(s.Attempts) == 0:
		return StatusPending
	}
	return s.Attempts[len(s.Attempts)-1].Status
}

// Current returns the latest attempt, or nil.
func (s *Stage) Current() *Attempt {
	if len(s.Attempts) == 0 {
		return nil
	}
	return &s.Attempts[len(s.Attempts)-1]
}

// MessageRef locates a Slack message cutbot posted. A ref with an empty TS records the intent
// to post: the post may or may not have reached Slack, so it must be looked up before posting
// again.
type MessageRef struct {
	Channel   string
	TS        string
	Permalink string
}

// Posted reports whether the message is known to exist.
func (r MessageRef) Posted() bool { return r.TS != "" }

// StageMessageKey is the message key of the thread line of a stage attempt.
func StageMessageKey(k StageKind, attempt int) string {
	return "stage:" + string(k) + ":" + strconv.Itoa(attempt)
}

// ConfirmationMessageKey is the message key of a confirmation request.
func ConfirmationMessageKey(id string) string { return "confirm:" + id }

// Confirmation is a request to run a no-mock stage, waiting for the release manager who asked
// to press Confirm. Nothing is submitted before.
type Confirmation struct {
	ID           string
	Stage        StageKind
	By           string
	Force        string
	BuildVersion string
	Target       string // where it will run, e.g. "k8s-release (us-central1)"
	At           time.Time
}

// MessageLive is the "Kubernetes v1.31.3 is live!" message, posted to the channel.
const MessageLive = "live"

// Keys of the messages every cut has.
const (
	MessageThread = "thread" // the thread's parent: ":thread: Release Cut v1.31.3 (GH Issue)"
	MessagePlan   = "plan"   // the first reply: the plan and each stage's standing
)

// AuditEntry is one line of a cut's audit trail: who did what and when, and why.
type AuditEntry struct {
	Seq     int
	At      time.Time
	Actor   string // Slack user id, or "" for cutbot itself
	Action  string
	Stage   StageKind
	Attempt int
	Detail  string
}

// Cut is one release cut: its spec, where each stage stands, the Slack messages that show it,
// and its audit trail. Change it only with Apply.
type Cut struct {
	ID          string // assigned by the store
	Spec        CutSpec
	Status      CutStatus
	Stages      []Stage
	Channel     string // the Slack channel the cut's thread lives in
	OpenedBy    string
	OpenedAt    time.Time
	EndedAt     time.Time
	AbortReason string
	Messages    map[string]MessageRef
	Audit       []AuditEntry
	// Pending is the confirmation the cut waits for, if any.
	Pending *Confirmation
	// Confirmations are every confirmation ever requested, for the record and so that a late
	// click on an old button is answered with what became of it.
	Confirmations []Confirmation
	// ConfirmationOutcomes maps a confirmation id to "confirmed", "declined" or "superseded".
	ConfirmationOutcomes map[string]string

	Issue           *IssueRef // the GitHub issue tracking the cut
	Gates           *Gates    // the last check before the no-mock stage
	AnnouncementURL string

	// Journal holds the intents of the effects the cut's changes need and that are not yet
	// recorded done, in the order they were needed.
	Journal []Effect
	// MissingBranch is the hotfix branch the cut runs from while it does not exist yet: no
	// stage starts before it is created (RequestBranch).
	MissingBranch string
	// Autopilot says whether cutbot takes the cut's routine steps by itself (see
	// AutopilotStep); AutoTried are the stages it has taken.
	Autopilot bool
	AutoTried []StageKind
	// ScheduleURL is the schedule.yaml PR cutbot opened after the release.
	ScheduleURL string
	// Notes is the release-notes preview of a patch cut, once drafted.
	Notes *NotesDraft
	// VersionPublic: the release calendar named the version when the cut opened.
	VersionPublic bool
	// Lifted is when a release manager lifted the embargo of an embargoed cut (LiftedBy).
	Lifted   time.Time
	LiftedBy string
	// Attention says why cutbot needs a person to look at the cut (it hit an internal error
	// working on it); cleared when a person next acts on the cut.
	Attention string
}

// NewCut starts a cut of spec, opened by a user, to be shown in channel.
func NewCut(spec CutSpec, channel, by string, now time.Time) (*Cut, error) {
	if spec.Version.IsZero() || spec.Type == "" || spec.Branch == "" {
		return nil, Errorf(EINVALID, "incomplete cut spec %+v: build it with NewCutSpec", spec)
	}
	if channel == "" || by == "" {
		return nil, Errorf(EINVALID, "a cut needs a channel and the user who opened it")
	}
	c := &Cut{Spec: spec, Status: CutActive, Channel: channel, OpenedBy: by, OpenedAt: now, Messages: map[string]MessageRef{}}
	for _, step := range spec.Plan() {
		c.Stages = append(c.Stages, Stage{Kind: step.Kind, Skipped: step.Skipped})
	}
	c.intend(PostMessage{Message: MessageThread})
	c.intend(PostMessage{Message: MessagePlan})
	detail := fmt.Sprintf("%s on %s", spec.Type, spec.Branch)
	if spec.Hotfix() {
		detail = fmt.Sprintf("%s hotfix on %s (made from %s)", spec.Type, spec.Branch, spec.HotfixBase())
	}
	if spec.Embargo != "" {
		detail += ", embargoed (" + spec.Embargo + ")"
	}
	if spec.Source != (Source{}) {
		detail += ", Kubernetes from " + spec.Source.String()
	}
	if spec.NoMockRun {
		detail += ", without the mock pair"
	}
	c.Audit = []AuditEntry{{Seq: 1, At: now, Actor: by, Action: "cut.opened", Detail: detail}}
	return c, nil
}

// Version is the version being cut.
func (c *Cut) Version() Version { return c.Spec.Version }

// Stage returns the cut's stage of kind k, or nil.
func (c *Cut) Stage(k StageKind) *Stage {
	for i := range c.Stages {
		if c.Stages[i].Kind == k {
			return &c.Stages[i]
		}
	}
	return nil
}

// LineKey is the key of the thread message that shows attempt n of stage k: the
// confirmation it started from, for a confirmed no-mock stage, or its own line.
func (c *Cut) LineKey(k StageKind, n int) string {
	if s := c.Stage(k); s != nil && n >= 1 && n <= len(s.Attempts) && s.Attempts[n-1].Confirmation != "" {
		return ConfirmationMessageKey(s.Attempts[n-1].Confirmation)
	}
	return StageMessageKey(k, n)
}

// Next returns the first stage that has not finished, or nil when all have.
func (c *Cut) Next() *Stage {
	for i := range c.Stages {
		if !c.Stages[i].Status().Finished() {
			return &c.Stages[i]
		}
	}
	return nil
}

// Standing says in a few words where the cut stands, for status lists and the thread.
func (c *Cut) Standing() string {
	switch c.Status {
	case CutDone:
		return "done"
	case CutAborted:
		return "aborted"
	}
	next := c.Next()
	if next == nil {
		return "done"
	}
	// Only where the cut stands in its plan: what a stage is doing right now is its own
	// line's business, so that the thread's parent changes only when a stage does.
	switch st := next.Status(); st {
	case StatusPending:
		if c.started() {
			return "next: " + next.Kind.Title()
		}
		return "planned, next: " + next.Kind.Title()
	case StatusSubmitting, StatusRunning:
		verb := "running"
		if !next.Kind.IsBuild() {
			verb = "under way"
		}
		return fmt.Sprintf("%s %s (attempt %d)", next.Kind.Title(), verb, next.Current().N)
	default:
		return fmt.Sprintf("%s %s (attempt %d)", next.Kind.Title(), st, next.Current().N)
	}
}

func (c *Cut) started() bool {
	for i := range c.Stages {
		if len(c.Stages[i].Attempts) > 0 {
			return true
		}
	}
	return false
}

// Apply changes the cut by one event at time now. It is the only way a cut's state changes.
// An event that is not legal in the cut's current state is refused with a coded error that
// says why, and the cut is left exactly as it was. It returns the effects the change needs,
// which are now also intents in the cut's Journal.
func (c *Cut) Apply(e Event, now time.Time) ([]Effect, error) {
	next := c.clone()
	entry, err := e.apply(next, now)
	if err != nil {
		return nil, err
	}
	if entry != nil {
		entry.Seq = len(next.Audit) + 1
		entry.At = now
		next.Audit = append(next.Audit, *entry)
		if _, ok := e.(threadNote); ok {
			next.intend(PostMessage{Message: AuditMessageKey(entry.Seq)})
		}
		if entry.Actor != "" && !strings.HasPrefix(entry.Action, "stage.warned") {
			next.Attention = "" // a person acted on the cut since cutbot asked for one
		}
	}
	effects := next.added(c.Journal)
	*c = *next
	return effects, nil
}

// threadNote marks the events whose audit entry is also posted as a note in the thread.
type threadNote interface{ threadNote() }

func (c *Cut) clone() *Cut {
	n := *c
	n.Stages = make([]Stage, len(c.Stages))
	for i, s := range c.Stages {
		s.Attempts = slices.Clone(s.Attempts)
		for j := range s.Attempts {
			s.Attempts[j].Outputs = maps.Clone(s.Attempts[j].Outputs)
			s.Attempts[j].Warned = slices.Clone(s.Attempts[j].Warned)
		}
		n.Stages[i] = s
	}
	n.Messages = maps.Clone(c.Messages)
	if n.Messages == nil {
		n.Messages = map[string]MessageRef{}
	}
	n.Audit = slices.Clone(c.Audit)
	if c.Pending != nil {
		p := *c.Pending
		n.Pending = &p
	}
	n.Confirmations = slices.Clone(c.Confirmations)
	if c.Issue != nil {
		i := *c.Issue
		n.Issue = &i
	}
	if c.Gates != nil {
		g := *c.Gates
		g.Checks = slices.Clone(g.Checks)
		for i := range g.Checks {
			g.Checks[i].Failing = slices.Clone(g.Checks[i].Failing)
		}
		n.Gates = &g
	}
	n.ConfirmationOutcomes = maps.Clone(c.ConfirmationOutcomes)
	n.Journal = slices.Clone(c.Journal)
	n.AutoTried = slices.Clone(c.AutoTried)
	if c.Notes != nil {
		d := *c.Notes
		d.Items, d.Without = slices.Clone(d.Items), slices.Clone(d.Without)
		n.Notes = &d
	}
	return &n
}

// Clone returns a deep copy of the cut.
func (c *Cut) Clone() *Cut { return c.clone() }

// HumanDuration reads "1h 52m", "12m 3s", "40s".
func HumanDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d >= time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	case d >= time.Minute:
		return fmt.Sprintf("%dm %ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%ds", int(d.Seconds()))
}
