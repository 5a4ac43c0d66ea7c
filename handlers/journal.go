package handlers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"sigs.k8s.io/cutbot"
)

// once does one side effect that must happen exactly once, the one way cutbot does every
// side effect: the caller has stored the intent before, and records the result after.
// uncertain says whether an earlier try may already have done it (the intent was read back
// after a crash, or a try failed without saying whether it happened): then find looks for it
// outside first (a message by its metadata, a build by its tag, an issue or comment by its
// hidden marker, a label by the PR's labels), and it is done only if it is not there.
func once[R any](ctx context.Context, uncertain bool, find func(context.Context) (R, bool, error), do func(context.Context) (R, error)) (R, error) {
	if uncertain && find != nil {
		r, found, err := find(ctx)
		if err != nil || found {
			return r, err
		}
	}
	return do(ctx)
}

// freshIntents are the intents this process stored and has not tried yet: nothing can have
// happened outside for them, so there is nothing to look for first. Every other intent (read
// back from disk, or tried and failed) is uncertain.
type freshIntents struct {
	mu   sync.Mutex
	keys map[string]bool
}

func (f *freshIntents) add(cutID string, effects []cutbot.Effect) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.keys == nil {
		f.keys = map[string]bool{}
	}
	for _, e := range effects {
		f.keys[cutID+"/"+e.Key()] = true
	}
}

// posting are the posts handed to the messenger and not yet answered, so that carry does not
// hand them over twice.
type posting struct {
	mu   sync.Mutex
	keys map[string]bool
}

// start marks a post as under way; it reports false if it already was.
func (p *posting) start(key string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.keys == nil {
		p.keys = map[string]bool{}
	}
	if p.keys[key] {
		return false
	}
	p.keys[key] = true
	return true
}

func (p *posting) busy(key string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.keys[key]
}

func (p *posting) end(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.keys, key)
}

// take reports whether the intent was fresh, and makes it uncertain from now on.
func (f *freshIntents) take(cutID string, e cutbot.Effect) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := cutID + "/" + e.Key()
	fresh := f.keys[k]
	delete(f.keys, k)
	return fresh
}

// change applies events to the cut and stores the result in one transaction. It runs on the
// cut's lane. The effects the events need are stored with them, as intents in the cut's
// journal; carry does them. The cut's messages are then shown as they now stand (the Slack
// writer sends only the ones that changed, paced). On an error the cut is returned as it was.
func (h *Handlers) change(ctx context.Context, c *cutbot.Cut, events ...cutbot.Event) (*cutbot.Cut, error) {
	var added []cutbot.Effect
	next, err := h.store.UpdateCut(ctx, c.ID, func(c *cutbot.Cut) error {
		added = added[:0]
		now := h.clock.Now()
		for _, e := range events {
			effects, err := c.Apply(e, now)
			if err != nil {
				return err
			}
			added = append(added, effects...)
		}
		return nil
	})
	if err != nil {
		return c, err
	}
	h.fresh.add(next.ID, added)
	h.toShow.mark(next)
	h.observe.CutChanged(next, events)
	return next, nil
}

// toShow are the cuts a job on a lane changed, as they stand now: they are shown once, when
// the job ends, so that a job's several changes cost one edit of each message, not one per
// change.
type toShow struct {
	mu   sync.Mutex
	cuts map[string]*cutbot.Cut // cut id → the cut
}

func (t *toShow) mark(c *cutbot.Cut) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cuts == nil {
		t.cuts = map[string]*cutbot.Cut{}
	}
	t.cuts[c.ID] = c
}

// take removes and returns the cuts of the lane key.
func (t *toShow) take(key string) []*cutbot.Cut {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*cutbot.Cut
	for id, c := range t.cuts {
		if c.Version().String() == key {
			out = append(out, c)
			delete(t.cuts, id)
		}
	}
	return out
}

// showChanged shows the cuts a job on the lane key changed.
func (h *Handlers) showChanged(key string) {
	for _, c := range h.toShow.take(key) {
		h.msg.Show(c)
	}
}

