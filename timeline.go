package cutbot

import (
	"fmt"
	"strings"
)

// TimelineEntry is one line of a cut's timeline: an audit entry in words, with where it
// happened (the thread message that shows it, a build's log).
type TimelineEntry struct {
	AuditEntry
	Words   string // what happened, in plain words (no Slack or GitHub markup)
	Message string // permalink of the message that shows it, if any
	Log     string // the build log, for a build's entries
}

// Timeline is the cut's audit trail in words, oldest first.
func (c *Cut) Timeline() []TimelineEntry {
	out := make([]TimelineEntry, 0, len(c.Audit))
	for _, e := range c.Audit {
		t := TimelineEntry{AuditEntry: e, Words: c.words(e)}
		if m, ok := c.Messages[AuditMessageKey(e.Seq)]; ok && m.Permalink != "" {
			t.Message = m.Permalink
		}
		if e.Stage != "" && e.Attempt > 0 {
			if m, ok := c.Messages[StageMessageKey(e.Stage, e.Attempt)]; ok && t.Message == "" {
				t.Message = m.Permalink
			}
			if s := c.Stage(e.Stage); s != nil && e.Attempt <= len(s.Attempts) {
				t.Log = s.Attempts[e.Attempt-1].LogURL
			}
		}
		if e.Action == "cut.opened" {
			t.Message = c.Messages[MessageThread].Permalink
		}
		out = append(out, t)
	}
	return out
}

// words says what an audit entry records.
func (c *Cut) words(e AuditEntry) string {
	stage := ""
	if e.Stage != "" {
		stage = e.Stage.Title()
		if e.Attempt > 1 {
			stage += fmt.Sprintf(" (attempt %d)", e.Attempt)
		}
	}
	with := func(s, detail string) string {
		if detail == "" {
			return s
		}
		return s + ": " + detail
	}
	switch a := e.Action; {
	case a == "cut.opened":
		return with("opened the cut of "+c.Version().String(), e.Detail)
	case a == "version.checked":
		return with("checked the version", e.Detail)
	case a == "version.forced":
		return with("cut the version anyway", e.Detail)
	case a == "timing.forced":
		return with("cut sooner than the timing guard allows", e.Detail)
	case a == "issue.opened":
		return with("opened the cut issue", e.Detail)
	case a == "issue.linked":
		return with("linked the cut issue", e.Detail)
	case a == "issue.closed":
		return with("closed the cut issue as not planned", e.Detail)
	case a == "issue.commented":
		return with("told the cut issue why the cut was aborted", e.Detail)
	case a == "stage.started":
		return with("started "+stage, e.Detail)
	case a == "stage.retried":
		return with("retried "+stage, e.Detail)
	case a == "stage.confirmation_requested":
		return with("asked to confirm "+stage, e.Detail)
	case a == "stage.confirmation_declined":
		return "declined to confirm " + stage
	case a == "stage.submitted":
		return with("submitted "+stage+" to Cloud Build", e.Detail)
	case a == "stage.succeeded":
		return with(stage+" succeeded", e.Detail)
	case a == "stage.failed":
		return with(stage+" failed", e.Detail)
	case a == "stage.cancelled":
		return "cancelled " + stage
	case a == "stage.job_failed":
		return with(stage+": a job failed", e.Detail)
	case strings.HasPrefix(a, "stage.warned."):
		return with(stage+": warned", e.Detail)
	case a == "gates.checked":
		return with("checked the gates", e.Detail)
	case strings.HasPrefix(a, "fact."):
		return with(stage, e.Detail)
	case a == "announcement.linked":
		return with("linked the announcement", e.Detail)
	case a == "cut.aborted":
		return with("aborted the cut", e.Detail)
	case a == "cut.attention":
		return with("stopped on an internal error and asked for a person", e.Detail)
	case a == "fact.promotion_noop":
		return with(stage+": no PR needed", e.Detail)
	case a == "fact.unheld":
		return with(stage, e.Detail)
	case a == "schedule.pr":
		return with("proposed the schedule update", e.Detail)
	case a == "notes.drafted":
		return with("drafted the release notes", e.Detail)
	case a == "autopilot.step":
		return "autopilot took " + stage
	case a == "autopilot.stopped":
		return with("autopilot stopped", e.Detail)
	case a == "branch.missing":
		return with("found the hotfix branch missing", e.Detail)
	case a == "branch.requested":
		return with("confirmed creating the hotfix branch", e.Detail)
	case a == "branch.created":
		return with("created the hotfix branch", e.Detail)
	case a == "issue.none":
		return with("opened no cut issue", e.Detail)
	case a == "embargo.lifted":
		return with("lifted the embargo", e.Detail)
	}
	return with(e.Action, e.Detail)
}
