package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/cutbot"

	"sigs.k8s.io/cutbot/bot"
	"sigs.k8s.io/cutbot/integrations/civersion"
	"sigs.k8s.io/cutbot/integrations/cloudbuild"
)

// Secret is a token. It never prints, formats or logs as itself.
type Secret string

func (s Secret) String() string { return s.redacted() }

// GoString keeps %#v from printing the token.
func (s Secret) GoString() string { return s.redacted() }

// LogValue keeps slog from printing the token.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.redacted()) }

func (s Secret) redacted() string {
	if s == "" {
		return "(unset)"
	}
	prefix, _, _ := strings.Cut(string(s), "-")
	return prefix + "-…(redacted)"
}

// Reveal returns the token itself, to hand to the Slack client.
func (s Secret) Reveal() string { return string(s) }

// Config is cutbot's configuration: environment variables, overridden by flags. Secrets come
// only from the environment or from files named by *_FILE variables, never from flags (a
// flag shows in the process list).
type Config struct {
	SlackAppToken Secret
	SlackBotToken Secret
	SlackAPIURL   string
	DB            string
	Channel       string
	ManagersGroup string
	Managers      []string
	LogLevel      string
	LogFormat     string

	GCPProject         string
	GCPRegion          string
	CloudBuildEndpoint string
	StageBuildConfig   string
	ReleaseBuildConfig string
	CIVersionURL       string
	ToolRef            string
	PollInterval       time.Duration
	WarnQueued         time.Duration
	WarnRunning        time.Duration

	GitHubToken        Secret
	GitHubAPIURL       string
	IssueRepo          string
	IssueTemplatePath  string
	TestGridURL        string
	ProwURL            string
	PromotionRepo      string
	ReleaseRepo        string
	PublishingBotIssue string
	RemindAfter        time.Duration
	GitHubPollInterval time.Duration
	CherryPickRepo     string
	FreezeLabel        string

	Calendars      []string
	Timezone       string
	ReminderTime   string
	ReminderLeads  string
	CalendarReload string
}

// Policy is when reminders go out, from the configuration (validated).
func (c Config) Policy() cutbot.ReminderPolicy {
	loc, _ := time.LoadLocation(c.Timezone)
	t, _ := time.Parse("15:04", c.ReminderTime)
	var leads []int
	for _, f := range strings.Split(c.ReminderLeads, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil {
			leads = append(leads, n)
		}
	}
	return cutbot.ReminderPolicy{Leads: leads, Hour: t.Hour(), Minute: t.Minute(), Location: loc}
}

// GitHubEnabled reports whether the GitHub side runs: a token is given.
func (c Config) GitHubEnabled() bool { return c.GitHubToken != "" }

// BuildsEnabled reports whether stages can run on Cloud Build: both configs are given.
func (c Config) BuildsEnabled() bool { return c.StageBuildConfig != "" && c.ReleaseBuildConfig != "" }

// setting documents one configuration item. The README's table is checked against this list.
type setting struct {
	Env, Flag, Default, Help string
	Secret                   bool
}

