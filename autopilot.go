package cutbot

import (
	"slices"
	"time"
)

// Autopilot runs the routine steps of a cut by itself: the mock stage when the cut opens,
// the mock release when the mock stage succeeds, the gates and the request to confirm the
// no-mock stage when it is next, and the request to confirm the no-mock release when the
// images are promoted. Each step is taken once: a failure, a refused gate or a declined
// confirmation stops it, and a person goes on by hand. The destructive steps still need their
// requester's deliberate confirmation.

// AutopilotStep records that autopilot takes the next step of a cut, before it tries, so
// that it is tried once whatever comes of it (a crash included: the build's own intent makes
// sure it is not submitted twice).
type AutopilotStep struct{ Stage StageKind }

func (e AutopilotStep) apply(c *Cut, _ time.Time) (*AuditEntry, error) {
	switch {
	case !c.Autopilot:
		return nil, c.refuse("autopilot is off for this cut")
	case slices.Contains(c.AutoTried, e.Stage):
		return nil, c.conflict("autopilot already took %s", e.Stage.Title())
	}
	c.AutoTried = append(c.AutoTried, e.Stage)
	return &AuditEntry{Action: "autopilot.step", Stage: e.Stage}, nil
}

// AutopilotNext is the stage autopilot would take next on c, if any: the next stage, when it
// is a build that has never run and autopilot has not tried it, and nothing waits for a
// person (a confirmation, a missing branch, an internal error).
func (c *Cut) AutopilotNext() (StageKind, bool) {
	if !c.Autopilot || c.Status != CutActive || c.Attention != "" || c.Pending != nil || c.MissingBranch != "" {
		return "", false
	}
	next := c.Next()
	if next == nil || next.Status() != StatusPending || len(next.Attempts) > 0 || !next.Kind.IsBuild() || slices.Contains(c.AutoTried, next.Kind) {
		return "", false
	}
	return next.Kind, true
}
