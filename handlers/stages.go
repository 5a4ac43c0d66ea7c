package handlers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/cutbot"
)

// submissions are the attempts this process is submitting right now; the poller leaves them
// alone, so that it never takes "submitting, no build id yet" for an interrupted submission
// while the submission is still under way.
type submissions struct {
	mu   sync.Mutex
	tags map[string]bool
}

func (s *submissions) claim(tag string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tags == nil {
		s.tags = map[string]bool{}
	}
	if s.tags[tag] {
		return false
	}
	s.tags[tag] = true
	return true
}

func (s *submissions) release(tag string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tags, tag)
}

// backoffs space out the polling of a build whose status could not be read.
type backoffs struct {
	mu sync.Mutex
	m  map[string]backoff
}

type backoff struct {
	until time.Time
	delay time.Duration
}

func (b *backoffs) wait(key string, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return now.Before(b.m[key].until)
}

func (b *backoffs) fail(key string, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]backoff{}
	}
	d := b.m[key].delay * 2
	d = min(max(d, 30*time.Second), 10*time.Minute)
	b.m[key] = backoff{until: now.Add(d), delay: d}
	return d
}

func (b *backoffs) ok(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, key)
}

// gatesFresh is how long a passing gate check stands before the no-mock stage checks again.
const gatesFresh = 15 * time.Minute

func (h *Handlers) buildsConfigured() error {
	if h.builder == nil || h.versions == nil {
		return cutbot.Errorf(cutbot.EINVALID, "cutbot is not set up to run builds here: set CUTBOT_GCP_PROJECT, CUTBOT_STAGE_BUILD_CONFIG and CUTBOT_RELEASE_BUILD_CONFIG")
	}
	return nil
}

// activeCutArg returns the active cut named by the VERSION argument.
func (h *Handlers) activeCutArg(ctx context.Context, inv Invocation) (*cutbot.Cut, error) {
	v, err := versionArg(inv)
	if err != nil {
		return nil, err
	}
	c, err := h.activeCut(ctx, v)
	if err != nil {
		return nil, err
	}
	if c == nil {
		msg := fmt.Sprintf("%s has no active cut.", v)
		if last, err := h.store.LatestCut(ctx, v); err == nil {
			msg += fmt.Sprintf(" Its last cut is %s.", last.Standing())
		} else {
			msg += fmt.Sprintf(" Open one with `/release cut %s`.", v)
		}
		return nil, cutbot.Errorf(cutbot.ENOTFOUND, "%s", msg)
	}
	return c, nil
}

func (h *Handlers) next(x *execution) (Reply, error) {
	c, err := h.activeCutArg(x.ctx, x.inv)
	if err != nil {
		return nil, err
	}
	var k cutbot.StageKind
	if name := x.inv.Arg(1); name != "" {
		if k, err = cutbot.ParseStageKind(name); err != nil {
			return nil, err
		}
	} else {
		s := c.Next()
		if s == nil {
			return nil, cutbot.Errorf(cutbot.EINVALID, "%s: every stage has finished", c.Version())
		}
		switch st := s.Status(); st {
		case cutbot.StatusFailed, cutbot.StatusCancelled:
			return nil, cutbot.Errorf(cutbot.EINVALID, "%s: %s %s; `/release retry %s` runs it again", c.Version(), s.Kind.Title(), st, c.Version())
		case cutbot.StatusSubmitting, cutbot.StatusRunning:
			return nil, cutbot.Errorf(cutbot.ECONFLICT, "%s: %s is %s; wait for it, or `/release cancel %s`", c.Version(), s.Kind.Title(), st, c.Version())
		}
		k = s.Kind
	}
	return h.startStage(x.ctx, x.req.UserID, c, k, x.inv.Flags["force"])
}

func (h *Handlers) retry(x *execution) (Reply, error) {
	c, err := h.activeCutArg(x.ctx, x.inv)
	if err != nil {
		return nil, err
	}
	s := c.Next()
	if s == nil || (s.Status() != cutbot.StatusFailed && s.Status() != cutbot.StatusCancelled) {
		return nil, cutbot.Errorf(cutbot.EINVALID, "%s: nothing to retry; the cut is %s", c.Version(), c.Standing())
	}
	return h.startStage(x.ctx, x.req.UserID, c, s.Kind, x.inv.Flags["force"])
}

