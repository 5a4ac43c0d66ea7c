package handlers

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/cutbot"
)

// FreezeReply shows a freeze: its preview (with the button that confirms it), or its outcome.
type FreezeReply struct {
	Freeze  *cutbot.Freeze
	DryRun  bool
	Confirm bool // show the button that starts it
}

func (FreezeReply) isReply() {}

// ActionFreeze confirms a previewed freeze.
const ActionFreeze = "cutbot.freeze"

// previewLife is how long a freeze preview may be confirmed (the messages say "an hour"):
// the PRs it lists are a snapshot.
const previewLife = time.Hour

var reBranch = regexp.MustCompile(`^release-\d+\.\d+$`)

func (h *Handlers) freezeReady() error {
	if h.gh.api == nil || h.freezes == nil {
		return cutbot.Errorf(cutbot.EINVALID, "cherry-pick freezes need GitHub: set GITHUB_TOKEN")
	}
	return nil
}

func branchArg(inv Invocation) (string, error) {
	b := inv.Arg(0)
	if !reBranch.MatchString(b) {
		return "", cutbot.Errorf(cutbot.EINVALID, "%q is not a release branch: give it as release-1.31", b)
	}
	return b, nil
}

// branchFreeze reads the branch a freeze or thaw command names, and the freeze holding it,
// if any.
func (h *Handlers) branchFreeze(x *execution) (string, *cutbot.Freeze, error) {
	if err := h.freezeReady(); err != nil {
		return "", nil, err
	}
	branch, err := branchArg(x.inv)
	if err != nil {
		return "", nil, err
	}
	f, err := h.activeFreeze(x.ctx, branch)
	return branch, f, err
}

// activeFreeze returns the freeze that holds branch, if any.
func (h *Handlers) activeFreeze(ctx context.Context, branch string) (*cutbot.Freeze, error) {
	all, err := h.freezes.ActiveFreezes(ctx)
	if err != nil {
		return nil, err
	}
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Branch == branch {
			return all[i], nil
		}
	}
	return nil, nil
}

// freezeCandidates looks at every open PR into branch that carries the label, and says for
// each whether it is ready to merge, and why not.
func (h *Handlers) freezeCandidates(ctx context.Context, branch string) ([]cutbot.FreezePR, error) {
	prs, err := h.gh.api.PullRequestsTo(ctx, h.cpRepo, branch)
	if err != nil {
		return nil, err
	}
	var out []cutbot.FreezePR
	for _, pr := range prs {
		if !slices.Contains(pr.Labels, h.cpLabel) {
			continue
		}
		why, err := h.notReady(ctx, pr)
		if err != nil {
			return nil, err
		}
		out = append(out, cutbot.FreezePR{Number: pr.Number, Title: pr.Title, URL: pr.URL, Reasons: why})
	}
	return out, nil
}

// notReady says why a PR is not ready to merge, reading its head's combined status.
func (h *Handlers) notReady(ctx context.Context, pr cutbot.PullRequest) ([]string, error) {
	state, failing := "", []string(nil)
	if pr.HeadSHA != "" {
		var err error
		if state, failing, err = h.gh.api.CombinedStatus(ctx, h.cpRepo, pr.HeadSHA); err != nil {
			return nil, err
		}
	}
	return cutbot.Readiness(pr, state, failing), nil
}

// freeze previews a cherry-pick freeze of a branch and, unless it is a dry run, stores it
// waiting for its requester to confirm.
func (h *Handlers) freeze(x *execution) (Reply, error) {
	ctx := x.ctx
	branch, f, err := h.branchFreeze(x)
	if err != nil {
		return nil, err
	} else if f != nil && f.State == cutbot.FreezeFreezing && !x.inv.Has("dry-run") {
		h.log.Info("resuming a freeze that stopped halfway", "freeze", f.ID, "branch", branch, "user", x.req.UserID)
		return h.driveFreeze(ctx, f)
	} else if f != nil {
		return nil, cutbot.Errorf(cutbot.ECONFLICT, "%s is already frozen (%s, by <@%s>); `/release thaw %s` ends it", branch, f.Reason, f.By, branch)
	}
	prs, err := h.freezeCandidates(ctx, branch)
	if err != nil {
		return nil, err
	}
	f = &cutbot.Freeze{Repo: h.cpRepo, Branch: branch, Label: h.cpLabel, Reason: x.inv.Flags["reason"], By: x.req.UserID, At: h.clock.Now(), State: cutbot.FreezePreviewed, PRs: prs,
		AutoThaw: h.autopilot && !x.inv.Has("no-thaw")}
	if x.inv.Has("dry-run") {
		return FreezeReply{Freeze: f, DryRun: true}, nil
	}
	if err := h.freezes.CreateFreeze(ctx, f); err != nil {
		return nil, err
	}
	return FreezeReply{Freeze: f, Confirm: len(f.NotReady()) > 0}, nil
}

