// Package bot is the only package that speaks Slack: the Socket Mode loop (ack first,
// dedupe redeliveries, route, recover), the Slack adapters of the domain's ports, and the
// Block Kit renderers.
package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/handlers"
)

// DefaultAPIURL is Slack's Web API.
const DefaultAPIURL = "https://slack.com/api/"

// Store is what the bot keeps: cuts, and the envelopes it has handled.
type Store interface {
	cutbot.CutStore
	// MarkEnvelope records an envelope id and reports whether it is new.
	MarkEnvelope(ctx context.Context, id string) (first bool, err error)
}

// Config is what the bot needs to run.
type Config struct {
	AppToken string // xapp-…, opens Socket Mode connections
	BotToken string // xoxb-…, calls the Web API
	APIURL   string // Slack's Web API base URL, ending in "/"
	Channel  string // channel id where cut threads live
	// PrivateChannel is the private channel embargoed cuts live in ("" refuses --embargo);
	// PrivateIssueRepo where their issues go ("" opens none).
	PrivateChannel   string
	PrivateIssueRepo string
	// GitHubGuard, when the GitHub client's transport is wrapped in it, refuses GitHub writes
	// that would make an embargoed cut public (bound to the bot's embargo here).
	GitHubGuard *GitHubGuard
	// The release timing guard (0: the defaults, negative: off).
	MinPatchGap, MaxPatchGap time.Duration
	// Autopilot takes new cuts' routine steps; PatchNoMock leaves patch cuts' mock pair out.
	Autopilot, PatchNoMock bool
	// Promoter opens image-promotion PRs as kpromo pr does (nil: a person runs kpromo).
	Promoter cutbot.PromotionOpener
	// Schedule proposes schedule.yaml after a patch release (nil: a person runs schedule-builder).
	Schedule      cutbot.ScheduleUpdater
	ManagersGroup string // usergroup id of the release managers
	Managers      []string
	Command       string // the slash command, default "/release"
	HTTPClient    *http.Client
	Clock         cutbot.Clock
	Log           *slog.Logger
	// HandleTimeout bounds the work of one command. Default 2 minutes.
	HandleTimeout time.Duration
	// ShutdownGrace is how long Run waits, after its context ends, for commands in
	// progress to finish. Default 30 seconds.
	ShutdownGrace time.Duration
	// OnHandled, if set, is called when the bot is done with an envelope: its reply sent or
	// the envelope ignored as a redelivery. Tests and the sandbox wait on it.
	OnHandled func(envelopeID string)
	// Observer is told what the bot does (metrics); nil: nothing is told.
	Observer Observer

	// Builds. With Builder nil, the commands that run stages say builds are not configured.
	Builder     cutbot.Builder
	Versions    cutbot.VersionSource
	Krel        cutbot.KrelOptions
	BuildTarget string        // shown in confirmations, e.g. "k8s-release (us-central1)"
	WarnQueued  time.Duration // warn in the thread when a build is queued longer
	WarnRunning time.Duration // warn in the thread when a build runs longer
	// PollInterval is how often running builds are read (default 20s). PollTicks, if set,
	// replaces the timer: each value sent is one poll (tests drive polls this way).
	PollInterval time.Duration
	PollTicks    <-chan time.Time
	// OnPolled, if set, is called after each poll, once its Slack edits are sent.
	OnPolled func()
	// Sleep waits out Slack rate limits; tests replace it. Default: a timer.
	Sleep func(context.Context, time.Duration) error
	// SlackLimits is the pace kept for each Web API method; default SlackLimits(). A method
	// mapped to Unlimited is not paced (a 429 still pauses it).
	SlackLimits map[string]Limit
	// NewID makes confirmation ids (tests make them predictable).
	NewID func() string

	// The GitHub side; see handlers.Deps.
	GitHub            cutbot.GitHub
	TestGrid          cutbot.TestGrid
	Prow              cutbot.Prow
	IssueRepo         string
	IssueTemplate     string
	IssueTemplatePath string
	PromotionRepo     string
	ReleaseRepo       string
	PublishingBot     string
	RemindAfter       time.Duration
	GitHubEvery       time.Duration

	// The release calendar and its reminders, run by cron in Policy.Location.
	Calendars      []cutbot.CalendarSource
	Policy         cutbot.ReminderPolicy
	CalendarReload string // cron spec of the calendar's reload, default every 30 minutes

	// Cherry-pick freezes.
	CherryPickRepo string
	FreezeLabel    string

	// The patch-release board (kept in the store, when it is a cutbot.BoardStore).
	BoardBranches    []string
	BoardRefresh     time.Duration // how often GitHub is read for it; 0: 10 minutes
	BoardHistory     time.Duration
	KnownIssuesQuery string
	ApprovableNotice string // handlers.NoticeDigest, NoticeNow or NoticeOff
}