var settings = []setting{
	{Env: "SLACK_APP_TOKEN", Help: "App-level token (xapp-…) with connections:write; opens the Socket Mode connection. Or SLACK_APP_TOKEN_FILE: a file holding it.", Secret: true},
	{Env: "SLACK_BOT_TOKEN", Help: "Bot token (xoxb-…); calls the Web API. Or SLACK_BOT_TOKEN_FILE.", Secret: true},
	{Env: "SLACK_API_URL", Flag: "slack-api-url", Default: bot.DefaultAPIURL, Help: "Slack Web API base URL; point it at an emulator or the sandbox's fake."},
	{Env: "CUTBOT_DB", Flag: "db", Default: "cutbot.db", Help: "bbolt database file with every cut's state. One cutbot process per file."},
	{Env: "CUTBOT_CHANNEL", Flag: "channel", Help: "Channel id (C…) where cut threads are posted, e.g. #release-management's."},
	{Env: "CUTBOT_MANAGERS_GROUP", Flag: "managers-group", Help: "Usergroup id (S…) of the release managers; its members may run commands that change anything."},
	{Env: "CUTBOT_MANAGERS", Flag: "managers", Help: "Extra user ids (U…), comma-separated, who may too."},
	{Env: "CUTBOT_LOG_LEVEL", Flag: "log-level", Default: "info", Help: "debug, info, warn or error."},
	{Env: "CUTBOT_LOG_FORMAT", Flag: "log-format", Default: "text", Help: "text or json."},
	{Env: "CUTBOT_GCP_PROJECT", Flag: "gcp-project", Default: "k8s-release", Help: "Google Cloud project the stage and release builds run in."},
	{Env: "CUTBOT_GCP_REGION", Flag: "gcp-region", Default: "us-central1", Help: "Cloud Build region (builds are created in projects/PROJECT/locations/REGION)."},
	{Env: "CUTBOT_CLOUDBUILD_ENDPOINT", Flag: "cloudbuild-endpoint", Help: "Cloud Build gRPC endpoint; empty for Google's. A loopback address is dialled without TLS or credentials (emulators, tests)."},
	{Env: "CUTBOT_STAGE_BUILD_CONFIG", Flag: "stage-build-config", Help: "cloudbuild YAML of the stage job (kubernetes/release gcb/stage/cloudbuild.yaml at the ref to use). With the release config, enables builds."},
	{Env: "CUTBOT_RELEASE_BUILD_CONFIG", Flag: "release-build-config", Help: "cloudbuild YAML of the release job (gcb/release/cloudbuild.yaml)."},
	{Env: "CUTBOT_CI_VERSION_URL", Flag: "ci-version-url", Default: civersion.DefaultBaseURL, Help: "Where the latest CI build versions are published (latest-1.xx.txt, latest.txt)."},
	{Env: "CUTBOT_TOOL_REF", Flag: "tool-ref", Default: "master", Help: "The kubernetes/release ref the builds run krel from (_TOOL_REF)."},
	{Env: "CUTBOT_POLL_INTERVAL", Flag: "poll-interval", Default: "20s", Help: "How often running builds are read."},
	{Env: "CUTBOT_WARN_QUEUED", Flag: "warn-queued", Default: "20m", Help: "Warn in the thread when a build waits in the queue longer; 0 never."},
	{Env: "CUTBOT_WARN_RUNNING", Flag: "warn-running", Default: "3h", Help: "Warn in the thread when a build runs longer; 0 never."},
	{Env: "GITHUB_TOKEN", Help: "GitHub token (or GITHUB_TOKEN_FILE). Turns on the GitHub side: the cut issue, the gates, the promotion PR, the release check.", Secret: true},
	{Env: "GITHUB_API_URL", Flag: "github-api-url", Default: "https://api.github.com/", Help: "GitHub API base URL; for GitHub Enterprise, https://HOST/api/v3/."},
	{Env: "CUTBOT_ISSUE_REPO", Flag: "issue-repo", Default: "kubernetes/sig-release", Help: "Where cut issues are opened."},
	{Env: "CUTBOT_ISSUE_TEMPLATE", Flag: "issue-template", Default: ".github/ISSUE_TEMPLATE/cut-release.md", Help: "The cut-release template's path in the issue repository."},
	{Env: "CUTBOT_TESTGRID_URL", Flag: "testgrid-url", Default: "https://testgrid.k8s.io/", Help: "testgrid, whose sig-release-<branch>-blocking summary gates the no-mock stage."},
	{Env: "CUTBOT_PROW_URL", Flag: "prow-url", Default: "https://prow.k8s.io/", Help: "prow, read (prowjobs.js) when the promotion job left no commit status."},
	{Env: "CUTBOT_PROMOTION_REPO", Flag: "promotion-repo", Default: "kubernetes/k8s.io", Help: "Where image-promotion PRs are opened (kpromo pr)."},
	{Env: "CUTBOT_RELEASE_REPO", Flag: "release-repo", Default: "kubernetes/kubernetes", Help: "Whose GitHub release must exist before \"is live\"."},
	{Env: "CUTBOT_PUBLISHING_BOT_ISSUE", Flag: "publishing-bot-issue", Default: "kubernetes/kubernetes#56876", Help: "The issue that is closed while the publishing-bot is healthy."},
	{Env: "CUTBOT_PROMOTION_REMIND_AFTER", Flag: "promotion-remind-after", Default: "2h", Help: "Remind the release managers in the thread when the promotion PR waits for approval longer."},
	{Env: "CUTBOT_GITHUB_POLL_INTERVAL", Flag: "github-poll-interval", Default: "1m", Help: "How often GitHub is read for each cut that waits on it."},
	{Env: "CUTBOT_CHERRYPICK_REPO", Flag: "cherrypick-repo", Default: "kubernetes/kubernetes", Help: "Whose release branches /release freeze and thaw act on."},
	{Env: "CUTBOT_FREEZE_LABEL", Flag: "freeze-label", Default: "cherry-pick-approved", Help: "The label a cherry-pick freeze takes off the PRs that are not ready, and the thaw puts back."},
	{Env: "CUTBOT_CALENDARS", Flag: "calendars", Help: "Release calendars, comma-separated: files, or github:OWNER/REPO/PATH read through the contents API (e.g. github:kubernetes/website/data/releases/schedule.yaml). schedule.yaml, eol.yaml, a cycle's .ics or timeline YAML. Turns reminders on."},
	{Env: "CUTBOT_TIMEZONE", Flag: "timezone", Default: "UTC", Help: "The zone reminders and cron run in (an IANA name, e.g. America/Los_Angeles)."},
	{Env: "CUTBOT_REMINDER_TIME", Flag: "reminder-time", Default: "09:00", Help: "The time of day, in CUTBOT_TIMEZONE, that a day's reminders go out."},
	{Env: "CUTBOT_REMINDER_LEADS", Flag: "reminder-leads", Default: "3,0", Help: "Days before a cherry-pick deadline or cycle milestone that reminders go out (0: the day itself)."},
	{Env: "CUTBOT_CALENDAR_RELOAD", Flag: "calendar-reload", Default: "*/30 * * * *", Help: "When the calendars are read again (a cron spec)."},
}

