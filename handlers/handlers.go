// Package handlers holds cutbot's use cases: the /release command table and parser, and what
// each command does. It speaks the domain's ports only; no Slack, GitHub, Cloud Build or
// bbolt code is imported here.
package handlers

import (
	"cmp"
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
	Observer  cutbot.Observer // told of every change and effect (metrics); nil: none
	Messenger cutbot.Messenger
	Directory cutbot.Directory
	Clock     cutbot.Clock
	Channel   string // the channel cut threads live in
	Log       *slog.Logger
	// JobTimeout bounds one job on a cut's lane (a command, a poll). Default 2 minutes.
	JobTimeout time.Duration

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
	IssueRepo     string                 // where cut issues are opened, e.g. kubernetes/sig-release
	IssueTemplate string                 // the template's text; "" reads IssueTemplatePath from IssueRepo
	TemplatePath  string                 // default .github/ISSUE_TEMPLATE/cut-release.md
	PublishingBot string                 // the publishing-bot health issue, e.g. kubernetes/kubernetes#56876
	PromotionRepo string                 // where image-promotion PRs are, e.g. kubernetes/k8s.io
	Promoter      cutbot.PromotionOpener // opens them as kpromo pr does; nil: a person does
	Schedule      cutbot.ScheduleUpdater // proposes schedule.yaml after a patch; nil: a person does
	PromotionJob  string                 // the postsubmit that promotes, e.g. post-k8sio-image-promo
	ReleaseRepo   string                 // where the GitHub release appears, e.g. kubernetes/kubernetes
	RemindAfter   time.Duration          // remind the release managers of an unapproved promotion PR
	GitHubEvery   time.Duration          // read GitHub for a cut at most this often while polling

	// The release calendar: where it comes from, when reminders go out, what was posted.
	Calendars []cutbot.CalendarSource
	Policy    cutbot.ReminderPolicy
	Reminders cutbot.ReminderStore
	Announcer cutbot.Announcer

	// Cherry-pick freezes.
	Freezes        cutbot.FreezeStore
	CherryPickRepo string // whose release branches are frozen, e.g. kubernetes/kubernetes
	FreezeLabel    string // e.g. cherry-pick-approved

	// The patch-release board (of CherryPickRepo's release branches).
	Board            cutbot.BoardStore
	BoardAnnouncer   cutbot.BoardAnnouncer
	BoardBranches    []string      // none: the calendar's branches with a next patch release
	BoardHistory     time.Duration // how far back closed picks are read without an earlier release in the calendar (default 45 days)
	KnownIssuesQuery string        // GitHub search for known issues; "" reads none
	ApprovableNotice string        // NoticeDigest (default), NoticeNow or NoticeOff

	// Embargoed security releases: where they live. PrivateChannel "" refuses --embargo.
	PrivateChannel   string
	PrivateIssueRepo string // "": an embargoed cut has no issue

	// The release timing guard: a patch cut less than MinPatchGap after its branch's last
	// release needs --force; a branch more than MaxPatchGap without a patch while
	// cherry-picks merged on it is reminded once. 0: the defaults; negative: off.
	MinPatchGap time.Duration
	MaxPatchGap time.Duration

	// Autopilot takes the routine steps of new cuts (see cutbot.AutopilotStep) unless a cut is
	// opened with --no-start. PatchNoMock leaves the mock pair out of patch cuts unless a cut
	// asks for it with --mock-run.
	Autopilot   bool
	PatchNoMock bool
}