// confirmFreeze starts a previewed freeze when its requester presses the button; a second
// press or someone else's starts nothing.
//
// keep (the preview's second button) keeps the branch frozen after its cut is live, where the
// freeze would otherwise thaw by itself.
func (h *Handlers) confirmFreeze(ctx context.Context, user, id string, keep bool) (Reply, error) {
	if err := h.freezeReady(); err != nil {
		return nil, err
	}
	f, err := h.freezes.Freeze(ctx, id)
	if err != nil {
		return nil, err
	}
	if f.By != user {
		return nil, cutbot.Errorf(cutbot.EUNAUTHORIZED, "only <@%s>, who asked for the freeze of %s, can confirm it", f.By, f.Branch)
	}
	switch {
	case f.State == cutbot.FreezeCancelled:
		return nil, cutbot.Errorf(cutbot.ECONFLICT, "this preview of the freeze of %s was withdrawn; run `/release freeze %s` again", f.Branch, f.Branch)
	case f.State != cutbot.FreezePreviewed:
		return nil, cutbot.Errorf(cutbot.ECONFLICT, "this freeze of %s was already confirmed (it is %s); nothing more to do", f.Branch, f.State)
	case h.clock.Now().Sub(f.At) > previewLife:
		return nil, cutbot.Errorf(cutbot.ECONFLICT, "this preview of the freeze of %s is more than an hour old and its PRs may have changed; run `/release freeze %s --reason %q` again for a fresh one", f.Branch, f.Branch, f.Reason)
	}
	if other, err := h.activeFreeze(ctx, f.Branch); err != nil {
		return nil, err
	} else if other != nil && other.ID != f.ID {
		return nil, cutbot.Errorf(cutbot.ECONFLICT, "%s is already frozen", f.Branch)
	}
	cutID := ""
	if c, err := h.activeCutOfBranch(ctx, f.Branch); err == nil && c != nil {
		cutID = c.ID
	}
	f, err = h.freezes.UpdateFreeze(ctx, id, func(f *cutbot.Freeze) error {
		f.CutID = cutID
		if keep {
			f.AutoThaw = false
		}
		return f.Move(cutbot.FreezeFreezing)
	})
	if err != nil {
		return nil, err
	}
	h.log.Info("freeze confirmed", "freeze", f.ID, "branch", f.Branch, "user", user, "prs", len(f.NotReady()))
	return h.driveFreeze(ctx, f)
}

// FreezeKeep is the argument of the freeze preview's button that keeps the branch frozen
// after the release.
const FreezeKeep = "keep"

func (h *Handlers) activeCutOfBranch(ctx context.Context, branch string) (*cutbot.Cut, error) {
	cuts, err := h.store.ActiveCuts(ctx)
	if err != nil {
		return nil, err
	}
	for i := len(cuts) - 1; i >= 0; i-- {
		if cuts[i].Spec.Branch == branch && !cuts[i].Embargoed() { // a freeze is public
			return cuts[i], nil
		}
	}
	return nil, nil
}

// sideEffect does one side effect on one PR exactly once, as every effect is done (once): the
// intent is stored on the freeze first; a pending intent (a crash in between, a failed try)
// is resolved with check before it is done again. It returns the freeze as stored after the
// step, or, on an error, as last known.
func (h *Handlers) sideEffect(ctx context.Context, f *cutbot.Freeze, n int, pick func(*cutbot.FreezePR) *cutbot.SideEffect, check func() (bool, error), do func() error) (*cutbot.Freeze, error) {
	update := func(fn func(*cutbot.SideEffect)) error {
		g, err := h.freezes.UpdateFreeze(ctx, f.ID, func(g *cutbot.Freeze) error {
			fn(pick(g.PR(n)))
			return nil
		})
		if err == nil {
			f = g
		}
		return err
	}
	step := pick(f.PR(n))
	if !step.Done.IsZero() {
		return f, nil
	}
	uncertain := step.Pending()
	if !uncertain {
		if err := update(func(s *cutbot.SideEffect) { s.Intent = true }); err != nil {
			return f, err
		}
	}
	_, err := once(ctx, uncertain,
		func(context.Context) (struct{}, bool, error) {
			happened, err := check()
			return struct{}{}, happened, err
		},
		func(context.Context) (struct{}, error) { return struct{}{}, do() })
	if err != nil {
		return f, err
	}
	return f, update(func(s *cutbot.SideEffect) { s.Done = h.clock.Now() })
}