// startStage starts stage k of c for user: at once for a mock stage, through a confirmation
// for a no-mock one.
func (h *Handlers) startStage(ctx context.Context, user string, c *cutbot.Cut, k cutbot.StageKind, force string) (Reply, error) {
	if !k.IsBuild() {
		if h.gh.api == nil {
			return nil, cutbot.Errorf(cutbot.EINVALID, "%s: cutbot follows %s on GitHub, which is not configured (GITHUB_TOKEN). When it is done by hand, start the next stage with `/release next %s %s --force \"what was done\"`; the reason is recorded.",
				c.Version(), k.Title(), c.Version(), nextAfter(c, k))
		}
		c, err := h.startWatch(ctx, c, k, user, force)
		if err != nil {
			return nil, err
		}
		return CutReply{Cut: c, Brief: true, Headline: fmt.Sprintf("Following %s.", k.Title())}, nil
	}
	if err := h.buildsConfigured(); err != nil {
		return nil, err
	}
	if k == cutbot.NoMockStage && !(c.Gates.OK() && h.clock.Now().Sub(c.Gates.At) < gatesFresh) {
		var err error
		if c, err = h.checkGates(ctx, c, user); err != nil {
			return nil, err
		}
	}
	// Refuse what the state machine would refuse before asking anything of the outside world.
	probe := c.Clone()
	var check cutbot.Event = cutbot.StartStage{Stage: k, By: user, Force: force, BuildVersion: "probe"}
	if k.NeedsConfirmation() {
		check = cutbot.RequestConfirmation{ID: "probe", Stage: k, By: user, Force: force, BuildVersion: "probe"}
	}
	if err := probe.Apply(check, h.clock.Now()); err != nil {
		return nil, err
	}
	bv, err := h.buildVersion(ctx, c, k)
	if err != nil {
		return nil, err
	}
	if k.NeedsConfirmation() {
		id := h.newID()
		c, err = h.store.UpdateCut(ctx, c.ID, func(c *cutbot.Cut) error {
			now := h.clock.Now()
			if err := c.Apply(cutbot.RequestConfirmation{ID: id, Stage: k, By: user, Force: force, BuildVersion: bv, Target: h.target}, now); err != nil {
				return err
			}
			return c.Apply(cutbot.MessageIntent{Key: cutbot.ConfirmationMessageKey(id), Channel: c.Channel}, now)
		})
		if err != nil {
			return nil, err
		}
		h.log.Info("confirmation requested", "cut", c.ID, "stage", k, "user", user, "build_version", bv)
		h.refreshOld(ctx, c) // an older confirmation, superseded, loses its buttons
		c, err = h.ensurePosted(ctx, c, cutbot.ConfirmationMessageKey(id), true)
		if err != nil {
			return nil, err
		}
		h.refreshAll(ctx, c)
		return CutReply{Cut: c, Brief: true, Headline: fmt.Sprintf("%s creates real artifacts: press Confirm in the thread to submit it (build version %s).", k.Title(), bv)}, nil
	}
	return h.submit(ctx, c.ID, cutbot.StartStage{Stage: k, By: user, Force: force, BuildVersion: bv})
}

func nextAfter(c *cutbot.Cut, k cutbot.StageKind) string {
	found := false
	for _, s := range c.Stages {
		if found && !s.Skipped {
			return string(s.Kind)
		}
		found = found || s.Kind == k
	}
	return "STAGE"
}

// buildVersion is what stage k builds from: the latest CI build of the branch for a stage,
// the matching stage's build version for a release.
func (h *Handlers) buildVersion(ctx context.Context, c *cutbot.Cut, k cutbot.StageKind) (string, error) {
	if !k.IsStage() {
		return c.ReleaseBuildVersion(k)
	}
	bv, err := h.versions.CIVersion(ctx, c.Spec.Branch)
	if err != nil {
		return "", fmt.Errorf("resolve the build version of %s for %s: %w", c.Spec.Branch, c.Version(), err)
	}
	return bv, nil
}