// Handlers runs /release commands, button presses, polls and reminders. Every change to a
// cut runs on that cut's lane (see lanes): one writer per cut.
type Handlers struct {
	store   cutbot.CutStore
	msg     cutbot.Messenger
	dir     cutbot.Directory
	clock   cutbot.Clock
	channel string
	log     *slog.Logger
	timeout time.Duration
	// replyWait is how long a reply waits for a message it would link.
	replyWait time.Duration

	builder     cutbot.Builder
	versions    cutbot.VersionSource
	krel        cutbot.KrelOptions
	target      string
	warnQueued  time.Duration
	warnRunning time.Duration
	newID       func() string
	lanes       lanes
	fresh       freshIntents
	posting     posting
	toShow      toShow
	backoff     backoffs
	gh          ghDeps
	cal         calendar
	freezes     cutbot.FreezeStore
	cpRepo      string
	cpLabel     string
	observe     cutbot.Observer
	board       board

	privateChannel   string
	privateIssueRepo string
	minGap, maxGap   time.Duration
	autopilot        bool
	patchNoMock      bool
	scheduler        cutbot.ScheduleUpdater
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
	if deps.Observer == nil {
		deps.Observer = cutbot.NopObserver{}
	}
	if deps.JobTimeout <= 0 {
		deps.JobTimeout = 2 * time.Minute
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
	h := &Handlers{store: deps.Store, msg: deps.Messenger, dir: deps.Directory, clock: deps.Clock, channel: deps.Channel, log: deps.Log,
		timeout: deps.JobTimeout, replyWait: 800 * time.Millisecond, builder: deps.Builder, versions: deps.Versions, krel: deps.Krel, target: deps.BuildTarget,
		warnQueued: deps.WarnQueued, warnRunning: deps.WarnRunning, newID: deps.NewID,
		gh: newGHDeps(deps), cal: newCalendar(deps), freezes: deps.Freezes, cpRepo: deps.CherryPickRepo, cpLabel: deps.FreezeLabel, observe: deps.Observer, board: newBoard(deps)}
	h.privateChannel, h.privateIssueRepo = deps.PrivateChannel, deps.PrivateIssueRepo
	h.autopilot, h.patchNoMock, h.scheduler = deps.Autopilot, deps.PatchNoMock, deps.Schedule
	h.minGap, h.maxGap = cmp.Or(deps.MinPatchGap, cutbot.DefaultMinPatchGap), cmp.Or(deps.MaxPatchGap, cutbot.DefaultMaxPatchGap)
	h.lanes.onPanic = h.recovered
	h.lanes.after = h.showChanged
	return h
}

// jobContext is the context of a job that no request waits for: a poll, a settle.
func (h *Handlers) jobContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), h.timeout)
}

// Settled waits until everything queued on the lane of key so far has run, and every lane
// is idle when key is "". Tests and the sandbox wait on it before they look at Slack.
func (h *Handlers) Settled(ctx context.Context, key string) error {
	if key == "" {
		return h.lanes.wait(ctx)
	}
	return h.lanes.idle(ctx, key)
}

// Quiet reports whether no job is queued or running on any lane.
func (h *Handlers) Quiet() bool { return h.lanes.quiet() }

// Drain waits, up to ctx, until no job is queued or running on any lane: what SIGTERM waits
// for before the store closes.
func (h *Handlers) Drain(ctx context.Context) error { return h.lanes.wait(ctx) }

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

// Execute runs a parsed command: checks who may run it, runs it on the lane of the cut (or
// branch) it is about, and turns its errors into replies. It returns the reply as soon as
// the command has decided; what the command's changes need posted in Slack follows on the
// lane. A panic in a command becomes an internal-error reply, not a crash.
func (h *Handlers) Execute(ctx context.Context, req Request, inv Invocation) Reply {
	log := h.log.With("command", inv.Command.Name, "user", req.UserID, "key", inv.Key())
	if !inv.ReadOnly() {
		ok, err := h.dir.IsReleaseManager(ctx, req.UserID)
		if err != nil {
			log.Error("check release-manager membership", "err", err)
			return ErrorReply{Message: "Could not check whether you are a release manager; try again in a moment.", Failed: true}
		}
		if !ok {
			log.Info("refused: not a release manager")
			return RefusedReply{Command: inv.Command, Who: h.dir.ReleaseManagers(ctx)}
		}
	}
	x := &execution{ctx: ctx, req: req, inv: inv}
	var reply Reply
	var err error
	run := func() { reply, err = inv.Command.run(h, x) }
	if key := inv.Key(); key != "" && !inv.ReadOnly() {
		completed, lerr := h.lanes.do(ctx, key, run)
		switch {
		case lerr != nil:
			return ErrorReply{Message: "cutbot is still busy with earlier work on " + inv.Arg(0) + "; try again in a moment.", Failed: true}
		case !completed:
			return ErrorReply{Message: cutbot.ErrorMessage(errors.New("panic")), Failed: true}
		}
		if inv.Command.Args[0].Name == "VERSION" {
			h.settleVersion(key) // what the command's changes need posted, after the reply
		}
	} else if !h.protect(log, run) {
		return ErrorReply{Message: cutbot.ErrorMessage(errors.New("panic")), Failed: true}
	}
	if err != nil {
		return errorReply(log, err)
	}
	return reply
}

// protect runs fn, turning a panic into a log line; it reports whether fn ran to its end.
func (h *Handlers) protect(log *slog.Logger, fn func()) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			h.observe.Recovered("command")
			log.Error("panicked", "panic", p, "stack", string(debug.Stack()))
		}
	}()
	fn()
	return true
}