// commentOnce posts body, with the freeze's hidden marker of this kind, on PR n once: a
// comment posted just before a crash is found by its marker and not posted again.
func (h *Handlers) commentOnce(ctx context.Context, f *cutbot.Freeze, n int, kind, body string, pick func(*cutbot.FreezePR) *cutbot.SideEffect) (*cutbot.Freeze, error) {
	marker := cutbot.FreezeMarker(f.ID, kind)
	return h.sideEffect(ctx, f, n, pick,
		func() (bool, error) { return h.hasComment(ctx, h.cpRepo, n, marker) },
		func() error { return h.gh.api.Comment(ctx, h.cpRepo, n, body+"\n\n"+marker) })
}

// runFreeze removes the label from each PR that is not ready and comments once on it. Each
// PR is read again first: one that became ready, or lost the label, is left alone. It goes on
// where it stopped after a crash.
func (h *Handlers) runFreeze(ctx context.Context, f *cutbot.Freeze) (Reply, error) {
	id := f.ID
	for _, p := range f.NotReady() {
		n := p.Number
		if p.Skipped != "" {
			continue
		}
		if p.Unlabel.Done.IsZero() && !p.Unlabel.Intent {
			pr, err := h.gh.api.PullRequest(ctx, h.cpRepo, n)
			if err != nil {
				return nil, h.stopped(f, err)
			}
			skip := ""
			switch {
			case pr.State != "open":
				skip = "closed meanwhile"
			case !slices.Contains(pr.Labels, f.Label):
				skip = "no longer had " + f.Label
			default:
				why, err := h.notReady(ctx, pr)
				if err != nil {
					return nil, h.stopped(f, err)
				}
				if len(why) == 0 {
					skip = "ready to merge by the time of the freeze"
				}
			}
			if skip != "" {
				if f, err = h.freezes.UpdateFreeze(ctx, id, func(f *cutbot.Freeze) error { f.PR(n).Skipped = skip; return nil }); err != nil {
					return nil, err
				}
				continue
			}
		}
		var err error
		f, err = h.sideEffect(ctx, f, n, func(p *cutbot.FreezePR) *cutbot.SideEffect { return &p.Unlabel },
			func() (bool, error) {
				pr, err := h.gh.api.PullRequest(ctx, h.cpRepo, n)
				return err == nil && !slices.Contains(pr.Labels, f.Label), err
			},
			func() error {
				err := h.gh.api.RemoveLabel(ctx, h.cpRepo, n, f.Label)
				if cutbot.ErrorCode(err) == cutbot.ENOTFOUND {
					return nil // it no longer had it
				}
				return err
			})
		if err != nil {
			return nil, h.stopped(f, err)
		}
		notice := fmt.Sprintf("The cherry-pick freeze of `%s` (%s) took `%s` off this PR: %s. It goes back on when the branch thaws after the release.",
			f.Branch, f.Reason, f.Label, strings.Join(f.PR(n).Reasons, "; "))
		if f, err = h.commentOnce(ctx, f, n, "freeze", notice, func(p *cutbot.FreezePR) *cutbot.SideEffect { return &p.Notice }); err != nil {
			return nil, h.stopped(f, err)
		}
	}
	f, err := h.freezes.UpdateFreeze(ctx, id, func(f *cutbot.Freeze) error { return f.Move(cutbot.FreezeFrozen) })
	if err != nil {
		return nil, err
	}
	h.log.Info("frozen", "freeze", f.ID, "branch", f.Branch)
	var nums []string
	for _, p := range f.Lost() {
		nums = append(nums, "#"+strconv.Itoa(p.Number))
	}
	h.noteOnCut(ctx, f.CutID, f.By, "freeze.started", fmt.Sprintf("%s (%s): %s lost %s: %s", f.Branch, f.Reason, cutbot.PRs(len(nums)), f.Label, strings.Join(nums, " ")))
	return FreezeReply{Freeze: f}, nil
}

func (h *Handlers) stopped(f *cutbot.Freeze, err error) error {
	verb := "freeze"
	if f.State == cutbot.FreezeThawing {
		verb = "thaw"
	}
	h.log.Error(verb+" stopped halfway", "freeze", f.ID, "branch", f.Branch, "err", err)
	return fmt.Errorf("%w: %w", cutbot.Errorf(cutbot.ErrorCode(err), "The %s of %s stopped halfway: %s. cutbot tries again by itself, at most every 10 minutes and when it restarts; `/release %s %s` goes on now. Nothing done so far is repeated.",
		verb, f.Branch, cutbot.ErrorMessage(err), verb, f.Branch), err)
}