// Bot is cutbot's Slack side.
type Bot struct {
	cfg       Config
	api       *slack.Client
	store     Store
	handlers  *handlers.Handlers
	log       *slog.Logger
	inflight  sync.WaitGroup // envelopes being handled
	pace      *pacer
	embargo   *embargo
	replies   *http.Client // for response_url replies
	poster    *poster
	msg       *messenger
	cron      *cron.Cron
	jobs      map[string]cron.EntryID
	started   chan struct{} // closed once every cut with work left has been handed to its lane
	boardRead chan struct{} // closed once the board was first read (at once without GitHub)
	obs       Observer
	health    health
}

// New returns a bot for cfg using st.
func New(cfg Config, st Store) (*Bot, error) {
	if cfg.AppToken == "" || cfg.BotToken == "" {
		return nil, errors.New("bot: both the app-level token and the bot token are needed")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if !strings.HasSuffix(cfg.APIURL, "/") {
		cfg.APIURL += "/" // slack-go appends method names to it verbatim
	}
	if cfg.Command == "" {
		cfg.Command = "/release"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Clock == nil {
		cfg.Clock = cutbot.SystemClock{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.HandleTimeout <= 0 {
		cfg.HandleTimeout = 2 * time.Minute
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 30 * time.Second
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 20 * time.Second
	}
	if cfg.SlackLimits == nil {
		cfg.SlackLimits = SlackLimits()
	}
	if cfg.Sleep == nil {
		cfg.Sleep = realSleep
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	if cfg.Policy.Location == nil {
		cfg.Policy.Location = time.UTC
	}
	// Every Web API call goes through the pacer, which spends Slack's budget by priority.
	// Beneath it, the embargo refuses any write that would make an embargoed cut public.
	guard := newEmbargo(cfg.HTTPClient.Transport, cfg.APIURL, cfg.PrivateChannel, cfg.Log)
	pace := newPacer(guard, cfg.APIURL, cfg.SlackLimits, cfg.Clock.Now, cfg.Sleep, cfg.Log, cfg.Observer)
	httpClient := *cfg.HTTPClient
	httpClient.Transport = pace
	api := slack.New(cfg.BotToken,
		slack.OptionAppLevelToken(cfg.AppToken),
		slack.OptionAPIURL(cfg.APIURL),
		slack.OptionHTTPClient(&httpClient),
	)
	if cfg.GitHubGuard != nil {
		cfg.GitHubGuard.bind(guard, cfg.PrivateIssueRepo)
	}
	replies := *cfg.HTTPClient // response_url replies pass the embargo too
	replies.Transport = guard
	b := &Bot{cfg: cfg, api: api, store: st, log: cfg.Log, pace: pace, embargo: guard, replies: &replies, started: make(chan struct{}), boardRead: make(chan struct{}), obs: cfg.Observer}
	if cfg.GitHub == nil {
		close(b.boardRead)
	}
	shown, _ := st.(ShownStore)
	b.poster = newPoster(api, pace, cfg.Log, cfg.Sleep, shown)
	b.msg = &messenger{channel: cfg.Channel, api: api, poster: b.poster, log: cfg.Log, clock: cfg.Clock,
		base: view{Builds: cfg.Builder != nil, ManagersGroup: cfg.ManagersGroup, PromotionRepo: cfg.PromotionRepo, Location: cfg.Policy.Location,
			PromotionPR: cfg.Promoter != nil, SchedulePR: cfg.Schedule != nil}}
	var reminderStore cutbot.ReminderStore
	if rs, ok := st.(cutbot.ReminderStore); ok {
		reminderStore = rs
	}
	var freezeStore cutbot.FreezeStore
	if fs, ok := st.(cutbot.FreezeStore); ok {
		freezeStore = fs
	}
	var boardStore cutbot.BoardStore
	if bs, ok := st.(cutbot.BoardStore); ok {
		boardStore = bs
	}
	b.msg.base.Label = cmp.Or(cfg.FreezeLabel, "cherry-pick-approved")
	dir := &directory{api: api, group: cfg.ManagersGroup, managers: cfg.Managers, log: cfg.Log, now: cfg.Clock.Now}
	guard.isManager = dir.IsReleaseManager
	b.handlers = handlers.New(handlers.Deps{
		Store:      embargoStore{CutStore: st, e: guard},
		Observer:   cfg.Observer,
		Messenger:  b.msg,
		Directory:  dir,
		Clock:      cfg.Clock,
		Channel:    cfg.Channel,
		Log:        cfg.Log,
		JobTimeout: cfg.HandleTimeout,

		Builder:     cfg.Builder,
		Versions:    cfg.Versions,
		Krel:        cfg.Krel,
		BuildTarget: cfg.BuildTarget,
		WarnQueued:  cfg.WarnQueued,
		WarnRunning: cfg.WarnRunning,
		NewID:       cfg.NewID,

		GitHub:        cfg.GitHub,
		TestGrid:      cfg.TestGrid,
		Prow:          cfg.Prow,
		IssueRepo:     cfg.IssueRepo,
		IssueTemplate: cfg.IssueTemplate,
		TemplatePath:  cfg.IssueTemplatePath,
		PromotionRepo: cfg.PromotionRepo,
		Promoter:      cfg.Promoter,
		Schedule:      cfg.Schedule,
		ReleaseRepo:   cfg.ReleaseRepo,
		PublishingBot: cfg.PublishingBot,
		RemindAfter:   cfg.RemindAfter,
		GitHubEvery:   cfg.GitHubEvery,

		Calendars: cfg.Calendars,
		Policy:    cfg.Policy,
		Reminders: reminderStore,
		Announcer: b.msg,

		Freezes:        freezeStore,
		CherryPickRepo: cfg.CherryPickRepo,
		FreezeLabel:    cfg.FreezeLabel,

		Board:            boardStore,
		BoardAnnouncer:   b.msg,
		BoardBranches:    cfg.BoardBranches,
		BoardHistory:     cfg.BoardHistory,
		KnownIssuesQuery: cfg.KnownIssuesQuery,
		ApprovableNotice: cfg.ApprovableNotice,

		PrivateChannel:   cfg.PrivateChannel,
		PrivateIssueRepo: cfg.PrivateIssueRepo,
		MinPatchGap:      cfg.MinPatchGap,
		MaxPatchGap:      cfg.MaxPatchGap,
		Autopilot:        cfg.Autopilot,
		PatchNoMock:      cfg.PatchNoMock,
	})
	if err := b.setupCron(); err != nil {
		return nil, err
	}
	return b, nil
}

// Probe checks the workspace as Run does at start (CheckWorkspace), without serving.
func Probe(ctx context.Context, cfg Config) (Workspace, error) {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	api := slack.New(cfg.BotToken, slack.OptionAppLevelToken(cfg.AppToken), slack.OptionAPIURL(cfg.APIURL), slack.OptionHTTPClient(cfg.HTTPClient))
	return CheckWorkspace(ctx, api, cfg.Channel, cfg.PrivateChannel, cfg.ManagersGroup)
}

// CheckCronSpec says whether spec is a cron spec the scheduler takes (five fields, or a
// descriptor such as @hourly), for checking the configuration before starting.
func CheckCronSpec(spec string) error {
	_, err := cron.ParseStandard(spec)
	return err
}

// setupCron schedules the calendar's jobs under robfig/cron: in the configured zone (cron's
// default is the machine's), each job wrapped in cron.Recover so that a panic is logged, not
// fatal.
func (b *Bot) setupCron() error {
	cronLog := cron.PrintfLogger(slog.NewLogLogger(b.log.Handler(), slog.LevelError))
	b.cron = cron.New(cron.WithLocation(b.cfg.Policy.Location), cron.WithChain(cron.Recover(cronLog)), cron.WithLogger(cronLog))
	b.jobs = map[string]cron.EntryID{}
	if b.cfg.GitHub != nil {
		every := cmp.Or(b.cfg.BoardRefresh, 10*time.Minute)
		id, err := b.cron.AddFunc("@every "+every.String(), b.boardJob)
		if err != nil {
			return fmt.Errorf("cron board @every %s: %w", every, err)
		}
		b.jobs["board"] = id
		// The daily digest of approvable cherry-picks (when it is the digest) and the
		// reminders of branches gone too long without a patch go out with the reminders.
		spec := fmt.Sprintf("%d %d * * *", b.cfg.Policy.Minute, b.cfg.Policy.Hour)
		if id, err = b.cron.AddFunc(spec, b.digestJob); err != nil {
			return fmt.Errorf("cron digest %q: %w", spec, err)
		}
		b.jobs["digest"] = id
	}
	if len(b.cfg.Calendars) == 0 {
		return nil
	}
	reload := b.cfg.CalendarReload
	if reload == "" {
		reload = "*/30 * * * *"
	}
	for _, j := range []struct {
		name, spec string
		run        func()
	}{{"reminders", "* * * * *", b.remindersJob}, {"calendar", reload, b.calendarJob}} {
		id, err := b.cron.AddFunc(j.spec, j.run)
		if err != nil {
			return fmt.Errorf("cron %s %q: %w", j.name, j.spec, err)
		}
		b.jobs[j.name] = id
	}
	return nil
}

func (b *Bot) remindersJob() {
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.HandleTimeout)
	defer cancel()
	if err := b.handlers.RunReminders(ctx); err != nil {
		b.log.Warn("reminders", "err", err)
	}
}

// boardJob reads the patch-release board from GitHub.
func (b *Bot) boardJob() {
	defer b.recoverJob("board")
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.HandleTimeout)
	defer cancel()
	if err := b.handlers.RefreshBoard(ctx); err != nil {
		b.log.Warn("board", "err", err)
	}
}

// digestJob posts the day's approvable cherry-picks.
func (b *Bot) digestJob() {
	defer b.recoverJob("digest")
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.HandleTimeout)
	defer cancel()
	if b.cfg.ApprovableNotice == handlers.NoticeDigest || b.cfg.ApprovableNotice == "" {
		if err := b.handlers.NoticeApprovable(ctx); err != nil {
			b.log.Warn("approvable digest", "err", err)
		}
	}
	if err := b.handlers.RemindPatchGaps(ctx); err != nil {
		b.log.Warn("patch gap reminders", "err", err)
	}
}

func (b *Bot) calendarJob() {
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.HandleTimeout)
	defer cancel()
	if err := b.handlers.LoadCalendar(ctx); err != nil {
		b.log.Warn("calendar", "err", err)
	}
}

// Run checks the bot token, connects over Socket Mode and, side by side, hands every cut with
// work left to its lane (each finishes what a previous run left undone, looking before doing
// anything twice), then handles events until ctx ends. Then it waits, up to ShutdownGrace,
// for the commands and jobs in progress and the edits they asked for, and returns nil. It
// returns an error if Slack refuses the tokens.
func (b *Bot) Run(ctx context.Context) error {
	auth, err := b.api.AuthTestContext(ctx)
	if err != nil {
		return fmt.Errorf("check SLACK_BOT_TOKEN with auth.test at %s: %w", b.cfg.APIURL, err)
	}
	b.log.Info("slack bot token ok", "team", auth.Team, "team_id", auth.TeamID, "bot_user", auth.UserID)
	b.msg.setTeamURL(auth.URL)
	// A channel cutbot cannot post to would take the first cut with it: refuse to start.
	ws, err := CheckWorkspace(ctx, b.api, b.cfg.Channel, b.cfg.PrivateChannel, b.cfg.ManagersGroup)
	if err != nil {
		return fmt.Errorf("the Slack workspace is not ready for cutbot: %w", err)
	}
	b.log.Info("slack workspace ok", "channel", ws.Channel, "usergroup", ws.Usergroup, "private_channel", ws.PrivateChannel)

	sm := socketmode.New(b.api, socketmode.OptionLog(slog.NewLogLogger(b.log.Handler(), slog.LevelDebug)))
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- sm.RunContext(runCtx) }()

	var background sync.WaitGroup
	background.Add(1)
	go func() { // connecting does not wait for this, nor does it for the connection
		defer background.Done()
		defer b.recoverJob("resume")
		if err := b.handlers.Resume(runCtx); err != nil {
			// Not fatal: the cuts are safe in the store and the next start tries again.
			b.log.Error("could not hand the cuts their unfinished work", "err", err)
		}
		if len(b.cfg.Calendars) > 0 {
			b.calendarJob()
			b.remindersJob() // what came due while cutbot was not running
		}
		if len(b.jobs) > 0 {
			b.cron.Start()
		}
		if b.cfg.GitHub != nil {
			background.Add(1)
			go func() { // the board as it stands now, not in ten minutes; polls do not wait for it
				defer background.Done()
				defer close(b.boardRead)
				b.boardJob()
			}()
		}
		close(b.started)
		if b.cfg.Builder != nil || b.cfg.GitHub != nil {
			b.pollLoop(runCtx)
		}
	}()

	for {
		select {
		case <-ctx.Done():
			return b.shutdown(cancel, &background)
		case err := <-runErr:
			if ctx.Err() != nil {
				return b.shutdown(cancel, &background)
			}
			b.shutdown(cancel, &background)
			return fmt.Errorf("socket mode: %w", err)
		case evt := <-sm.Events:
			if err := b.dispatch(ctx, sm, evt); err != nil {
				b.shutdown(cancel, &background)
				return err
			}
		}
	}
}

