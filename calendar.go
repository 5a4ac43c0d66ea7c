package cutbot

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Day is a calendar day, as schedule.yaml writes them ("2024-10-11"): no time, no zone. The
// team says at which hour, in which zone, a day's reminder goes out.
type Day struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDay reads a day in the form 2024-10-11.
func ParseDay(s string) (Day, error) {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	if err != nil {
		return Day{}, fmt.Errorf("%q is not a day like 2024-10-11", s)
	}
	return DayOf(t), nil
}

// DayOf is the day t falls on in t's location.
func DayOf(t time.Time) Day { return Day{t.Year(), t.Month(), t.Day()} }

// At is the moment of the day at hour:minute in loc. Calendar arithmetic, not 24-hour steps,
// so a daylight-saving change neither skips nor doubles a day's reminder.
func (d Day) At(hour, minute int, loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, hour, minute, 0, 0, loc)
}

// AddDays is the day n days later (or earlier, for negative n).
func (d Day) AddDays(n int) Day {
	return DayOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC))
}

// IsZero reports whether d is the zero Day.
func (d Day) IsZero() bool { return d == Day{} }

// String is the day as 2024-10-11.
func (d Day) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// Before reports whether d is earlier than e.
func (d Day) Before(e Day) bool { return d.String() < e.String() }

// Compare is -1, 0 or +1 as d is before, the same day as, or after e.
func (d Day) Compare(e Day) int { return strings.Compare(d.String(), e.String()) }

// Weekday is the day's weekday.
func (d Day) Weekday() time.Weekday {
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Weekday()
}

// MilestoneKind says what kind of date a milestone is.
type MilestoneKind string

// The kinds of milestones cutbot reminds of.
const (
	CherryPickDeadline MilestoneKind = "cherry-pick-deadline" // of a patch release
	PatchTarget        MilestoneKind = "patch-target"         // a patch release's target date
	PatchReleased      MilestoneKind = "patch-released"       // a past patch release (history: never reminded)
	MaintenanceMode    MilestoneKind = "maintenance-mode"     // a branch enters maintenance mode
	EndOfLife          MilestoneKind = "end-of-life"          // a branch reaches end of life
	CycleMilestone     MilestoneKind = "cycle"                // a minor release cycle's milestone
)

// Milestone is one dated thing in a release calendar.
type Milestone struct {
	Kind MilestoneKind
	Day  Day
	// At is the milestone's moment for timed milestones (an .ics event with a time); zero for
	// a whole day.
	At     time.Time
	What   string // v1.31.4, release-1.29, "Code Freeze"
	Cycle  string // the minor release a cycle milestone belongs to, e.g. v1.35
	Source string // where it came from, for logs
}

// ReminderPolicy says when reminders go out.
type ReminderPolicy struct {
	// Leads are the days before a deadline or cycle milestone that a reminder goes out;
	// 0 is the day itself. Target dates and branch events are reminded on their day only.
	Leads    []int
	Hour     int
	Minute   int
	Location *time.Location
	// Grace is how late a reminder may go out and still not be called late.
	Grace time.Duration
}

// Reminder is one message cutbot will post about one or more milestones of one day.
type Reminder struct {
	ID    string // stable across plans, e.g. cpd-20241011-3d
	Kind  MilestoneKind
	Day   Day
	Lead  int
	At    time.Time // when it goes out
	Until time.Time // after this the moment has passed and it is not posted
	Event time.Time // the milestone's own moment, for "Code Freeze at 02:00 UTC"
	Items []string  // the milestones' names, e.g. v1.31.4, v1.30.8
	Cycle string
	Group string // reminders of one group are about the same milestones
	// Detail is the whole text of a reminder cutbot words itself (PatchGap).
	Detail string
}

var kindAbbrev = map[MilestoneKind]string{CherryPickDeadline: "cpd", PatchTarget: "patch", MaintenanceMode: "maint", EndOfLife: "eol", CycleMilestone: "cycle"}

// slug makes a name fit an id.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.Trim(b.String(), "-")
}