// submit starts an attempt and submits its build. The attempt and the intent to post its
// line are stored before anything is submitted; the build id is stored the moment it is
// known. Only this process's submission or the poller's reconciliation submits an attempt,
// never both.
func (h *Handlers) submit(ctx context.Context, cutID string, start cutbot.StartStage) (Reply, error) {
	var n int
	c, err := h.store.UpdateCut(ctx, cutID, func(c *cutbot.Cut) error {
		now := h.clock.Now()
		if err := c.Apply(start, now); err != nil {
			return err
		}
		n = c.Stage(start.Stage).Current().N
		return c.Apply(cutbot.MessageIntent{Key: cutbot.StageMessageKey(start.Stage, n), Channel: c.Channel}, now)
	})
	if err != nil {
		return nil, err
	}
	tag := cutbot.BuildTag(c.ID, start.Stage, n)
	h.submitting.claim(tag)
	defer h.submitting.release(tag)
	h.log.Info("stage started", "cut", c.ID, "stage", start.Stage, "attempt", n, "user", start.By, "force", start.Force)
	h.refreshAll(ctx, c)
	if c, err = h.ensurePosted(ctx, c, cutbot.StageMessageKey(start.Stage, n), true); err != nil {
		h.log.Error("post stage line", "cut", c.ID, "err", err)
	}
	c, err = h.sendBuild(ctx, c, start.Stage, n)
	if err != nil {
		return nil, err
	}
	headline := fmt.Sprintf("Started %s (attempt %d).", start.Stage.Title(), n)
	if a := c.Stage(start.Stage).Current(); a.Status == cutbot.StatusSubmitting {
		headline = fmt.Sprintf("%s (attempt %d) is recorded; Cloud Build did not answer yet, and cutbot keeps trying without submitting it twice.", start.Stage.Title(), n)
	}
	return CutReply{Cut: c, Brief: true, Headline: headline}, nil
}

// sendBuild submits the build of attempt n and records the outcome.
func (h *Handlers) sendBuild(ctx context.Context, c *cutbot.Cut, k cutbot.StageKind, n int) (*cutbot.Cut, error) {
	req, err := cutbot.KrelBuild(c, k, h.krel)
	if err != nil {
		return c, err
	}
	ref, err := h.builder.Submit(ctx, req)
	switch {
	case err == nil:
		h.log.Info("build submitted", "cut", c.ID, "stage", k, "attempt", n, "build", ref.ID)
		return h.record(ctx, c, k, n, cutbot.BuildSubmitted{Stage: k, Attempt: n, BuildID: ref.ID, LogURL: ref.LogURL})
	case cutbot.ErrorCode(err) == cutbot.EUNAVAILABLE:
		// The build may or may not exist: leave the attempt submitting; the poller looks it up
		// by its tag before it submits anything again.
		h.log.Warn("build submission uncertain; the poller will reconcile it", "cut", c.ID, "stage", k, "attempt", n, "err", err)
		return c, nil
	default:
		h.log.Error("build submission refused", "cut", c.ID, "stage", k, "attempt", n, "err", err)
		c, rerr := h.record(ctx, c, k, n, cutbot.StageFailed{Stage: k, Attempt: n, Reason: cutbot.ErrorMessage(err)})
		if rerr != nil {
			return c, rerr
		}
		return c, err
	}
}

// record applies events to a cut and refreshes its thread.
func (h *Handlers) record(ctx context.Context, c *cutbot.Cut, k cutbot.StageKind, n int, events ...cutbot.Event) (*cutbot.Cut, error) {
	c, err := h.apply(ctx, c.ID, events...)
	if err != nil {
		return c, err
	}
	h.refreshAll(ctx, c)
	return c, nil
}

// refreshAll edits the thread parent, the plan and every stage line and confirmation to match
// the cut, and brings the cut issue up to date. The messenger skips edits that change nothing
// and coalesces the rest; the issue is written only when cutbot's parts of it changed.
func (h *Handlers) refreshAll(ctx context.Context, c *cutbot.Cut) {
	for key, ref := range c.Messages {
		if !ref.Posted() || strings.HasPrefix(key, "audit:") {
			continue
		}
		if err := h.msg.Update(ctx, c, key); err != nil {
			h.log.Error("update message", "cut", c.ID, "message", key, "err", err)
		}
	}
	h.syncIssue(ctx, c)
}

// refreshOld is refreshAll for confirmations only.
func (h *Handlers) refreshOld(ctx context.Context, c *cutbot.Cut) {
	for key, ref := range c.Messages {
		if ref.Posted() && strings.HasPrefix(key, "confirm:") {
			if err := h.msg.Update(ctx, c, key); err != nil {
				h.log.Error("update message", "cut", c.ID, "message", key, "err", err)
			}
		}
	}
}

