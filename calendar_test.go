package cutbot

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func day(s string) Day {
	d, err := ParseDay(s)
	if err != nil {
		panic(err)
	}
	return d
}

// patchDay is one patch day of schedule.yaml: three branches, one deadline, one target.
func patchDay(deadline, target string, versions ...string) []Milestone {
	var ms []Milestone
	for _, v := range versions {
		ms = append(ms, Milestone{Kind: CherryPickDeadline, Day: day(deadline), What: v}, Milestone{Kind: PatchTarget, Day: day(target), What: v})
	}
	return ms
}

func TestPlanReminders(t *testing.T) {
	la, _ := time.LoadLocation("America/Los_Angeles")
	policy := ReminderPolicy{Leads: []int{3, 0}, Hour: 9, Location: la}
	ms := append(patchDay("2024-10-11", "2024-10-15", "v1.29.10", "v1.31.2", "v1.30.6"),
		Milestone{Kind: EndOfLife, Day: day("2024-10-28"), What: "release-1.28"},
		Milestone{Kind: CycleMilestone, Day: day("2025-11-07"), At: time.Date(2025, 11, 7, 2, 0, 0, 0, time.UTC), What: "Code Freeze", Cycle: "v1.35"},
	)
	plan := PlanReminders(ms, policy)
	type row struct {
		ID    string
		At    string
		Items []string
	}
	var got []row
	for _, r := range plan {
		got = append(got, row{r.ID, r.At.In(la).Format("2006-01-02 15:04 MST"), r.Items})
	}
	want := []row{
		{"cpd-20241011-3d", "2024-10-08 09:00 PDT", []string{"v1.31.2", "v1.30.6", "v1.29.10"}},
		{"cpd-20241011-0d", "2024-10-11 09:00 PDT", []string{"v1.31.2", "v1.30.6", "v1.29.10"}},
		{"patch-20241015-1d", "2024-10-14 09:00 PDT", []string{"v1.31.2", "v1.30.6", "v1.29.10"}},
		{"patch-20241015-0d", "2024-10-15 09:00 PDT", []string{"v1.31.2", "v1.30.6", "v1.29.10"}},
		{"eol-20241028-0d", "2024-10-28 09:00 PDT", []string{"release-1.28"}},
		// The code freeze is at 02:00 UTC: 18:00 PST the day before, so its "on the day"
		// reminder goes out an hour before it rather than after.
		{"cycle-20251107-3d-v1-35-code-freeze", "2025-11-04 09:00 PST", []string{"Code Freeze"}},
		{"cycle-20251107-0d-v1-35-code-freeze", "2025-11-06 17:00 PST", []string{"Code Freeze"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	if u := plan[1].Until; !u.Equal(time.Date(2024, 10, 12, 0, 0, 0, 0, la)) {
		t.Errorf("a deadline day's reminder is useful until the day ends, got %v", u)
	}
}

func TestRemindersAcrossDST(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	policy := ReminderPolicy{Leads: []int{3, 1, 0}, Hour: 9, Location: berlin}
	for _, tc := range []struct{ name, deadline string }{
		{"autumn: clocks go back on 2024-10-27", "2024-10-28"},
		{"spring: clocks go forward on 2025-03-30", "2025-03-31"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := PlanReminders([]Milestone{{Kind: CherryPickDeadline, Day: day(tc.deadline), What: "v1.31.4"}}, policy)
			if len(plan) != 3 {
				t.Fatalf("plan = %d reminders", len(plan))
			}
			for _, r := range plan {
				if h, m, _ := r.At.In(berlin).Clock(); h != 9 || m != 0 {
					t.Errorf("%s goes out at %02d:%02d local, want 09:00", r.ID, h, m)
				}
			}
			// Walk the clock minute by minute over the change, as the cron job does: each
			// reminder is due exactly once.
			posted := map[string]int{}
			handled := map[string]bool{}
			start := day(tc.deadline).AddDays(-4).At(0, 0, berlin)
			for now := start; now.Before(day(tc.deadline).AddDays(1).At(0, 0, berlin)); now = now.Add(time.Minute) {
				post, drop := DueReminders(plan, now, handled, 5*time.Minute)
				for _, d := range post {
					posted[d.ID]++
					handled[d.ID] = true
					if d.Late {
						t.Errorf("%s late at %v", d.ID, now)
					}
				}
				for _, d := range drop {
					t.Errorf("%s dropped at %v", d.ID, now)
				}
			}
			for _, r := range plan {
				if posted[r.ID] != 1 {
					t.Errorf("%s posted %d times", r.ID, posted[r.ID])
				}
			}
		})
	}
}

func TestDueReminders(t *testing.T) {
	utc := time.UTC
	policy := ReminderPolicy{Leads: []int{3, 0}, Hour: 9, Location: utc}
	plan := PlanReminders(patchDay("2024-10-11", "2024-10-15", "v1.31.2", "v1.30.6"), policy)
	at := func(s string) time.Time { t, _ := time.Parse("2006-01-02 15:04", s); return t }
	ids := func(ds []Due) []string {
		var out []string
		for _, d := range ds {
			s := d.ID
			if d.Late {
				s += " (late)"
			}
			out = append(out, s)
		}
		return out
	}
	rids := func(rs []Reminder) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		now      string
		handled  []string
		wantPost []string
		wantDrop []string
	}{
		{name: "before anything", now: "2024-10-01 00:00"},
		{name: "on time", now: "2024-10-08 09:00", wantPost: []string{"cpd-20241011-3d"}},
		{name: "already sent", now: "2024-10-08 09:01", handled: []string{"cpd-20241011-3d"}},
		{name: "down at its time, back the next day: late", now: "2024-10-09 14:00", wantPost: []string{"cpd-20241011-3d (late)"}},
		{name: "down over two reminders: only the current one", now: "2024-10-11 10:30", wantPost: []string{"cpd-20241011-0d (late)"}, wantDrop: []string{"cpd-20241011-3d"}},
		{name: "back after the deadline: dropped", now: "2024-10-12 08:00", wantDrop: []string{"cpd-20241011-3d", "cpd-20241011-0d"}},
		{name: "the day before", now: "2024-10-14 09:00", handled: []string{"cpd-20241011-3d", "cpd-20241011-0d"}, wantPost: []string{"patch-20241015-1d"}},
		{name: "target day", now: "2024-10-15 09:00", handled: []string{"cpd-20241011-3d", "cpd-20241011-0d", "patch-20241015-1d"}, wantPost: []string{"patch-20241015-0d"}},
		{name: "target day, the day before missed", now: "2024-10-15 09:00", handled: []string{"cpd-20241011-3d", "cpd-20241011-0d"}, wantPost: []string{"patch-20241015-0d"}, wantDrop: []string{"patch-20241015-1d"}},
		{name: "muted (handled) is never due", now: "2024-10-15 09:00", handled: []string{"cpd-20241011-3d", "cpd-20241011-0d", "patch-20241015-0d", "patch-20241015-1d"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			handled := map[string]bool{}
			for _, id := range tc.handled {
				handled[id] = true
			}
			post, drop := DueReminders(plan, at(tc.now), handled, 5*time.Minute)
			if diff := cmp.Diff(tc.wantPost, ids(post)); diff != "" {
				t.Errorf("post (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantDrop, rids(drop)); diff != "" {
				t.Errorf("drop (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDayArithmetic(t *testing.T) {
	if got := day("2024-03-01").AddDays(-1).String(); got != "2024-02-29" {
		t.Errorf("leap day: %s", got)
	}
	if got := day("2024-12-30").AddDays(3).String(); got != "2025-01-02" {
		t.Errorf("new year: %s", got)
	}
	if _, err := ParseDay("TBD"); err == nil {
		t.Error("TBD parsed as a day")
	}
	if day("2024-10-11").Weekday() != time.Friday {
		t.Error("weekday")
	}
}