// PlanReminders lists every reminder of the milestones under the policy, in order. Patches
// of one day share one message (and so do branch events of one day); cycle milestones get one
// each.
func PlanReminders(ms []Milestone, p ReminderPolicy) []Reminder {
	loc := p.Location
	if loc == nil {
		loc = time.UTC
	}
	type group struct {
		kind  MilestoneKind
		day   Day
		event time.Time
		cycle string
		items []string
	}
	groups := map[string]*group{}
	var order []string
	for _, m := range ms {
		if m.Day.IsZero() || m.Kind == PatchReleased {
			continue
		}
		key := string(m.Kind) + "/" + m.Day.String()
		if m.Kind == CycleMilestone {
			key += "/" + slug(m.Cycle+" "+m.What)
		}
		g := groups[key]
		if g == nil {
			g = &group{kind: m.Kind, day: m.Day, event: m.At, cycle: m.Cycle}
			groups[key] = g
			order = append(order, key)
		}
		if !slices.Contains(g.items, m.What) {
			g.items = append(g.items, m.What)
		}
	}
	var out []Reminder
	for _, key := range order {
		g := groups[key]
		sort.Slice(g.items, func(i, j int) bool { return versionLess(g.items[j], g.items[i]) })
		leads := []int{0}
		switch g.kind {
		case CherryPickDeadline, CycleMilestone:
			leads = p.Leads
		case PatchTarget:
			// The playbook: "On the day before the planned release, run a mock build": the
			// day before, the reminder offers to open the cut (and start its mock run).
			leads = []int{1, 0}
		}
		until := g.day.AddDays(1).At(0, 0, loc) // the day is over
		if (g.kind == CherryPickDeadline || g.kind == CycleMilestone) && !g.event.IsZero() {
			until = g.event
		}
		for _, lead := range leads {
			at := g.day.AddDays(-lead).At(p.Hour, p.Minute, loc)
			until := until
			if g.kind == PatchTarget && lead > 0 {
				until = g.day.At(0, 0, loc) // "due tomorrow" is over once the day has come
			}
			if lead == 0 && !g.event.IsZero() && g.event.Before(at) {
				at = g.event.Add(-time.Hour) // a milestone early in the day is reminded before it
			}
			id := fmt.Sprintf("%s-%04d%02d%02d-%dd", kindAbbrev[g.kind], g.day.Year, g.day.Month, g.day.Day, lead)
			if g.kind == CycleMilestone {
				id += "-" + slug(g.cycle+" "+g.items[0])
			}
			out = append(out, Reminder{ID: id, Kind: g.kind, Day: g.day, Lead: lead, At: at, Until: until, Event: g.event,
				Items: append([]string(nil), g.items...), Cycle: g.cycle, Group: key})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// versionLess orders v1.29.12 before v1.30.8 (numerically); other names alphabetically.
func versionLess(a, b string) bool {
	va, ea := ParseVersion(a)
	vb, eb := ParseVersion(b)
	if ea != nil || eb != nil {
		return a < b
	}
	if va.Major != vb.Major {
		return va.Major < vb.Major
	}
	if va.Minor != vb.Minor {
		return va.Minor < vb.Minor
	}
	return va.Patch < vb.Patch
}

// Due is a reminder to post now.
type Due struct {
	Reminder
	Late bool // it should have gone out earlier (cutbot was down)
}

// DueReminders decides, at now, which planned reminders to post and which to drop for good,
// given those already handled (posted, dropped or muted). A reminder whose moment has passed
// is dropped; of several due reminders about the same milestones only the most recent is
// posted (after a restart, "today" rather than "in 3 days" and then "today"); one posted
// later than its time by more than the policy's grace is marked late.
func DueReminders(plan []Reminder, now time.Time, handled map[string]bool, grace time.Duration) (post []Due, drop []Reminder) {
	latest := map[string]Reminder{}
	for _, r := range plan {
		if handled[r.ID] || r.At.After(now) {
			continue
		}
		if !now.Before(r.Until) {
			drop = append(drop, r)
			continue
		}
		if prev, ok := latest[r.Group]; ok {
			if r.At.After(prev.At) {
				drop = append(drop, prev)
				latest[r.Group] = r
			} else {
				drop = append(drop, r)
			}
			continue
		}
		latest[r.Group] = r
	}
	for _, r := range plan {
		if l, ok := latest[r.Group]; ok && l.ID == r.ID {
			post = append(post, Due{Reminder: r, Late: now.Sub(r.At) > grace})
		}
	}
	return post, drop
}

// NextReminders lists the planned reminders still to come after now, soonest first.
func NextReminders(plan []Reminder, now time.Time, handled map[string]bool) []Reminder {
	var out []Reminder
	for _, r := range plan {
		if !handled[r.ID] && r.At.After(now) {
			out = append(out, r)
		}
	}
	return out
}