// recoverJob keeps a panic in a background job from taking the process down.
func (b *Bot) recoverJob(what string) {
	if p := recover(); p != nil {
		b.obs.Recovered(what)
		b.log.Error(what+" panicked", "panic", p, "stack", string(debug.Stack()))
	}
}

// pollLoop hands every cut with something in flight a poll on its lane: once at start
// (following what a previous run left running), then every PollInterval. It never waits for
// the polls, except for tests (OnPolled).
func (b *Bot) pollLoop(ctx context.Context) {
	ticks := b.cfg.PollTicks
	if ticks == nil {
		t := time.NewTicker(b.cfg.PollInterval)
		defer t.Stop()
		ticks = t.C
	}
	for {
		b.pollOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticks:
		}
	}
}

func (b *Bot) pollOnce(ctx context.Context) {
	defer b.recoverJob("poll")
	start := time.Now()
	if err := b.handlers.Poll(ctx); err != nil && ctx.Err() == nil {
		b.log.Warn("poll", "err", err)
	}
	b.obs.Polled(time.Since(start))
	if b.cfg.OnPolled != nil && ctx.Err() == nil {
		b.settle(ctx, "")
		b.cfg.OnPolled()
	}
}

// settle waits until the lane of key (every lane, for "") and the edits it asked for are
// done. Only tests and the sandbox wait for it (OnHandled, OnPolled): a person is never made to.
func (b *Bot) settle(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.HandleTimeout)
	defer cancel()
	// A post's answer is a job on its cut's lane, which may post or edit more: wait until
	// the lanes, the posts and the edits are all quiet at once.
	for ctx.Err() == nil {
		b.handlers.Settled(ctx, "")
		b.msg.waitPosts(ctx)
		b.poster.flush(ctx)
		if b.handlers.Quiet() && !b.msg.postsWaiting() && b.poster.quiet() {
			return
		}
	}
}