// driveFreeze runs a freeze or a thaw on from where it stands. It runs on the branch's
// freeze lane, so the poller's retry and a command never act on the same PRs side by side.
func (h *Handlers) driveFreeze(ctx context.Context, f *cutbot.Freeze) (Reply, error) {
	key := "freeze:" + f.ID
	// Read it again on the lane: an earlier job may have moved it on.
	f, err := h.freezes.Freeze(ctx, f.ID)
	if err != nil {
		return nil, err
	}
	var r Reply
	switch f.State {
	case cutbot.FreezeFreezing:
		r, err = h.runFreeze(ctx, f)
	case cutbot.FreezeThawing:
		r, err = h.runThaw(ctx, f)
	default:
		return FreezeReply{Freeze: f}, nil
	}
	if err != nil {
		d := h.backoff.fail(key, h.clock.Now())
		h.log.Info("the freeze will be tried again", "freeze", f.ID, "in", d)
		return nil, err
	}
	h.backoff.ok(key)
	return r, nil
}

// noteOnCut posts a line about the branch in the thread of its active cut: a job handed to
// the cut's lane, which alone changes the cut.
func (h *Handlers) noteOnCut(ctx context.Context, cutID, by, action, detail string) {
	if cutID == "" {
		return
	}
	c, err := h.store.Cut(ctx, cutID)
	if err != nil {
		h.log.Error("note on cut", "cut", cutID, "err", err)
		return
	}
	h.lanes.goAsync(c.Version().String(), "", func() {
		ctx, cancel := h.jobContext()
		defer cancel()
		c, err := h.store.Cut(ctx, cutID)
		if err == nil {
			c, err = h.change(ctx, c, cutbot.Noted{By: by, Action: action, Detail: detail})
		}
		if err != nil {
			h.log.Error("note on cut", "cut", cutID, "err", err)
			return
		}
		h.settle(ctx, c)
	})
}

// thaw puts the label back on exactly the PRs the freeze took it from that are still open,
// comments once on each, and reports those closed or merged meanwhile.
func (h *Handlers) thaw(x *execution) (Reply, error) {
	ctx := x.ctx
	branch, f, err := h.branchFreeze(x)
	if err != nil {
		return nil, err
	}
	if f == nil {
		return nil, cutbot.Errorf(cutbot.ENOTFOUND, "%s is not frozen", branch)
	}
	if f.State == cutbot.FreezeFreezing {
		return nil, cutbot.Errorf(cutbot.ECONFLICT, "the freeze of %s has not finished: `/release freeze %s` finishes it (so does a restart), then thaw", branch, branch)
	}
	if f.State == cutbot.FreezeFrozen {
		if f, err = h.freezes.UpdateFreeze(ctx, f.ID, func(f *cutbot.Freeze) error {
			f.ThawBy, f.ThawAt = x.req.UserID, h.clock.Now()
			return f.Move(cutbot.FreezeThawing)
		}); err != nil {
			return nil, err
		}
	}
	return h.driveFreeze(ctx, f)
}

func (h *Handlers) runThaw(ctx context.Context, f *cutbot.Freeze) (Reply, error) {
	id := f.ID
	for _, p := range f.Lost() {
		n := p.Number
		if p.Outcome == "" {
			pr, err := h.gh.api.PullRequest(ctx, h.cpRepo, n)
			if err != nil {
				return nil, h.stopped(f, err)
			}
			outcome := cutbot.OutcomeRelabeled
			switch {
			case pr.Merged:
				outcome = cutbot.OutcomeMerged
			case pr.State != "open":
				outcome = cutbot.OutcomeClosed
			}
			if f, err = h.freezes.UpdateFreeze(ctx, id, func(f *cutbot.Freeze) error { f.PR(n).Outcome = outcome; return nil }); err != nil {
				return nil, err
			}
		}
		if f.PR(n).Outcome != cutbot.OutcomeRelabeled {
			continue
		}
		var err error
		f, err = h.sideEffect(ctx, f, n, func(p *cutbot.FreezePR) *cutbot.SideEffect { return &p.Relabel },
			func() (bool, error) {
				pr, err := h.gh.api.PullRequest(ctx, h.cpRepo, n)
				return err == nil && slices.Contains(pr.Labels, f.Label), err
			},
			func() error { return h.gh.api.AddLabel(ctx, h.cpRepo, n, f.Label) })
		if err != nil {
			return nil, h.stopped(f, err)
		}
		notice := fmt.Sprintf("The cherry-pick freeze of `%s` is over: `%s` is back on this PR.", f.Branch, f.Label)
		if f, err = h.commentOnce(ctx, f, n, "thaw", notice, func(p *cutbot.FreezePR) *cutbot.SideEffect { return &p.Thawed }); err != nil {
			return nil, h.stopped(f, err)
		}
	}
	f, err := h.freezes.UpdateFreeze(ctx, id, func(f *cutbot.Freeze) error { return f.Move(cutbot.FreezeThawed) })
	if err != nil {
		return nil, err
	}
	back, gone := f.ThawCounts()
	h.noteOnCut(ctx, f.CutID, f.ThawBy, "freeze.thawed", fmt.Sprintf("%s: %s got %s back; %d closed or merged meanwhile", f.Branch, cutbot.PRs(back), f.Label, gone))
	h.log.Info("thawed", "freeze", f.ID, "branch", f.Branch, "relabeled", back, "gone", gone)
	return FreezeReply{Freeze: f}, nil
}

