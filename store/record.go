package store

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/cutbot"
)

// The records below are how cuts are written to disk. They are kept apart from the domain
// types so that the domain can change shape while old files stay readable: a field renamed
// in the domain keeps its name here, and a change of meaning gets a migration.

type cutRecord struct {
	ID          string                   `json:"id"`
	Version     string                   `json:"version"`
	Type        string                   `json:"type"`
	Branch      string                   `json:"branch"`
	NoMockRun   bool                     `json:"no_mock_run,omitempty"`
	Status      string                   `json:"status"`
	Stages      []stageRecord            `json:"stages"`
	Channel     string                   `json:"channel"`
	OpenedBy    string                   `json:"opened_by"`
	OpenedAt    time.Time                `json:"opened_at"`
	EndedAt     time.Time                `json:"ended_at,omitzero"`
	AbortReason string                   `json:"abort_reason,omitempty"`
	Messages    map[string]messageRecord `json:"messages,omitempty"`
	Audit       []auditRecord            `json:"audit"`
	Pending     *confirmationRecord      `json:"pending,omitempty"`
	Confirms    []confirmationRecord     `json:"confirmations,omitempty"`
	Outcomes    map[string]string        `json:"confirmation_outcomes,omitempty"`
	Issue       *issueRecord             `json:"issue,omitempty"`
	Gates       *gatesRecord             `json:"gates,omitempty"`
	Announce    string                   `json:"announcement_url,omitempty"`
	Journal     []effectRecord           `json:"journal,omitempty"`
	Attention   string                   `json:"attention,omitempty"`
	Embargo     string                   `json:"embargo,omitempty"`
	K8sOrg      string                   `json:"k8s_org,omitempty"`
	K8sRepo     string                   `json:"k8s_repo,omitempty"`
	K8sRef      string                   `json:"k8s_ref,omitempty"`
	Missing     string                   `json:"missing_branch,omitempty"`
	Lifted      time.Time                `json:"lifted,omitzero"`
	LiftedBy    string                   `json:"lifted_by,omitempty"`
	Autopilot   bool                     `json:"autopilot,omitempty"`
	AutoTried   []string                 `json:"auto_tried,omitempty"`
	Notes       *notesRecord             `json:"notes,omitempty"`
	Schedule    string                   `json:"schedule_pr,omitempty"`
	Public      bool                     `json:"version_public,omitempty"`
}

type notesRecord struct {
	Branch  string           `json:"branch"`
	Since   time.Time        `json:"since"`
	SinceOf string           `json:"since_of,omitempty"`
	Items   []noteItemRecord `json:"items,omitempty"`
	Without []int            `json:"without,omitempty"`
}

type noteItemRecord struct {
	PR         int    `json:"pr"`
	URL        string `json:"url,omitempty"`
	Title      string `json:"title,omitempty"`
	Kind       string `json:"kind"`
	Note       string `json:"note"`
	FromParent int    `json:"from_parent,omitempty"`
}

