// Package bot is the only package that speaks Slack: the Socket Mode loop (ack first,
// dedupe redeliveries, route, recover), the Slack adapters of the domain's ports, and the
// Block Kit renderers.
package bot

import (
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
	AppToken      string // xapp-…, opens Socket Mode connections
	BotToken      string // xoxb-…, calls the Web API
	APIURL        string // Slack's Web API base URL, ending in "/"
	Channel       string // channel id where cut threads live
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
}

// Bot is cutbot's Slack side.
type Bot struct {
	cfg      Config
	api      *slack.Client
	store    Store
	handlers *handlers.Handlers
	log      *slog.Logger
	lanes    lanes
	inflight sync.WaitGroup
	poster   *poster
	msg      *messenger
	cron     *cron.Cron
	jobs     map[string]cron.EntryID
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
	api := slack.New(cfg.BotToken,
		slack.OptionAppLevelToken(cfg.AppToken),
		slack.OptionAPIURL(cfg.APIURL),
		slack.OptionHTTPClient(cfg.HTTPClient),
	)
	b := &Bot{cfg: cfg, api: api, store: st, log: cfg.Log}
	b.poster = newPoster(api, cfg.Log, cfg.Sleep)
	if cfg.Policy.Location == nil {
		cfg.Policy.Location = time.UTC
	}
	b.msg = &messenger{channel: cfg.Channel, api: api, poster: b.poster, log: cfg.Log, clock: cfg.Clock,
		base: view{Builds: cfg.Builder != nil, ManagersGroup: cfg.ManagersGroup, PromotionRepo: cfg.PromotionRepo, Location: cfg.Policy.Location}}
	var reminderStore cutbot.ReminderStore
	if rs, ok := st.(cutbot.ReminderStore); ok {
		reminderStore = rs
	}
	var freezeStore cutbot.FreezeStore
	if fs, ok := st.(cutbot.FreezeStore); ok {
		freezeStore = fs
	}
	b.handlers = handlers.New(handlers.Deps{
		Store:     st,
		Messenger: b.msg,
		Directory: &directory{api: api, group: cfg.ManagersGroup, managers: cfg.Managers, log: cfg.Log},
		Clock:     cfg.Clock,
		Channel:   cfg.Channel,
		Log:       cfg.Log,

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
	})
	if err := b.setupCron(); err != nil {
		return nil, err
	}
	return b, nil
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
	b.poster.flush(ctx)
}

func (b *Bot) calendarJob() {
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.HandleTimeout)
	defer cancel()
	if err := b.handlers.LoadCalendar(ctx); err != nil {
		b.log.Warn("calendar", "err", err)
	}
}

// Run checks the bot token, finishes what a previous run left undone, connects over Socket
// Mode and handles commands until ctx ends; then it waits (up to ShutdownGrace) for commands
// in progress and returns nil. It returns an error if Slack refuses the tokens.
func (b *Bot) Run(ctx context.Context) error {
	auth, err := b.api.AuthTestContext(ctx)
	if err != nil {
		return fmt.Errorf("check SLACK_BOT_TOKEN with auth.test at %s: %w", b.cfg.APIURL, err)
	}
	b.log.Info("slack bot token ok", "team", auth.Team, "team_id", auth.TeamID, "bot_user", auth.UserID)

	if err := b.handlers.Resume(ctx); err != nil {
		// Not fatal: the cuts are safe in the store and the next start tries again.
		b.log.Error("could not finish what the previous run left undone", "err", err)
	}
	if len(b.cfg.Calendars) > 0 {
		b.calendarJob()
		b.remindersJob() // what came due while cutbot was not running
		b.cron.Start()
		defer func() { <-b.cron.Stop().Done() }()
	}

	sm := socketmode.New(b.api, socketmode.OptionLog(slog.NewLogLogger(b.log.Handler(), slog.LevelDebug)))
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- sm.RunContext(runCtx) }()
	if b.cfg.Builder != nil || b.cfg.GitHub != nil {
		b.inflight.Add(1)
		go func() {
			defer b.inflight.Done()
			b.pollLoop(runCtx)
		}()
	}

	for {
		select {
		case <-ctx.Done():
			return b.shutdown()
		case err := <-runErr:
			if ctx.Err() != nil {
				return b.shutdown()
			}
			b.shutdown()
			return fmt.Errorf("socket mode: %w", err)
		case evt := <-sm.Events:
			if err := b.dispatch(ctx, sm, evt); err != nil {
				cancel()
				b.shutdown()
				return err
			}
		}
	}
}

