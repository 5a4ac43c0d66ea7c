// Package handlers holds cutbot's use cases: the /release command table and parser, and what
// each command does. It speaks the domain's ports only; no Slack, GitHub, Cloud Build or
// bbolt code is imported here.
package handlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/cutbot"
)

// Request is one /release command as a user sent it.
type Request struct {
	UserID    string
	UserName  string
	ChannelID string // where the command was typed
	Text      string // everything after "/release"
}

// Deps are what the handlers need from the world.
type Deps struct {
	Store     cutbot.CutStore
	Messenger cutbot.Messenger
	Directory cutbot.Directory
	Clock     cutbot.Clock
	Channel   string // the channel cut threads live in
	Log       *slog.Logger

	// Stages on Cloud Build. Builder nil means builds are not configured: the commands that
	// run stages say so.
	Builder     cutbot.Builder
	Versions    cutbot.VersionSource
	Krel        cutbot.KrelOptions
	BuildTarget string        // shown in confirmations, e.g. "k8s-release (us-central1)"
	WarnQueued  time.Duration // warn when a build waits in the queue longer (0: never)
	WarnRunning time.Duration // warn when a build runs longer (0: never)
	// NewID makes confirmation ids; default random.
	NewID func() string

	// The GitHub side. GitHub nil means it is not configured: no issue, and the gates
	// cannot be checked (the no-mock stage then needs --force).
	GitHub        cutbot.GitHub
	TestGrid      cutbot.TestGrid
	Prow          cutbot.Prow
	IssueRepo     string        // where cut issues are opened, e.g. kubernetes/sig-release
	IssueTemplate string        // the template's text; "" reads IssueTemplatePath from IssueRepo
	TemplatePath  string        // default .github/ISSUE_TEMPLATE/cut-release.md
	PublishingBot string        // the publishing-bot health issue, e.g. kubernetes/kubernetes#56876
	PromotionRepo string        // where image-promotion PRs are, e.g. kubernetes/k8s.io
	PromotionJob  string        // the postsubmit that promotes, e.g. post-k8sio-image-promo
	ReleaseRepo   string        // where the GitHub release appears, e.g. kubernetes/kubernetes
	RemindAfter   time.Duration // remind the release managers of an unapproved promotion PR
	GitHubEvery   time.Duration // read GitHub for a cut at most this often while polling

	// The release calendar: where it comes from, when reminders go out, what was posted.
	Calendars []cutbot.CalendarSource
	Policy    cutbot.ReminderPolicy
	Reminders cutbot.ReminderStore
	Announcer cutbot.Announcer

	// Cherry-pick freezes.
	Freezes        cutbot.FreezeStore
	CherryPickRepo string // whose release branches are frozen, e.g. kubernetes/kubernetes
	FreezeLabel    string // e.g. cherry-pick-approved
}

// Handlers runs /release commands.
type Handlers struct {
	store   cutbot.CutStore
	msg     cutbot.Messenger
	dir     cutbot.Directory
	clock   cutbot.Clock
	channel string
	log     *slog.Logger

	builder     cutbot.Builder
	versions    cutbot.VersionSource
	krel        cutbot.KrelOptions
	target      string
	warnQueued  time.Duration
	warnRunning time.Duration
	newID       func() string
	submitting  submissions
	backoff     backoffs
	gh          ghDeps
	cal         calendar
	freezes     cutbot.FreezeStore
	cpRepo      string
	cpLabel     string
}