// Confirm submits the no-mock stage that a confirmation asked for, when its requester
// presses Confirm. A second press, or a press by someone else, submits nothing.
func (h *Handlers) confirm(ctx context.Context, user, cutID, id string) (Reply, error) {
	c, err := h.store.Cut(ctx, cutID)
	if err != nil {
		return nil, err
	}
	stage := cutbot.StageKind("")
	for _, cf := range c.Confirmations {
		if cf.ID == id {
			stage = cf.Stage
		}
	}
	if stage == "" {
		return nil, cutbot.Errorf(cutbot.ENOTFOUND, "%s: no such confirmation", c.Version())
	}
	if err := h.buildsConfigured(); err != nil {
		return nil, err
	}
	return h.submit(ctx, cutID, cutbot.StartStage{Stage: stage, By: user, Confirmation: id})
}

func (h *Handlers) decline(ctx context.Context, user, cutID, id string) (Reply, error) {
	c, err := h.apply(ctx, cutID, cutbot.DeclineConfirmation{ID: id, By: user})
	if err != nil {
		return nil, err
	}
	h.refreshAll(ctx, c)
	return CutReply{Cut: c, Brief: true, Headline: "Cancelled the request; nothing was submitted."}, nil
}

func (h *Handlers) cancel(x *execution) (Reply, error) {
	ctx := x.ctx
	c, err := h.activeCutArg(ctx, x.inv)
	if err != nil {
		return nil, err
	}
	var s *cutbot.Stage
	for i := range c.Stages {
		if c.Stages[i].Status().InFlight() {
			s = &c.Stages[i]
		}
	}
	if s == nil {
		if c.Pending != nil {
			return h.decline(ctx, x.req.UserID, c.ID, c.Pending.ID)
		}
		return nil, cutbot.Errorf(cutbot.EINVALID, "%s: no build is running; the cut is %s", c.Version(), c.Standing())
	}
	a := s.Current()
	if !s.Kind.IsBuild() {
		// A watched stage: there is nothing to cancel outside; cutbot stops watching.
		c, err = h.record(ctx, c, s.Kind, a.N, cutbot.StageCancelled{Stage: s.Kind, Attempt: a.N, By: x.req.UserID})
		if err != nil {
			return nil, err
		}
		return CutReply{Cut: c, Brief: true, Headline: fmt.Sprintf("Stopped following %s. `/release next %s %s --force \"reason\"` goes on without it.", s.Kind.Title(), c.Version(), nextAfter(c, s.Kind))}, nil
	}
	if err := h.buildsConfigured(); err != nil {
		return nil, err
	}
	id := a.BuildID
	if id == "" {
		ref, found, err := h.builder.FindByTag(ctx, cutbot.BuildTag(c.ID, s.Kind, a.N))
		if err != nil {
			return nil, err
		}
		id = ref.ID
		if !found {
			h.log.Warn("cancelling an attempt with no build found", "cut", c.ID, "stage", s.Kind, "attempt", a.N)
		}
	}
	if id != "" {
		if err := h.builder.Cancel(ctx, id); err != nil {
			return nil, err
		}
	}
	c, err = h.record(ctx, c, s.Kind, a.N, cutbot.StageCancelled{Stage: s.Kind, Attempt: a.N, By: x.req.UserID})
	if err != nil {
		return nil, err
	}
	h.log.Info("stage cancelled", "cut", c.ID, "stage", s.Kind, "attempt", a.N, "build", id, "user", x.req.UserID)
	return CutReply{Cut: c, Brief: true, Headline: fmt.Sprintf("Cancelled %s (attempt %d).", s.Kind.Title(), a.N)}, nil
}

