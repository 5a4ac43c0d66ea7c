package handlers

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/cutbot"
)

// backoffs space out the tries of an effect or a read that failed.
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

// fail records a failure of key and says when to try again: 15 s after the first failure
// (about the next poll), then 30 s, doubling up to 10 minutes.
func (b *backoffs) fail(key string, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]backoff{}
	}
	d := 15 * time.Second
	if old, failed := b.m[key]; failed {
		d = min(max(old.delay*2, 30*time.Second), 10*time.Minute)
	}
	b.m[key] = backoff{until: now.Add(d), delay: d}
	return d
}

func (b *backoffs) ok(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, key)
}

// forget drops the backoffs of every key with this prefix: a person asked to try now.
func (b *backoffs) forget(prefix string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k := range b.m {
		if strings.HasPrefix(k, prefix) {
			delete(b.m, k)
		}
	}
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
	h.backoff.forget(c.ID + "/") // a person is acting on the cut: anything waiting is tried now
	return c, nil
}

func (h *Handlers) next(x *execution) (Reply, error) {
	c, err := h.activeCutArg(x.ctx, x.inv)
	if err != nil {
		return nil, err
	}
	return h.nextStage(x.ctx, x.req.UserID, c, x.inv.Arg(1), x.inv.Flags["force"], x.inv.Flags["build-version"])
}