// pollLoop follows builds: once at start (resuming what a previous run left running), then
// every PollInterval.
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
	if err := b.handlers.Poll(ctx); err != nil && ctx.Err() == nil {
		b.log.Warn("poll", "err", err)
	}
	flush, cancel := context.WithTimeout(ctx, b.cfg.HandleTimeout)
	b.poster.flush(flush)
	cancel()
	if b.cfg.OnPolled != nil && ctx.Err() == nil {
		b.cfg.OnPolled()
	}
}

// Poster returns counts of what the bot wrote to Slack.
func (b *Bot) PosterStats() (edits, skipped, coalesced, rateLimited, posts int) {
	s := b.poster.statsNow()
	return s.Edits, s.Skipped, s.Coalesced, s.RateLimited, s.Posts
}

func (b *Bot) shutdown() error {
	done := make(chan struct{})
	go func() { b.inflight.Wait(); close(done) }()
	select {
	case <-done:
		b.log.Info("stopped; no command was in progress")
	case <-time.After(b.cfg.ShutdownGrace):
		b.log.Warn("stopped with commands still in progress", "grace", b.cfg.ShutdownGrace)
	}
	return nil
}

// dispatch handles one Socket Mode event. It never blocks on slow work: envelopes are
// acknowledged first and handled on their own goroutines.
func (b *Bot) dispatch(ctx context.Context, sm *socketmode.Client, evt socketmode.Event) error {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		b.log.Debug("connecting to slack")
	case socketmode.EventTypeConnected:
		b.log.Info("connected to slack over socket mode")
	case socketmode.EventTypeConnectionError:
		b.log.Warn("socket mode connection error", "err", evt.Data)
	case socketmode.EventTypeInvalidAuth:
		return errors.New("slack refused SLACK_APP_TOKEN (invalid_auth): check the app-level token and its connections:write scope")
	case socketmode.EventTypeHello:
		b.log.Debug("socket mode hello")
	case socketmode.EventTypeDisconnect:
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
		b.inflight.Add(1)
		go func() {
			defer b.inflight.Done()
			b.handleCommand(ctx, evt.Request.EnvelopeID, evt.Request.RetryAttempt, cmd)
		}()
	case socketmode.EventTypeInteractive:
		if evt.Request == nil {
			return nil
		}
		sm.Ack(*evt.Request)
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok || cb.Type != slack.InteractionTypeBlockActions || len(cb.ActionCallback.BlockActions) == 0 {
			b.done(evt.Request.EnvelopeID)
			return nil
		}
		b.inflight.Add(1)
		go func() {
			defer b.inflight.Done()
			b.handleAction(ctx, evt.Request.EnvelopeID, cb)
		}()
	case socketmode.EventTypeEventsAPI:
		if evt.Request != nil {
			sm.Ack(*evt.Request)
			b.done(evt.Request.EnvelopeID)
		}
	default:
		b.log.Debug("socket mode event ignored", "type", evt.Type)
	}
	return nil
}

func (b *Bot) done(envelopeID string) {
	if b.cfg.OnHandled != nil {
		b.cfg.OnHandled(envelopeID)
	}
}

