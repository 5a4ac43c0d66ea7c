package bot

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/integrations/schedule"
)

// runJob runs one of the bot's cron jobs now, through the chain cron wraps it in.
func (r *running) runJob(name string) {
	r.t.Helper()
	id, ok := r.bot.jobs[name]
	if !ok {
		r.t.Fatalf("no cron job %q", name)
	}
	r.bot.cron.Entry(id).WrappedJob.Run()
}

const patchSchedule = `schedules:
- release: "1.31"
  releaseDate: "2024-08-13"
  maintenanceModeStartDate: "2025-08-28"
  endOfLifeDate: "2025-10-28"
  next:
    release: 1.31.2
    cherryPickDeadline: "2024-10-11"
    targetDate: "2024-10-15"
- release: "1.30"
  maintenanceModeStartDate: TBD
  endOfLifeDate: "2025-06-28"
  next:
    release: 1.30.6
    cherryPickDeadline: "2024-10-11"
    targetDate: "2024-10-15"
`

func calendarWorld(t *testing.T) (string, *cutbot.ReminderPolicy) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "schedule.yaml")
	os.WriteFile(path, []byte(patchSchedule), 0o644)
	la, _ := time.LoadLocation("America/Los_Angeles")
	return path, &cutbot.ReminderPolicy{Leads: []int{3, 0}, Hour: 9, Location: la}
}

func TestRemindersOnceAcrossRestarts(t *testing.T) {
	fake := workspace(t)
	path, policy := calendarWorld(t)
	clock := newClock(time.Date(2024, 10, 8, 9, 0, 30, 0, policy.Location)) // 3 days before the deadline, 09:00:30
	start := func(db string) *running {
		return startBotConfigured(t, fake, db, func(c *Config) {
			c.Clock = clock
			c.Calendars = []cutbot.CalendarSource{&schedule.Source{Spec: path}}
			c.Policy = *policy
		})
	}
	r := start("")
	// The bot ran the reminders as it started.
	count := func(prefix string) int {
		n := 0
		for _, m := range topLevel(fake.Messages(channelID)) {
			if strings.HasPrefix(m.Text, prefix) {
				n++
			}
		}
		return n
	}
	if n := count(":cherries: The cherry-pick deadline for v1.31.2 and v1.30.6 is in 3 days (Fri, 2024-10-11)."); n != 1 {
		t.Fatalf("3-day reminders = %d:\n%s", n, fake.Transcript(channelID))
	}
	r.runJob("reminders")
	r.runJob("reminders")
	r.stop()
	r = start(r.dbPath)
	r.runJob("reminders")
	if n := count(":cherries:"); n != 1 {
		t.Errorf("after more runs and a restart, cherry-pick reminders = %d, want 1", n)
	}

	// cutbot is down over the deadline day's reminder and back at 10:30: it is posted, late.
	r.stop()
	clock.Add(3*24*time.Hour + 90*time.Minute)
	r = start(r.dbPath)
	late := ":cherries: The cherry-pick deadline for v1.31.2 and v1.30.6 is today (Fri, 2024-10-11). Cherry-picks need `cherry-pick-approved` by then.\n_Posted late: cutbot was not running at Fri 2024-10-11 09:00 PDT._"
	if n := count(late); n != 1 {
		t.Errorf("late reminder missing:\n%s", fake.Transcript(channelID))
	}

	// Down over the target day entirely: the reminder is dropped, not posted a day late.
	r.stop()
	clock.Add(5 * 24 * time.Hour)
	r = start(r.dbPath)
	if n := count(":kubernetes:"); n != 0 {
		t.Errorf("a reminder whose day had passed was posted")
	}
	recs, _ := r.store.ReminderRecords(context.Background())
	if recs["patch-20241015-0d"].State != cutbot.ReminderDropped || recs["cpd-20241011-0d"].State != cutbot.ReminderSent || !recs["cpd-20241011-0d"].Late {
		t.Errorf("records = %+v", recs)
	}
}

// TestInterruptedReminderReconciled: the reminder was posted and cutbot died before it
// recorded so; the next run finds it by its metadata and posts nothing.
func TestInterruptedReminderReconciled(t *testing.T) {
	fake := workspace(t)
	path, policy := calendarWorld(t)
	clock := newClock(time.Date(2024, 10, 8, 9, 1, 0, 0, policy.Location))
	r := startBotConfigured(t, fake, "", func(c *Config) {
		c.Clock, c.Calendars, c.Policy = clock, []cutbot.CalendarSource{&schedule.Source{Spec: path}}, *policy
	})
	ctx := context.Background()
	r.store.SetReminder(ctx, cutbot.ReminderRecord{ID: "cpd-20241011-3d", State: cutbot.ReminderPosting, At: clock.Now()})
	posts := len(fake.Calls("chat.postMessage"))
	r.runJob("reminders")
	if got := len(fake.Calls("chat.postMessage")); got != posts {
		t.Errorf("the interrupted reminder was posted again")
	}
	if rec, _ := r.store.ReminderRecords(ctx); rec["cpd-20241011-3d"].State != cutbot.ReminderSent {
		t.Errorf("record = %+v", rec["cpd-20241011-3d"])
	}
}