// WaitStarted waits until the bot has handed every cut its unfinished work and that work,
// with the edits it asked for, is done, and the board was first read. Tests and the sandbox
// use it; Run does not wait.
func (b *Bot) WaitStarted(ctx context.Context) error {
	for _, ch := range []chan struct{}{b.started, b.boardRead} {
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	b.settle(ctx, "")
	return nil
}

// Poster returns counts of what the bot wrote to Slack.
func (b *Bot) PosterStats() (edits, skipped, coalesced, rateLimited, posts int) {
	s := b.poster.statsNow()
	return s.Edits, s.Skipped, s.Coalesced, s.RateLimited + b.pace.statsNow().RateLimited, s.Posts
}

// shutdown stops taking new work and waits, up to ShutdownGrace in all, for the envelopes
// being handled, every job on the cuts' lanes and the edits they asked for. The store is
// closed by the caller, after.
func (b *Bot) shutdown(stop context.CancelFunc, background *sync.WaitGroup) error {
	b.log.Info("stopping: finishing the work in progress", "grace", b.cfg.ShutdownGrace)
	b.setConnected(false)
	stop() // no more ticks, no new connection
	<-b.cron.Stop().Done()
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.ShutdownGrace)
	defer cancel()
	done := make(chan struct{})
	go func() {
		b.inflight.Wait()
		background.Wait()
		for ctx.Err() == nil {
			b.handlers.Drain(ctx)
			b.msg.waitPosts(ctx)
			b.poster.flush(ctx)
			if b.handlers.Quiet() && !b.msg.postsWaiting() && b.poster.quiet() {
				break
			}
		}
		close(done)
	}()
	select {
	case <-done:
		if ctx.Err() == nil {
			b.log.Info("stopped: nothing left in progress")
			return nil
		}
	case <-ctx.Done():
	}
	b.log.Warn("stopped with work still in progress", "grace", b.cfg.ShutdownGrace)
	return nil
}