// Poll looks once at every attempt in flight: it reconciles an attempt whose submission was
// interrupted (looking its build up by tag before submitting again), follows running builds,
// records their outcome, and warns about builds that wait or run too long. Run it at start and
// then every poll interval.
func (h *Handlers) Poll(ctx context.Context) error {
	if h.builder == nil && h.gh.api == nil {
		return nil
	}
	cuts, err := h.store.ActiveCuts(ctx)
	if err != nil {
		return fmt.Errorf("poll: list active cuts: %w", err)
	}
	var errs []error
	if err := h.resumeFreezes(ctx, true); err != nil {
		errs = append(errs, err)
	}
	for _, c := range cuts {
		if err := h.pollGitHub(ctx, c); err != nil {
			errs = append(errs, err)
		}
		for i := range c.Stages {
			s := &c.Stages[i]
			if !s.Kind.IsBuild() || !s.Status().InFlight() {
				continue
			}
			a := s.Current()
			var err error
			if a.BuildID == "" {
				err = h.reconcile(ctx, c, s.Kind, a.N)
			} else {
				err = h.follow(ctx, c, s.Kind, *a)
			}
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// reconcile finishes an interrupted submission: the build is looked up by cutbot's tag and
// adopted if it exists; only if it does not is it submitted.
func (h *Handlers) reconcile(ctx context.Context, c *cutbot.Cut, k cutbot.StageKind, n int) error {
	tag := cutbot.BuildTag(c.ID, k, n)
	if !h.submitting.claim(tag) {
		return nil // this process is submitting it right now
	}
	defer h.submitting.release(tag)
	if h.backoff.wait(tag, h.clock.Now()) {
		return nil
	}
	ref, found, err := h.builder.FindByTag(ctx, tag)
	if err != nil {
		d := h.backoff.fail(tag, h.clock.Now())
		return fmt.Errorf("reconcile %s of cut %s: %w (next try in %s)", tag, c.ID, err, d)
	}
	h.backoff.ok(tag)
	if c, err = h.ensurePosted(ctx, c, cutbot.StageMessageKey(k, n), false); err != nil {
		h.log.Error("post stage line", "cut", c.ID, "err", err)
	}
	if found {
		h.log.Info("reconciled a submission interrupted before its build id was stored", "cut", c.ID, "stage", k, "attempt", n, "build", ref.ID)
		_, err := h.record(ctx, c, k, n, cutbot.BuildSubmitted{Stage: k, Attempt: n, BuildID: ref.ID, LogURL: ref.LogURL})
		return err
	}
	h.log.Info("no build found for an interrupted submission; submitting it", "cut", c.ID, "stage", k, "attempt", n)
	_, err = h.sendBuild(ctx, c, k, n)
	return err
}

// follow reads a running build and records what changed.
func (h *Handlers) follow(ctx context.Context, c *cutbot.Cut, k cutbot.StageKind, a cutbot.Attempt) error {
	now := h.clock.Now()
	if h.backoff.wait(a.BuildID, now) {
		return nil
	}
	st, err := h.builder.Status(ctx, a.BuildID)
	if err != nil {
		d := h.backoff.fail(a.BuildID, now)
		if cutbot.ErrorCode(err) == cutbot.EUNAUTHORIZED {
			h.warn(ctx, c, k, a, "permission", cutbot.ErrorMessage(err))
		}
		return fmt.Errorf("follow build %s of cut %s: %w (next try in %s)", a.BuildID, c.ID, err, d)
	}
	h.backoff.ok(a.BuildID)
	var events []cutbot.Event
	switch st.State {
	case cutbot.BuildQueued:
		if !a.Queued {
			events = append(events, cutbot.StageProgressed{Stage: k, Attempt: a.N, Step: "queued", Queued: true})
		}
		if h.warnQueued > 0 && now.Sub(a.StartedAt) > h.warnQueued {
			h.warn(ctx, c, k, a, "queued", fmt.Sprintf("has been queued for %s", roundDuration(now.Sub(a.StartedAt))))
		}
	case cutbot.BuildWorking:
		if a.Queued || a.Step != st.Step {
			events = append(events, cutbot.StageProgressed{Stage: k, Attempt: a.N, Step: st.Step})
		}
		started := st.StartTime
		if started.IsZero() {
			started = a.StartedAt
		}
		if h.warnRunning > 0 && now.Sub(started) > h.warnRunning {
			h.warn(ctx, c, k, a, "running", fmt.Sprintf("has been running for %s", roundDuration(now.Sub(started))))
		}
	case cutbot.BuildSucceeded:
		events = append(events, cutbot.StageSucceeded{Stage: k, Attempt: a.N})
	case cutbot.BuildFailed:
		reason := st.Detail
		if st.FailedStep != "" {
			reason = fmt.Sprintf("failed at %s: %s", st.FailedStep, st.Detail)
		}
		events = append(events, cutbot.StageFailed{Stage: k, Attempt: a.N, Reason: reason})
	case cutbot.BuildCancelled:
		events = append(events, cutbot.StageCancelled{Stage: k, Attempt: a.N})
	}
	if len(events) == 0 {
		return nil
	}
	c, err = h.record(ctx, c, k, a.N, events...)
	if err != nil {
		return err
	}
	h.log.Info("build moved", "cut", c.ID, "stage", k, "attempt", a.N, "build", a.BuildID, "state", st.State, "step", st.Step)
	if st.State == cutbot.BuildSucceeded && h.gh.api != nil {
		// What follows a no-mock build is watched on GitHub: the image promotion after the
		// stage, the release announcement after the release.
		next := map[cutbot.StageKind]cutbot.StageKind{cutbot.NoMockStage: cutbot.ImagePromotion, cutbot.NoMockRelease: cutbot.Announcement}[k]
		if s := c.Stage(next); s != nil && s.Status() == cutbot.StatusPending {
			if c, err = h.startWatch(ctx, c, next, "", ""); err != nil {
				return err
			}
			return h.pollGitHub(ctx, c)
		}
	}
	return nil
}

// applyWithNote applies e to the cut and, in the same transaction, records the intent to post
// the audit entry it adds as a thread reply; finishMessages then posts it.
func (h *Handlers) applyWithNote(ctx context.Context, cutID string, e cutbot.Event) (*cutbot.Cut, error) {
	return h.store.UpdateCut(ctx, cutID, func(c *cutbot.Cut) error {
		now := h.clock.Now()
		if err := c.Apply(e, now); err != nil {
			return err
		}
		return c.Apply(cutbot.MessageIntent{Key: cutbot.AuditMessageKey(len(c.Audit)), Channel: c.Channel}, now)
	})
}

// warn posts a warning about an attempt in the thread, once per kind.
func (h *Handlers) warn(ctx context.Context, c *cutbot.Cut, k cutbot.StageKind, a cutbot.Attempt, kind, detail string) {
	if slices.Contains(a.Warned, kind) {
		return
	}
	id := c.ID
	c, err := h.applyWithNote(ctx, id, cutbot.StageWarned{Stage: k, Attempt: a.N, Kind: kind, Detail: detail})
	if err != nil {
		h.log.Error("record warning", "cut", id, "err", err)
		return
	}
	if err := h.finishMessages(ctx, c, true); err != nil {
		h.log.Error("post warning", "cut", c.ID, "err", err)
	}
}

func roundDuration(d time.Duration) time.Duration {
	if d > time.Hour {
		return d.Round(time.Minute)
	}
	return d.Round(time.Second)
}

// ActionRequest is a button pressed on one of cutbot's messages.
type ActionRequest struct {
	UserID   string
	ActionID string
	Value    string // version|cut id|argument
}

// The buttons cutbot puts on its messages.
const (
	ActionNext    = "cutbot.next"
	ActionRetry   = "cutbot.retry"
	ActionConfirm = "cutbot.confirm"
	ActionDecline = "cutbot.decline"
)

// ActionValue is the value of a button about cut c.
func ActionValue(c *cutbot.Cut, arg string) string {
	return c.Version().String() + "|" + c.ID + "|" + arg
}

// ActionKey is the lane of a button: its cut's version.
func ActionKey(value string) string {
	v, _, _ := strings.Cut(value, "|")
	return v
}

// HandleAction runs a button press. Every button changes something, so only release managers
// may press them.
func (h *Handlers) HandleAction(ctx context.Context, req ActionRequest) (reply Reply) {
	log := h.log.With("action", req.ActionID, "user", req.UserID, "value", req.Value)
	defer func() {
		if p := recover(); p != nil {
			log.Error("action panicked", "panic", p)
			reply = ErrorReply{Message: cutbot.ErrorMessage(errors.New("panic"))}
		}
	}()
	parts := strings.SplitN(req.Value, "|", 3)
	if len(parts) != 3 {
		return ErrorReply{Message: "That button is not one of cutbot's current buttons."}
	}
	_, cutID, arg := parts[0], parts[1], parts[2]
	ok, err := h.dir.IsReleaseManager(ctx, req.UserID)
	if err != nil {
		log.Error("check release-manager membership", "err", err)
		return ErrorReply{Message: "Could not check whether you are a release manager; try again in a moment."}
	}
	if !ok {
		return RefusedReply{Command: &Command{Name: "buttons"}, Who: h.dir.ReleaseManagers(ctx)}
	}
	var r Reply
	switch req.ActionID {
	case ActionConfirm:
		r, err = h.confirm(ctx, req.UserID, cutID, arg)
	case ActionDecline:
		r, err = h.decline(ctx, req.UserID, cutID, arg)
	case ActionFreeze:
		r, err = h.confirmFreeze(ctx, req.UserID, cutID)
	case ActionNext, ActionRetry:
		var c *cutbot.Cut
		if c, err = h.store.Cut(ctx, cutID); err == nil {
			r, err = h.startStage(ctx, req.UserID, c, cutbot.StageKind(arg), "")
		}
	default:
		return ErrorReply{Message: "That button is not one of cutbot's current buttons."}
	}
	if err != nil {
		return errorReply(log, err)
	}
	return r
}