func TestScheduleAndMute(t *testing.T) {
	fake := workspace(t)
	path, policy := calendarWorld(t)
	clock := newClock(time.Date(2024, 10, 1, 12, 0, 0, 0, policy.Location))
	r := startBotConfigured(t, fake, "", func(c *Config) {
		c.Clock, c.Calendars, c.Policy = clock, []cutbot.CalendarSource{&schedule.Source{Spec: path}}, *policy
	})
	r.run(guest, "schedule")
	mustContain(t, "schedule", r.lastReply(guest), "Release calendar, 2024-10-01 to 2024-11-11", "*Fri, 2024-10-11*", ":cherries: cherry-pick deadline v1.31.2", ":kubernetes: target date v1.30.6")
	r.run(guest, "schedule 60")
	mustContain(t, "bad weeks", r.lastReply(guest), `"60" is not a number of weeks from 1 to 52`)
	r.run(guest, "reminders")
	mustContain(t, "list", r.lastReply(guest), "`cpd-20241011-3d` Tue 2024-10-08 09:00 PDT", "`patch-20241015-0d` Tue 2024-10-15 09:00 PDT")
	r.run(guest, "reminders mute cpd-20241011-3d")
	mustContain(t, "guest mute", r.lastReply(guest), "Only release managers")
	r.run(alice, "reminders mute cpd-20241011-3d")
	mustContain(t, "mute", r.lastReply(alice), "Muted cpd-20241011-3d.", "Muted: `cpd-20241011-3d`")
	r.run(alice, "reminders mute nope")
	mustContain(t, "unknown id", r.lastReply(alice), `there is no reminder "nope"`)
	clock.Add(7*24*time.Hour - 3*time.Hour) // 2024-10-08 09:00
	r.runJob("reminders")
	if strings.Contains(fake.Transcript(channelID), "in 3 days") {
		t.Error("a muted reminder was posted")
	}
	clock.Add(3 * 24 * time.Hour)
	r.runJob("reminders")
	mustContain(t, "deadline day", fake.Transcript(channelID), "is today (Fri, 2024-10-11)")
}

// TestCronJobsRecoverAndRunInZone checks the cron the bot builds: its zone, and that a job
// that panics is recovered by the chain (cron.Recover), not fatal.
func TestCronJobsRecoverAndRunInZone(t *testing.T) {
	fake := workspace(t)
	path, policy := calendarWorld(t)
	r := startBotConfigured(t, fake, "", func(c *Config) {
		c.Calendars, c.Policy = []cutbot.CalendarSource{&schedule.Source{Spec: path}}, *policy
	})
	if r.bot.cron.Location().String() != "America/Los_Angeles" {
		t.Errorf("cron runs in %s", r.bot.cron.Location())
	}
	id, err := r.bot.cron.AddFunc("@every 1h", func() { panic("a job went wrong") })
	if err != nil {
		t.Fatal(err)
	}
	r.bot.cron.Entry(id).WrappedJob.Run() // must not panic
	next := r.bot.cron.Entry(r.bot.jobs["reminders"]).Schedule.Next(time.Date(2024, 3, 10, 1, 59, 30, 0, policy.Location))
	if next.Location().String() != "America/Los_Angeles" || next.Minute() != 0 || next.Hour() != 3 {
		t.Errorf("next run after 01:59:30 on the spring-forward day: %v", next)
	}
}

// TestCalendarFromGitHub reads schedule.yaml from kubernetes/website through the contents API,
// as CUTBOT_CALENDARS=github:kubernetes/website/data/releases/schedule.yaml does, and again
// on each reload; when GitHub fails, that source's last good copy stays in force.
func TestCalendarFromGitHub(t *testing.T) {
	fake := workspace(t)
	bl := newBuilds(t)
	const website, path = "kubernetes/website", "data/releases/schedule.yaml"
	bl.gh.SetFile(website, path, patchSchedule)
	cycle := filepath.Join(t.TempDir(), "cycle.yaml")
	os.WriteFile(cycle, []byte("- what: Code Freeze\n  when: 2024-10-23\n  cycle: v1.32\n"), 0o644)
	_, policy := calendarWorld(t)
	clock := newClock(time.Date(2024, 10, 1, 12, 0, 0, 0, policy.Location))
	r := startBotEdit(t, fake, "", bl, func(c *Config) {
		c.Clock, c.Policy = clock, *policy
		c.Calendars = []cutbot.CalendarSource{&schedule.Source{Spec: "github:" + website + "/" + path, GitHub: bl.ghClient}, &schedule.Source{Spec: cycle}}
	})
	r.run(guest, "schedule")
	mustContain(t, "schedule", r.lastReply(guest), ":cherries: cherry-pick deadline v1.31.2", "Code Freeze")

	// The website moves on to the next patch; the reload picks it up.
	bl.gh.SetFile(website, path, strings.NewReplacer("1.31.2", "1.31.3", "2024-10-11", "2024-10-18", "2024-10-15", "2024-10-22").Replace(patchSchedule))
	r.runJob("calendar")
	r.run(guest, "schedule")
	reply := r.lastReply(guest)
	mustContain(t, "reloaded", reply, ":cherries: cherry-pick deadline v1.31.3", "*Fri, 2024-10-18*", "Code Freeze")
	if strings.Contains(reply, "v1.31.2") {
		t.Errorf("the old patch is still scheduled:\n%s", reply)
	}

	// GitHub fails on the next reload: the last good copy stays, with the file's milestones.
	bl.gh.FailNext("GET /repos/"+website+"/contents/", 502)
	r.runJob("calendar")
	r.run(guest, "schedule")
	mustContain(t, "after a failed reload", r.lastReply(guest), ":cherries: cherry-pick deadline v1.31.3", "Code Freeze")
	if got := len(bl.gh.Requests("GET /repos/" + website + "/contents/" + path)); got != 3 {
		t.Errorf("read schedule.yaml %d times, want 3 (start, two reloads)", got)
	}
}