// dispatch handles one Socket Mode event. It never blocks on slow work: envelopes are
// acknowledged first and handled on their own goroutines.
func (b *Bot) dispatch(ctx context.Context, sm *socketmode.Client, evt socketmode.Event) error {
	read := time.Now() // an envelope's ack time is measured from here (not the injected clock)
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		// slack-go reconnects by itself (Slack's "disconnect" requests included) and says
		// only this: until Connected, commands do not reach cutbot.
		if b.setConnected(false) {
			b.log.Info("the connection to slack dropped; reconnecting")
		} else {
			b.log.Debug("connecting to slack")
		}
	case socketmode.EventTypeConnected:
		b.setConnected(true)
		b.log.Info("connected to slack over socket mode")
	case socketmode.EventTypeConnectionError:
		b.log.Warn("socket mode connection error", "err", evt.Data)
		b.setConnected(false)
	case socketmode.EventTypeInvalidAuth:
		return errors.New("slack refused SLACK_APP_TOKEN (invalid_auth): check the app-level token and its connections:write scope")
	case socketmode.EventTypeHello:
		b.log.Debug("socket mode hello")
	case socketmode.EventTypeDisconnect:
		b.setConnected(false)
		b.log.Info("slack asked to reconnect")
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok || evt.Request == nil {
			b.log.Warn("slash command event without a command", "data", fmt.Sprintf("%T", evt.Data))
			return nil
		}
		if err := sm.Ack(*evt.Request); err != nil {
			b.log.Error("ack slash command", "envelope", evt.Request.EnvelopeID, "err", err)
		}
		b.obs.EnvelopeAcked(evt.Request.Type, time.Since(read))
		b.inflight.Add(1)
		go func() {
			defer b.inflight.Done()
			b.handleCommand(ctx, evt.Request.EnvelopeID, evt.Request.RetryAttempt, cmd)
		}()
	case socketmode.EventTypeInteractive:
		if evt.Request == nil {
			return nil
		}
		cb, ok := evt.Data.(slack.InteractionCallback)
		if ok && cb.Type == slack.InteractionTypeViewSubmission {
			// The ack carries the answer (close, errors, or the form again): it is decided first.
			req := *evt.Request
			b.inflight.Add(1)
			go func() {
				defer b.inflight.Done()
				b.handleSubmission(ctx, sm, req, cb, read)
			}()
			return nil
		}
		sm.Ack(*evt.Request)
		b.obs.EnvelopeAcked(evt.Request.Type, time.Since(read))
		if !ok || cb.Type != slack.InteractionTypeBlockActions || len(cb.ActionCallback.BlockActions) == 0 {
			b.done(ctx, evt.Request.EnvelopeID, "")
			return nil
		}
		b.inflight.Add(1)
		go func() {
			defer b.inflight.Done()
			b.handleAction(ctx, evt.Request.EnvelopeID, cb)
		}()
	case socketmode.EventTypeEventsAPI:
		if evt.Request == nil {
			return nil
		}
		sm.Ack(*evt.Request)
		b.obs.EnvelopeAcked(evt.Request.Type, time.Since(read))
		id := evt.Request.EnvelopeID
		if user := homeOpenedBy(evt.Data); user != "" {
			b.inflight.Add(1)
			go func() {
				defer b.inflight.Done()
				b.handleHomeOpened(ctx, id, user)
			}()
			return nil
		}
		b.done(ctx, id, "")
	default:
		b.log.Debug("socket mode event ignored", "type", evt.Type)
	}
	return nil
}

