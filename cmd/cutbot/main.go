// Command cutbot is the release-cut chatops bot. Subcommands:
//
//	cutbot run            connect to Slack and serve /release
//	cutbot sandbox        the real bot against a fake Slack workspace, no tokens needed
//	cutbot check-config   validate the configuration and exit
//	cutbot check-db       check that the database is whole
//	cutbot version        print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/bot"
	"sigs.k8s.io/cutbot/integrations/civersion"
	"sigs.k8s.io/cutbot/integrations/cloudbuild"
	"sigs.k8s.io/cutbot/integrations/github"
	"sigs.k8s.io/cutbot/integrations/metrics"
	"sigs.k8s.io/cutbot/integrations/promotion"
	"sigs.k8s.io/cutbot/integrations/prow"
	"sigs.k8s.io/cutbot/integrations/schedule"
	"sigs.k8s.io/cutbot/integrations/testgrid"
	"sigs.k8s.io/cutbot/store"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	if err := m.Run(ctx, os.Args[1:]); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "cutbot:", err)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// Main is the cutbot program: tests run it as the binary would run.
type Main struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// OnHandled and OnPolled, if set, are passed to the bot (tests and the sandbox wait on
	// them).
	OnHandled func(envelopeID string)
	OnPolled  func()
	// OnBot, if set, is given the bot serve runs, before it runs (the sandbox waits for its
	// start).
	OnBot func(*bot.Bot)

	redact *redactor // the configuration's secrets, once it is read
}

const usage = `cutbot runs Kubernetes release cuts from Slack.

Usage:
  cutbot run [flags]            connect to Slack over Socket Mode and serve /release
  cutbot sandbox [--script FILE] the real bot against a fake Slack workspace: no tokens
  cutbot check-config [flags]   validate the configuration and exit (--online: ask Slack too)
  cutbot check-db [--db FILE]   check the database is whole, and count what it holds
  cutbot version                print the version

Configuration comes from the environment (see README.md); flags override it.
Run 'cutbot run -h' for the flags.
`

// Run runs the subcommand in args. An error it returns holds no secret.
func (m *Main) Run(ctx context.Context, args []string) error {
	err := m.run1(ctx, args)
	if err == nil || errors.Is(err, errUsage) {
		return err
	}
	return errors.New(m.redact.redact(err.Error()))
}

func (m *Main) run1(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "run":
		return m.run(ctx, args[1:])
	case "sandbox":
		return m.sandbox(ctx, args[1:])
	case "check-config":
		return m.checkConfig(ctx, args[1:])
	case "check-db":
		return m.checkDB(args[1:])
	case "version":
		fmt.Fprintln(m.Stdout, "cutbot", buildVersion())
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(m.Stdout, usage)
		return nil
	}
	fmt.Fprintf(m.Stderr, "cutbot: unknown subcommand %q\n\n%s", args[0], usage)
	return errUsage
}

func buildVersion() string {
	v := version
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return v
}

// config loads and validates the configuration for a subcommand named name.
func (m *Main) config(name string, args []string, extra func(*flag.FlagSet)) (Config, error) {
	fs := flag.NewFlagSet("cutbot "+name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	if extra != nil {
		extra(fs)
	}
	cfg, err := loadConfig(m.Getenv, fs, args)
	m.redact = newRedactor(cfg.Secrets()) // whatever is printed from now on passes through it
	if errors.Is(err, flag.ErrHelp) {
		return cfg, errUsage
	}
	if err == nil {
		err = cfg.validate()
	}
	if err != nil {
		return cfg, fmt.Errorf("configuration:\n  - %s", joinLines(err))
	}
	return cfg, nil
}

func joinLines(err error) string {
	var lines []string
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			lines = append(lines, e.Error())
		}
	} else {
		lines = []string{err.Error()}
	}
	out := ""
	for i, l := range lines {
		if i > 0 {
			out += "\n  - "
		}
		out += l
	}
	return out
}