// remindThaw reminds the thread of a finished cut that its branch is still frozen. It runs
// on the cut's lane.
func (h *Handlers) remindThaw(ctx context.Context, c *cutbot.Cut) *cutbot.Cut {
	if h.freezes == nil {
		return c
	}
	f, err := h.activeFreeze(ctx, c.Spec.Branch)
	if err != nil || f == nil || f.State != cutbot.FreezeFrozen {
		return c
	}
	if f.AutoThaw {
		h.thawLater(f.ID, f.Branch, c)
		return c
	}
	detail := fmt.Sprintf("%s is out and %s is still frozen: `/release thaw %s` puts %s back on %s", c.Version(), f.Branch, f.Branch, f.Label, cutbot.PRs(len(f.Lost())))
	next, err := h.change(ctx, c, cutbot.Noted{Action: "freeze.reminder", Detail: detail})
	if err != nil {
		h.log.Error("remind to thaw", "cut", c.ID, "err", err)
	}
	return next
}

// thawLater thaws a freeze that asked to end by itself once a cut of its branch is live, on
// the branch's lane (the freeze's one owner), in the name of whoever froze it.
func (h *Handlers) thawLater(id, branch string, c *cutbot.Cut) {
	v, cutID := c.Version(), c.ID
	h.lanes.goAsync(freezeLane(branch), "autothaw:"+id, func() {
		ctx, cancel := h.jobContext()
		defer cancel()
		f, err := h.freezes.UpdateFreeze(ctx, id, func(f *cutbot.Freeze) error {
			if f.State != cutbot.FreezeFrozen {
				return cutbot.Errorf(cutbot.ECONFLICT, "%s is %s", f.Branch, f.State)
			}
			f.ThawBy, f.ThawAt = "", h.clock.Now() // cutbot itself, as the freeze asked
			if f.CutID == "" {
				f.CutID = cutID // the thread of the cut that went live hears of it
			}
			return f.Move(cutbot.FreezeThawing)
		})
		if err != nil {
			h.log.Info("auto-thaw: nothing to do", "freeze", id, "why", err)
			return
		}
		h.log.Info("thawing by itself: the cut is live", "freeze", id, "branch", branch, "version", v.String())
		if _, err := h.driveFreeze(ctx, f); err != nil {
			h.log.Warn("auto-thaw stopped; it goes on by itself", "freeze", id, "err", err)
		}
	})
}

// resumeFreezes hands the freezes and thaws that stopped halfway (a crash, GitHub failing)
// to their branch's lane: at start every one, from the poller those whose backoff passed.
func (h *Handlers) resumeFreezes(polling bool) {
	if h.freezes == nil || h.gh.api == nil {
		return
	}
	ctx, cancel := h.jobContext()
	defer cancel()
	all, err := h.freezes.ActiveFreezes(ctx)
	if err != nil {
		h.log.Error("list freezes", "err", err)
		return
	}
	for _, f := range all {
		if f.State != cutbot.FreezeFreezing && f.State != cutbot.FreezeThawing {
			continue
		}
		if polling && h.backoff.wait("freeze:"+f.ID, h.clock.Now()) {
			continue
		}
		h.lanes.goAsync(freezeLane(f.Branch), "resume:"+f.ID, func() {
			ctx, cancel := h.jobContext()
			defer cancel()
			h.log.Info("going on with a freeze that stopped halfway", "freeze", f.ID, "branch", f.Branch, "state", f.State)
			if _, err := h.driveFreeze(ctx, f); err != nil {
				h.log.Warn("freeze", "freeze", f.ID, "err", err)
			}
		})
	}
}
