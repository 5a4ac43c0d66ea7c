package handlers

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"sigs.k8s.io/cutbot"
)

// draftNotes carries out a DraftReleaseNotes: the release-notes preview of a patch cut, read
// from the cherry-picks merged on its branch since the branch's last release (the calendar's
// previous patch, or GitHub's release of the patch before; else the board's history). It is
// a read: doing it twice is harmless, and the result is recorded once.
func (h *Handlers) draftNotes(ctx context.Context, c *cutbot.Cut) ([]cutbot.Event, error) {
	g := &h.gh
	if g.api == nil {
		return []cutbot.Event{cutbot.EffectDone{Key: cutbot.DraftReleaseNotes{}.Key()}}, nil
	}
	v := c.Version()
	loc := h.cal.policy.Location
	since := h.clock.Now().Add(-cmp.Or(h.board.history, 45*24*time.Hour))
	sinceOf := "the board's history (" + cutbot.DayOf(since.In(loc)).String() + ")"
	if last, ok := h.lastRelease(ctx, v); ok {
		since = last.Day.At(23, 59, loc)
		sinceOf = fmt.Sprintf("%s (%s)", last.Version, last.Day)
	}
	branch := c.Spec.Branch
	prs, err := g.api.ClosedPullRequestsTo(ctx, h.cpRepo, branch, since)
	if err != nil {
		return nil, err
	}
	var picks []cutbot.CherryPick
	for _, pr := range prs {
		if !pr.Merged {
			continue
		}
		picks = append(picks, cutbot.CherryPick{Repo: h.cpRepo, Number: pr.Number, URL: pr.URL, Title: pr.Title, Branch: branch, HeadRef: pr.HeadRef,
			Author: pr.Author, Body: pr.Body, Labels: pr.Labels, State: cutbot.PickMerged, ClosedAt: cmp.Or(pr.MergedAt, pr.ClosedAt)})
	}
	var readErr error
	parent := func(n int) (string, bool) {
		pr, err := g.api.PullRequest(ctx, h.cpRepo, n)
		if cutbot.ErrorCode(err) == cutbot.ENOTFOUND {
			return "", false // a parent that is not a PR of this repository: no note from it
		}
		if err != nil {
			readErr = err
			return "", false
		}
		return pr.Body, true
	}
	d := cutbot.DraftNotes(branch, since, sinceOf, picks, parent)
	if readErr != nil {
		return nil, fmt.Errorf("read a parent PR's release note: %w", readErr)
	}
	h.log.Info("release notes drafted", "cut", c.ID, "notes", len(d.Items), "without", len(d.Without))
	return []cutbot.Event{cutbot.NotesDrafted{Draft: d}}, nil
}

// openSchedulePR carries out an OpenSchedulePR: the schedule.yaml PR on kubernetes/website,
// once (an uncertain one is looked for by its head branch first).
func (h *Handlers) openSchedulePR(ctx context.Context, c *cutbot.Cut, uncertain bool) ([]cutbot.Event, error) {
	u := h.scheduler
	if u == nil {
		return []cutbot.Event{cutbot.EffectDone{Key: cutbot.OpenSchedulePR{}.Key()}}, nil
	}
	v := c.Version()
	day := cutbot.DayOf(cmp.Or(c.EndedAt, h.clock.Now()).In(h.cal.policy.Location))
	type proposed struct {
		pr cutbot.PullRequest
		ok bool
	}
	res, err := once(ctx, uncertain,
		func(ctx context.Context) (proposed, bool, error) {
			pr, found, err := u.Find(ctx, v)
			return proposed{pr, true}, found, err
		},
		func(ctx context.Context) (proposed, error) {
			pr, ok, err := u.Open(ctx, v, day)
			return proposed{pr, ok}, err
		})
	if err != nil {
		return nil, err
	}
	if !res.ok {
		return []cutbot.Event{cutbot.ScheduleProposed{Detail: fmt.Sprintf("schedule.yaml lists %s already: no PR needed", v)}}, nil
	}
	h.log.Info("schedule.yaml PR recorded", "cut", c.ID, "pr", res.pr.URL, "looked_up", uncertain)
	return []cutbot.Event{cutbot.ScheduleProposed{URL: res.pr.URL, Detail: "schedule.yaml PR " + res.pr.URL + " (what schedule-builder would do: " + v.String() + " moves to the past patches with its date, the next patch takes the next upcoming date)"}}, nil
}
