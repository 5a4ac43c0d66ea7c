package cutbot

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Effect is something outside cutbot that a change of a cut needs done: a message posted, a
// build submitted or cancelled, an issue opened, a comment made. Cut.Apply returns the effects
// an event needs and keeps them in the cut's Journal as intents, stored with the change that
// needed them, until the event that records the outcome (MessagePosted, BuildSubmitted,
// IssueLinked, PromotionCommented, EffectDone) takes them out. The journal in package handlers
// carries every effect out the same way: intent stored, looked for outside, done, recorded.
//
// Edits of messages already posted are not effects: every change is shown by rendering the
// cut's messages again, and the Slack writer sends only the ones whose text changed.
type Effect interface {
	// Key names the effect within its cut: a cut holds at most one intent per key, and a
	// key is never carried out twice.
	Key() string
	// String says what the effect does, for dry runs and logs.
	String() string
	isEffect()
}

// PostMessage posts the cut's message Message: the thread's parent in the cut's channel, or
// a reply in its thread.
type PostMessage struct{ Message string }

// SubmitBuild submits the build of a stage attempt, tagged with BuildTag so that it can be
// found again after a crash.
type SubmitBuild struct {
	Stage   StageKind
	Attempt int
}

// CancelBuild cancels the build of a stage attempt (BuildID, or the build carrying the
// attempt's tag when its id was never recorded).
type CancelBuild struct {
	Stage   StageKind
	Attempt int
	BuildID string
}

// OpenIssue opens the cut's GitHub issue in Repo from the cut-release template.
type OpenIssue struct{ Repo string }

// CloseIssue ends the cut's issue when the cut is aborted: a comment with the reason and, for
// an issue cutbot opened, closing it as not planned (an issue a person linked is left open).
type CloseIssue struct {
	Repo   string
	Number int
	Reason string
	Close  bool
}

// CommentBuilds comments the cut's build links on its image-promotion PR (owner/repo#N).
type CommentBuilds struct {
	Attempt int
	PR      string
}

func (e PostMessage) Key() string { return "post:" + e.Message }
func (e SubmitBuild) Key() string { return "build:" + string(e.Stage) + ":" + strconv.Itoa(e.Attempt) }
func (e CancelBuild) Key() string {
	return "cancel:" + string(e.Stage) + ":" + strconv.Itoa(e.Attempt)
}
func (e OpenIssue) Key() string     { return "issue" }
func (e CommentBuilds) Key() string { return "comment:" + e.PR }
func (e CloseIssue) Key() string    { return "close-issue" }

func (e PostMessage) String() string {
	switch {
	case e.Message == MessageThread:
		return "post the cut's thread in the release channel"
	case e.Message == MessagePlan:
		return "post the plan of the cut in its thread"
	case e.Message == MessageLive:
		return "post \"is live\" in the thread and the channel"
	case strings.HasPrefix(e.Message, "stage:"):
		return "post the line of " + strings.TrimPrefix(e.Message, "stage:") + " in the thread"
	case strings.HasPrefix(e.Message, "confirm:"):
		return "post a confirmation request in the thread"
	}
	return "post a note (" + e.Message + ") in the thread"
}
func (e SubmitBuild) String() string {
	return fmt.Sprintf("submit %s (attempt %d) to Cloud Build", e.Stage.Title(), e.Attempt)
}
func (e CancelBuild) String() string {
	return fmt.Sprintf("cancel the Cloud Build build of %s (attempt %d)", e.Stage.Title(), e.Attempt)
}
func (e OpenIssue) String() string {
	return "open the cut issue in " + e.Repo + " from its cut-release template"
}
func (e CommentBuilds) String() string { return "comment the cut's build links on " + e.PR }
func (e CloseIssue) String() string {
	ref := fmt.Sprintf("%s#%d", e.Repo, e.Number)
	if e.Close {
		return "comment why the cut was aborted on " + ref + " and close it as not planned"
	}
	return "comment why the cut was aborted on " + ref
}

func (PostMessage) isEffect()   {}
func (SubmitBuild) isEffect()   {}
func (CancelBuild) isEffect()   {}
func (OpenIssue) isEffect()     {}
func (CommentBuilds) isEffect() {}
func (CloseIssue) isEffect()    {}

// intend records the intent of e, unless the cut already holds it.
func (c *Cut) intend(e Effect) {
	if c.Intends(e.Key()) {
		return
	}
	c.Journal = append(c.Journal, e)
}

// done takes the intent named key out of the journal: its outcome is recorded.
func (c *Cut) done(key string) {
	c.Journal = slices.DeleteFunc(c.Journal, func(e Effect) bool { return e.Key() == key })
}

// Intends reports whether the cut holds the intent named key.
func (c *Cut) Intends(key string) bool {
	return slices.ContainsFunc(c.Journal, func(e Effect) bool { return e.Key() == key })
}

// added lists the effects of c's journal that before did not hold.
func (c *Cut) added(before []Effect) []Effect {
	var out []Effect
	for _, e := range c.Journal {
		if !slices.ContainsFunc(before, func(b Effect) bool { return b.Key() == e.Key() }) {
			out = append(out, e)
		}
	}
	return out
}

// EffectDone records that an effect with nothing more to record (a cancelled build) was
// carried out. It is not audited.
type EffectDone struct{ Key string }

func (e EffectDone) apply(c *Cut, _ time.Time) (*AuditEntry, error) {
	if !c.Intends(e.Key) {
		return nil, c.conflict("no intent %q is outstanding", e.Key)
	}
	c.done(e.Key)
	return nil, nil
}