// done tells a test (OnHandled) that an envelope is handled: its reply sent and, for tests
// only, what it asked of the thread shown.
func (b *Bot) done(ctx context.Context, envelopeID, key string) {
	if b.cfg.OnHandled != nil {
		b.settle(ctx, key)
		b.cfg.OnHandled(envelopeID)
	}
}

// handleCommand runs one slash command and replies to the user who sent it. The command
// runs on the lane of the cut it is about; the reply goes out as soon as it is decided.
func (b *Bot) handleCommand(ctx context.Context, envelopeID string, retry int, cmd slack.SlashCommand) {
	// A command already under way finishes even when shutdown begins.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.HandleTimeout)
	defer cancel()
	log := b.log.With("envelope", envelopeID, "user", cmd.UserID, "channel", cmd.ChannelID)
	key := ""
	defer func() {
		if p := recover(); p != nil {
			b.obs.Recovered("command")
			log.Error("command panicked", "panic", p, "stack", string(debug.Stack()))
		}
		b.done(ctx, envelopeID, key)
	}()
	start := time.Now()

	first, err := b.store.MarkEnvelope(ctx, envelopeID)
	if err != nil {
		log.Error("record envelope", "err", err)
	}
	if !first {
		log.Info("ignored a redelivered envelope already handled", "retry_attempt", retry)
		return
	}
	name := "unknown" // the command, for metrics: only the names in the command table
	answer := func(r handlers.Reply) {
		b.obs.CommandDone(name, handlers.Outcome(r), time.Since(start)) // counted before the person sees it
		b.respond(ctx, log, cmd, r)
	}
	if cmd.Command != b.cfg.Command {
		answer(handlers.ErrorReply{Message: fmt.Sprintf("cutbot answers %s, not %s.", b.cfg.Command, cmd.Command)})
		return
	}
	req := handlers.Request{UserID: cmd.UserID, UserName: cmd.UserName, ChannelID: cmd.ChannelID, Text: cmd.Text}
	inv, err := handlers.Parse(cmd.Text)
	if err != nil {
		log.Info("malformed command", "text", cmd.Text, "err", err)
		answer(handlers.ParseErrorReply(err))
		return
	}
	key, name = inv.Key(), inv.Command.Name
	log.Debug("running command", "text", cmd.Text, "key", key)
	answer(b.handlers.Execute(ctx, req, inv))
}