// checkDB opens the database, checks every page, and says what it holds.
func (m *Main) checkDB(args []string) error {
	fs := flag.NewFlagSet("cutbot check-db", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	cfg, err := loadConfig(m.Getenv, fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return errUsage
	}
	if cfg.DB == "" {
		return errors.New("CUTBOT_DB is empty: give the database file")
	}
	if _, err := os.Stat(cfg.DB); err != nil {
		return fmt.Errorf("database %s: %w", cfg.DB, err)
	}
	start := time.Now()
	st, err := store.Open(cfg.DB, store.Options{LockTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer st.Close()
	took := time.Since(start)
	stats, err := st.Stats()
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "%s is whole (checked in %s): %d cuts (%d active, %d with work left), %d freezes, %d reminders, %.1f MB\n",
		cfg.DB, took.Round(time.Millisecond), stats.Cuts, stats.Active, stats.WithEffects, stats.Freezes, stats.Reminders, float64(stats.Bytes)/1e6)
	return nil
}

// checkWorkspace asks Slack what cutbot run asks at start, and says what it found.
func (m *Main) checkWorkspace(ctx context.Context, cfg Config) error {
	ws, err := bot.Probe(ctx, bot.Config{AppToken: cfg.SlackAppToken.Reveal(), BotToken: cfg.SlackBotToken.Reveal(), APIURL: cfg.SlackAPIURL,
		Channel: cfg.Channel, PrivateChannel: cfg.PrivateChannel, ManagersGroup: cfg.ManagersGroup})
	if err != nil {
		return fmt.Errorf("workspace:\n  - %s", joinLines(err))
	}
	fmt.Fprintf(m.Stdout, "workspace ok: %s as @%s; posts in %s", ws.Team, ws.BotUser, ws.Channel)
	if ws.Usergroup != "" {
		fmt.Fprintf(m.Stdout, "; release managers are %s", ws.Usergroup)
	}
	if ws.PrivateChannel != "" {
		fmt.Fprintf(m.Stdout, "; embargoed cuts live in %s", ws.PrivateChannel)
	}
	fmt.Fprintln(m.Stdout)
	return nil
}

func (m *Main) checkConfig(ctx context.Context, args []string) error {
	online := false
	cfg, err := m.config("check-config", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&online, "online", false, "also ask Slack whether the tokens work, the channel can be posted to and the usergroup exists")
	})
	if err != nil {
		return err
	}
	if online {
		if err := m.checkWorkspace(ctx, cfg); err != nil {
			return err
		}
	}
	fmt.Fprintf(m.Stdout, "configuration ok\n")
	for _, kv := range []struct{ k, v string }{
		{"SLACK_APP_TOKEN", cfg.SlackAppToken.String()},
		{"SLACK_BOT_TOKEN", cfg.SlackBotToken.String()},
		{"SLACK_API_URL", cfg.SlackAPIURL},
		{"CUTBOT_DB", cfg.DB},
		{"CUTBOT_CHANNEL", cfg.Channel},
		{"CUTBOT_MANAGERS_GROUP", cfg.ManagersGroup},
		{"CUTBOT_MANAGERS", fmt.Sprint(cfg.Managers)},
		{"builds", buildsLine(cfg)},
		{"GitHub", githubLine(cfg)},
		{"reminders", remindersLine(cfg)},
		{"freezes", freezesLine(cfg)},
		{"health, metrics", httpLine(cfg)},
	} {
		fmt.Fprintf(m.Stdout, "  %-22s %s\n", kv.k, kv.v)
	}
	return nil
}

func httpLine(cfg Config) string {
	if !cfg.HTTPEnabled() {
		return "off (CUTBOT_HTTP_ADDR=off)"
	}
	return cfg.HTTPAddr + ": /livez /readyz /metrics"
}

func buildsLine(cfg Config) string {
	if !cfg.BuildsEnabled() {
		return "not configured (set CUTBOT_STAGE_BUILD_CONFIG and CUTBOT_RELEASE_BUILD_CONFIG)"
	}
	ep := cfg.CloudBuildEndpoint
	if ep == "" {
		ep = "Google's endpoint, Application Default Credentials"
	}
	return fmt.Sprintf("projects/%s/locations/%s via %s; polled every %s", cfg.GCPProject, cfg.GCPRegion, ep, cfg.PollInterval)
}