// handleCommand runs one slash command and replies to the user who sent it.
func (b *Bot) handleCommand(ctx context.Context, envelopeID string, retry int, cmd slack.SlashCommand) {
	// A command already under way finishes even when shutdown begins.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.HandleTimeout)
	log := b.log.With("envelope", envelopeID, "user", cmd.UserID, "channel", cmd.ChannelID)
	finished := func() { cancel(); b.done(envelopeID) }

	first, err := b.store.MarkEnvelope(ctx, envelopeID)
	if err != nil {
		log.Error("record envelope", "err", err)
	}
	if !first {
		log.Info("ignored a redelivered envelope already handled", "retry_attempt", retry)
		finished()
		return
	}
	if cmd.Command != b.cfg.Command {
		b.respond(ctx, log, cmd, handlers.ErrorReply{Message: fmt.Sprintf("cutbot answers %s, not %s.", b.cfg.Command, cmd.Command)})
		finished()
		return
	}
	req := handlers.Request{UserID: cmd.UserID, UserName: cmd.UserName, ChannelID: cmd.ChannelID, Text: cmd.Text}
	inv, err := handlers.Parse(cmd.Text)
	if err != nil {
		log.Info("malformed command", "text", cmd.Text, "err", err)
		b.respond(ctx, log, cmd, handlers.ParseErrorReply(err))
		finished()
		return
	}
	log = log.With("command", inv.Command.Name, "key", inv.Key())
	b.lanes.run(inv.Key(), func() {
		defer finished()
		defer func() {
			if p := recover(); p != nil {
				log.Error("command panicked", "panic", p, "stack", string(debug.Stack()))
			}
		}()
		log.Debug("running command", "text", cmd.Text)
		reply := b.handlers.Execute(ctx, req, inv)
		b.poster.flush(ctx) // the thread is up to date before the reply says so
		b.respond(ctx, log, cmd, reply)
	})
}

// handleAction runs a button press and replies privately to whoever pressed it.
func (b *Bot) handleAction(ctx context.Context, envelopeID string, cb slack.InteractionCallback) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.HandleTimeout)
	log := b.log.With("envelope", envelopeID, "user", cb.User.ID)
	finished := func() { cancel(); b.done(envelopeID) }
	if first, err := b.store.MarkEnvelope(ctx, envelopeID); err != nil {
		log.Error("record envelope", "err", err)
	} else if !first {
		log.Info("ignored a redelivered envelope already handled")
		finished()
		return
	}
	act := cb.ActionCallback.BlockActions[0]
	req := handlers.ActionRequest{UserID: cb.User.ID, ActionID: act.ActionID, Value: act.Value}
	b.lanes.run(handlers.ActionKey(act.Value), func() {
		defer finished()
		defer func() {
			if p := recover(); p != nil {
				log.Error("action panicked", "panic", p, "stack", string(debug.Stack()))
			}
		}()
		reply := b.handlers.HandleAction(ctx, req)
		b.poster.flush(ctx)
		cmd := slack.SlashCommand{UserID: cb.User.ID, ChannelID: cb.Channel.ID, ResponseURL: cb.ResponseURL}
		b.respond(ctx, log, cmd, reply)
	})
}

// respond shows a reply to the user who ran the command, privately, through the command's
// response_url; if that fails, as an ephemeral message in the channel.
func (b *Bot) respond(ctx context.Context, log *slog.Logger, cmd slack.SlashCommand, r handlers.Reply) {
	text, blocks := Reply(r)
	msg := &slack.WebhookMessage{ResponseType: slack.ResponseTypeEphemeral, Text: text, Blocks: &slack.Blocks{BlockSet: blocks}}
	if cmd.ResponseURL != "" {
		err := slack.PostWebhookCustomHTTPContext(ctx, cmd.ResponseURL, b.cfg.HTTPClient, msg)
		if err == nil {
			return
		}
		log.Warn("reply through response_url failed; trying chat.postEphemeral", "err", err)
	}
	if _, err := b.api.PostEphemeralContext(ctx, cmd.ChannelID, cmd.UserID, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...)); err != nil {
		log.Error("could not reply to the user", "err", err)
	}
}

// lanes runs functions with the same key one after another, in the order they were
// submitted, and functions with different keys concurrently. Commands about one version
// thus never interleave, and cuts of different versions do not wait for each other.
type lanes struct {
	mu     sync.Mutex
	queues map[string][]func()
}

func (l *lanes) run(key string, fn func()) {
	if key == "" {
		go fn()
		return
	}
	l.mu.Lock()
	if l.queues == nil {
		l.queues = map[string][]func(){}
	}
	q, busy := l.queues[key]
	l.queues[key] = append(q, fn)
	l.mu.Unlock()
	if !busy {
		go l.drain(key)
	}
}

func (l *lanes) drain(key string) {
	for {
		l.mu.Lock()
		q := l.queues[key]
		if len(q) == 0 {
			delete(l.queues, key)
			l.mu.Unlock()
			return
		}
		fn := q[0]
		l.queues[key] = q[1:]
		l.mu.Unlock()
		fn()
	}
}