var (
	reRepo     = regexp.MustCompile(`^[\w.-]+/[\w.-]+$`)
	reIssueRef = regexp.MustCompile(`^[\w.-]+/[\w.-]+#\d+$`)
	reChannel  = regexp.MustCompile(`^[CG][A-Z0-9]{2,}$`)
	reGroup    = regexp.MustCompile(`^S[A-Z0-9]{2,}$`)
	reUser     = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
)

// loadConfig reads the environment, then the flags in args (which override it). It does not
// validate; call validate.
func loadConfig(getenv func(string) string, fs *flag.FlagSet, args []string) (Config, error) {
	env := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	var c Config
	var errs []error
	for _, s := range []struct {
		name string
		dst  *Secret
	}{{"SLACK_APP_TOKEN", &c.SlackAppToken}, {"SLACK_BOT_TOKEN", &c.SlackBotToken}, {"GITHUB_TOKEN", &c.GitHubToken}} {
		v, err := secret(getenv, s.name)
		if err != nil {
			errs = append(errs, err)
		}
		*s.dst = v
	}
	var managers string
	fs.StringVar(&c.SlackAPIURL, "slack-api-url", env("SLACK_API_URL", bot.DefaultAPIURL), "")
	fs.StringVar(&c.DB, "db", env("CUTBOT_DB", "cutbot.db"), "")
	fs.StringVar(&c.Channel, "channel", env("CUTBOT_CHANNEL", ""), "")
	fs.StringVar(&c.ManagersGroup, "managers-group", env("CUTBOT_MANAGERS_GROUP", ""), "")
	fs.StringVar(&managers, "managers", env("CUTBOT_MANAGERS", ""), "")
	fs.StringVar(&c.LogLevel, "log-level", env("CUTBOT_LOG_LEVEL", "info"), "")
	fs.StringVar(&c.LogFormat, "log-format", env("CUTBOT_LOG_FORMAT", "text"), "")
	fs.StringVar(&c.GCPProject, "gcp-project", env("CUTBOT_GCP_PROJECT", "k8s-release"), "")
	fs.StringVar(&c.GCPRegion, "gcp-region", env("CUTBOT_GCP_REGION", "us-central1"), "")
	fs.StringVar(&c.CloudBuildEndpoint, "cloudbuild-endpoint", env("CUTBOT_CLOUDBUILD_ENDPOINT", ""), "")
	fs.StringVar(&c.StageBuildConfig, "stage-build-config", env("CUTBOT_STAGE_BUILD_CONFIG", ""), "")
	fs.StringVar(&c.ReleaseBuildConfig, "release-build-config", env("CUTBOT_RELEASE_BUILD_CONFIG", ""), "")
	fs.StringVar(&c.CIVersionURL, "ci-version-url", env("CUTBOT_CI_VERSION_URL", civersion.DefaultBaseURL), "")
	fs.StringVar(&c.ToolRef, "tool-ref", env("CUTBOT_TOOL_REF", "master"), "")
	fs.StringVar(&c.GitHubAPIURL, "github-api-url", env("GITHUB_API_URL", "https://api.github.com/"), "")
	fs.StringVar(&c.IssueRepo, "issue-repo", env("CUTBOT_ISSUE_REPO", "kubernetes/sig-release"), "")
	fs.StringVar(&c.IssueTemplatePath, "issue-template", env("CUTBOT_ISSUE_TEMPLATE", ".github/ISSUE_TEMPLATE/cut-release.md"), "")
	fs.StringVar(&c.TestGridURL, "testgrid-url", env("CUTBOT_TESTGRID_URL", "https://testgrid.k8s.io/"), "")
	fs.StringVar(&c.ProwURL, "prow-url", env("CUTBOT_PROW_URL", "https://prow.k8s.io/"), "")
	fs.StringVar(&c.PromotionRepo, "promotion-repo", env("CUTBOT_PROMOTION_REPO", "kubernetes/k8s.io"), "")
	fs.StringVar(&c.ReleaseRepo, "release-repo", env("CUTBOT_RELEASE_REPO", "kubernetes/kubernetes"), "")
	fs.StringVar(&c.PublishingBotIssue, "publishing-bot-issue", env("CUTBOT_PUBLISHING_BOT_ISSUE", "kubernetes/kubernetes#56876"), "")
	fs.StringVar(&c.CherryPickRepo, "cherrypick-repo", env("CUTBOT_CHERRYPICK_REPO", "kubernetes/kubernetes"), "")
	fs.StringVar(&c.FreezeLabel, "freeze-label", env("CUTBOT_FREEZE_LABEL", "cherry-pick-approved"), "")
	var calendars string
	fs.StringVar(&calendars, "calendars", env("CUTBOT_CALENDARS", ""), "")
	fs.StringVar(&c.Timezone, "timezone", env("CUTBOT_TIMEZONE", "UTC"), "")
	fs.StringVar(&c.ReminderTime, "reminder-time", env("CUTBOT_REMINDER_TIME", "09:00"), "")
	fs.StringVar(&c.ReminderLeads, "reminder-leads", env("CUTBOT_REMINDER_LEADS", "3,0"), "")
	fs.StringVar(&c.CalendarReload, "calendar-reload", env("CUTBOT_CALENDAR_RELOAD", "*/30 * * * *"), "")
	defer func() {
		for _, s := range strings.Split(calendars, ",") {
			if s = strings.TrimSpace(s); s != "" {
				c.Calendars = append(c.Calendars, s)
			}
		}
	}()
	durations := []struct {
		name, env, def string
		dst            *time.Duration
	}{
		{"poll-interval", "CUTBOT_POLL_INTERVAL", "20s", &c.PollInterval},
		{"warn-queued", "CUTBOT_WARN_QUEUED", "20m", &c.WarnQueued},
		{"warn-running", "CUTBOT_WARN_RUNNING", "3h", &c.WarnRunning},
		{"promotion-remind-after", "CUTBOT_PROMOTION_REMIND_AFTER", "2h", &c.RemindAfter},
		{"github-poll-interval", "CUTBOT_GITHUB_POLL_INTERVAL", "1m", &c.GitHubPollInterval},
	}
	for _, d := range durations {
		v, err := time.ParseDuration(env(d.env, d.def))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a duration like 20s, 15m or 3h", d.env, env(d.env, d.def)))
		}
		fs.DurationVar(d.dst, d.name, v, "")
	}
	for _, s := range settings {
		if f := fs.Lookup(s.Flag); f != nil {
			f.Usage = s.Help + " (env " + s.Env + ")"
		}
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " ")))
	}
	for _, m := range strings.Split(managers, ",") {
		if m = strings.TrimSpace(m); m != "" {
			c.Managers = append(c.Managers, m)
		}
	}
	return c, errors.Join(errs...)
}