// carry carries out the cut's intents, in the order the changes needed them, each exactly
// once (see once), and records each outcome on the cut. which, if not nil, picks the effects
// to carry now (a command submits its build before it replies, and leaves the posts to the
// settle that follows). An intent that cannot be done yet (a reply whose thread is not
// posted) waits; one that failed waits out its backoff. It runs on the cut's lane.
func (h *Handlers) carry(ctx context.Context, c *cutbot.Cut, which func(cutbot.Effect) bool) (*cutbot.Cut, error) {
	var errs []error
	for _, e := range slices.Clone(c.Journal) {
		if which != nil && !which(e) || !c.Intends(e.Key()) || h.blocked(c, e) {
			continue
		}
		key := c.ID + "/" + e.Key()
		if h.backoff.wait(key, h.clock.Now()) || h.posting.busy(key) {
			continue
		}
		uncertain := !h.fresh.take(c.ID, e)
		events, err := h.perform(ctx, c, e, uncertain)
		if _, post := e.(cutbot.PostMessage); !post || err != nil || len(events) > 0 {
			h.observe.EffectCarried(c, e, err) // a post handed to the messenger is told when answered
		}
		if len(events) > 0 {
			next, aerr := h.change(ctx, c, events...)
			if aerr != nil {
				errs = append(errs, fmt.Errorf("record %s of cut %s: %w", e, c.ID, aerr))
			}
			c = next
		}
		if err != nil {
			d := h.backoff.fail(key, h.clock.Now())
			errs = append(errs, fmt.Errorf("%s for cut %s (%s): %w (next try in %s)", e, c.ID, c.Version(), err, d))
			continue
		}
		h.backoff.ok(key)
	}
	return c, errors.Join(errs...)
}

// blocked reports whether e must wait for another effect first: a reply needs its thread.
//
// An embargoed cut's public effects wait for the lift: "is live" (then posted in the public
// thread) and comments on public pull requests.
func (h *Handlers) blocked(c *cutbot.Cut, e cutbot.Effect) bool {
	switch e := e.(type) {
	case cutbot.PostMessage:
		switch {
		case e.Message == cutbot.MessageThread || e.Message == cutbot.MessagePublic:
			return false
		case e.Message == cutbot.MessageLive && c.Spec.Embargo != "":
			return c.Embargoed() || !c.Messages[cutbot.MessagePublic].Posted()
		}
		return !c.Messages[cutbot.MessageThread].Posted()
	case cutbot.CommentBuilds, cutbot.OpenPromotionPR, cutbot.UnholdPromotion, cutbot.OpenSchedulePR:
		return c.Embargoed() // public pull requests
	}
	return false
}

// perform does one effect (looking for it first when uncertain) and returns the events that
// record its outcome. A refusal that will not change by trying again (Cloud Build refusing a
// build) returns the event that records it together with the error.
func (h *Handlers) perform(ctx context.Context, c *cutbot.Cut, e cutbot.Effect, uncertain bool) ([]cutbot.Event, error) {
	switch e := e.(type) {
	case cutbot.PostMessage:
		if uncertain {
			ref, found, err := h.msg.Find(ctx, c, e.Message)
			if err != nil {
				return nil, err
			}
			if found {
				h.log.Info("found a message posted before an interruption", "cut", c.ID, "message", e.Message, "ts", ref.TS)
				return []cutbot.Event{cutbot.MessagePosted{Key: e.Message, Ref: ref}}, nil
			}
		}
		h.postLater(c, e, nil)
		return nil, nil
	case cutbot.SubmitBuild:
		return h.submitBuild(ctx, c, e, uncertain)
	case cutbot.CancelBuild:
		return h.cancelBuild(ctx, c, e)
	case cutbot.OpenIssue:
		return h.openIssue(ctx, c, e, uncertain)
	case cutbot.CommentBuilds:
		return h.commentBuilds(ctx, c, e, uncertain)
	case cutbot.CloseIssue:
		return h.closeIssue(ctx, c, e, uncertain)
	case cutbot.CreateBranch:
		return h.doCreateBranch(ctx, c, e, uncertain)
	case cutbot.OpenPromotionPR:
		return h.openPromotionPR(ctx, c, e, uncertain)
	case cutbot.UnholdPromotion:
		return h.unholdPromotion(ctx, c, e, uncertain)
	case cutbot.DraftReleaseNotes:
		return h.draftNotes(ctx, c)
	case cutbot.OpenSchedulePR:
		return h.openSchedulePR(ctx, c, uncertain)
	}
	return nil, fmt.Errorf("no way to carry out %T", e)
}

