package handlers

import (
	"time"

	"sigs.k8s.io/cutbot"
)

// Reply is what the user who ran a command sees (privately). The bot renders each kind.
type Reply interface{ isReply() }

// ErrorReply says what was wrong and, when it helps, the usage that would be right or the cut
// the request clashed with.
type ErrorReply struct {
	Message string
	Usage   *Command    // show this command's usage
	Cut     *cutbot.Cut // link this cut's thread
	// Failed: cutbot could not do what was asked (an outside service, an internal error), as
	// opposed to refusing input it will never take.
	Failed bool
}

// Outcome names how a command or button ended, for metrics: "ok", "refused" (not a release
// manager), "invalid" (input cutbot refuses, which changed nothing) or "failed".
func Outcome(r Reply) string {
	switch r := r.(type) {
	case RefusedReply:
		return "refused"
	case ErrorReply:
		if r.Failed {
			return "failed"
		}
		return "invalid"
	}
	return "ok"
}

// RefusedReply tells a user who may run the command they tried, or press the button.
type RefusedReply struct {
	Command *Command
	Button  bool   // a button was pressed, not a command run
	Who     string // e.g. "@release-managers"
}

// HelpReply lists the commands, or details one.
type HelpReply struct {
	Commands []*Command
	Detail   *Command
}

// StatusReply lists cuts (the active ones).
type StatusReply struct {
	Cuts []*cutbot.Cut
}

// CutReply shows one cut, with a headline saying what just happened to it, if anything.
type CutReply struct {
	Cut      *cutbot.Cut
	Headline string
	Brief    bool // the headline and a link suffice; leave out the stages
}

// PlanReply answers a --dry-run: the plan a cut would carry out, and what would stop it.
type PlanReply struct {
	Spec     cutbot.CutSpec
	Existing *cutbot.Cut // an active cut of the same version, which would refuse the cut
	Refusal  string      // why else the cut would be refused (the version against GitHub)
	Actions  []string    // what cutbot would do now, in order
}

func (ErrorReply) isReply()   {}
func (RefusedReply) isReply() {}
func (HelpReply) isReply()    {}
func (StatusReply) isReply()  {}
func (CutReply) isReply()     {}
func (PlanReply) isReply()    {}

// LogReply shows one page of a cut's timeline.
type LogReply struct {
	Cut      *cutbot.Cut
	Entries  []cutbot.TimelineEntry // this page's
	Page     int                    // from 1
	Pages    int
	Total    int
	Location *time.Location
}

func (LogReply) isReply() {}
