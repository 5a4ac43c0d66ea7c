// Package schedule reads Kubernetes release calendars into milestones: kubernetes/website's
// data/releases/schedule.yaml and eol.yaml (schedule-builder's formats), a minor release
// cycle's timeline (release-cycle-schedule.yaml, or a plain list of {what, when}), and the
// iCalendar file the release team publishes.
//
// Dates that are not dates (TBD, N/A, empty) are not errors: they are reported as problems,
// for a log line, and skipped. Unknown keys in schedule.yaml are an error, as schedule-builder
// reports them.
package schedule

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"
	"go.yaml.in/yaml/v3"

	"sigs.k8s.io/cutbot"
)

// Calendar is what a calendar file holds.
type Calendar struct {
	Milestones []cutbot.Milestone
	// Problems are entries skipped with the reason, e.g. `1.18: endOfLifeDate "TBD" is not a day`.
	Problems []string
}

// decodeStrict decodes YAML into v, refusing unknown keys. (yaml.v3 rather than
// sigs.k8s.io/yaml: through JSON, an unquoted `release: 1.30` would become "1.3".)
func decodeStrict(raw []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

type patchRelease struct {
	Release            string `yaml:"release"`
	CherryPickDeadline string `yaml:"cherryPickDeadline"`
	TargetDate         string `yaml:"targetDate"`
	Note               string `yaml:"note"`
}

type patchSchedule struct {
	Schedules []struct {
		Release                  string         `yaml:"release"`
		ReleaseDate              string         `yaml:"releaseDate"`
		MaintenanceModeStartDate string         `yaml:"maintenanceModeStartDate"`
		EndOfLifeDate            string         `yaml:"endOfLifeDate"`
		Next                     *patchRelease  `yaml:"next"`
		PreviousPatches          []patchRelease `yaml:"previousPatches"`
		Note                     string         `yaml:"note"`
	} `yaml:"schedules"`
	UpcomingReleases []patchRelease `yaml:"upcoming_releases"`
}

// ParsePatchSchedule reads schedule.yaml: each branch's next patch (its cherry-pick deadline
// and target date), the upcoming patch days, when each branch enters maintenance mode and
// reaches end of life, and its past patches (PatchReleased: history, never reminded).
func ParsePatchSchedule(raw []byte, source string) (Calendar, error) {
	var s patchSchedule
	if err := decodeStrict(raw, &s); err != nil {
		return Calendar{}, fmt.Errorf("%s is not a schedule-builder schedule: %w", source, err)
	}
	if len(s.Schedules) == 0 {
		return Calendar{}, fmt.Errorf("%s has no schedules", source)
	}
	var cal Calendar
	add := func(kind cutbot.MilestoneKind, date, what, field string) {
		if strings.TrimSpace(date) == "" {
			cal.Problems = append(cal.Problems, fmt.Sprintf("%s: %s of %s is empty; skipped", source, field, what))
			return
		}
		d, err := cutbot.ParseDay(date)
		if err != nil {
			cal.Problems = append(cal.Problems, fmt.Sprintf("%s: %s of %s is %q, not a day; skipped", source, field, what, date))
			return
		}
		cal.Milestones = append(cal.Milestones, cutbot.Milestone{Kind: kind, Day: d, What: what, Source: source})
	}
	patchDays := map[string]bool{}
	for _, b := range s.Schedules {
		branch := "release-" + strings.TrimSpace(b.Release)
		if n := b.Next; n != nil {
			v := n.Release
			if pv, err := cutbot.ParseVersion("v" + strings.TrimPrefix(strings.TrimSpace(v), "v")); err == nil {
				v = pv.String()
			} else {
				cal.Problems = append(cal.Problems, fmt.Sprintf("%s: next release of %s is %q, not a version; skipped", source, branch, n.Release))
				continue
			}
			add(cutbot.CherryPickDeadline, n.CherryPickDeadline, v, "cherryPickDeadline")
			add(cutbot.PatchTarget, n.TargetDate, v, "targetDate")
			patchDays[n.CherryPickDeadline] = true
			patchDays[n.TargetDate] = true
		}
		// Past patches are history: the board sorts cherry-picks into the releases they made.
		for _, p := range b.PreviousPatches {
			if pv, err := cutbot.ParseVersion("v" + strings.TrimPrefix(strings.TrimSpace(p.Release), "v")); err == nil && strings.TrimSpace(p.TargetDate) != "" {
				if d, err := cutbot.ParseDay(p.TargetDate); err == nil {
					cal.Milestones = append(cal.Milestones, cutbot.Milestone{Kind: cutbot.PatchReleased, Day: d, What: pv.String(), Source: source})
				}
			}
		}
		add(cutbot.MaintenanceMode, b.MaintenanceModeStartDate, branch, "maintenanceModeStartDate")
		add(cutbot.EndOfLife, b.EndOfLifeDate, branch, "endOfLifeDate")
	}
	// Later patch days, whose versions are not known yet.
	for _, u := range s.UpcomingReleases {
		if !patchDays[u.CherryPickDeadline] {
			add(cutbot.CherryPickDeadline, u.CherryPickDeadline, "the next patch releases", "cherryPickDeadline")
		}
		if !patchDays[u.TargetDate] {
			add(cutbot.PatchTarget, u.TargetDate, "the next patch releases", "targetDate")
		}
	}
	return cal, nil
}

type eolBranches struct {
	Branches []struct {
		Release           string `yaml:"release"`
		FinalPatchRelease string `yaml:"finalPatchRelease"`
		EndOfLifeDate     string `yaml:"endOfLifeDate"`
		Note              string `yaml:"note"`
	} `yaml:"branches"`
}

// ParseEOL reads eol.yaml: the branches that reached end of life, and when.
func ParseEOL(raw []byte, source string) (Calendar, error) {
	var e eolBranches
	if err := decodeStrict(raw, &e); err != nil {
		return Calendar{}, fmt.Errorf("%s is not an eol.yaml: %w", source, err)
	}
	var cal Calendar
	for _, b := range e.Branches {
		d, err := cutbot.ParseDay(b.EndOfLifeDate)
		if err != nil {
			cal.Problems = append(cal.Problems, fmt.Sprintf("%s: endOfLifeDate of release-%s is %q, not a day; skipped", source, b.Release, b.EndOfLifeDate))
			continue
		}
		cal.Milestones = append(cal.Milestones, cutbot.Milestone{Kind: cutbot.EndOfLife, Day: d, What: "release-" + b.Release, Source: source})
	}
	return cal, nil
}

type cycleSchedule struct {
	Releases []struct {
		Version  string `yaml:"version"`
		Timeline []struct {
			What     string `yaml:"what"`
			Who      string `yaml:"who"`
			When     string `yaml:"when"`
			Week     string `yaml:"week"`
			CISignal string `yaml:"ciSignal"`
			TLDR     bool   `yaml:"tldr"`
		} `yaml:"timeline"`
	} `yaml:"releases"`
}

var dayLayouts = []string{"Mon January 2, 2006", "Monday January 2, 2006", "Mon, January 2, 2006", "January 2, 2006", "Mon Jan 2, 2006", time.DateOnly}

// parseWhen reads the days of release timelines: "Mon August 23, 2021", "2021-08-23".
func parseWhen(s string) (cutbot.Day, error) {
	s = strings.Join(strings.Fields(s), " ")
	for _, l := range dayLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return cutbot.DayOf(t), nil
		}
	}
	return cutbot.Day{}, fmt.Errorf("%q is not a day", s)
}