// handleAction runs a button press and replies privately to whoever pressed it.
func (b *Bot) handleAction(ctx context.Context, envelopeID string, cb slack.InteractionCallback) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.HandleTimeout)
	defer cancel()
	log := b.log.With("envelope", envelopeID, "user", cb.User.ID)
	defer func() {
		if p := recover(); p != nil {
			b.obs.Recovered("button")
			log.Error("action panicked", "panic", p, "stack", string(debug.Stack()))
		}
		b.done(ctx, envelopeID, "")
	}()
	start := time.Now()
	if first, err := b.store.MarkEnvelope(ctx, envelopeID); err != nil {
		log.Error("record envelope", "err", err)
	} else if !first {
		log.Info("ignored a redelivered envelope already handled")
		return
	}
	act := cb.ActionCallback.BlockActions[0]
	if strings.HasPrefix(act.ActionID, "board_") {
		if err := b.boardAction(ctx, cb, act); err != nil {
			log.Warn("board button", "action", act.ActionID, "value", act.Value, "err", err)
			b.tellUser(ctx, log, cb.User.ID, ":warning: "+cutbot.ErrorMessage(err))
		}
		b.obs.CommandDone("button", "ok", time.Since(start))
		return
	}
	req := handlers.ActionRequest{UserID: cb.User.ID, ActionID: act.ActionID, Value: act.Value}
	reply := b.handlers.HandleAction(ctx, req)
	cmd := slack.SlashCommand{UserID: cb.User.ID, ChannelID: cb.Channel.ID, ResponseURL: cb.ResponseURL}
	b.obs.CommandDone("button", handlers.Outcome(reply), time.Since(start))
	b.respond(ctx, log, cmd, reply)
}

// respond shows a reply to the user who ran the command, privately, through the command's
// response_url; if that fails, as an ephemeral message in the channel.
func (b *Bot) respond(ctx context.Context, log *slog.Logger, cmd slack.SlashCommand, r handlers.Reply) {
	text, blocks := Reply(r)
	msg := &slack.WebhookMessage{ResponseType: slack.ResponseTypeEphemeral, Text: text, Blocks: &slack.Blocks{BlockSet: blocks}}
	if cmd.ResponseURL != "" {
		err := slack.PostWebhookCustomHTTPContext(toUser(ctx, cmd.UserID), cmd.ResponseURL, b.replies, msg)
		if err == nil {
			return
		}
		log.Warn("reply through response_url failed; trying chat.postEphemeral", "err", err)
	}
	if _, err := b.api.PostEphemeralContext(ctx, cmd.ChannelID, cmd.UserID, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...)); err != nil {
		log.Error("could not reply to the user", "err", err)
	}
}