// New returns Handlers using deps.
func New(deps Deps) *Handlers {
	if deps.Clock == nil {
		deps.Clock = cutbot.SystemClock{}
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.NewID == nil {
		deps.NewID = randomID
	}
	if deps.CherryPickRepo == "" {
		deps.CherryPickRepo = "kubernetes/kubernetes"
	}
	if deps.FreezeLabel == "" {
		deps.FreezeLabel = "cherry-pick-approved"
	}
	if deps.Krel == (cutbot.KrelOptions{}) {
		deps.Krel = cutbot.DefaultKrelOptions()
	}
	return &Handlers{store: deps.Store, msg: deps.Messenger, dir: deps.Directory, clock: deps.Clock, channel: deps.Channel, log: deps.Log,
		builder: deps.Builder, versions: deps.Versions, krel: deps.Krel, target: deps.BuildTarget,
		warnQueued: deps.WarnQueued, warnRunning: deps.WarnRunning, newID: deps.NewID,
		gh: newGHDeps(deps), cal: newCalendar(deps), freezes: deps.Freezes, cpRepo: deps.CherryPickRepo, cpLabel: deps.FreezeLabel}
}

func randomID() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type execution struct {
	ctx context.Context
	req Request
	inv Invocation
}

// Handle parses and runs one command and returns the reply for the user who sent it.
func (h *Handlers) Handle(ctx context.Context, req Request) Reply {
	inv, err := Parse(req.Text)
	if err != nil {
		return ParseErrorReply(err)
	}
	return h.Execute(ctx, req, inv)
}

// ParseErrorReply turns an error from Parse into the reply that explains it.
func ParseErrorReply(err error) Reply {
	var pe *ParseError
	if errors.As(err, &pe) {
		return ErrorReply{Message: pe.Message, Usage: pe.Command}
	}
	return ErrorReply{Message: err.Error()}
}

// Execute runs a parsed command: checks who may run it, runs it, and turns its errors into
// replies. A panic in a command becomes an internal-error reply, not a crash.
func (h *Handlers) Execute(ctx context.Context, req Request, inv Invocation) (reply Reply) {
	log := h.log.With("command", inv.Command.Name, "user", req.UserID, "key", inv.Key())
	defer func() {
		if p := recover(); p != nil {
			log.Error("command panicked", "panic", p, "stack", string(debug.Stack()))
			reply = ErrorReply{Message: cutbot.ErrorMessage(errors.New("panic"))}
		}
	}()
	if !inv.ReadOnly() {
		ok, err := h.dir.IsReleaseManager(ctx, req.UserID)
		if err != nil {
			log.Error("check release-manager membership", "err", err)
			return ErrorReply{Message: "Could not check whether you are a release manager; try again in a moment."}
		}
		if !ok {
			log.Info("refused: not a release manager")
			return RefusedReply{Command: inv.Command, Who: h.dir.ReleaseManagers(ctx)}
		}
	}
	reply, err := inv.Command.run(h, &execution{ctx: ctx, req: req, inv: inv})
	if err != nil {
		return errorReply(log, err)
	}
	return reply
}

// errorReply logs err (as an error if it is internal, else as a refusal) and turns it into
// what the user is shown.
func errorReply(log *slog.Logger, err error) Reply {
	if cutbot.ErrorCode(err) == cutbot.EINTERNAL {
		log.Error("failed", "err", err)
	} else {
		log.Info("refused", "err", err)
	}
	return ErrorReply{Message: cutbot.ErrorMessage(err)}
}

func (h *Handlers) help(x *execution) (Reply, error) {
	if name := x.inv.Arg(0); name != "" {
		c := Lookup(name)
		if c == nil {
			return nil, cutbot.Errorf(cutbot.ENOTFOUND, "There is no command %q. Commands: %s.", name, commandNames())
		}
		return HelpReply{Commands: Commands, Detail: c}, nil
	}
	return HelpReply{Commands: Commands}, nil
}

func (h *Handlers) cut(x *execution) (Reply, error) {
	ctx, inv := x.ctx, x.inv
	v, err := versionArg(inv)
	if err != nil {
		return ErrorReply{Message: cutbot.ErrorMessage(err), Usage: inv.Command}, nil
	}
	var typ cutbot.ReleaseType
	if t := inv.Flags["type"]; t != "" {
		if typ, err = cutbot.ParseReleaseType(t); err != nil {
			return nil, err
		}
	}
	spec, err := cutbot.NewCutSpec(v, typ, inv.Flags["branch"], inv.Has("no-mock-run"))
	if err != nil {
		return nil, err
	}
	existing, err := h.activeCut(ctx, v)
	if err != nil {
		return nil, err
	}
	issueNumber := 0
	if n := inv.Flags["issue"]; n != "" {
		if issueNumber, err = strconv.Atoi(strings.TrimPrefix(n, "#")); err != nil || issueNumber <= 0 {
			return ErrorReply{Message: fmt.Sprintf("--issue %s is not an issue number, e.g. --issue 2995", n), Usage: inv.Command}, nil
		}
	}
	if inv.Has("dry-run") {
		actions := []string{
			fmt.Sprintf("record the cut of %s (%s on %s)", v, spec.Type, spec.Branch),
			"post the thread `:thread: Release Cut " + v.String() + "` in the release channel",
			"post the plan in the thread, every stage pending",
		}
		switch {
		case h.gh.api == nil:
		case issueNumber > 0:
			actions = append(actions, fmt.Sprintf("track the cut in %s#%d", h.gh.issueRepo, issueNumber))
		default:
			actions = append(actions, fmt.Sprintf("open the issue %q in %s from its cut-release template", IssueTitle(v), h.gh.issueRepo))
		}
		return PlanReply{Spec: spec, Existing: existing, Actions: actions}, nil
	}
	if existing != nil {
		if !existing.Messages[cutbot.MessageThread].Posted() && existing.Spec == spec {
			// An earlier `cut` stored this cut but could not post its thread: finish the job.
			c, err := h.publish(ctx, existing, false)
			if err != nil {
				return nil, err
			}
			return CutReply{Cut: c, Headline: "Posted the thread of the cut that an earlier attempt had recorded.", Brief: true}, nil
		}
		return ErrorReply{Message: fmt.Sprintf("%s already has an active cut, opened by <@%s>. Follow it in its thread, or end it with `/release abort %s --reason \"...\"`.", v, existing.OpenedBy, v), Cut: existing}, nil
	}

	c, err := cutbot.NewCut(spec, h.channel, x.req.UserID, h.clock.Now())
	if err != nil {
		return nil, err
	}
	// The intent to post the thread is stored with the cut, so a crash before its timestamp
	// is recorded makes the next start look the thread up instead of posting a second one.
	if err := c.Apply(cutbot.MessageIntent{Key: cutbot.MessageThread, Channel: h.channel}, h.clock.Now()); err != nil {
		return nil, err
	}
	if err := h.store.CreateCut(ctx, c); err != nil {
		if cutbot.ErrorCode(err) == cutbot.ECONFLICT {
			other, _ := h.activeCut(ctx, v)
			return ErrorReply{Message: fmt.Sprintf("%s already has an active cut; it was opened a moment ago.", v), Cut: other}, nil
		}
		return nil, fmt.Errorf("store new cut of %s: %w", v, err)
	}
	h.log.Info("cut opened", "cut", c.ID, "version", v.String(), "type", spec.Type, "branch", spec.Branch, "user", x.req.UserID)
	c, err = h.publish(ctx, c, true)
	if err != nil {
		return nil, err
	}
	headline := "Opened the cut."
	if c, err = h.ensureIssue(ctx, c, issueNumber, x.req.UserID); err != nil {
		h.log.Error("cut issue", "cut", c.ID, "err", err)
		headline += " Its GitHub issue could not be opened (" + cutbot.ErrorMessage(err) + "); cutbot tries again when it restarts."
	}
	h.refreshAll(ctx, c)
	return CutReply{Cut: c, Headline: headline, Brief: true}, nil
}

// activeCut returns the active cut of v, or nil if there is none.
func (h *Handlers) activeCut(ctx context.Context, v cutbot.Version) (*cutbot.Cut, error) {
	c, err := h.store.ActiveCut(ctx, v)
	if cutbot.ErrorCode(err) == cutbot.ENOTFOUND {
		return nil, nil
	}
	return c, err
}

// publish makes sure the cut's thread and plan are posted. fresh says the thread's intent was
// recorded by this very request, so there is nothing to look up first.
func (h *Handlers) publish(ctx context.Context, c *cutbot.Cut, fresh bool) (*cutbot.Cut, error) {
	c, err := h.ensurePosted(ctx, c, cutbot.MessageThread, fresh)
	if err != nil {
		return c, cutbot.Errorf(cutbot.EINTERNAL, "The cut of %s is recorded, but its thread could not be posted (%v). Run the same `/release cut` again to retry; nothing will be posted twice.", c.Version(), err)
	}
	c, err = h.ensurePosted(ctx, c, cutbot.MessagePlan, false)
	if err != nil {
		return c, cutbot.Errorf(cutbot.EINTERNAL, "The thread of %s is posted, but its plan could not be (%v). cutbot retries when it restarts.", c.Version(), err)
	}
	return c, nil
}

// ensurePosted posts the message key of c unless it is known to be posted. It records the
// intent before posting and the timestamp right after. An intent found from an earlier run
// (fresh false) may mean the post reached Slack before a crash, so it is looked up first.
func (h *Handlers) ensurePosted(ctx context.Context, c *cutbot.Cut, key string, fresh bool) (*cutbot.Cut, error) {
	ref, ok := c.Messages[key]
	switch {
	case ok && ref.Posted():
		return c, nil
	case ok && !fresh:
		found, exists, err := h.msg.Find(ctx, c, key)
		if err != nil {
			return c, fmt.Errorf("look up message %s of cut %s: %w", key, c.ID, err)
		}
		if exists {
			h.log.Info("reconciled message posted before a restart", "cut", c.ID, "message", key, "ts", found.TS)
			return h.apply(ctx, c.ID, cutbot.MessagePosted{Key: key, Ref: found})
		}
	case !ok:
		var err error
		if c, err = h.apply(ctx, c.ID, cutbot.MessageIntent{Key: key, Channel: c.Channel}); err != nil {
			return c, err
		}
	}
	posted, err := h.msg.Post(ctx, c, key)
	if err != nil {
		return c, fmt.Errorf("post message %s of cut %s: %w", key, c.ID, err)
	}
	return h.apply(ctx, c.ID, cutbot.MessagePosted{Key: key, Ref: posted})
}

// apply applies events to the stored cut and returns the result.
func (h *Handlers) apply(ctx context.Context, id string, events ...cutbot.Event) (*cutbot.Cut, error) {
	return h.store.UpdateCut(ctx, id, func(c *cutbot.Cut) error {
		now := h.clock.Now()
		for _, e := range events {
			if err := c.Apply(e, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// refresh edits the cut's thread parent and plan to match its state.
func (h *Handlers) refresh(ctx context.Context, c *cutbot.Cut) error {
	var errs []error
	for _, key := range []string{cutbot.MessageThread, cutbot.MessagePlan} {
		if c.Messages[key].Posted() {
			if err := h.msg.Update(ctx, c, key); err != nil {
				errs = append(errs, fmt.Errorf("update message %s of cut %s: %w", key, c.ID, err))
			}
		}
	}
	return errors.Join(errs...)
}

func (h *Handlers) status(x *execution) (Reply, error) {
	ctx := x.ctx
	if x.inv.Arg(0) == "" {
		cuts, err := h.store.ActiveCuts(ctx)
		if err != nil {
			return nil, fmt.Errorf("list active cuts: %w", err)
		}
		return StatusReply{Cuts: cuts}, nil
	}
	v, err := versionArg(x.inv)
	if err != nil {
		return ErrorReply{Message: cutbot.ErrorMessage(err), Usage: x.inv.Command}, nil
	}
	c, err := h.store.LatestCut(ctx, v)
	if cutbot.ErrorCode(err) == cutbot.ENOTFOUND {
		return nil, cutbot.Errorf(cutbot.ENOTFOUND, "No cut of %s has been opened. `/release status` lists the active cuts.", v)
	}
	if err != nil {
		return nil, fmt.Errorf("read cut of %s: %w", v, err)
	}
	return CutReply{Cut: c}, nil
}

func (h *Handlers) abort(x *execution) (Reply, error) {
	ctx := x.ctx
	v, err := versionArg(x.inv)
	if err != nil {
		return ErrorReply{Message: cutbot.ErrorMessage(err), Usage: x.inv.Command}, nil
	}
	c, err := h.activeCut(ctx, v)
	if err != nil {
		return nil, err
	}
	if c == nil {
		msg := fmt.Sprintf("%s has no active cut to abort.", v)
		if last, err := h.store.LatestCut(ctx, v); err == nil {
			msg += fmt.Sprintf(" Its last cut is %s.", last.Standing())
		}
		return nil, cutbot.Errorf(cutbot.ENOTFOUND, "%s", msg)
	}
	// The abort and the intent to post its note in the thread are stored together, so a
	// crash after this point is finished by the next start (Resume).
	c, err = h.applyWithNote(ctx, c.ID, cutbot.Abort{By: x.req.UserID, Reason: x.inv.Flags["reason"]})
	if err != nil {
		return nil, err
	}
	h.log.Info("cut aborted", "cut", c.ID, "version", v.String(), "user", x.req.UserID)
	headline := "Aborted the cut."
	if err := h.finishMessages(ctx, c, true); err != nil {
		h.log.Error("show abort in thread", "cut", c.ID, "err", err)
		headline += " The thread could not be updated yet; cutbot retries when it restarts."
	}
	c, _ = h.store.Cut(ctx, c.ID)
	return CutReply{Cut: c, Headline: headline, Brief: true}, nil
}

// finishMessages brings the cut's Slack messages up to date: edits the thread parent and plan,
// and posts every message whose intent is recorded but which is not known to be posted.
func (h *Handlers) finishMessages(ctx context.Context, c *cutbot.Cut, fresh bool) error {
	var errs []error
	if c.Messages[cutbot.MessageThread].Posted() {
		if err := h.refresh(ctx, c); err != nil {
			// Leave the notes' intents in place so the next try does both, in order.
			return err
		}
	}
	for key, ref := range c.Messages {
		if ref.Posted() || key == cutbot.MessageThread || key == cutbot.MessagePlan {
			continue
		}
		var err error
		if c, err = h.ensurePosted(ctx, c, key, fresh); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Resume finishes what a previous run left undone: threads and plans of active cuts that
// were not posted, and notes whose intent was recorded. Run it at start, before taking
// commands. Messages that may have reached Slack are looked up, never posted twice.
func (h *Handlers) Resume(ctx context.Context) error {
	cuts, err := h.store.ActiveCuts(ctx)
	if err != nil {
		return fmt.Errorf("resume: list active cuts: %w", err)
	}
	if err := h.resumeFreezes(ctx, false); err != nil {
		h.log.Error("resume freezes", "err", err)
	}
	pending, err := h.store.CutsWithUnpostedMessages(ctx)
	if err != nil {
		return fmt.Errorf("resume: list cuts with unposted messages: %w", err)
	}
	seen := map[string]bool{}
	var errs []error
	for _, c := range append(cuts, pending...) {
		if seen[c.ID] {
			continue
		}
		seen[c.ID] = true
		if c.Status == cutbot.CutActive {
			var err error
			if c, err = h.publish(ctx, c, false); err != nil {
				errs = append(errs, err)
				continue
			}
			if c.Issue != nil && !c.Issue.Known() {
				if c, err = h.ensureIssue(ctx, c, 0, ""); err != nil {
					errs = append(errs, err)
				}
			}
		}
		if err := h.finishMessages(ctx, c, false); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