// ParseCycleYAML reads a minor release cycle's timeline: release-cycle-schedule.yaml's
// releases[].timeline[] (only the tl;dr milestones when the file marks them), or a plain list
// of {what, when[, cycle]}.
func ParseCycleYAML(raw []byte, source string) (Calendar, error) {
	var cal Calendar
	var list []struct {
		What  string `yaml:"what"`
		When  string `yaml:"when"`
		Cycle string `yaml:"cycle"`
	}
	if err := decodeStrict(raw, &list); err == nil && len(list) > 0 {
		for _, e := range list {
			cal.add(e.What, e.When, e.Cycle, source)
		}
		return cal, nil
	}
	var s cycleSchedule
	if err := decodeStrict(raw, &s); err != nil {
		return Calendar{}, fmt.Errorf("%s is neither a release cycle schedule nor a list of {what, when}: %w", source, err)
	}
	for _, r := range s.Releases {
		cycle := "v" + strings.TrimPrefix(strings.TrimSpace(r.Version), "v")
		tldr := false
		for _, e := range r.Timeline {
			tldr = tldr || e.TLDR
		}
		for _, e := range r.Timeline {
			if tldr && !e.TLDR {
				continue
			}
			cal.add(e.What, e.When, cycle, source)
		}
	}
	return cal, nil
}

