package schedule

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/cutbot"
)

func read(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func find(cal Calendar, kind cutbot.MilestoneKind, what string) []cutbot.Milestone {
	var out []cutbot.Milestone
	for _, m := range cal.Milestones {
		if m.Kind == kind && m.What == what {
			out = append(out, m)
		}
	}
	return out
}

// TestEveryScheduleFile parses each copied file the way cutbot would, by name and content.
func TestEveryScheduleFile(t *testing.T) {
	files, _ := filepath.Glob("testdata/*/*.yaml")
	files = append(files, "testdata/release-1.35-schedule.ics")
	if len(files) != 7 {
		t.Fatalf("files = %v", files)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			raw, _ := os.ReadFile(f)
			cal, err := Parse(raw, filepath.Base(f))
			if strings.HasSuffix(f, "bad_schedule.yaml") {
				if err == nil || !strings.Contains(err.Error(), `field schedule not found`) {
					t.Fatalf("bad_schedule.yaml: %v, want the unknown key reported", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(cal.Milestones) == 0 {
				t.Errorf("no milestones")
			}
			for _, m := range cal.Milestones {
				if m.Day.IsZero() || m.What == "" {
					t.Errorf("milestone without a day or a name: %+v", m)
				}
			}
			t.Logf("%d milestones, %d problems", len(cal.Milestones), len(cal.Problems))
		})
	}
}

func TestWebsiteSchedule(t *testing.T) {
	cal, err := ParsePatchSchedule(read(t, "website/schedule.yaml"), "schedule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cpd := find(cal, cutbot.CherryPickDeadline, "v1.31.2")
	target := find(cal, cutbot.PatchTarget, "v1.30.6")
	if len(cpd) != 1 || cpd[0].Day.String() != "2024-10-11" || len(target) != 1 || target[0].Day.String() != "2024-10-15" {
		t.Errorf("next patches: %+v %+v", cpd, target)
	}
	if m := find(cal, cutbot.MaintenanceMode, "release-1.30"); len(m) != 1 || m[0].Day.String() != "2025-04-28" {
		t.Errorf("maintenance mode of 1.30: %+v", m)
	}
	if m := find(cal, cutbot.EndOfLife, "release-1.28"); len(m) != 1 {
		t.Errorf("end of life of 1.28: %+v", m)
	}
	// upcoming_releases: later patch days, once each (the next one is already known by version).
	if up := find(cal, cutbot.CherryPickDeadline, "the next patch releases"); len(up) == 0 || up[0].Day.String() != "2024-11-08" {
		t.Errorf("upcoming: %+v", up)
	}
}

func TestScheduleBuilderEdgeCases(t *testing.T) {
	cal, err := ParsePatchSchedule(read(t, "schedule-builder/schedule.yaml"), "schedule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// An unquoted `release: 1.18` stays 1.18 (through JSON it would not), and TBD is reported.
	if m := find(cal, cutbot.CherryPickDeadline, "v1.18.4"); len(m) != 1 || m[0].Day.String() != "2020-06-12" {
		t.Errorf("v1.18.4: %+v", m)
	}
	var tbd int
	for _, p := range cal.Problems {
		if strings.Contains(p, `endOfLifeDate of release-1.18 is "TBD", not a day`) {
			tbd++
		}
	}
	if tbd != 1 {
		t.Errorf("problems = %q", cal.Problems)
	}
	// 1.30 must not become 1.3.
	cal, _ = ParsePatchSchedule([]byte("schedules:\n- release: 1.30\n  next:\n    release: 1.30.8\n    cherryPickDeadline: N/A\n    targetDate: 2024-12-10\n  endOfLifeDate: \"\"\n"), "inline")
	if m := find(cal, cutbot.PatchTarget, "v1.30.8"); len(m) != 1 {
		t.Errorf("1.30.8: %+v", cal)
	}
	if len(cal.Problems) != 3 || !strings.Contains(strings.Join(cal.Problems, "\n"), `cherryPickDeadline of v1.30.8 is "N/A"`) {
		t.Errorf("problems = %q", cal.Problems)
	}
	if _, err := ParsePatchSchedule([]byte("schedules:\n- release: 1.31\n  next:\n    release: Not Planned\n"), "inline"); err != nil {
		t.Errorf("a release that is not a version: %v", err)
	}
}

func TestCycleSchedules(t *testing.T) {
	cal, err := ParseCycleYAML(read(t, "website/release-cycle-schedule.yaml"), "release-cycle-schedule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range cal.Milestones {
		names = append(names, m.Cycle+" "+m.What+" "+m.Day.String())
	}
	all := strings.Join(names, "\n")
	if !strings.Contains(all, "v1.23 Start of Release Cycle 2021-08-23") {
		t.Errorf("milestones:\n%s", all)
	}
	cal, err = ParseCycleYAML([]byte("- what: Code Freeze\n  when: 2025-11-07T02:00:00Z\n  cycle: v1.35\n- what: Docs deadline\n  when: Tue November 18, 2025\n- what: Later\n  when: TBD\n"), "inline")
	if err != nil || len(cal.Milestones) != 2 || !cal.Milestones[0].At.Equal(time.Date(2025, 11, 7, 2, 0, 0, 0, time.UTC)) || cal.Milestones[1].Day.String() != "2025-11-18" || len(cal.Problems) != 1 {
		t.Errorf("plain list: %+v %v", cal, err)
	}
}

func TestICS(t *testing.T) {
	cal, err := ParseICS(read(t, "release-1.35-schedule.ics"), "schedule.ics")
	if err != nil {
		t.Fatal(err)
	}
	if len(cal.Milestones) != 31 || len(cal.Problems) != 0 {
		t.Fatalf("milestones %d, problems %q", len(cal.Milestones), cal.Problems)
	}
	first := cal.Milestones[0]
	if first.Day.String() != "2025-09-15" || !first.At.IsZero() || first.Cycle != "v1.35" || !strings.Contains(first.What, "Release Cycle Begins") {
		t.Errorf("first = %+v", first)
	}
	var timed int
	for _, m := range cal.Milestones {
		if !m.At.IsZero() {
			timed++
			if m.At.Location() != time.UTC && m.At.UTC().Hour() != 12 {
				t.Errorf("timed event at %v", m.At)
			}
		}
	}
	if timed != 6 {
		t.Errorf("timed events = %d, want 6", timed)
	}
}