// nextStage starts the stage named, or the cut's next one: what `/release next` and the
// thread's "Next stage" button do.
func (h *Handlers) nextStage(ctx context.Context, user string, c *cutbot.Cut, name, force, bv string) (Reply, error) {
	var k cutbot.StageKind
	var err error
	if name != "" {
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
	return h.startStage(ctx, user, c, k, force, bv)
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
	return h.startStage(x.ctx, x.req.UserID, c, s.Kind, x.inv.Flags["force"], "")
}

// startStage starts stage k of c for user: at once for a mock stage, through a confirmation
// for a no-mock one. It runs on the cut's lane.
// A stage builds from given, when a release manager names the build version (a hotfix
// branch has no CI build), else from the branch's latest CI build.
func (h *Handlers) startStage(ctx context.Context, user string, c *cutbot.Cut, k cutbot.StageKind, force, given string) (Reply, error) {
	if given != "" && !k.IsStage() {
		return nil, cutbot.Errorf(cutbot.EINVALID, "%s: --build-version is for a stage (mock-stage, nomock-stage); %s builds from its stage's build version", c.Version(), k.Title())
	}
	if !k.IsBuild() {
		if h.gh.api == nil {
			return nil, cutbot.Errorf(cutbot.EINVALID, "%s: cutbot follows %s on GitHub, which is not configured (GITHUB_TOKEN). When it is done by hand, start the next stage with `/release next %s %s --force \"what was done\"`; the reason is recorded.",
				c.Version(), k.Title(), c.Version(), nextAfter(c, k))
		}
		c, err := h.change(ctx, c, cutbot.StartStage{Stage: k, By: user, Force: force})
		if err != nil {
			return nil, err
		}
		h.log.Info("watching", "cut", c.ID, "stage", k, "user", user)
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
	if _, err := probe.Apply(check, h.clock.Now()); err != nil {
		return nil, err
	}
	bv, err := h.buildVersion(ctx, c, k, given)
	if err != nil {
		return nil, err
	}
	if k.NeedsConfirmation() {
		if c, err = h.change(ctx, c, cutbot.RequestConfirmation{ID: h.newID(), Stage: k, By: user, Force: force, BuildVersion: bv, Target: h.target}); err != nil {
			return nil, err
		}
		h.log.Info("confirmation requested", "cut", c.ID, "stage", k, "user", user, "build_version", bv)
		return CutReply{Cut: c, Brief: true, Headline: fmt.Sprintf("%s creates real artifacts: press Confirm in the thread to submit it (build version %s).", k.Title(), bv)}, nil
	}
	return h.submit(ctx, c, cutbot.StartStage{Stage: k, By: user, Force: force, BuildVersion: bv})
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

var reBuildVersion = regexp.MustCompile(`^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// buildVersion is what stage k builds from: the latest CI build of the branch for a stage,
// the matching stage's build version for a release.
func (h *Handlers) buildVersion(ctx context.Context, c *cutbot.Cut, k cutbot.StageKind, given string) (string, error) {
	if !k.IsStage() {
		return c.ReleaseBuildVersion(k)
	}
	if given != "" {
		if !reBuildVersion.MatchString(given) {
			return "", cutbot.Errorf(cutbot.EINVALID, "--build-version %q is not a build version: give it as `git describe` of the branch's head reads, e.g. v1.31.4-rc.0.3+8f0c0a4d", given)
		}
		return given, nil
	}
	bv, err := h.versions.CIVersion(ctx, c.Spec.Branch)
	if err != nil && c.Spec.Hotfix() && cutbot.ErrorCode(err) == cutbot.ENOTFOUND {
		return "", cutbot.Errorf(cutbot.EINVALID, "%s: no CI build of the hotfix branch %s is published (%s). Give the build version of the branch's head, as `git describe` reads it: `/release next %s %s --build-version v%d.%d.%d-rc.0.N+SHA`",
			c.Version(), c.Spec.Branch, cutbot.ErrorMessage(err), c.Version(), k, c.Version().Major, c.Version().Minor, c.Version().Patch)
	}
	if err != nil {
		return "", fmt.Errorf("resolve the build version of %s for %s: %w", c.Spec.Branch, c.Version(), err)
	}
	return bv, nil
}

// submit starts an attempt and submits its build, on the cut's lane: the attempt and the
// intents of its build and its line are stored first; the build is submitted before the
// reply, and the line is posted after it.
func (h *Handlers) submit(ctx context.Context, c *cutbot.Cut, start cutbot.StartStage) (Reply, error) {
	c, err := h.change(ctx, c, start)
	if err != nil {
		return nil, err
	}
	n := c.Stage(start.Stage).Current().N
	h.log.Info("stage started", "cut", c.ID, "stage", start.Stage, "attempt", n, "user", start.By, "force", start.Force)
	c, err = h.carry(ctx, c, onlyBuilds)
	a := c.Stage(start.Stage).Current()
	switch {
	case a.Status == cutbot.StatusFailed:
		return nil, cutbot.Errorf(cutbot.ErrorCode(err), "%s (attempt %d) was refused by Cloud Build: %s", start.Stage.Title(), n, a.Error)
	case a.Status == cutbot.StatusSubmitting:
		h.log.Warn("build submission uncertain; the poller will look for it before submitting again", "cut", c.ID, "stage", start.Stage, "attempt", n, "err", err)
		return CutReply{Cut: c, Brief: true, Headline: fmt.Sprintf("%s (attempt %d) is recorded; Cloud Build did not answer yet, and cutbot keeps trying without submitting it twice.", start.Stage.Title(), n)}, nil
	}
	return CutReply{Cut: c, Brief: true, Headline: fmt.Sprintf("Started %s (attempt %d).", start.Stage.Title(), n)}, nil
}

// submitBuild carries out a SubmitBuild: an uncertain one is first looked up by cutbot's
// tag and adopted if Cloud Build has it.
func (h *Handlers) submitBuild(ctx context.Context, c *cutbot.Cut, e cutbot.SubmitBuild, uncertain bool) ([]cutbot.Event, error) {
	if h.builder == nil {
		return nil, cutbot.Errorf(cutbot.EINVALID, "builds are not configured")
	}
	tag := cutbot.BuildTag(c.ID, e.Stage, e.Attempt)
	ref, err := once(ctx, uncertain,
		func(ctx context.Context) (cutbot.BuildRef, bool, error) { return h.builder.FindByTag(ctx, tag) },
		func(ctx context.Context) (cutbot.BuildRef, error) {
			if uncertain {
				h.log.Info("no build found for an interrupted submission; submitting it", "cut", c.ID, "stage", e.Stage, "attempt", e.Attempt)
			}
			req, err := cutbot.KrelBuild(c, e.Stage, h.krel)
			if err != nil {
				return cutbot.BuildRef{}, err
			}
			return h.builder.Submit(ctx, req)
		})
	switch {
	case err == nil:
		h.log.Info("build submitted", "cut", c.ID, "stage", e.Stage, "attempt", e.Attempt, "build", ref.ID, "looked_up", uncertain)
		return []cutbot.Event{cutbot.BuildSubmitted{Stage: e.Stage, Attempt: e.Attempt, BuildID: ref.ID, LogURL: ref.LogURL}}, nil
	case cutbot.ErrorCode(err) == cutbot.EUNAVAILABLE:
		// The build may or may not exist: the intent stays, and the next try looks it up by
		// its tag before it submits anything.
		return nil, err
	default:
		h.log.Error("build submission refused", "cut", c.ID, "stage", e.Stage, "attempt", e.Attempt, "err", err)
		return []cutbot.Event{cutbot.StageFailed{Stage: e.Stage, Attempt: e.Attempt, Reason: cutbot.ErrorMessage(err)}}, err
	}
}

// cancelBuild carries out a CancelBuild: the attempt's build, or the one carrying its tag.
func (h *Handlers) cancelBuild(ctx context.Context, c *cutbot.Cut, e cutbot.CancelBuild) ([]cutbot.Event, error) {
	if h.builder == nil {
		return nil, cutbot.Errorf(cutbot.EINVALID, "builds are not configured")
	}
	id := e.BuildID
	if id == "" {
		ref, found, err := h.builder.FindByTag(ctx, cutbot.BuildTag(c.ID, e.Stage, e.Attempt))
		if err != nil {
			return nil, err
		}
		if !found {
			h.log.Info("nothing to cancel: the attempt never reached Cloud Build", "cut", c.ID, "stage", e.Stage, "attempt", e.Attempt)
			return []cutbot.Event{cutbot.EffectDone{Key: e.Key()}}, nil
		}
		id = ref.ID
	}
	if err := h.builder.Cancel(ctx, id); err != nil {
		return nil, err
	}
	h.log.Info("build cancelled", "cut", c.ID, "stage", e.Stage, "attempt", e.Attempt, "build", id)
	return []cutbot.Event{cutbot.EffectDone{Key: e.Key()}}, nil
}

// confirm submits the no-mock stage that a confirmation asked for, when its requester
// presses Confirm. A second press, or a press by someone else, submits nothing.
func (h *Handlers) confirm(ctx context.Context, user string, c *cutbot.Cut, id string) (Reply, error) {
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
	return h.submit(ctx, c, cutbot.StartStage{Stage: stage, By: user, Confirmation: id})
}

func (h *Handlers) decline(ctx context.Context, user string, c *cutbot.Cut, id string) (Reply, error) {
	c, err := h.change(ctx, c, cutbot.DeclineConfirmation{ID: id, By: user})
	if err != nil {
		return nil, err
	}
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
			return h.decline(ctx, x.req.UserID, c, c.Pending.ID)
		}
		return nil, cutbot.Errorf(cutbot.EINVALID, "%s: no build is running; the cut is %s", c.Version(), c.Standing())
	}
	a := s.Current()
	if !s.Kind.IsBuild() {
		// A watched stage: there is nothing to cancel outside; cutbot stops watching.
		if c, err = h.change(ctx, c, cutbot.StageCancelled{Stage: s.Kind, Attempt: a.N, By: x.req.UserID}); err != nil {
			return nil, err
		}
		return CutReply{Cut: c, Brief: true, Headline: fmt.Sprintf("Stopped following %s. `/release next %s %s --force \"reason\"` goes on without it.", s.Kind.Title(), c.Version(), nextAfter(c, s.Kind))}, nil
	}
	if err := h.buildsConfigured(); err != nil {
		return nil, err
	}
	if c, err = h.change(ctx, c, cutbot.StageCancelled{Stage: s.Kind, Attempt: a.N, By: x.req.UserID}); err != nil {
		return nil, err
	}
	h.log.Info("stage cancelled", "cut", c.ID, "stage", s.Kind, "attempt", a.N, "build", a.BuildID, "user", x.req.UserID)
	headline := fmt.Sprintf("Cancelled %s (attempt %d).", s.Kind.Title(), a.N)
	if c, err = h.carry(ctx, c, onlyBuilds); err != nil {
		headline += " Cloud Build did not take the cancellation yet (" + cutbot.ErrorMessage(err) + "); cutbot keeps trying."
	}
	return CutReply{Cut: c, Brief: true, Headline: headline}, nil
}