func (cal *Calendar) add(what, when, cycle, source string) {
	what = strings.Join(strings.Fields(what), " ")
	if t, err := time.Parse(time.RFC3339, strings.TrimSpace(when)); err == nil {
		cal.Milestones = append(cal.Milestones, cutbot.Milestone{Kind: cutbot.CycleMilestone, Day: cutbot.DayOf(t.UTC()), At: t, What: what, Cycle: cycle, Source: source})
		return
	}
	d, err := parseWhen(when)
	if err != nil {
		cal.Problems = append(cal.Problems, fmt.Sprintf("%s: %q (%s) is on %q, not a day; skipped", source, what, cycle, when))
		return
	}
	cal.Milestones = append(cal.Milestones, cutbot.Milestone{Kind: cutbot.CycleMilestone, Day: d, What: what, Cycle: cycle, Source: source})
}

var reCycle = regexp.MustCompile(`v\d+\.\d+`)

// ParseICS reads an iCalendar file of a release cycle (the release team's schedule.ics): each
// event a milestone, all-day events on their day, timed events at their time.
func ParseICS(raw []byte, source string) (Calendar, error) {
	c, err := ics.ParseCalendar(bytes.NewReader(raw))
	if err != nil {
		return Calendar{}, fmt.Errorf("%s is not an iCalendar file: %w", source, err)
	}
	cycle := ""
	for _, p := range c.CalendarProperties {
		if p.IANAToken == string(ics.PropertyProductId) || p.IANAToken == "X-WR-CALNAME" {
			if m := reCycle.FindString(p.Value); m != "" {
				cycle = m
			}
		}
	}
	var cal Calendar
	for _, ev := range c.Events() {
		summary := ""
		if p := ev.GetProperty(ics.ComponentPropertySummary); p != nil {
			summary = strings.TrimSpace(p.Value)
		}
		evCycle := cycle
		if m := reCycle.FindString(summary); m != "" && evCycle == "" {
			evCycle = m
		}
		start := ev.GetProperty(ics.ComponentPropertyDtStart)
		if start == nil {
			cal.Problems = append(cal.Problems, fmt.Sprintf("%s: event %q has no start; skipped", source, summary))
			continue
		}
		if vals := start.ICalParameters["VALUE"]; len(vals) > 0 && vals[0] == "DATE" {
			t, err := ev.GetAllDayStartAt()
			if err != nil {
				cal.Problems = append(cal.Problems, fmt.Sprintf("%s: event %q starts on %q: %v; skipped", source, summary, start.Value, err))
				continue
			}
			cal.Milestones = append(cal.Milestones, cutbot.Milestone{Kind: cutbot.CycleMilestone, Day: cutbot.Day{Year: t.Year(), Month: t.Month(), Day: t.Day()}, What: summary, Cycle: evCycle, Source: source})
			continue
		}
		t, err := ev.GetStartAt()
		if err != nil {
			cal.Problems = append(cal.Problems, fmt.Sprintf("%s: event %q starts at %q: %v; skipped", source, summary, start.Value, err))
			continue
		}
		cal.Milestones = append(cal.Milestones, cutbot.Milestone{Kind: cutbot.CycleMilestone, Day: cutbot.DayOf(t.UTC()), At: t, What: summary, Cycle: evCycle, Source: source})
	}
	return cal, nil
}

// Parse reads any of the formats, by the file's name and content.
func Parse(raw []byte, source string) (Calendar, error) {
	switch {
	case strings.HasSuffix(source, ".ics") || bytes.HasPrefix(bytes.TrimSpace(raw), []byte("BEGIN:VCALENDAR")):
		return ParseICS(raw, source)
	case bytes.Contains(raw, []byte("\nbranches:")) || bytes.HasPrefix(raw, []byte("branches:")):
		return ParseEOL(raw, source)
	case bytes.Contains(raw, []byte("releases:")) && bytes.Contains(raw, []byte("timeline:")) || !bytes.Contains(raw, []byte("schedules:")) && bytes.Contains(raw, []byte("what:")):
		return ParseCycleYAML(raw, source)
	}
	return ParsePatchSchedule(raw, source)
}
