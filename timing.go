package cutbot

import (
	"fmt"
	"time"
)

// The playbook's release timing: "The general guideline is to leave about 2 to 4 weeks
// between patch releases on a given minor release branch."

// Default gaps between patch releases of one branch.
const (
	DefaultMinPatchGap = 14 * 24 * time.Hour
	DefaultMaxPatchGap = 28 * 24 * time.Hour
)

// PatchGap is the reminder kind of a branch that has gone too long without a patch release.
const PatchGap MilestoneKind = "patch-gap"

// Released is one past release of a branch and where cutbot learnt of it.
type Released struct {
	Version Version
	Day     Day
	Source  string // "the calendar", "GitHub release"
}

// LastRelease is the latest release of v's minor before v among the calendar's past patches
// (and x.y.0) and the releases given (from GitHub).
func LastRelease(v Version, ms []Milestone, known []Released) (Released, bool) {
	var out Released
	found := false
	consider := func(r Released) {
		if r.Version.Major != v.Major || r.Version.Minor != v.Minor || r.Version.Pre != "" || r.Version.Compare(v) >= 0 || r.Day.IsZero() {
			return
		}
		if !found || r.Version.Compare(out.Version) > 0 || r.Version == out.Version && r.Day.Before(out.Day) {
			out, found = r, true
		}
	}
	for _, m := range ms {
		if m.Kind != PatchReleased {
			continue
		}
		if pv, err := ParseVersion(m.What); err == nil {
			consider(Released{Version: pv, Day: m.Day, Source: "the calendar"})
		}
	}
	for _, r := range known {
		consider(r)
	}
	return out, found
}

// Days is the whole number of days from a to b.
func Days(a, b Day) int {
	ta := time.Date(a.Year, a.Month, a.Day, 12, 0, 0, 0, time.UTC)
	tb := time.Date(b.Year, b.Month, b.Day, 12, 0, 0, 0, time.UTC)
	return int(tb.Sub(ta).Round(24*time.Hour) / (24 * time.Hour))
}

// TooSoon says why a patch cut of v on day today comes too soon after last, or "" when it
// does not: fewer than min since the branch's last release.
func TooSoon(v Version, last Released, today Day, min time.Duration) string {
	if !v.IsPatch() || min <= 0 {
		return ""
	}
	days := Days(last.Day, today)
	if time.Duration(days)*24*time.Hour >= min {
		return ""
	}
	return fmt.Sprintf("%s would come %d days after %s (%s, from %s); the playbook leaves about 2 to 4 weeks between patch releases of a branch, and cutbot asks for at least %s",
		v, days, last.Version, last.Day, last.Source, HumanDays(min))
}

// HumanDays reads "14 days".
func HumanDays(d time.Duration) string {
	n := int(d / (24 * time.Hour))
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

// GapReminder is the reminder, once per branch and last release, that branch has gone more
// than max without a patch release while merged cherry-picks wait on it. ok is false when
// there is nothing to say.
func GapReminder(branch string, last Released, merged int, today Day, max time.Duration, at time.Time) (Due, bool) {
	days := Days(last.Day, today)
	if merged == 0 || max <= 0 || time.Duration(days)*24*time.Hour <= max {
		return Due{}, false
	}
	picks := "cherry-picks have"
	if merged == 1 {
		picks = "cherry-pick has"
	}
	r := Reminder{
		ID: "gap-" + branch + "-" + last.Version.String(), Kind: PatchGap, Day: today, At: at, Until: at.Add(7 * 24 * time.Hour),
		Items: []string{branch},
		Detail: fmt.Sprintf("%s has gone %d days without a patch release (the last, %s, on %s) and %d %s merged on it since. The playbook leaves about 2 to 4 weeks between patch releases: plan the next one.",
			branch, days, last.Version, last.Day, merged, picks),
	}
	return Due{Reminder: r}, true
}