func githubLine(cfg Config) string {
	if !cfg.GitHubEnabled() {
		return "not configured (set GITHUB_TOKEN): no cut issue; the no-mock stage needs --force"
	}
	return fmt.Sprintf("%s as %s; issues in %s; promotion PRs in %s", cfg.GitHubAPIURL, cfg.GitHubToken, cfg.IssueRepo, cfg.PromotionRepo)
}

func freezesLine(cfg Config) string {
	if !cfg.GitHubEnabled() {
		return "off (needs GITHUB_TOKEN)"
	}
	return fmt.Sprintf("%s on the release branches of %s", cfg.FreezeLabel, cfg.CherryPickRepo)
}

func remindersLine(cfg Config) string {
	if len(cfg.Calendars) == 0 {
		return "off (set CUTBOT_CALENDARS)"
	}
	days := "days"
	if cfg.ReminderLeads == "1" {
		days = "day"
	}
	return fmt.Sprintf("from %s at %s %s, %s %s before", strings.Join(cfg.Calendars, ", "), cfg.ReminderTime, cfg.Timezone, cfg.ReminderLeads, days)
}

func (m *Main) run(ctx context.Context, args []string) error {
	cfg, err := m.config("run", args, nil)
	if err != nil {
		return err
	}
	log := newLogger(m.Stderr, cfg.LogLevel, cfg.LogFormat, cfg.Secrets())
	log.Info("starting cutbot", "version", buildVersion(), "config", cfg)
	return m.serve(ctx, cfg, log)
}

