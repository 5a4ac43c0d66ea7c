package cutbot

import (
	"cmp"
	"time"
)

// After a patch release is live, cutbot can propose the release calendar's update: the
// schedule.yaml pull request schedule-builder's user would open (see ScheduleUpdater).

// OpenSchedulePR opens the schedule.yaml PR after a patch release (see ScheduleUpdater).
type OpenSchedulePR struct{}

func (OpenSchedulePR) Key() string { return "schedule-pr" }
func (OpenSchedulePR) String() string {
	return "open the schedule.yaml pull request schedule-builder's user would open"
}
func (OpenSchedulePR) isEffect() {}

// ScheduleRequested asks for the schedule.yaml PR once a patch release is out.
type ScheduleRequested struct{}

func (ScheduleRequested) apply(c *Cut, _ time.Time) (*AuditEntry, error) {
	if !c.Spec.Version.IsPatch() {
		return nil, c.refuse("schedule.yaml lists patch releases only")
	}
	if c.ScheduleURL != "" || c.Intends(OpenSchedulePR{}.Key()) {
		return nil, c.conflict("the schedule.yaml PR is already %s", cmp.Or(c.ScheduleURL, "on its way"))
	}
	c.intend(OpenSchedulePR{})
	return nil, nil
}

// ScheduleProposed records the schedule.yaml PR (or, URL empty, that the file had the
// release already).
type ScheduleProposed struct {
	URL    string
	Detail string
}

func (e ScheduleProposed) apply(c *Cut, _ time.Time) (*AuditEntry, error) {
	c.done(OpenSchedulePR{}.Key())
	c.ScheduleURL = e.URL
	return &AuditEntry{Action: "schedule.pr", Detail: e.Detail}, nil
}

func (ScheduleProposed) threadNote() {}
