package schedule

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"sigs.k8s.io/cutbot"
)

// BenchmarkCalendarReload is what the "calendar" and "reminders" jobs cost: parse the real
// schedule.yaml, eol.yaml and the 1.35 .ics, plan every reminder, and pick the due ones.
//
//	go test ./integrations/schedule -run '^$' -bench CalendarReload -benchmem
func BenchmarkCalendarReload(b *testing.B) {
	var raws [][]byte
	names := []string{"website/schedule.yaml", "website/eol.yaml", "release-1.35-schedule.ics"}
	for _, n := range names {
		raw, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			b.Fatal(err)
		}
		raws = append(raws, raw)
	}
	policy := cutbot.ReminderPolicy{Leads: []int{3, 0}, Hour: 9, Location: time.UTC, Grace: 2 * time.Hour}
	now := time.Date(2025, 10, 1, 9, 0, 0, 0, time.UTC)
	var planned int
	b.ReportAllocs()
	for b.Loop() {
		var ms []cutbot.Milestone
		for i, raw := range raws {
			cal, err := Parse(raw, names[i])
			if err != nil {
				b.Fatal(err)
			}
			ms = append(ms, cal.Milestones...)
		}
		plan := cutbot.PlanReminders(ms, policy)
		cutbot.DueReminders(plan, now, nil, 0)
		planned = len(plan)
	}
	b.ReportMetric(float64(planned), "reminders")
}