// Poll hands every active cut with something in flight, and every cut with work left, a
// poll on its own lane, and every freeze that stopped halfway a try on its branch's lane. It
// returns at once: a slow cut never holds up the others, nor the next tick. Run it at start
// and then every poll interval.
func (h *Handlers) Poll(ctx context.Context) error {
	if h.builder == nil && h.gh.api == nil {
		return nil
	}
	cuts, err := h.cutsWithWork(ctx)
	if err != nil {
		return fmt.Errorf("poll: %w", err)
	}
	for _, c := range cuts {
		if c.Attention != "" || !(len(c.Journal) > 0 || inFlight(c)) {
			continue
		}
		id := c.ID
		h.lanes.goAsync(c.Version().String(), "poll:"+id, func() {
			ctx, cancel := h.jobContext()
			defer cancel()
			if err := h.pollCut(ctx, id); err != nil && ctx.Err() == nil {
				h.log.Warn("poll", "cut", id, "err", err)
			}
		})
	}
	h.resumeFreezes(true)
	return nil
}

func inFlight(c *cutbot.Cut) bool {
	for i := range c.Stages {
		if c.Stages[i].Status().InFlight() {
			return true
		}
	}
	return false
}

// pollCut follows what the cut has in flight (its running builds, its watched stages on
// GitHub), then settles it. It runs on the cut's lane.
func (h *Handlers) pollCut(ctx context.Context, id string) error {
	c, err := h.store.Cut(ctx, id)
	if err != nil {
		return err
	}
	if c.Attention != "" {
		return nil // a person looks at it first
	}
	var errs []error
	for i := range c.Stages {
		s := &c.Stages[i]
		a := s.Current()
		if !s.Kind.IsBuild() || !s.Status().InFlight() || a.BuildID == "" || h.builder == nil {
			continue // an attempt without a build id is still an intent: settle carries it
		}
		if c, err = h.follow(ctx, c, s.Kind, *a); err != nil {
			errs = append(errs, err)
		}
	}
	if c, err = h.pollGitHub(ctx, c); err != nil {
		errs = append(errs, err)
	}
	h.settle(ctx, c)
	return errors.Join(errs...)
}

