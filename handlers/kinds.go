package handlers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"sigs.k8s.io/cutbot"
)

// This file holds what is particular to some kinds of cut: a hotfix's branch, an embargoed
// security release's privacy and its lift, and the release timing guard.

// ActionCreateBranch is the button that creates a hotfix cut's missing branch.
const ActionCreateBranch = "cutbot.create_branch"

// createBranch is the requester's confirmation (the button) to create the cut's hotfix
// branch from its tag: recorded, then carried out at once through the journal.
func (h *Handlers) createBranch(ctx context.Context, user string, c *cutbot.Cut) (Reply, error) {
	c, err := h.change(ctx, c, cutbot.RequestBranch{By: user})
	if err != nil {
		return nil, err
	}
	c, err = h.carry(ctx, c, func(e cutbot.Effect) bool { _, ok := e.(cutbot.CreateBranch); return ok })
	if err != nil {
		return nil, cutbot.Errorf(cutbot.EUNAVAILABLE, "%s: the branch %s could not be created yet (%s); cutbot tries again by itself, and looks for it first, so it is never created twice", c.Version(), c.Spec.Branch, cutbot.ErrorMessage(err))
	}
	return CutReply{Cut: c, Brief: true, Headline: fmt.Sprintf("Created %s from %s: the stages may run.", c.Spec.Branch, c.Spec.HotfixBase())}, nil
}

// doCreateBranch carries out a CreateBranch intent once: an uncertain one (read back after a
// crash, or tried and failed) looks for the branch first, and a branch found there is
// recorded as it is, not created again.
func (h *Handlers) doCreateBranch(ctx context.Context, c *cutbot.Cut, e cutbot.CreateBranch, uncertain bool) ([]cutbot.Event, error) {
	g := &h.gh
	if g.api == nil {
		return nil, cutbot.Errorf(cutbot.EINVALID, "cutbot cannot create branches: GITHUB_TOKEN is not set")
	}
	created, err := once(ctx, uncertain,
		func(ctx context.Context) (cutbot.BranchCreated, bool, error) {
			ok, err := g.api.BranchExists(ctx, g.releaseRepo, e.Branch)
			return cutbot.BranchCreated{Existed: true}, ok, err
		},
		func(ctx context.Context) (cutbot.BranchCreated, error) {
			sha, err := g.api.CreateBranch(ctx, g.releaseRepo, e.Branch, e.From)
			if cutbot.ErrorCode(err) == cutbot.ECONFLICT {
				return cutbot.BranchCreated{Existed: true}, nil // made meanwhile, by a person
			}
			return cutbot.BranchCreated{SHA: sha}, err
		})
	if err != nil {
		return nil, err
	}
	h.log.Info("hotfix branch recorded", "cut", c.ID, "branch", e.Branch, "from", e.From, "sha", created.SHA, "found_there", created.Existed)
	return []cutbot.Event{created}, nil
}

// gateDashboards are the testgrid dashboards the gates of a cut read, in order: the branch's own, or
// for a hotfix branch that has none, the minor's (said in the gate's detail).
func (h *Handlers) gateDashboards(c *cutbot.Cut) []string {
	own := "sig-release-" + strings.TrimPrefix(c.Spec.Branch, "release-") + "-blocking"
	if !c.Spec.Hotfix() {
		return []string{own}
	}
	v := c.Version()
	return []string{own, fmt.Sprintf("sig-release-%d.%d-blocking", v.Major, v.Minor)}
}

// hiddenFrom reports whether user may not see cut c: an embargoed cut is shown to release
// managers only, until its embargo is lifted.
func (h *Handlers) hiddenFrom(ctx context.Context, user string, c *cutbot.Cut) bool {
	if !c.Embargoed() {
		return false
	}
	ok, err := h.dir.IsReleaseManager(ctx, user)
	return err != nil || !ok
}

// errHidden answers a non-manager who names an embargoed cut as if there were none, without
// naming the version back (the reply would be refused: it names an embargoed cut).
var errHidden = cutbot.Errorf(cutbot.ENOTFOUND, "No cut of that version has been opened. `/release status` lists the active cuts.")

// visible are the cuts user may see.
func (h *Handlers) visible(ctx context.Context, user string, cuts []*cutbot.Cut) []*cutbot.Cut {
	out := cuts[:0:0]
	for _, c := range cuts {
		if !h.hiddenFrom(ctx, user, c) {
			out = append(out, c)
		}
	}
	return out
}

