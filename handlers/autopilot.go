package handlers

import (
	"context"
	"fmt"

	"sigs.k8s.io/cutbot"
)

// drive takes the next routine step of the cut when autopilot may (cutbot.AutopilotNext):
// a mock build starts at once; a no-mock build is checked (the gates, for the stage) and its
// confirmation is requested from the release manager who opened the cut. The step is recorded
// before it is tried, so it is tried once; when it cannot be taken, the thread says why and a
// person goes on by hand. It runs on the cut's lane, at the end of each settle.
func (h *Handlers) drive(ctx context.Context, c *cutbot.Cut) *cutbot.Cut {
	k, ok := c.AutopilotNext()
	if !ok || h.buildsConfigured() != nil {
		return c
	}
	next, err := h.change(ctx, c, cutbot.AutopilotStep{Stage: k})
	if err != nil {
		h.log.Error("autopilot: record the step", "cut", c.ID, "stage", k, "err", err)
		return c
	}
	h.log.Info("autopilot", "cut", c.ID, "version", c.Version().String(), "stage", k)
	_, serr := h.startStage(ctx, next.OpenedBy, next, k, "", "")
	if latest, err := h.store.Cut(ctx, c.ID); err == nil {
		next = latest
	}
	if serr == nil {
		return h.carryPosts(ctx, next)
	}
	h.log.Info("autopilot stopped", "cut", c.ID, "stage", k, "why", cutbot.ErrorMessage(serr))
	detail := fmt.Sprintf("%s did not start: %s. Go on by hand with `/release next %s`", k.Title(), cutbot.ErrorMessage(serr), c.Version())
	if stopped, err := h.change(ctx, next, cutbot.Noted{Action: "autopilot.stopped", Detail: detail}); err == nil {
		next = stopped
	}
	return h.carryPosts(ctx, next)
}

// carryPosts hands what the step needs posted (its line, its confirmation, a note) to Slack.
func (h *Handlers) carryPosts(ctx context.Context, c *cutbot.Cut) *cutbot.Cut {
	next, err := h.carry(ctx, c, func(e cutbot.Effect) bool { _, ok := e.(cutbot.PostMessage); return ok })
	if err != nil {
		h.log.Warn("autopilot: posts not done yet", "cut", c.ID, "err", err)
	}
	return next
}