// follow reads a running build and records what changed.
func (h *Handlers) follow(ctx context.Context, c *cutbot.Cut, k cutbot.StageKind, a cutbot.Attempt) (*cutbot.Cut, error) {
	now := h.clock.Now()
	if h.backoff.wait(a.BuildID, now) {
		return c, nil
	}
	st, err := h.builder.Status(ctx, a.BuildID)
	if err != nil {
		d := h.backoff.fail(a.BuildID, now)
		if cutbot.ErrorCode(err) == cutbot.EUNAUTHORIZED {
			c = h.warn(ctx, c, k, a, "permission", cutbot.ErrorMessage(err))
		}
		return c, fmt.Errorf("follow build %s of cut %s: %w (next try in %s)", a.BuildID, c.ID, err, d)
	}
	h.backoff.ok(a.BuildID)
	var events []cutbot.Event
	switch st.State {
	case cutbot.BuildQueued:
		if !a.Queued {
			events = append(events, cutbot.StageProgressed{Stage: k, Attempt: a.N, Step: "queued", Queued: true})
		}
		if h.warnQueued > 0 && now.Sub(a.StartedAt) > h.warnQueued {
			c = h.warn(ctx, c, k, a, "queued", fmt.Sprintf("has been queued for %s", roundDuration(now.Sub(a.StartedAt))))
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
			c = h.warn(ctx, c, k, a, "running", fmt.Sprintf("has been running for %s", roundDuration(now.Sub(started))))
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
		return c, nil
	}
	if c, err = h.change(ctx, c, events...); err != nil {
		return c, err
	}
	h.log.Info("build moved", "cut", c.ID, "stage", k, "attempt", a.N, "build", a.BuildID, "state", st.State, "step", st.Step)
	if st.State == cutbot.BuildSucceeded && h.gh.api != nil {
		// What follows a no-mock build is watched on GitHub: the image promotion after the
		// stage, the release announcement after the release.
		next := map[cutbot.StageKind]cutbot.StageKind{cutbot.NoMockStage: cutbot.ImagePromotion, cutbot.NoMockRelease: cutbot.Announcement}[k]
		if s := c.Stage(next); s != nil && s.Status() == cutbot.StatusPending {
			if c, err = h.change(ctx, c, cutbot.StartStage{Stage: next, OpenPR: next == cutbot.ImagePromotion && h.gh.promoter != nil}); err != nil {
				return c, err
			}
			h.gh.due(c.ID, time.Time{}) // look at GitHub at once
		}
	}
	return c, nil
}

// warn records a warning about an attempt, once per kind; its note goes to the thread.
func (h *Handlers) warn(ctx context.Context, c *cutbot.Cut, k cutbot.StageKind, a cutbot.Attempt, kind, detail string) *cutbot.Cut {
	if slices.Contains(a.Warned, kind) {
		return c
	}
	next, err := h.change(ctx, c, cutbot.StageWarned{Stage: k, Attempt: a.N, Kind: kind, Detail: detail})
	if err != nil {
		h.log.Error("record warning", "cut", c.ID, "err", err)
	}
	return next
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

// The calendar's buttons: open the cut of a release due tomorrow, freeze a branch at its
// cherry-pick deadline. Their values are "VERSION|-|" and "BRANCH|-|VERSION".
const (
	ActionOpenCut      = "cutbot.open_cut"
	ActionFreezeBranch = "cutbot.freeze_branch"
)

// runAs runs a command as user, as if typed: the same checks, lane and reply.
func (h *Handlers) runAs(ctx context.Context, user, text string) Reply {
	inv, err := Parse(text)
	if err != nil {
		return ParseErrorReply(err)
	}
	return h.Execute(ctx, Request{UserID: user, Text: text}, inv)
}

// ActionValue is the value of a button about cut c.
func ActionValue(c *cutbot.Cut, arg string) string {
	return c.Version().String() + "|" + c.ID + "|" + arg
}

// HandleAction runs a button press on the lane of the cut (or the branch's freeze) it is
// about. Every button changes something, so only release managers may press them.
func (h *Handlers) HandleAction(ctx context.Context, req ActionRequest) Reply {
	log := h.log.With("action", req.ActionID, "user", req.UserID, "value", req.Value)
	parts := strings.SplitN(req.Value, "|", 3)
	if len(parts) != 3 {
		return ErrorReply{Message: "That button is not one of cutbot's current buttons."}
	}
	lane, id, arg := parts[0], parts[1], parts[2]
	ok, err := h.dir.IsReleaseManager(ctx, req.UserID)
	if err != nil {
		log.Error("check release-manager membership", "err", err)
		return ErrorReply{Message: "Could not check whether you are a release manager; try again in a moment.", Failed: true}
	}
	if !ok {
		return RefusedReply{Button: true, Who: h.dir.ReleaseManagers(ctx)}
	}
	// The calendar's buttons run the command a release manager would type.
	switch req.ActionID {
	case ActionOpenCut:
		return h.runAs(ctx, req.UserID, "cut "+lane)
	case ActionFreezeBranch:
		return h.runAs(ctx, req.UserID, fmt.Sprintf("freeze %s --reason %q", lane, arg+" cut"))
	}
	var run func() (Reply, error)
	switch req.ActionID {
	case ActionFreeze:
		lane = freezeLane(lane)
		run = func() (Reply, error) { return h.confirmFreeze(ctx, req.UserID, id, arg == FreezeKeep) }
	case ActionConfirm, ActionDecline, ActionNext, ActionRetry, ActionCreateBranch:
		run = func() (Reply, error) {
			c, err := h.store.Cut(ctx, id)
			if err != nil {
				return nil, err
			}
			h.backoff.forget(c.ID + "/")
			switch {
			case c.Status != cutbot.CutActive && req.ActionID != ActionDecline:
				return nil, cutbot.Errorf(cutbot.ECONFLICT, "%s: the cut is %s", c.Version(), c.Standing())
			case req.ActionID == ActionConfirm:
				return h.confirm(ctx, req.UserID, c, arg)
			case req.ActionID == ActionDecline:
				return h.decline(ctx, req.UserID, c, arg)
			case req.ActionID == ActionCreateBranch:
				return h.createBranch(ctx, req.UserID, c)
			case arg == "":
				return h.nextStage(ctx, req.UserID, c, "", "", "")
			}
			return h.startStage(ctx, req.UserID, c, cutbot.StageKind(arg), "", "")
		}
	default:
		return ErrorReply{Message: "That button is not one of cutbot's current buttons."}
	}
	var reply Reply
	var runErr error
	completed, err := h.lanes.do(ctx, lane, func() { reply, runErr = run() })
	switch {
	case err != nil:
		return ErrorReply{Message: "cutbot is still busy with earlier work on this; try again in a moment."}
	case !completed:
		return ErrorReply{Message: cutbot.ErrorMessage(errors.New("panic"))}
	case runErr != nil:
		return errorReply(log, runErr)
	}
	if c, ok := reply.(CutReply); ok {
		h.settleLater(c.Cut)
	}
	return reply
}
