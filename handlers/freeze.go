package handlers

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"sigs.k8s.io/cutbot"
)

// FreezeReply shows a freeze: its preview (with the button that confirms it), or its outcome.
type FreezeReply struct {
	Freeze   *cutbot.Freeze
	DryRun   bool
	Confirm  bool // show the button that starts it
	Headline string
}

func (FreezeReply) isReply() {}

// ActionFreeze confirms a previewed freeze.
const ActionFreeze = "cutbot.freeze"

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

// activeFreeze returns the freeze that holds branch, if any.
func (h *Handlers) activeFreeze(ctx context.Context, branch string) (*cutbot.Freeze, error) {
	all, err := h.freezes.Freezes(ctx)
	if err != nil {
		return nil, err
	}
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Branch == branch && all[i].State.Active() {
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
		if !contains(pr.Labels, h.cpLabel) {
			continue
		}
		state, failing := "", []string(nil)
		if pr.HeadSHA != "" {
			if state, failing, err = h.gh.api.CombinedStatus(ctx, h.cpRepo, pr.HeadSHA); err != nil {
				return nil, err
			}
		}
		out = append(out, cutbot.FreezePR{Number: pr.Number, Title: pr.Title, URL: pr.URL, Reasons: cutbot.Readiness(pr, state, failing)})
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// freeze previews a cherry-pick freeze of a branch and, unless it is a dry run, stores it
// waiting for its requester to confirm.
func (h *Handlers) freeze(x *execution) (Reply, error) {
	ctx := x.ctx
	if err := h.freezeReady(); err != nil {
		return nil, err
	}
	branch, err := branchArg(x.inv)
	if err != nil {
		return nil, err
	}
	if f, err := h.activeFreeze(ctx, branch); err != nil {
		return nil, err
	} else if f != nil && f.State == cutbot.FreezeFreezing {
		h.log.Info("resuming a freeze that stopped halfway", "freeze", f.ID, "branch", branch, "user", x.req.UserID)
		return h.runFreeze(ctx, f)
	} else if f != nil {
		return nil, cutbot.Errorf(cutbot.ECONFLICT, "%s is already frozen (%s, by <@%s>); `/release thaw %s` ends it", branch, f.Reason, f.By, branch)
	}
	prs, err := h.freezeCandidates(ctx, branch)
	if err != nil {
		return nil, err
	}
	f := &cutbot.Freeze{Repo: h.cpRepo, Branch: branch, Label: h.cpLabel, Reason: x.inv.Flags["reason"], By: x.req.UserID, At: h.clock.Now(), State: cutbot.FreezePreviewed, PRs: prs}
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
func (h *Handlers) confirmFreeze(ctx context.Context, user, id string) (Reply, error) {
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
	if other, err := h.activeFreeze(ctx, f.Branch); err != nil {
		return nil, err
	} else if other != nil && other.ID != f.ID {
		return nil, cutbot.Errorf(cutbot.ECONFLICT, "%s is already frozen", f.Branch)
	}
	if c, err := h.activeCutOfBranch(ctx, f.Branch); err == nil && c != nil {
		f.CutID = c.ID
	}
	cutID := f.CutID
	f, err = h.freezes.UpdateFreeze(ctx, id, func(f *cutbot.Freeze) error {
		f.CutID = cutID
		return f.Move(cutbot.FreezeFreezing)
	})
	if err != nil {
		return nil, err
	}
	h.log.Info("freeze confirmed", "freeze", f.ID, "branch", f.Branch, "user", user, "prs", len(f.NotReady()))
	return h.runFreeze(ctx, f)
}

func (h *Handlers) activeCutOfBranch(ctx context.Context, branch string) (*cutbot.Cut, error) {
	cuts, err := h.store.ActiveCuts(ctx)
	if err != nil {
		return nil, err
	}
	for i := len(cuts) - 1; i >= 0; i-- {
		if cuts[i].Spec.Branch == branch {
			return cuts[i], nil
		}
	}
	return nil, nil
}

// sideEffect does one side effect on one PR exactly once: the intent is stored first; a
// pending intent (a crash in between) is resolved with check before doing it again.
func (h *Handlers) sideEffect(ctx context.Context, id string, n int, pick func(*cutbot.FreezePR) *cutbot.SideEffect, check func() (bool, error), do func() error) (*cutbot.Freeze, error) {
	f, err := h.freezes.Freeze(ctx, id)
	if err != nil {
		return nil, err
	}
	step := pick(f.PR(n))
	if !step.Done.IsZero() {
		return f, nil
	}
	if step.Pending() {
		done, err := check()
		if err != nil {
			return f, err
		}
		if done {
			return h.freezes.UpdateFreeze(ctx, id, func(f *cutbot.Freeze) error {
				pick(f.PR(n)).Done = h.clock.Now()
				return nil
			})
		}
	} else if f, err = h.freezes.UpdateFreeze(ctx, id, func(f *cutbot.Freeze) error {
		pick(f.PR(n)).Intent = true
		return nil
	}); err != nil {
		return f, err
	}
	if err := do(); err != nil {
		return f, err
	}
	return h.freezes.UpdateFreeze(ctx, id, func(f *cutbot.Freeze) error {
		pick(f.PR(n)).Done = h.clock.Now()
		return nil
	})
}

func (h *Handlers) hasComment(ctx context.Context, n int, marker string) (bool, error) {
	comments, err := h.gh.api.Comments(ctx, h.cpRepo, n)
	if err != nil {
		return false, err
	}
	for _, c := range comments {
		if strings.Contains(c, marker) {
			return true, nil
		}
	}
	return false, nil
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
			case !contains(pr.Labels, f.Label):
				skip = "no longer had " + f.Label
			default:
				state, failing, err := h.gh.api.CombinedStatus(ctx, h.cpRepo, pr.HeadSHA)
				if err != nil {
					return nil, h.stopped(f, err)
				}
				if len(cutbot.Readiness(pr, state, failing)) == 0 {
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
		f, err = h.sideEffect(ctx, id, n, func(p *cutbot.FreezePR) *cutbot.SideEffect { return &p.Unlabel },
			func() (bool, error) {
				pr, err := h.gh.api.PullRequest(ctx, h.cpRepo, n)
				return err == nil && !contains(pr.Labels, f.Label), err
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
		notice := fmt.Sprintf("The cherry-pick freeze of `%s` (%s) took `%s` off this PR: %s. It goes back on when the branch thaws after the release.\n\n%s",
			f.Branch, f.Reason, f.Label, strings.Join(f.PR(n).Reasons, "; "), cutbot.FreezeMarker(f.ID, "freeze"))
		f, err = h.sideEffect(ctx, id, n, func(p *cutbot.FreezePR) *cutbot.SideEffect { return &p.Notice },
			func() (bool, error) { return h.hasComment(ctx, n, cutbot.FreezeMarker(f.ID, "freeze")) },
			func() error { return h.gh.api.Comment(ctx, h.cpRepo, n, notice) })
		if err != nil {
			return nil, h.stopped(f, err)
		}
	}
	f, err := h.freezes.UpdateFreeze(ctx, id, func(f *cutbot.Freeze) error { return f.Move(cutbot.FreezeFrozen) })
	if err != nil {
		return nil, err
	}
	h.log.Info("frozen", "freeze", f.ID, "branch", f.Branch)
	var nums []string
	for _, p := range f.NotReady() {
		if p.Skipped == "" {
			nums = append(nums, "#"+strconv.Itoa(p.Number))
		}
	}
	h.noteOnCut(ctx, f.CutID, f.By, "freeze.started", fmt.Sprintf("%s (%s): %d PRs lost %s: %s", f.Branch, f.Reason, len(nums), f.Label, strings.Join(nums, " ")))
	return FreezeReply{Freeze: f, Headline: fmt.Sprintf("Froze cherry-picks on %s.", f.Branch)}, nil
}

func (h *Handlers) stopped(f *cutbot.Freeze, err error) error {
	h.log.Error("freeze stopped; it goes on at the next start or command", "freeze", f.ID, "err", err)
	verb := "freeze"
	if f.State == cutbot.FreezeThawing {
		verb = "thaw"
	}
	return fmt.Errorf("the %s of %s stopped halfway (%w); `/release %s %s` goes on where it stopped, and so does cutbot when it restarts", verb, f.Branch, err, verb, f.Branch)
}

// noteOnCut posts a line about the branch in its active cut's thread.
func (h *Handlers) noteOnCut(ctx context.Context, cutID, by, action, detail string) {
	if cutID == "" {
		return
	}
	c, err := h.store.UpdateCut(ctx, cutID, func(c *cutbot.Cut) error {
		now := h.clock.Now()
		if err := c.Apply(cutbot.Noted{By: by, Action: action, Detail: detail}, now); err != nil {
			return err
		}
		return c.Apply(cutbot.MessageIntent{Key: cutbot.AuditMessageKey(len(c.Audit)), Channel: c.Channel}, now)
	})
	if err != nil {
		h.log.Error("note on cut", "cut", cutID, "err", err)
		return
	}
	if err := h.finishMessages(ctx, c, true); err != nil {
		h.log.Error("note on cut", "cut", cutID, "err", err)
	}
}

// thaw puts the label back on exactly the PRs the freeze took it from that are still open,
// comments once on each, and reports those closed or merged meanwhile.
func (h *Handlers) thaw(x *execution) (Reply, error) {
	ctx := x.ctx
	if err := h.freezeReady(); err != nil {
		return nil, err
	}
	branch, err := branchArg(x.inv)
	if err != nil {
		return nil, err
	}
	f, err := h.activeFreeze(ctx, branch)
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
	return h.runThaw(ctx, f)
}

func (h *Handlers) runThaw(ctx context.Context, f *cutbot.Freeze) (Reply, error) {
	id := f.ID
	for _, p := range f.NotReady() {
		n := p.Number
		if p.Skipped != "" || p.Unlabel.Done.IsZero() {
			continue // the freeze never took its label
		}
		if p.Outcome == "" {
			pr, err := h.gh.api.PullRequest(ctx, h.cpRepo, n)
			if err != nil {
				return nil, h.stopped(f, err)
			}
			outcome := "relabeled"
			switch {
			case pr.Merged:
				outcome = "merged"
			case pr.State != "open":
				outcome = "closed"
			}
			if f, err = h.freezes.UpdateFreeze(ctx, id, func(f *cutbot.Freeze) error { f.PR(n).Outcome = outcome; return nil }); err != nil {
				return nil, err
			}
		}
		if f.PR(n).Outcome != "relabeled" {
			continue
		}
		var err error
		f, err = h.sideEffect(ctx, id, n, func(p *cutbot.FreezePR) *cutbot.SideEffect { return &p.Relabel },
			func() (bool, error) {
				pr, err := h.gh.api.PullRequest(ctx, h.cpRepo, n)
				return err == nil && contains(pr.Labels, f.Label), err
			},
			func() error { return h.gh.api.AddLabel(ctx, h.cpRepo, n, f.Label) })
		if err != nil {
			return nil, h.stopped(f, err)
		}
		notice := fmt.Sprintf("The cherry-pick freeze of `%s` is over: `%s` is back on this PR.\n\n%s", f.Branch, f.Label, cutbot.FreezeMarker(f.ID, "thaw"))
		f, err = h.sideEffect(ctx, id, n, func(p *cutbot.FreezePR) *cutbot.SideEffect { return &p.Thawed },
			func() (bool, error) { return h.hasComment(ctx, n, cutbot.FreezeMarker(f.ID, "thaw")) },
			func() error { return h.gh.api.Comment(ctx, h.cpRepo, n, notice) })
		if err != nil {
			return nil, h.stopped(f, err)
		}
	}
	f, err := h.freezes.UpdateFreeze(ctx, id, func(f *cutbot.Freeze) error { return f.Move(cutbot.FreezeThawed) })
	if err != nil {
		return nil, err
	}
	var back, gone int
	for _, p := range f.NotReady() {
		switch p.Outcome {
		case "relabeled":
			back++
		case "merged", "closed":
			gone++
		}
	}
	h.noteOnCut(ctx, f.CutID, f.ThawBy, "freeze.thawed", fmt.Sprintf("%s: %d PRs got %s back; %d were closed or merged meanwhile", f.Branch, back, f.Label, gone))
	h.log.Info("thawed", "freeze", f.ID, "branch", f.Branch, "relabeled", back, "gone", gone)
	return FreezeReply{Freeze: f, Headline: fmt.Sprintf("Thawed %s.", f.Branch)}, nil
}

// remindThaw reminds the thread of a finished cut that its branch is still frozen.
func (h *Handlers) remindThaw(ctx context.Context, c *cutbot.Cut) {
	if h.freezes == nil {
		return
	}
	f, err := h.activeFreeze(ctx, c.Spec.Branch)
	if err != nil || f == nil || f.State != cutbot.FreezeFrozen {
		return
	}
	h.noteOnCut(ctx, c.ID, "", "freeze.reminder", fmt.Sprintf("%s is out and %s is still frozen: `/release thaw %s` puts %s back on %d PRs", c.Version(), f.Branch, f.Branch, f.Label, len(f.NotReady())))
}

// resumeFreezes finishes freezes and thaws a crash interrupted.
func (h *Handlers) resumeFreezes(ctx context.Context) error {
	if h.freezes == nil || h.gh.api == nil {
		return nil
	}
	all, err := h.freezes.Freezes(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range all {
		switch f.State {
		case cutbot.FreezeFreezing:
			h.log.Info("resuming an interrupted freeze", "freeze", f.ID, "branch", f.Branch)
			_, err = h.runFreeze(ctx, f)
		case cutbot.FreezeThawing:
			h.log.Info("resuming an interrupted thaw", "freeze", f.ID, "branch", f.Branch)
			_, err = h.runThaw(ctx, f)
		default:
			continue
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
