package handlers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/cutbot"
)

type calendar struct {
	sources   []cutbot.CalendarSource
	policy    cutbot.ReminderPolicy
	store     cutbot.ReminderStore
	announcer cutbot.Announcer

	mu         sync.Mutex
	milestones []cutbot.Milestone
	plan       []cutbot.Reminder             // of milestones, planned when they load
	lastGood   map[string][]cutbot.Milestone // by source, for when a source cannot be read
	loaded     time.Time
	problems   map[string]bool // logged once each
	runMu      sync.Mutex      // one reminder run at a time
}

func newCalendar(d Deps) calendar {
	p := d.Policy
	if p.Location == nil {
		p.Location = time.UTC
	}
	if len(p.Leads) == 0 {
		p.Leads = []int{3, 0}
	}
	if p.Grace == 0 {
		p.Grace = 10 * time.Minute
	}
	return calendar{sources: d.Calendars, policy: p, store: d.Reminders, announcer: d.Announcer, problems: map[string]bool{}, lastGood: map[string][]cutbot.Milestone{}}
}

// LoadCalendar reads every calendar source. A source that fails keeps what it gave before;
// entries a source skipped (TBD, N/A, ...) are logged once each.
func (h *Handlers) LoadCalendar(ctx context.Context) error {
	c := &h.cal
	if len(c.sources) == 0 {
		return nil
	}
	var all []cutbot.Milestone
	var errs []error
	seen := map[string]bool{}
	for _, src := range c.sources {
		ms, problems, err := src.Milestones(ctx)
		c.mu.Lock()
		if err != nil {
			// Keep what this source said last time: a GitHub outage must not silence its
			// reminders.
			ms = c.lastGood[src.Name()]
			errs = append(errs, fmt.Errorf("calendar %s (keeping its last good copy, %d milestones): %w", src.Name(), len(ms), err))
		} else {
			c.lastGood[src.Name()] = ms
		}
		for _, p := range problems {
			if !c.problems[p] {
				c.problems[p] = true
				h.log.Warn("calendar entry skipped", "detail", p)
			}
		}
		c.mu.Unlock()
		for _, m := range ms {
			key := string(m.Kind) + "/" + m.Day.String() + "/" + m.What
			if !seen[key] {
				seen[key] = true
				all = append(all, m)
			}
		}
	}
	if len(errs) == len(c.sources) && len(all) == 0 {
		return errors.Join(errs...) // nothing read yet, or ever
	}
	c.mu.Lock()
	c.milestones, c.plan, c.loaded = all, cutbot.PlanReminders(all, c.policy), h.clock.Now()
	c.mu.Unlock()
	h.log.Info("calendar loaded", "milestones", len(all), "sources", len(c.sources), "failed", len(errs))
	return errors.Join(errs...)
}

func (h *Handlers) plan() []cutbot.Reminder {
	h.cal.mu.Lock()
	defer h.cal.mu.Unlock()
	return h.cal.plan
}

// RunReminders posts the reminders that are due, once each: the intent is stored before the
// post; an intent left by a crash is resolved by finding the message before posting again.
// Reminders whose moment passed while cutbot was down are dropped, with a log line.
func (h *Handlers) RunReminders(ctx context.Context) error {
	c := &h.cal
	if c.store == nil || c.announcer == nil {
		return nil
	}
	c.runMu.Lock()
	defer c.runMu.Unlock()
	now := h.clock.Now()
	plan := h.plan()
	records, err := c.store.ReminderRecords(ctx)
	if err != nil {
		return fmt.Errorf("reminders: %w", err)
	}
	var errs []error
	byID := map[string]cutbot.Reminder{}
	for _, r := range plan {
		byID[r.ID] = r
	}
	// Posts a crash or a failure interrupted: their intent is stored, so they are looked for
	// before they are posted again, or dropped if their moment passed.
	for id, rec := range records {
		if rec.State != cutbot.ReminderPosting || strings.HasPrefix(id, noticePrefix) || strings.HasPrefix(id, gapPrefix) {
			continue // approvable notices and gap reminders are the board's (NoticeApprovable, RemindPatchGaps)
		}
		if r, ok := byID[id]; ok && now.Before(r.Until) {
			errs = append(errs, h.postReminder(ctx, cutbot.Due{Reminder: r, Late: now.Sub(r.At) > c.policy.Grace}, rec.At))
			continue
		}
		// Its moment passed: record what became of it, without posting it now.
		state, ref := cutbot.ReminderDropped, cutbot.MessageRef{}
		found := false
		var err error
		if ref, found, err = c.announcer.FindReminder(ctx, id, rec.At.Add(-time.Minute)); err != nil {
			errs = append(errs, err)
			continue
		}
		if found {
			state = cutbot.ReminderSent
		}
		errs = append(errs, c.store.SetReminder(ctx, cutbot.ReminderRecord{ID: id, State: state, At: now, Ref: ref}))
	}
	handled := map[string]bool{}
	for id := range records {
		handled[id] = true
	}
	post, drop := cutbot.DueReminders(plan, now, handled, c.policy.Grace)
	for _, r := range drop {
		h.log.Info("reminder dropped: its moment passed while cutbot was not running, or a later one replaced it", "reminder", r.ID, "was_due", r.At)
		errs = append(errs, c.store.SetReminder(ctx, cutbot.ReminderRecord{ID: r.ID, State: cutbot.ReminderDropped, At: now}))
	}
	for _, d := range post {
		ok, err := c.store.ClaimReminder(ctx, d.ID, now) // the intent
		if err != nil || !ok {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, h.postReminder(ctx, d, time.Time{}))
	}
	return errors.Join(errs...)
}