// errorReply logs err (as an error if it is internal, else as a refusal) and turns it into
// what the user is shown.
func errorReply(log *slog.Logger, err error) Reply {
	if cutbot.ErrorCode(err) == cutbot.EINTERNAL {
		log.Error("failed", "err", err)
	} else {
		log.Info("refused", "err", err)
	}
	switch cutbot.ErrorCode(err) {
	case cutbot.EINTERNAL, cutbot.EUNAVAILABLE:
		return ErrorReply{Message: cutbot.ErrorMessage(err), Failed: true}
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
	spec, err := h.specOf(v, typ, inv)
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
	force := strings.TrimSpace(inv.Flags["force"])
	checked, missing, checkErr := h.checkVersion(ctx, spec, force)
	timing, timingErr := h.checkTiming(ctx, spec, force)
	if checkErr == nil {
		checkErr = timingErr
	}
	if inv.Has("dry-run") {
		// The dry run builds the cut the real path would, and lists what it would carry out.
		c, err := h.newCut(spec, x.req.UserID, issueNumber, inv.Has("no-start"))
		if err != nil {
			return nil, err
		}
		refusal := ""
		if checkErr != nil {
			refusal = cutbot.ErrorMessage(checkErr)
		}
		actions := []string{fmt.Sprintf("record the cut of %s (%s on %s)", v, spec.Type, spec.Branch)}
		if issueNumber > 0 && h.gh.api != nil {
			actions = append(actions, fmt.Sprintf("track the cut in %s#%d", h.issueRepoOf(spec), issueNumber))
		}
		for _, e := range c.Journal {
			actions = append(actions, e.String())
		}
		if missing {
			actions = append(actions, fmt.Sprintf("offer to create the hotfix branch %s from %s (the requester confirms)", spec.Branch, spec.HotfixBase()))
		}
		actions = append(actions, checked)
		if timing != "" {
			actions = append(actions, timing)
		}
		return PlanReply{Spec: spec, Existing: existing, Refusal: refusal, Actions: actions}, nil
	}
	if existing != nil {
		if !existing.Messages[cutbot.MessageThread].Posted() && existing.Spec == spec {
			// An earlier `cut` stored this cut but its thread could not be posted yet: try now.
			h.backoff.forget(existing.ID + "/")
			c, posted, err := h.postAndWait(ctx, existing, cutbot.MessageThread)
			if err != nil || !posted {
				return nil, cutbot.Errorf(cutbot.EUNAVAILABLE, "The cut of %s is recorded, but its thread still cannot be posted (%v); cutbot keeps trying by itself, and nothing will be posted twice.", v, err)
			}
			return CutReply{Cut: c, Headline: "Posted the thread of the cut that an earlier attempt had recorded.", Brief: true}, nil
		}
		return ErrorReply{Message: fmt.Sprintf("%s already has an active cut, opened by <@%s>. Follow it in its thread, or end it with `/release abort %s --reason \"...\"`.", v, existing.OpenedBy, v), Cut: existing}, nil
	}
	if checkErr != nil {
		return nil, checkErr
	}
	var linked *cutbot.Issue
	issueRepo := h.issueRepoOf(spec)
	if issueNumber > 0 && issueRepo == "" && h.gh.api != nil {
		return ErrorReply{Message: "--issue needs a private issue repository for an embargoed cut (CUTBOT_PRIVATE_ISSUE_REPO is not set): a public issue would break the embargo.", Usage: inv.Command}, nil
	}
	if issueNumber > 0 && h.gh.api != nil {
		is, err := h.gh.api.Issue(ctx, issueRepo, issueNumber)
		if err != nil {
			return nil, fmt.Errorf("read %s#%d: %w", issueRepo, issueNumber, err)
		}
		linked = &is
	}
	c, err := h.newCut(spec, x.req.UserID, issueNumber, inv.Has("no-start"))
	if err != nil {
		return nil, err
	}
	if linked != nil {
		if _, err := c.Apply(cutbot.IssueLinked{Ref: cutbot.IssueRef{Repo: issueRepo, Number: linked.Number, URL: linked.URL}, By: x.req.UserID}, h.clock.Now()); err != nil {
			return nil, err
		}
	}
	opening := []cutbot.Event{cutbot.VersionChecked{By: x.req.UserID, Detail: checked, Force: force}}
	if timing != "" {
		opening = append(opening, cutbot.Noted{By: x.req.UserID, Action: "timing.forced", Detail: timing})
	}
	if missing {
		opening = append(opening, cutbot.BranchMissing{Branch: spec.Branch})
	}
	if spec.Embargo != "" && issueRepo == "" && h.gh.api != nil {
		opening = append(opening, cutbot.Noted{Action: "issue.none", Detail: "an embargoed cut is not tracked in a public repository, and CUTBOT_PRIVATE_ISSUE_REPO is not set"})
	}
	for _, e := range opening {
		if _, err := c.Apply(e, h.clock.Now()); err != nil {
			return nil, err
		}
	}
	if line := h.KnownIssuesLine(ctx, v); line != "" {
		if _, err := c.Apply(cutbot.Noted{Action: "known-issues", Detail: line}, h.clock.Now()); err != nil {
			return nil, err
		}
	}
	// The cut is stored with the intents of its thread, plan and issue: a crash before they
	// are done is finished by the next start, which looks for each before doing it.
	if err := h.store.CreateCut(ctx, c); err != nil {
		if cutbot.ErrorCode(err) == cutbot.ECONFLICT {
			other, _ := h.activeCut(ctx, v)
			return ErrorReply{Message: fmt.Sprintf("%s already has an active cut; it was opened a moment ago.", v), Cut: other}, nil
		}
		return nil, fmt.Errorf("store new cut of %s: %w", v, err)
	}
	h.fresh.add(c.ID, c.Journal)
	h.log.Info("cut opened", "cut", c.ID, "version", v.String(), "type", spec.Type, "branch", spec.Branch, "user", x.req.UserID)
	// The thread goes out at once, most urgent of all posts; the reply links it if it is out
	// within a moment, and says so if Slack refused it. The plan and the issue follow.
	c, posted, err := h.postAndWait(ctx, c, cutbot.MessageThread)
	switch {
	case err != nil:
		return nil, cutbot.Errorf(cutbot.EUNAVAILABLE, "The cut of %s is recorded, but its thread could not be posted (%v). cutbot tries again by itself; run the same `/release cut` to try now. Nothing will be posted twice.", v, err)
	case !posted:
		return CutReply{Cut: c, Brief: true, Headline: "Opened the cut; its thread is on its way to the release channel (Slack takes about one message a second there)."}, nil
	}
	return CutReply{Cut: c, Brief: true, Headline: "Opened the cut." + autopilotSays(c)}, nil
}

// autopilotSays tells the opener of a cut what autopilot will do.
func autopilotSays(c *cutbot.Cut) string {
	if !c.Autopilot {
		return ""
	}
	first := "The mock stage starts now"
	if c.Spec.NoMockRun {
		first = "The gates are checked now"
	}
	return " " + first + "; cutbot asks you to confirm the no-mock stage once the gates pass, and the no-mock release once the images are promoted (`--no-start` opens a cut without autopilot)."
}

// postAndWait posts the cut's message key now (after looking for it, if an earlier try may
// have posted it) and waits a moment for Slack: a reply that links the message waits for
// it, but not for long (on a busy day Slack takes one post a second in a channel). It
// returns the cut with the message, when it was posted in time, for the reply.
func (h *Handlers) postAndWait(ctx context.Context, c *cutbot.Cut, key string) (*cutbot.Cut, bool, error) {
	e := cutbot.PostMessage{Message: key}
	if !h.fresh.take(c.ID, e) {
		ref, found, err := h.msg.Find(ctx, c, key)
		if err != nil {
			return c, false, err
		}
		if found {
			c, err = h.change(ctx, c, cutbot.MessagePosted{Key: key, Ref: ref})
			return c, err == nil, err
		}
	}
	type answer struct {
		ref cutbot.MessageRef
		err error
	}
	answered := make(chan answer, 1)
	h.postLater(c, e, func(ref cutbot.MessageRef, err error) { answered <- answer{ref, err} })
	select {
	case a := <-answered:
		if a.err != nil {
			return c, false, a.err
		}
		c = c.Clone()
		c.Messages[key] = a.ref // for the reply; the lane records it right after
		return c, true, nil
	case <-time.After(h.replyWait):
		return c, false, nil
	case <-ctx.Done():
		return c, false, ctx.Err()
	}
}

// newCut is a new cut of spec as the real path opens it, with the intents of what opening
// needs done: its thread and plan, and its issue.
func (h *Handlers) newCut(spec cutbot.CutSpec, by string, issueNumber int, noStart bool) (*cutbot.Cut, error) {
	channel := h.channel
	if spec.Embargo != "" {
		channel = h.privateChannel // an embargoed cut lives in the private channel
	}
	c, err := cutbot.NewCut(spec, channel, by, h.clock.Now())
	if err != nil {
		return nil, err
	}
	c.Autopilot = h.autopilot && !noStart && h.builder != nil
	for _, m := range h.milestones() {
		if (m.Kind == cutbot.PatchTarget || m.Kind == cutbot.CherryPickDeadline) && m.What == spec.Version.String() {
			c.VersionPublic = true // the calendar names it: only the cut's existence is private
		}
	}
	if h.gh.api != nil && spec.Version.IsPatch() {
		if _, err := c.Apply(cutbot.NotesRequested{}, h.clock.Now()); err != nil {
			return nil, err
		}
	}
	if repo := h.issueRepoOf(spec); h.gh.api != nil && issueNumber == 0 && repo != "" {
		if _, err := c.Apply(cutbot.IssueIntent{Repo: repo}, h.clock.Now()); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// issueRepoOf is where the issue of a cut of spec lives: the issue repository, or for an
// embargoed cut the private one ("" when none is set: the cut has no issue).
func (h *Handlers) issueRepoOf(spec cutbot.CutSpec) string {
	if spec.Embargo != "" {
		return h.privateIssueRepo
	}
	return h.gh.issueRepo
}

// specOf builds the spec /release cut asks for, from its flags.
func (h *Handlers) specOf(v cutbot.Version, typ cutbot.ReleaseType, inv Invocation) (cutbot.CutSpec, error) {
	branch := inv.Flags["branch"]
	if inv.Has("hotfix") {
		hf := cutbot.HotfixBranch(v)
		switch {
		case hf == "":
			return cutbot.CutSpec{}, cutbot.Errorf(cutbot.EINVALID, "--hotfix is for patch releases (vX.Y.Z with Z > 0): a hotfix of vX.Y.Z is vX.Y.Z+1, cut from release-X.Y.Z")
		case branch != "" && branch != hf:
			return cutbot.CutSpec{}, cutbot.Errorf(cutbot.EINVALID, "--hotfix cuts %s from %s, not --branch %s: give one of them", v, hf, branch)
		}
		branch = hf
	}
	if inv.Has("mock-run") && inv.Has("no-mock-run") {
		return cutbot.CutSpec{}, cutbot.Errorf(cutbot.EINVALID, "--mock-run and --no-mock-run contradict each other: give one")
	}
	noMock := inv.Has("no-mock-run") || h.patchNoMock && v.IsPatch() && !inv.Has("mock-run")
	spec, err := cutbot.NewCutSpec(v, typ, branch, noMock)
	if err != nil {
		return spec, err
	}
	if e := strings.TrimSpace(inv.Flags["embargo"]); e != "" {
		if h.privateChannel == "" {
			return spec, cutbot.Errorf(cutbot.EINVALID, "an embargoed cut lives in a private channel, and none is set up: set CUTBOT_PRIVATE_CHANNEL (a private channel cutbot is in) and restart cutbot")
		}
		spec.Embargo = e
	}
	spec.Source = cutbot.Source{Org: inv.Flags["k8s-org"], Repo: inv.Flags["k8s-repo"], Ref: inv.Flags["k8s-ref"]}
	return spec, nil
}

// activeCut returns the active cut of v, or nil if there is none.
func (h *Handlers) activeCut(ctx context.Context, v cutbot.Version) (*cutbot.Cut, error) {
	c, err := h.store.ActiveCut(ctx, v)
	if cutbot.ErrorCode(err) == cutbot.ENOTFOUND {
		return nil, nil
	}
	return c, err
}

func (h *Handlers) status(x *execution) (Reply, error) {
	ctx := x.ctx
	if x.inv.Arg(0) == "" {
		cuts, err := h.store.ActiveCuts(ctx)
		if err != nil {
			return nil, fmt.Errorf("list active cuts: %w", err)
		}
		return StatusReply{Cuts: h.visible(ctx, x.req.UserID, cuts)}, nil
	}
	v, err := versionArg(x.inv)
	if err != nil {
		return ErrorReply{Message: cutbot.ErrorMessage(err), Usage: x.inv.Command}, nil
	}
	c, err := h.store.LatestCut(ctx, v)
	if err == nil && h.hiddenFrom(ctx, x.req.UserID, c) {
		return nil, errHidden
	}
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
	// The abort and the intent to post its note in the thread are stored together.
	if c, err = h.change(ctx, c, cutbot.Abort{By: x.req.UserID, Reason: x.inv.Flags["reason"]}); err != nil {
		return nil, err
	}
	h.log.Info("cut aborted", "cut", c.ID, "version", v.String(), "user", x.req.UserID)
	headline := "Aborted the cut."
	for _, e := range c.Journal {
		if e, ok := e.(cutbot.CloseIssue); ok {
			if e.Close {
				headline += fmt.Sprintf(" Its issue %s#%d is told why and closed as not planned.", e.Repo, e.Number)
			} else {
				headline += fmt.Sprintf(" Its issue %s#%d is told why and left open (a person linked it).", e.Repo, e.Number)
			}
		}
	}
	return CutReply{Cut: c, Headline: headline, Brief: true}, nil
}

// cutsWithWork are the active cuts and every other cut whose journal holds intents, once each.
func (h *Handlers) cutsWithWork(ctx context.Context) ([]*cutbot.Cut, error) {
	active, err := h.store.ActiveCuts(ctx)
	if err != nil {
		return nil, fmt.Errorf("list active cuts: %w", err)
	}
	pending, err := h.store.CutsWithEffects(ctx)
	if err != nil {
		return nil, fmt.Errorf("list cuts with work left: %w", err)
	}
	seen := map[string]bool{}
	var out []*cutbot.Cut
	for _, c := range append(active, pending...) {
		if !seen[c.ID] {
			seen[c.ID] = true
			out = append(out, c)
		}
	}
	return out, nil
}

// Resume hands every cut with work left to its lane: the active ones, and any other whose
// journal holds intents (a crash, an outage). It returns at once; each cut settles on its
// own lane, looking for every intent outside before doing it, so nothing is done twice.
// Commands that arrive meanwhile queue behind it on the cut's lane.
func (h *Handlers) Resume(ctx context.Context) error {
	cuts, err := h.cutsWithWork(ctx)
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	for _, c := range cuts {
		id := c.ID
		h.lanes.goAsync(c.Version().String(), "resume:"+id, func() {
			ctx, cancel := h.jobContext()
			defer cancel()
			c, err := h.store.Cut(ctx, id)
			if err != nil {
				h.log.Error("resume: read cut", "cut", id, "err", err)
				return
			}
			if c.Attention != "" {
				h.log.Info("resume: the cut waits for a person; leaving it", "cut", id, "attention", c.Attention)
				return
			}
			h.msg.Show(c) // what changed while cutbot was down; nothing else is edited
			h.settle(ctx, c)
		})
	}
	h.resumeFreezes(false)
	return nil
}

// LogPageSize is how many timeline entries a page of /release log holds: they fit in a
// message with room to spare (each entry is cut to fit its section).
const LogPageSize = 25

// log shows a page of the timeline of a version's latest cut (active or ended).
func (h *Handlers) timeline(x *execution) (Reply, error) {
	v, err := versionArg(x.inv)
	if err != nil {
		return ErrorReply{Message: cutbot.ErrorMessage(err), Usage: x.inv.Command}, nil
	}
	c, err := h.store.LatestCut(x.ctx, v)
	if err == nil && h.hiddenFrom(x.ctx, x.req.UserID, c) {
		return nil, errHidden
	}
	if cutbot.ErrorCode(err) == cutbot.ENOTFOUND {
		return nil, cutbot.Errorf(cutbot.ENOTFOUND, "%s has never been cut: there is no timeline to show. `/release status` lists the active cuts.", v)
	} else if err != nil {
		return nil, err
	}
	all := c.Timeline()
	pages := max(1, (len(all)+LogPageSize-1)/LogPageSize)
	page := 1
	if p := x.inv.Arg(1); p != "" {
		if page, err = strconv.Atoi(p); err != nil || page < 1 {
			return ErrorReply{Message: fmt.Sprintf("%q is not a page number: use 1 to %d", p, pages), Usage: x.inv.Command}, nil
		}
		if page > pages {
			return ErrorReply{Message: fmt.Sprintf("The timeline of %s has %d %s: there is no page %d.", v, pages, map[bool]string{true: "page", false: "pages"}[pages == 1], page)}, nil
		}
	}
	lo, hi := (page-1)*LogPageSize, min(page*LogPageSize, len(all))
	return LogReply{Cut: c, Entries: all[lo:hi], Page: page, Pages: pages, Total: len(all), Location: h.cal.policy.Location}, nil
}