// serve runs the bot with cfg until ctx ends. The sandbox uses it too: the bot it runs is
// the one `cutbot run` runs.
func (m *Main) serve(ctx context.Context, cfg Config, log *slog.Logger) error {
	st, err := store.Open(cfg.DB, store.Options{LockTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer st.Close()
	obs := metrics.New(buildVersion(), st)
	bc := bot.Config{
		Observer:      obs,
		AppToken:      cfg.SlackAppToken.Reveal(),
		BotToken:      cfg.SlackBotToken.Reveal(),
		APIURL:        cfg.SlackAPIURL,
		Channel:       cfg.Channel,
		ManagersGroup: cfg.ManagersGroup,
		Managers:      cfg.Managers,

		PrivateChannel:   cfg.PrivateChannel,
		PrivateIssueRepo: cfg.PrivateIssueRepo,
		MinPatchGap:      offIfZero(cfg.MinPatchGap),
		MaxPatchGap:      offIfZero(cfg.MaxPatchGap),
		Autopilot:        cfg.Autopilot == "on",
		PatchNoMock:      cfg.PatchMockRun == "off",
		Log:              log,
		OnHandled:        m.OnHandled,
		OnPolled:         m.OnPolled,
	}
	if cfg.SlackPace == "off" {
		bc.SlackLimits = map[string]bot.Limit{}
		for method := range bot.SlackLimits() {
			bc.SlackLimits[method] = bot.Unlimited
		}
	}
	if cfg.BuildsEnabled() {
		cb, err := cloudbuild.New(ctx, cloudbuild.Config{Project: cfg.GCPProject, Region: cfg.GCPRegion, Endpoint: cfg.CloudBuildEndpoint,
			StageConfig: cfg.StageBuildConfig, ReleaseConfig: cfg.ReleaseBuildConfig, Interceptor: obs.UnaryInterceptor()})
		if err != nil {
			return err
		}
		defer cb.Close()
		krel := cutbot.DefaultKrelOptions()
		krel.ToolRef = cfg.ToolRef
		bc.Builder, bc.Versions, bc.Krel = cb, &civersion.Source{BaseURL: cfg.CIVersionURL, HTTP: obs.Client("dl", 30*time.Second)}, krel
		bc.BuildTarget = fmt.Sprintf("%s (%s)", cfg.GCPProject, cfg.GCPRegion)
		bc.PollInterval, bc.WarnQueued, bc.WarnRunning = cfg.PollInterval, cfg.WarnQueued, cfg.WarnRunning
		log.Info("builds enabled", "project", cfg.GCPProject, "region", cfg.GCPRegion, "stage_config", cfg.StageBuildConfig, "release_config", cfg.ReleaseBuildConfig)
	} else {
		log.Info("builds not configured: /release next, retry and cancel will say so")
	}
	if cfg.GitHubEnabled() {
		// Every GitHub write passes the embargo's guard, which the bot binds when it is made.
		guard := &bot.GitHubGuard{}
		ghHTTP := obs.Client("github", 30*time.Second)
		ghHTTP.Transport = guard.Wrap(ghHTTP.Transport)
		bc.GitHubGuard = guard
		gh, err := github.New(ctx, cfg.GitHubAPIURL, cfg.GitHubToken.Reveal(), ghHTTP)
		if err != nil {
			return fmt.Errorf("GitHub at %s: %w", cfg.GitHubAPIURL, err)
		}
		bc.GitHub = gh
		bc.TestGrid = &testgrid.Client{BaseURL: cfg.TestGridURL, HTTP: obs.Client("testgrid", 30*time.Second)}
		bc.Prow = &prow.Client{BaseURL: cfg.ProwURL, HTTP: obs.Client("prow", 30*time.Second)}
		bc.IssueRepo, bc.PromotionRepo, bc.ReleaseRepo, bc.PublishingBot = cfg.IssueRepo, cfg.PromotionRepo, cfg.ReleaseRepo, cfg.PublishingBotIssue
		bc.RemindAfter, bc.GitHubEvery = cfg.RemindAfter, cfg.GitHubPollInterval
		bc.IssueTemplatePath = cfg.IssueTemplatePath
		bc.CherryPickRepo, bc.FreezeLabel = cfg.CherryPickRepo, cfg.FreezeLabel
		bc.BoardBranches, bc.BoardRefresh, bc.BoardHistory, bc.ApprovableNotice = cfg.BoardBranches, cfg.BoardRefresh, cfg.BoardHistory, cfg.ApprovableNotice
		if cfg.PromotionFork != "" {
			bc.Promoter = &promotion.Opener{GitHub: gh, Staging: &promotion.Registry{Base: cfg.StagingRegistry},
				Repo: cfg.PromotionRepo, Base: "main", Fork: cfg.PromotionFork, Path: promotion.DefaultImagesPath}
		}
		if cfg.WebsiteFork != "" {
			bc.Schedule = &schedule.Updater{GitHub: gh, Repo: cfg.WebsiteRepo, Base: "main", Fork: cfg.WebsiteFork, Path: schedule.DefaultSchedulePath}
		}
		if cfg.KnownIssuesQuery != "off" {
			bc.KnownIssuesQuery = cfg.KnownIssuesQuery
		}
		log.Info("GitHub side enabled", "api", cfg.GitHubAPIURL, "user", gh.Login(), "issue_repo", cfg.IssueRepo)
	} else {
		log.Info("GitHub not configured (GITHUB_TOKEN): no cut issue, and the no-mock stage's gates cannot be checked (it needs --force)")
	}
	for _, src := range cfg.Calendars {
		bc.Calendars = append(bc.Calendars, &schedule.Source{Spec: src, GitHub: bc.GitHub})
	}
	bc.Policy, bc.CalendarReload = cfg.Policy(), cfg.CalendarReload
	b, err := bot.New(bc, st)
	if err != nil {
		return err
	}
	if m.OnBot != nil {
		m.OnBot(b)
	}
	if cfg.HTTPEnabled() {
		stop, err := serveHTTP(ctx, cfg.HTTPAddr, healthSources{bot: b, store: st, metrics: obs, version: buildVersion()}, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	return b.Run(ctx)
}

// offIfZero turns a setting's 0 ("off") into the negative duration the handlers read as off
// (their 0 means "the default").
func offIfZero(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