// secret reads NAME, or the file named by NAME_FILE.
func secret(getenv func(string) string, name string) (Secret, error) {
	v, file := strings.TrimSpace(getenv(name)), strings.TrimSpace(getenv(name+"_FILE"))
	switch {
	case v != "" && file != "":
		return "", fmt.Errorf("%s and %s_FILE are both set: set one", name, name)
	case file != "":
		raw, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s_FILE: %w", name, err)
		}
		return Secret(strings.TrimSpace(string(raw))), nil
	}
	return Secret(v), nil
}

// validate checks everything and reports every problem at once, each saying what would be
// right. It normalizes the API URL to end in "/".
func (c *Config) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch app := c.SlackAppToken.Reveal(); {
	case app == "":
		bad("SLACK_APP_TOKEN is not set: create an app-level token with the connections:write scope (your app's Basic Information page → App-Level Tokens)")
	case strings.HasPrefix(app, "xoxb-"):
		bad("SLACK_APP_TOKEN holds a bot token (xoxb-…): it needs the app-level token (xapp-…); the bot token goes in SLACK_BOT_TOKEN")
	case !strings.HasPrefix(app, "xapp-"):
		bad("SLACK_APP_TOKEN does not look like an app-level token: it should start with xapp-")
	}
	switch bt := c.SlackBotToken.Reveal(); {
	case bt == "":
		bad("SLACK_BOT_TOKEN is not set: install the app to the workspace and copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions")
	case strings.HasPrefix(bt, "xapp-"):
		bad("SLACK_BOT_TOKEN holds an app-level token (xapp-…): it needs the bot token (xoxb-…)")
	case !strings.HasPrefix(bt, "xoxb-"):
		bad("SLACK_BOT_TOKEN does not look like a bot token: it should start with xoxb-")
	}
	if u, err := url.Parse(c.SlackAPIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("SLACK_API_URL %q is not an http(s) URL, e.g. %s", c.SlackAPIURL, bot.DefaultAPIURL)
	} else if !strings.HasSuffix(c.SlackAPIURL, "/") {
		c.SlackAPIURL += "/" // slack-go appends method names to it verbatim
	}
	if c.DB == "" {
		bad("CUTBOT_DB is empty: give the database file, e.g. /var/lib/cutbot/cutbot.db")
	} else if dir := filepath.Dir(c.DB); dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			bad("CUTBOT_DB %s: its directory %s does not exist", c.DB, dir)
		}
	}
	switch {
	case c.Channel == "":
		bad("CUTBOT_CHANNEL is not set: give the id (C…) of the channel where cuts live; in Slack, open the channel's details, the id is at the bottom")
	case strings.HasPrefix(c.Channel, "#") || !reChannel.MatchString(c.Channel):
		bad("CUTBOT_CHANNEL %q is not a channel id: give its id (like C0123ABCD), not its name", c.Channel)
	}
	if c.ManagersGroup != "" && !reGroup.MatchString(c.ManagersGroup) {
		bad("CUTBOT_MANAGERS_GROUP %q is not a usergroup id: give its id (like S0123ABCD), not its @handle", c.ManagersGroup)
	}
	for _, m := range c.Managers {
		if !reUser.MatchString(m) {
			bad("CUTBOT_MANAGERS: %q is not a user id (like U0123ABCD)", m)
		}
	}
	if c.ManagersGroup == "" && len(c.Managers) == 0 {
		bad("neither CUTBOT_MANAGERS_GROUP nor CUTBOT_MANAGERS is set: nobody could open or abort a cut; give the release managers' usergroup id")
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		bad("CUTBOT_LOG_LEVEL: %v", err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("CUTBOT_LOG_FORMAT %q: use text or json", c.LogFormat)
	}
	switch {
	case (c.StageBuildConfig == "") != (c.ReleaseBuildConfig == ""):
		bad("builds need both CUTBOT_STAGE_BUILD_CONFIG and CUTBOT_RELEASE_BUILD_CONFIG (kubernetes/release gcb/stage and gcb/release cloudbuild.yaml); only one is set")
	case c.BuildsEnabled():
		for name, path := range map[string]string{"CUTBOT_STAGE_BUILD_CONFIG": c.StageBuildConfig, "CUTBOT_RELEASE_BUILD_CONFIG": c.ReleaseBuildConfig} {
			if _, err := cloudbuild.LoadConfig(path); err != nil {
				bad("%s: %v", name, err)
			}
		}
		if c.GCPProject == "" || c.GCPRegion == "" {
			bad("builds need CUTBOT_GCP_PROJECT and CUTBOT_GCP_REGION")
		}
		if c.PollInterval <= 0 {
			bad("CUTBOT_POLL_INTERVAL %s must be positive (20s is usual)", c.PollInterval)
		}
	}
	for name, v := range map[string]string{"CUTBOT_CI_VERSION_URL": c.CIVersionURL, "GITHUB_API_URL": c.GitHubAPIURL, "CUTBOT_TESTGRID_URL": c.TestGridURL, "CUTBOT_PROW_URL": c.ProwURL} {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("%s %q is not an http(s) URL", name, v)
		}
	}
	for name, v := range map[string]string{"CUTBOT_ISSUE_REPO": c.IssueRepo, "CUTBOT_PROMOTION_REPO": c.PromotionRepo, "CUTBOT_RELEASE_REPO": c.ReleaseRepo, "CUTBOT_CHERRYPICK_REPO": c.CherryPickRepo} {
		if !reRepo.MatchString(v) {
			bad("%s %q is not a repository: use owner/name", name, v)
		}
	}
	if strings.TrimSpace(c.FreezeLabel) == "" {
		bad("CUTBOT_FREEZE_LABEL is empty: give the label a freeze takes off, usually cherry-pick-approved")
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		bad("CUTBOT_TIMEZONE %q is not a time zone: use an IANA name such as UTC or America/Los_Angeles", c.Timezone)
	}
	if _, err := time.Parse("15:04", c.ReminderTime); err != nil {
		bad("CUTBOT_REMINDER_TIME %q is not a time of day like 09:00", c.ReminderTime)
	}
	for _, f := range strings.Split(c.ReminderLeads, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err != nil || n < 0 || n > 60 {
			bad("CUTBOT_REMINDER_LEADS %q: give days before, comma-separated, like 3,0", c.ReminderLeads)
			break
		}
	}
	if err := bot.CheckCronSpec(c.CalendarReload); err != nil {
		bad("CUTBOT_CALENDAR_RELOAD %q is not a cron spec: %v", c.CalendarReload, err)
	}
	for _, src := range c.Calendars {
		if rest, ok := strings.CutPrefix(src, "github:"); ok {
			if strings.Count(rest, "/") < 2 {
				bad("CUTBOT_CALENDARS: %q: use github:OWNER/REPO/PATH", src)
			} else if !c.GitHubEnabled() {
				bad("CUTBOT_CALENDARS: %q is on GitHub, which needs GITHUB_TOKEN", src)
			}
			continue
		}
		if _, err := os.Stat(src); err != nil {
			bad("CUTBOT_CALENDARS: %v", err)
		}
	}
	if !reIssueRef.MatchString(c.PublishingBotIssue) {
		bad("CUTBOT_PUBLISHING_BOT_ISSUE %q: use owner/name#number, e.g. kubernetes/kubernetes#56876", c.PublishingBotIssue)
	}
	return errors.Join(errs...)
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("unknown level %q: use debug, info, warn or error", s)
	}
	return l, nil
}

// LogValue lets the whole config be logged safely.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("slack_app_token", c.SlackAppToken),
		slog.Any("slack_bot_token", c.SlackBotToken),
		slog.String("slack_api_url", c.SlackAPIURL),
		slog.String("db", c.DB),
		slog.String("channel", c.Channel),
		slog.String("managers_group", c.ManagersGroup),
		slog.String("managers", strings.Join(c.Managers, ",")),
		slog.Bool("builds", c.BuildsEnabled()),
		slog.String("gcp_project", c.GCPProject),
		slog.String("gcp_region", c.GCPRegion),
		slog.String("cloudbuild_endpoint", c.CloudBuildEndpoint),
		slog.Any("github_token", c.GitHubToken),
		slog.String("github_api_url", c.GitHubAPIURL),
		slog.String("issue_repo", c.IssueRepo),
	)
}

func newLogger(w interface{ Write([]byte) (int, error) }, level, format string) *slog.Logger {
	l, err := parseLevel(level)
	if err != nil {
		l = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