// lift lifts the embargo of a security release: recorded; the public thread follows.
func (h *Handlers) lift(x *execution) (Reply, error) {
	v, err := versionArg(x.inv)
	if err != nil {
		return ErrorReply{Message: cutbot.ErrorMessage(err), Usage: x.inv.Command}, nil
	}
	c, err := h.store.LatestCut(x.ctx, v)
	if cutbot.ErrorCode(err) == cutbot.ENOTFOUND {
		return nil, cutbot.Errorf(cutbot.ENOTFOUND, "%s has never been cut: there is no embargo to lift.", v)
	} else if err != nil {
		return nil, err
	}
	if c, err = h.change(x.ctx, c, cutbot.LiftEmbargo{By: x.req.UserID}); err != nil {
		return nil, err
	}
	h.log.Info("embargo lifted", "cut", c.ID, "version", v.String(), "user", x.req.UserID)
	headline := "Lifted the embargo: the cut's public thread, with its history, is on its way to the release channel."
	if c.Intends(cutbot.PostMessage{Message: cutbot.MessageLive}.Key()) {
		headline += " \"Is live\" follows in it."
	}
	return CutReply{Cut: c, Brief: true, Headline: headline}, nil
}

// checkTiming holds a patch cut to the playbook's timing: at least the minimum gap after the
// branch's last release (from the calendar's past patches, or GitHub's release of the
// latest tag), unless forced. It returns what a force overrode, for the record.
func (h *Handlers) checkTiming(ctx context.Context, spec cutbot.CutSpec, force string) (string, error) {
	v := spec.Version
	if !v.IsPatch() || h.minGap < 0 {
		return "", nil
	}
	last, ok := h.lastRelease(ctx, v)
	if !ok {
		return "", nil
	}
	why := cutbot.TooSoon(v, last, cutbot.DayOf(h.clock.Now().In(h.cal.policy.Location)), h.minGap)
	switch {
	case why == "":
		return "", nil
	case force == "":
		return "", cutbot.Errorf(cutbot.EINVALID, "%s. Add --force \"reason\" to cut it now; the reason is recorded.", why)
	}
	return why + "; cut anyway: " + force, nil
}

// lastRelease is the release of v's branch before v: from the calendar's past patches, or the
// GitHub release of the patch before v (when GitHub is set up and has it).
func (h *Handlers) lastRelease(ctx context.Context, v cutbot.Version) (cutbot.Released, bool) {
	var known []cutbot.Released
	if g := &h.gh; g.api != nil && v.Patch > 0 {
		prev := cutbot.Version{Major: v.Major, Minor: v.Minor, Patch: v.Patch - 1}
		if at, ok, err := g.api.ReleasedAt(ctx, g.releaseRepo, prev.String()); err == nil && ok {
			known = append(known, cutbot.Released{Version: prev, Day: cutbot.DayOf(at.In(h.cal.policy.Location)), Source: "its GitHub release"})
		}
	}
	return cutbot.LastRelease(v, h.milestones(), known)
}

// gapPrefix names the reminders of branches gone too long without a patch release.
const gapPrefix = "gap-"

// RemindPatchGaps reminds the release channel, once per branch and last release, of a
// branch that has gone more than the maximum gap without a patch release while cherry-picks
// merged on it (as the board read them). Each is claimed before it is posted; a claim read
// back after a crash is looked for first.
func (h *Handlers) RemindPatchGaps(ctx context.Context) error {
	c := &h.cal
	if h.maxGap < 0 || c.store == nil || c.announcer == nil || h.boardReady() != nil {
		return nil
	}
	records, err := c.store.ReminderRecords(ctx)
	if err != nil {
		return err
	}
	now := h.clock.Now()
	today := cutbot.DayOf(now.In(c.policy.Location))
	var errs []error
	milestones := h.milestones()
	for _, br := range h.BoardBranches() {
		b, err := h.board.store.Board(ctx, br)
		if err != nil {
			continue
		}
		minor, err := cutbot.ParseVersion("v" + strings.TrimPrefix(br, "release-") + ".0")
		if err != nil {
			continue
		}
		beyond := cutbot.Version{Major: minor.Major, Minor: minor.Minor, Patch: 1 << 30}
		last, ok := cutbot.LastRelease(beyond, milestones, nil)
		if !ok {
			continue
		}
		since := last.Day.At(23, 59, c.policy.Location)
		merged := 0
		for _, p := range b.Picks {
			if p.State == cutbot.PickMerged && p.ClosedAt.After(since) {
				merged++
			}
		}
		d, ok := cutbot.GapReminder(br, last, merged, today, h.maxGap, now)
		if !ok {
			continue
		}
		rec, seen := records[d.ID]
		switch {
		case !seen:
			claimed, err := c.store.ClaimReminder(ctx, d.ID, now)
			if err != nil || !claimed {
				errs = append(errs, err)
				continue
			}
			errs = append(errs, h.postReminder(ctx, d, time.Time{}))
		case rec.State == cutbot.ReminderPosting:
			errs = append(errs, h.postReminder(ctx, d, rec.At))
		}
	}
	return errors.Join(errs...)
}