// postLater hands a post to the messenger, which posts it when Slack's budget allows; the
// outcome comes back to the cut's lane as a job of its own, so the lane never waits on
// Slack. answered, if not nil, hears the outcome too.
func (h *Handlers) postLater(c *cutbot.Cut, e cutbot.PostMessage, answered func(cutbot.MessageRef, error)) {
	id, lane, key := c.ID, c.Version().String(), c.ID+"/"+e.Key()
	if !h.posting.start(key) {
		return
	}
	h.msg.PostLater(c, e.Message, func(ref cutbot.MessageRef, err error) {
		h.observe.EffectCarried(c, e, err)
		if err != nil {
			// Nothing to record: the intent stays, and the next try looks for the message
			// before posting it (a failure may hide a post that reached Slack).
			d := h.backoff.fail(key, h.clock.Now())
			h.posting.end(key)
			h.log.Warn("post failed; cutbot looks for it, then tries again", "cut", id, "message", e.Message, "err", err, "next_try_in", d)
		}
		if answered != nil {
			answered(ref, err)
		}
		if err != nil {
			return
		}
		h.lanes.goAsync(lane, "", func() {
			defer h.posting.end(key) // only once it is recorded: until then carry must not post it again
			ctx, cancel := h.jobContext()
			defer cancel()
			h.backoff.ok(key)
			c, err := h.store.Cut(ctx, id)
			if err == nil {
				c, err = h.change(ctx, c, cutbot.MessagePosted{Key: e.Message, Ref: ref})
			}
			if err != nil {
				h.log.Error("record a posted message", "cut", id, "message", e.Message, "ts", ref.TS, "err", err)
				return
			}
			h.settle(ctx, c) // what waited for it (the replies waited for the thread)
		})
	})
}

// settle carries out everything the cut still intends and keeps its GitHub issue in step. It
// runs on the cut's lane after each command, after each poll, and at start.
func (h *Handlers) settle(ctx context.Context, c *cutbot.Cut) *cutbot.Cut {
	if len(c.Journal) > 0 {
		var err error
		if c, err = h.carry(ctx, c, nil); err != nil {
			h.log.Warn("not done yet", "cut", c.ID, "version", c.Version().String(), "err", err)
		}
	}
	h.syncIssue(ctx, c)
	return h.drive(ctx, c)
}

// settleLater queues a settle of the cut on its lane.
func (h *Handlers) settleLater(c *cutbot.Cut) {
	id := c.ID
	h.lanes.goAsync(c.Version().String(), "settle:"+id, func() {
		ctx, cancel := h.jobContext()
		defer cancel()
		c, err := h.store.Cut(ctx, id)
		if err != nil {
			h.log.Error("settle: read cut", "cut", id, "err", err)
			return
		}
		h.settle(ctx, c)
	})
}

// settleVersion queues a settle of the latest cut of version v (a lane key) on its lane.
func (h *Handlers) settleVersion(v string) {
	version, err := cutbot.ParseVersion(v)
	if err != nil {
		return
	}
	h.lanes.goAsync(v, "settle-latest", func() {
		ctx, cancel := h.jobContext()
		defer cancel()
		c, err := h.store.LatestCut(ctx, version)
		if err != nil {
			return // no cut of it
		}
		h.settle(ctx, c)
	})
}

// onlyBuilds picks the effects a command carries out before it replies: what Cloud Build
// says decides the reply.
func onlyBuilds(e cutbot.Effect) bool {
	switch e.(type) {
	case cutbot.SubmitBuild, cutbot.CancelBuild:
		return true
	}
	return false
}

// recovered handles a panic in a job on a lane: it is logged with the cut it was about, and
// the cut is marked for a person to look at, with a note in its thread. cutbot then does
// nothing more on that cut by itself until a person acts on it.
func (h *Handlers) recovered(key string, p any, stack []byte) {
	h.observe.Recovered("lane")
	ctx, cancel := h.jobContext()
	defer cancel()
	var c *cutbot.Cut
	if v, err := cutbot.ParseVersion(key); err == nil {
		c, _ = h.store.LatestCut(ctx, v)
	}
	if c == nil {
		h.log.Error("panic", "lane", key, "panic", p, "stack", string(stack))
		return
	}
	h.log.Error("panic", "cut", c.ID, "version", c.Version().String(), "panic", p, "stack", string(stack))
	detail := fmt.Sprintf("cutbot hit an internal error while working on this cut (%s)", strings.TrimSpace(fmt.Sprint(p)))
	if _, err := h.change(ctx, c, cutbot.NeedsAttention{Detail: detail}); err != nil {
		h.log.Error("mark cut for attention", "cut", c.ID, "err", err)
		return
	}
	h.settleAfterPanic(c)
}

// settleAfterPanic posts the attention note: only the note, nothing else the cut intends.
func (h *Handlers) settleAfterPanic(c *cutbot.Cut) {
	id := c.ID
	h.lanes.goAsync(c.Version().String(), "attention:"+id, func() {
		ctx, cancel := h.jobContext()
		defer cancel()
		c, err := h.store.Cut(ctx, id)
		if err != nil {
			return
		}
		notes := func(e cutbot.Effect) bool {
			p, ok := e.(cutbot.PostMessage)
			return ok && strings.HasPrefix(p.Message, "audit:")
		}
		if _, err := h.carry(ctx, c, notes); err != nil {
			h.log.Warn("post attention note", "cut", id, "err", err)
		}
	})
}