// postReminder posts a reminder whose intent is stored, exactly once (see once): an intent
// read back (claimed at since) is first looked for in the channel's history.
func (h *Handlers) postReminder(ctx context.Context, d cutbot.Due, since time.Time) error {
	uncertain := !since.IsZero()
	ref, err := once(ctx, uncertain,
		func(ctx context.Context) (cutbot.MessageRef, bool, error) {
			return h.cal.announcer.FindReminder(ctx, d.ID, since.Add(-time.Minute))
		},
		func(ctx context.Context) (cutbot.MessageRef, error) { return h.cal.announcer.PostReminder(ctx, d) })
	if err != nil {
		return fmt.Errorf("post reminder %s: %w", d.ID, err) // the intent stays: the next run looks first
	}
	h.log.Info("reminder posted", "reminder", d.ID, "late", d.Late, "looked_up", uncertain)
	return h.cal.store.SetReminder(ctx, cutbot.ReminderRecord{ID: d.ID, State: cutbot.ReminderSent, At: h.clock.Now(), Ref: ref, Late: d.Late})
}

// ScheduleReply shows what is coming.
type ScheduleReply struct {
	From, To   cutbot.Day
	Milestones []cutbot.Milestone
	Location   *time.Location
	Loaded     time.Time
}

// RemindersReply lists the reminders still to come and the muted ones.
type RemindersReply struct {
	Next     []cutbot.Reminder
	Muted    []cutbot.Reminder
	Location *time.Location
	Headline string
}

func (ScheduleReply) isReply()  {}
func (RemindersReply) isReply() {}

func (h *Handlers) schedule(x *execution) (Reply, error) {
	weeks := 6
	if w := x.inv.Arg(0); w != "" {
		n, err := strconv.Atoi(w)
		if err != nil || n < 1 || n > 52 {
			return nil, cutbot.Errorf(cutbot.EINVALID, "%q is not a number of weeks from 1 to 52, e.g. `/release schedule 8`", w)
		}
		weeks = n
	}
	if len(h.cal.sources) == 0 {
		return nil, cutbot.Errorf(cutbot.EINVALID, "cutbot has no release calendar: set CUTBOT_CALENDARS (schedule.yaml, a cycle's .ics, ...)")
	}
	loc := h.cal.policy.Location
	from := cutbot.DayOf(h.clock.Now().In(loc))
	to := from.AddDays(7 * weeks)
	h.cal.mu.Lock()
	ms, loaded := h.cal.milestones, h.cal.loaded
	h.cal.mu.Unlock()
	var out []cutbot.Milestone
	for _, m := range ms {
		if !m.Day.Before(from) && m.Day.Before(to) {
			out = append(out, m)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Day.Before(out[j].Day) })
	return ScheduleReply{From: from, To: to, Milestones: out, Location: loc, Loaded: loaded}, nil
}

func (h *Handlers) reminders(x *execution) (Reply, error) {
	c := &h.cal
	if c.store == nil {
		return nil, cutbot.Errorf(cutbot.EINVALID, "reminders are not set up here")
	}
	ctx := x.ctx
	action, id := x.inv.Arg(0), x.inv.Arg(1)
	headline := ""
	switch action {
	case "":
	case "mute", "unmute":
		if id == "" {
			return nil, cutbot.Errorf(cutbot.EINVALID, "`/release reminders %s` needs the reminder's id, as `/release reminders` lists them", action)
		}
		if !slices.ContainsFunc(h.plan(), func(r cutbot.Reminder) bool { return r.ID == id }) {
			return nil, cutbot.Errorf(cutbot.ENOTFOUND, "there is no reminder %q; `/release reminders` lists them", id)
		}
		records, err := c.store.ReminderRecords(ctx)
		if err != nil {
			return nil, err
		}
		rec, has := records[id]
		if action == "mute" {
			if has && rec.State != cutbot.ReminderMuted {
				return nil, cutbot.Errorf(cutbot.ECONFLICT, "reminder %s was already %s", id, rec.State)
			}
			if err := c.store.SetReminder(ctx, cutbot.ReminderRecord{ID: id, State: cutbot.ReminderMuted, At: h.clock.Now(), By: x.req.UserID}); err != nil {
				return nil, err
			}
			headline = "Muted " + id + "."
		} else {
			if !has || rec.State != cutbot.ReminderMuted {
				return nil, cutbot.Errorf(cutbot.EINVALID, "reminder %s is not muted", id)
			}
			if err := c.store.DeleteReminder(ctx, id); err != nil {
				return nil, err
			}
			headline = "Unmuted " + id + "."
		}
		h.log.Info("reminder "+action+"d", "reminder", id, "user", x.req.UserID)
	default:
		return nil, cutbot.Errorf(cutbot.EINVALID, "unknown action %q: use `/release reminders`, `/release reminders mute ID` or `/release reminders unmute ID`", action)
	}
	records, err := c.store.ReminderRecords(ctx)
	if err != nil {
		return nil, err
	}
	reply := RemindersReply{Location: c.policy.Location, Headline: headline}
	handled := map[string]bool{}
	for id, r := range records {
		handled[id] = r.State != cutbot.ReminderMuted
	}
	for _, r := range cutbot.NextReminders(h.plan(), h.clock.Now(), handled) {
		if rec, ok := records[r.ID]; ok && rec.State == cutbot.ReminderMuted {
			reply.Muted = append(reply.Muted, r)
			continue
		}
		if len(reply.Next) < 15 {
			reply.Next = append(reply.Next, r)
		}
	}
	return reply, nil
}