// effectRecord is one intent of a cut's journal: a tagged union of the domain's effects.
type effectRecord struct {
	Kind    string `json:"kind"` // post, build, cancel, issue, comment, close-issue
	Message string `json:"message,omitempty"`
	Stage   string `json:"stage,omitempty"`
	Attempt int    `json:"attempt,omitempty"`
	BuildID string `json:"build_id,omitempty"`
	Repo    string `json:"repo,omitempty"`
	PR      string `json:"pr,omitempty"`
	Number  int    `json:"number,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Close   bool   `json:"close,omitempty"`
	Branch  string `json:"branch,omitempty"`
	From    string `json:"from,omitempty"`
}

func fromEffect(e cutbot.Effect) effectRecord {
	switch e := e.(type) {
	case cutbot.PostMessage:
		return effectRecord{Kind: "post", Message: e.Message}
	case cutbot.SubmitBuild:
		return effectRecord{Kind: "build", Stage: string(e.Stage), Attempt: e.Attempt}
	case cutbot.CancelBuild:
		return effectRecord{Kind: "cancel", Stage: string(e.Stage), Attempt: e.Attempt, BuildID: e.BuildID}
	case cutbot.OpenIssue:
		return effectRecord{Kind: "issue", Repo: e.Repo}
	case cutbot.CommentBuilds:
		return effectRecord{Kind: "comment", Attempt: e.Attempt, PR: e.PR}
	case cutbot.CloseIssue:
		return effectRecord{Kind: "close-issue", Repo: e.Repo, Number: e.Number, Reason: e.Reason, Close: e.Close}
	case cutbot.CreateBranch:
		return effectRecord{Kind: "branch", Branch: e.Branch, From: e.From}
	case cutbot.OpenPromotionPR:
		return effectRecord{Kind: "promotion-pr", Attempt: e.Attempt}
	case cutbot.UnholdPromotion:
		return effectRecord{Kind: "unhold", Attempt: e.Attempt, PR: e.PR}
	case cutbot.DraftReleaseNotes:
		return effectRecord{Kind: "notes"}
	case cutbot.OpenSchedulePR:
		return effectRecord{Kind: "schedule-pr"}
	}
	panic(fmt.Sprintf("store: no record for effect %T", e))
}

func (r effectRecord) toEffect() (cutbot.Effect, error) {
	switch r.Kind {
	case "post":
		return cutbot.PostMessage{Message: r.Message}, nil
	case "build":
		return cutbot.SubmitBuild{Stage: cutbot.StageKind(r.Stage), Attempt: r.Attempt}, nil
	case "cancel":
		return cutbot.CancelBuild{Stage: cutbot.StageKind(r.Stage), Attempt: r.Attempt, BuildID: r.BuildID}, nil
	case "issue":
		return cutbot.OpenIssue{Repo: r.Repo}, nil
	case "comment":
		return cutbot.CommentBuilds{Attempt: r.Attempt, PR: r.PR}, nil
	case "close-issue":
		return cutbot.CloseIssue{Repo: r.Repo, Number: r.Number, Reason: r.Reason, Close: r.Close}, nil
	case "branch":
		return cutbot.CreateBranch{Branch: r.Branch, From: r.From}, nil
	case "promotion-pr":
		return cutbot.OpenPromotionPR{Attempt: r.Attempt}, nil
	case "unhold":
		return cutbot.UnholdPromotion{Attempt: r.Attempt, PR: r.PR}, nil
	case "notes":
		return cutbot.DraftReleaseNotes{}, nil
	case "schedule-pr":
		return cutbot.OpenSchedulePR{}, nil
	}
	return nil, fmt.Errorf("unknown effect kind %q", r.Kind)
}

type issueRecord struct {
	Repo    string `json:"repo"`
	Number  int    `json:"number,omitempty"`
	URL     string `json:"url,omitempty"`
	Created bool   `json:"created,omitempty"`
}

type gatesRecord struct {
	At     time.Time         `json:"at"`
	By     string            `json:"by,omitempty"`
	Checks []gateCheckRecord `json:"checks"`
}

type gateCheckRecord struct {
	Name    string   `json:"name"`
	OK      bool     `json:"ok"`
	Detail  string   `json:"detail,omitempty"`
	URL     string   `json:"url,omitempty"`
	Failing []string `json:"failing,omitempty"`
}

type confirmationRecord struct {
	ID           string    `json:"id"`
	Stage        string    `json:"stage"`
	By           string    `json:"by"`
	Force        string    `json:"force,omitempty"`
	BuildVersion string    `json:"build_version,omitempty"`
	Target       string    `json:"target,omitempty"`
	At           time.Time `json:"at"`
}

func fromConfirmation(c cutbot.Confirmation) confirmationRecord {
	return confirmationRecord{ID: c.ID, Stage: string(c.Stage), By: c.By, Force: c.Force, BuildVersion: c.BuildVersion, Target: c.Target, At: c.At}
}

func (r confirmationRecord) toConfirmation() cutbot.Confirmation {
	return cutbot.Confirmation{ID: r.ID, Stage: cutbot.StageKind(r.Stage), By: r.By, Force: r.Force, BuildVersion: r.BuildVersion, Target: r.Target, At: r.At}
}

type stageRecord struct {
	Kind     string          `json:"kind"`
	Skipped  bool            `json:"skipped,omitempty"`
	Attempts []attemptRecord `json:"attempts,omitempty"`
}

type attemptRecord struct {
	N          int               `json:"n"`
	Status     string            `json:"status"`
	StartedBy  string            `json:"started_by"`
	StartedAt  time.Time         `json:"started_at"`
	FinishedAt time.Time         `json:"finished_at,omitzero"`
	Force      string            `json:"force,omitempty"`
	BuildID    string            `json:"build_id,omitempty"`
	LogURL     string            `json:"log_url,omitempty"`
	Step       string            `json:"step,omitempty"`
	Queued     bool              `json:"queued,omitempty"`
	Warned     []string          `json:"warned,omitempty"`
	Error      string            `json:"error,omitempty"`
	BuildVer   string            `json:"build_version,omitempty"`
	Confirm    string            `json:"confirmation,omitempty"`
	Outputs    map[string]string `json:"outputs,omitempty"`
}

type messageRecord struct {
	Channel   string `json:"channel"`
	TS        string `json:"ts,omitempty"`
	Permalink string `json:"permalink,omitempty"`
}

type auditRecord struct {
	Seq     int       `json:"seq"`
	At      time.Time `json:"at"`
	Actor   string    `json:"actor,omitempty"`
	Action  string    `json:"action"`
	Stage   string    `json:"stage,omitempty"`
	Attempt int       `json:"attempt,omitempty"`
	Detail  string    `json:"detail,omitempty"`
}

func fromCut(c *cutbot.Cut) cutRecord {
	r := cutRecord{
		ID: c.ID, Version: c.Spec.Version.String(), Type: string(c.Spec.Type), Branch: c.Spec.Branch,
		NoMockRun: c.Spec.NoMockRun, Status: string(c.Status), Channel: c.Channel,
		OpenedBy: c.OpenedBy, OpenedAt: c.OpenedAt, EndedAt: c.EndedAt, AbortReason: c.AbortReason,
	}
	for _, s := range c.Stages {
		sr := stageRecord{Kind: string(s.Kind), Skipped: s.Skipped}
		for _, a := range s.Attempts {
			sr.Attempts = append(sr.Attempts, attemptRecord{
				N: a.N, Status: string(a.Status), StartedBy: a.StartedBy, StartedAt: a.StartedAt, FinishedAt: a.FinishedAt,
				Force: a.Force, BuildID: a.BuildID, LogURL: a.LogURL, Step: a.Step, Queued: a.Queued, Warned: a.Warned,
				Error: a.Error, BuildVer: a.BuildVersion, Confirm: a.Confirmation, Outputs: a.Outputs,
			})
		}
		r.Stages = append(r.Stages, sr)
	}
	if len(c.Messages) > 0 {
		r.Messages = make(map[string]messageRecord, len(c.Messages))
		for k, m := range c.Messages {
			r.Messages[k] = messageRecord{Channel: m.Channel, TS: m.TS, Permalink: m.Permalink}
		}
	}
	if c.Pending != nil {
		p := fromConfirmation(*c.Pending)
		r.Pending = &p
	}
	for _, cf := range c.Confirmations {
		r.Confirms = append(r.Confirms, fromConfirmation(cf))
	}
	r.Outcomes = c.ConfirmationOutcomes
	if c.Issue != nil {
		r.Issue = &issueRecord{Repo: c.Issue.Repo, Number: c.Issue.Number, URL: c.Issue.URL, Created: c.Issue.Created}
	}
	if c.Gates != nil {
		g := &gatesRecord{At: c.Gates.At, By: c.Gates.By}
		for _, ch := range c.Gates.Checks {
			g.Checks = append(g.Checks, gateCheckRecord{Name: ch.Name, OK: ch.OK, Detail: ch.Detail, URL: ch.URL, Failing: ch.Failing})
		}
		r.Gates = g
	}
	r.Announce = c.AnnouncementURL
	r.Attention = c.Attention
	r.Embargo, r.K8sOrg, r.K8sRepo, r.K8sRef = c.Spec.Embargo, c.Spec.Source.Org, c.Spec.Source.Repo, c.Spec.Source.Ref
	r.Missing, r.Lifted, r.LiftedBy = c.MissingBranch, c.Lifted, c.LiftedBy
	r.Autopilot = c.Autopilot
	r.Schedule = c.ScheduleURL
	r.Public = c.VersionPublic
	if n := c.Notes; n != nil {
		r.Notes = &notesRecord{Branch: n.Branch, Since: n.Since, SinceOf: n.SinceOf, Without: n.Without}
		for _, it := range n.Items {
			r.Notes.Items = append(r.Notes.Items, noteItemRecord{PR: it.PR, URL: it.URL, Title: it.Title, Kind: it.Kind, Note: it.Note, FromParent: it.FromParent})
		}
	}
	for _, k := range c.AutoTried {
		r.AutoTried = append(r.AutoTried, string(k))
	}
	for _, e := range c.Journal {
		r.Journal = append(r.Journal, fromEffect(e))
	}
	for _, e := range c.Audit {
		r.Audit = append(r.Audit, auditRecord{Seq: e.Seq, At: e.At, Actor: e.Actor, Action: e.Action, Stage: string(e.Stage), Attempt: e.Attempt, Detail: e.Detail})
	}
	return r
}

func (r cutRecord) toCut() (*cutbot.Cut, error) {
	v, err := cutbot.ParseVersion(r.Version)
	if err != nil {
		return nil, err
	}
	c := &cutbot.Cut{
		ID: r.ID,
		Spec: cutbot.CutSpec{Version: v, Type: cutbot.ReleaseType(r.Type), Branch: r.Branch, NoMockRun: r.NoMockRun,
			Embargo: r.Embargo, Source: cutbot.Source{Org: r.K8sOrg, Repo: r.K8sRepo, Ref: r.K8sRef}},
		MissingBranch: r.Missing,
		Lifted:        r.Lifted,
		LiftedBy:      r.LiftedBy,
		Autopilot:     r.Autopilot,
		ScheduleURL:   r.Schedule,
		VersionPublic: r.Public,
		Status:        cutbot.CutStatus(r.Status),
		Channel:       r.Channel,
		OpenedBy:      r.OpenedBy,
		OpenedAt:      r.OpenedAt,
		EndedAt:       r.EndedAt,
		AbortReason:   r.AbortReason,
		Messages:      make(map[string]cutbot.MessageRef, len(r.Messages)),
	}
	for _, k := range r.AutoTried {
		c.AutoTried = append(c.AutoTried, cutbot.StageKind(k))
	}
	if n := r.Notes; n != nil {
		c.Notes = &cutbot.NotesDraft{Branch: n.Branch, Since: n.Since, SinceOf: n.SinceOf, Without: n.Without}
		for _, it := range n.Items {
			c.Notes.Items = append(c.Notes.Items, cutbot.NoteItem{PR: it.PR, URL: it.URL, Title: it.Title, Kind: it.Kind, Note: it.Note, FromParent: it.FromParent})
		}
	}
	for _, sr := range r.Stages {
		s := cutbot.Stage{Kind: cutbot.StageKind(sr.Kind), Skipped: sr.Skipped}
		for _, a := range sr.Attempts {
			s.Attempts = append(s.Attempts, cutbot.Attempt{
				N: a.N, Status: cutbot.StageStatus(a.Status), StartedBy: a.StartedBy, StartedAt: a.StartedAt, FinishedAt: a.FinishedAt,
				Force: a.Force, BuildID: a.BuildID, LogURL: a.LogURL, Step: a.Step, Queued: a.Queued, Warned: a.Warned,
				Error: a.Error, BuildVersion: a.BuildVer, Confirmation: a.Confirm, Outputs: a.Outputs,
			})
		}
		c.Stages = append(c.Stages, s)
	}
	if r.Pending != nil {
		p := r.Pending.toConfirmation()
		c.Pending = &p
	}
	for _, cf := range r.Confirms {
		c.Confirmations = append(c.Confirmations, cf.toConfirmation())
	}
	c.ConfirmationOutcomes = r.Outcomes
	if r.Issue != nil {
		c.Issue = &cutbot.IssueRef{Repo: r.Issue.Repo, Number: r.Issue.Number, URL: r.Issue.URL, Created: r.Issue.Created}
	}
	if r.Gates != nil {
		g := &cutbot.Gates{At: r.Gates.At, By: r.Gates.By}
		for _, ch := range r.Gates.Checks {
			g.Checks = append(g.Checks, cutbot.GateCheck{Name: ch.Name, OK: ch.OK, Detail: ch.Detail, URL: ch.URL, Failing: ch.Failing})
		}
		c.Gates = g
	}
	c.AnnouncementURL = r.Announce
	for k, m := range r.Messages {
		c.Messages[k] = cutbot.MessageRef{Channel: m.Channel, TS: m.TS, Permalink: m.Permalink}
	}
	for _, e := range r.Audit {
		c.Audit = append(c.Audit, cutbot.AuditEntry{Seq: e.Seq, At: e.At, Actor: e.Actor, Action: e.Action, Stage: cutbot.StageKind(e.Stage), Attempt: e.Attempt, Detail: e.Detail})
	}
	c.Attention = r.Attention
	for _, er := range r.Journal {
		e, err := er.toEffect()
		if err != nil {
			return nil, err
		}
		c.Journal = append(c.Journal, e)
	}
	return c, nil
}

// legacyIntents turns the intents that schema 2 kept in the cut's own fields into journal
// entries: a message with no timestamp, a build attempt submitting with no build id, an issue
// with no number, a promotion comment marked "posting:". Each meant "cutbot may have done
// this: look before doing it", which is what an intent read back from disk means now.
func legacyIntents(c *cutbot.Cut) {
	keys := slices.Sorted(maps.Keys(c.Messages))
	for _, k := range keys {
		if !c.Messages[k].Posted() {
			delete(c.Messages, k)
			c.Journal = append(c.Journal, cutbot.PostMessage{Message: k})
		}
	}
	for i := range c.Stages {
		s := &c.Stages[i]
		a := s.Current()
		if a == nil {
			continue
		}
		if s.Kind.IsBuild() && a.Status == cutbot.StatusSubmitting && a.BuildID == "" && !c.Intends(cutbot.SubmitBuild{Stage: s.Kind, Attempt: a.N}.Key()) {
			c.Journal = append(c.Journal, cutbot.SubmitBuild{Stage: s.Kind, Attempt: a.N})
		}
		if pr, ok := strings.CutPrefix(a.Outputs["pr_comment"], "posting:"); ok {
			delete(a.Outputs, "pr_comment")
			c.Journal = append(c.Journal, cutbot.CommentBuilds{Attempt: a.N, PR: pr})
		}
		// Schema 2 showed what a watched stage waited for as a step; it is derived now.
		if !s.Kind.IsBuild() {
			a.Step = ""
		}
	}
	if c.Issue != nil && !c.Issue.Known() {
		c.Journal = append(c.Journal, cutbot.OpenIssue{Repo: c.Issue.Repo})
		c.Issue = nil
	}
}
