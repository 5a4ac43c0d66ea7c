package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
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

// Config is cutbot's configuration: environment variables, overridden by flags. Secrets come
// only from the environment or from files named by *_FILE variables, never from flags (a
// flag shows in the process list).
type Config struct {
	SlackAppToken Secret
	SlackBotToken Secret
	SlackAPIURL   string
	SlackPace     string
	DB            string
	Channel       string
	ManagersGroup string
	Managers      []string
	LogLevel      string
	LogFormat     string
	HTTPAddr      string

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

	BoardBranches    []string
	BoardRefresh     time.Duration
	BoardHistory     time.Duration
	KnownIssuesQuery string
	ApprovableNotice string

	PrivateChannel   string
	PrivateIssueRepo string
	Autopilot        string
	PatchMockRun     string
	PromotionFork    string
	StagingRegistry  string
	WebsiteRepo      string
	WebsiteFork      string
	MinPatchGap      time.Duration
	MaxPatchGap      time.Duration

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

// HTTPEnabled says whether the health checks and metrics are served. An unset or empty
// variable takes the default, as every setting does, so "off" is how the environment turns
// them off; an empty --http-addr does too.
func (c Config) HTTPEnabled() bool { return c.HTTPAddr != "" && c.HTTPAddr != "off" }

// setting is one configuration item: its variable, its flag, its default, its help, and the
// field of Config it fills. loadConfig reads every setting through this one table, and the
// README's table is checked against it, so a setting cannot be documented and then dropped.
type setting struct {
	Env, Flag, Default, Help string
	// Secret settings come only from the environment or from NAME_FILE, never from a flag.
	Secret bool
	// field is where the value goes: a *string, *Secret, *time.Duration or *[]string (a
	// comma-separated list).
	field func(*Config) any
}

var settings = []setting{
	{Env: "SLACK_APP_TOKEN", Help: "App-level token (xapp-…) with connections:write; opens the Socket Mode connection. Or SLACK_APP_TOKEN_FILE: a file holding it.", Secret: true,
		field: func(c *Config) any { return &c.SlackAppToken }},
	{Env: "SLACK_BOT_TOKEN", Help: "Bot token (xoxb-…); calls the Web API. Or SLACK_BOT_TOKEN_FILE.", Secret: true,
		field: func(c *Config) any { return &c.SlackBotToken }},
	{Env: "SLACK_API_URL", Flag: "slack-api-url", Default: bot.DefaultAPIURL, Help: "Slack Web API base URL; point it at an emulator or the sandbox's fake.",
		field: func(c *Config) any { return &c.SlackAPIURL }},
	{Env: "CUTBOT_SLACK_PACE", Flag: "slack-pace", Default: "slack", Help: "slack: pace every Web API call a little under Slack's published rate limits, most urgent first; off: do not pace (for an emulator without limits). A 429 is waited out either way.",
		field: func(c *Config) any { return &c.SlackPace }},
	{Env: "CUTBOT_DB", Flag: "db", Default: "cutbot.db", Help: "bbolt database file with every cut's state. One cutbot process per file.",
		field: func(c *Config) any { return &c.DB }},
	{Env: "CUTBOT_CHANNEL", Flag: "channel", Help: "Channel id (C…) where cut threads are posted, e.g. #release-management's.",
		field: func(c *Config) any { return &c.Channel }},
	{Env: "CUTBOT_PRIVATE_CHANNEL", Flag: "private-channel", Help: "Channel id (G… or C…) of a private channel (e.g. #release-managers-private) where embargoed security cuts live; checked at start to be private with cutbot in it. Unset: /release cut --embargo is refused.",
		field: func(c *Config) any { return &c.PrivateChannel }},
	{Env: "CUTBOT_PRIVATE_ISSUE_REPO", Flag: "private-issue-repo", Help: "owner/repo of a private repository for the issues of embargoed cuts. Unset: an embargoed cut opens no issue, and its thread says so.",
		field: func(c *Config) any { return &c.PrivateIssueRepo }},
	{Env: "CUTBOT_MIN_PATCH_GAP", Flag: "min-patch-gap", Default: "336h", Help: "A patch cut sooner than this after its branch's last release (from the calendar, or GitHub's release) needs --force \"reason\" (336h: two weeks). 0: no guard.",
		field: func(c *Config) any { return &c.MinPatchGap }},
	{Env: "CUTBOT_MAX_PATCH_GAP", Flag: "max-patch-gap", Default: "672h", Help: "A branch this long without a patch release while cherry-picks merged on it is reminded once in the release channel (672h: four weeks). 0: no reminder.",
		field: func(c *Config) any { return &c.MaxPatchGap }},
	{Env: "CUTBOT_AUTOPILOT", Flag: "autopilot", Default: "on", Help: "on: a new cut starts its mock stage at once, the mock release when the stage succeeds, checks the gates and asks its opener to confirm the no-mock stage, and asks to confirm the no-mock release once the images are promoted; failures stop it. off: every stage by hand. `/release cut --no-start` turns it off for one cut.",
		field: func(c *Config) any { return &c.Autopilot }},
	{Env: "CUTBOT_PROMOTION_FORK", Flag: "promotion-fork", Help: "owner/repo of cutbot's fork of CUTBOT_PROMOTION_REPO: when set, cutbot opens the image-promotion PR itself after the no-mock stage, as kpromo pr does (staged digests into registry.k8s.io/images/k8s-staging-kubernetes/images.yaml on the branch kubernetes-vX.Y.Z-image-promotion, on hold), and lifts the hold once a person approves it. Unset: a person runs kpromo pr and cutbot finds the PR.",
		field: func(c *Config) any { return &c.PromotionFork }},
	{Env: "CUTBOT_STAGING_REGISTRY", Flag: "staging-registry", Default: "gcr.io/k8s-staging-kubernetes", Help: "Where the no-mock stage pushes the images: the promotion PR takes their digests from here (the registry's catalog, then each image's tag).",
		field: func(c *Config) any { return &c.StagingRegistry }},
	{Env: "CUTBOT_WEBSITE_REPO", Flag: "website-repo", Default: "kubernetes/website", Help: "Where the release calendar's schedule.yaml lives (data/releases/schedule.yaml).",
		field: func(c *Config) any { return &c.WebsiteRepo }},
	{Env: "CUTBOT_WEBSITE_FORK", Flag: "website-fork", Help: "owner/repo of cutbot's fork of CUTBOT_WEBSITE_REPO: when set, once a patch release is live cutbot opens the schedule.yaml PR schedule-builder's user would (the release moves to previousPatches with its date, next advances). Unset: a person runs schedule-builder.",
		field: func(c *Config) any { return &c.WebsiteFork }},
	{Env: "CUTBOT_PATCH_MOCK_RUN", Flag: "patch-mock-run", Default: "on", Help: "on: patch cuts run the mock stage and mock release first, as the seed process has it. off: patch cuts leave them out (the 2026 handbook made them optional) unless a cut asks with --mock-run.",
		field: func(c *Config) any { return &c.PatchMockRun }},
	{Env: "CUTBOT_MANAGERS_GROUP", Flag: "managers-group", Help: "Usergroup id (S…) of the release managers; its members may run commands that change anything.",
		field: func(c *Config) any { return &c.ManagersGroup }},
	{Env: "CUTBOT_MANAGERS", Flag: "managers", Help: "Extra user ids (U…), comma-separated, who may too.",
		field: func(c *Config) any { return &c.Managers }},
	{Env: "CUTBOT_LOG_LEVEL", Flag: "log-level", Default: "info", Help: "debug, info, warn or error.",
		field: func(c *Config) any { return &c.LogLevel }},
	{Env: "CUTBOT_LOG_FORMAT", Flag: "log-format", Default: "text", Help: "text or json.",
		field: func(c *Config) any { return &c.LogFormat }},
	{Env: "CUTBOT_HTTP_ADDR", Flag: "http-addr", Default: ":8080", Help: "Address of the health checks (/livez, /readyz, /healthz) and Prometheus metrics (/metrics); off (or an empty --http-addr) turns them off. They say nothing secret: bind them where the cluster, not the world, reaches them.",
		field: func(c *Config) any { return &c.HTTPAddr }},
	{Env: "CUTBOT_GCP_PROJECT", Flag: "gcp-project", Default: "k8s-release", Help: "Google Cloud project the stage and release builds run in.",
		field: func(c *Config) any { return &c.GCPProject }},
	{Env: "CUTBOT_GCP_REGION", Flag: "gcp-region", Default: "us-central1", Help: "Cloud Build region (builds are created in projects/PROJECT/locations/REGION).",
		field: func(c *Config) any { return &c.GCPRegion }},
	{Env: "CUTBOT_CLOUDBUILD_ENDPOINT", Flag: "cloudbuild-endpoint", Help: "Cloud Build gRPC endpoint; empty for Google's. A loopback address is dialled without TLS or credentials (emulators, tests).",
		field: func(c *Config) any { return &c.CloudBuildEndpoint }},
	{Env: "CUTBOT_STAGE_BUILD_CONFIG", Flag: "stage-build-config", Help: "cloudbuild YAML of the stage job (kubernetes/release gcb/stage/cloudbuild.yaml at the ref to use). With the release config, enables builds.",
		field: func(c *Config) any { return &c.StageBuildConfig }},
	{Env: "CUTBOT_RELEASE_BUILD_CONFIG", Flag: "release-build-config", Help: "cloudbuild YAML of the release job (gcb/release/cloudbuild.yaml).",
		field: func(c *Config) any { return &c.ReleaseBuildConfig }},
	{Env: "CUTBOT_CI_VERSION_URL", Flag: "ci-version-url", Default: civersion.DefaultBaseURL, Help: "Where the latest CI build versions are published (latest-1.xx.txt, latest.txt).",
		field: func(c *Config) any { return &c.CIVersionURL }},
	{Env: "CUTBOT_TOOL_REF", Flag: "tool-ref", Default: "master", Help: "The kubernetes/release ref the builds run krel from (_TOOL_REF).",
		field: func(c *Config) any { return &c.ToolRef }},
	{Env: "CUTBOT_POLL_INTERVAL", Flag: "poll-interval", Default: "20s", Help: "How often running builds are read.",
		field: func(c *Config) any { return &c.PollInterval }},
	{Env: "CUTBOT_WARN_QUEUED", Flag: "warn-queued", Default: "20m", Help: "Warn in the thread when a build waits in the queue longer; 0 never.",
		field: func(c *Config) any { return &c.WarnQueued }},
	{Env: "CUTBOT_WARN_RUNNING", Flag: "warn-running", Default: "3h", Help: "Warn in the thread when a build runs longer; 0 never.",
		field: func(c *Config) any { return &c.WarnRunning }},
	{Env: "GITHUB_TOKEN", Help: "GitHub token (or GITHUB_TOKEN_FILE). Turns on the GitHub side: the cut issue, the gates, the promotion PR, the release check.", Secret: true,
		field: func(c *Config) any { return &c.GitHubToken }},
	{Env: "GITHUB_API_URL", Flag: "github-api-url", Default: "https://api.github.com/", Help: "GitHub API base URL; for GitHub Enterprise, https://HOST/api/v3/.",
		field: func(c *Config) any { return &c.GitHubAPIURL }},
	{Env: "CUTBOT_ISSUE_REPO", Flag: "issue-repo", Default: "kubernetes/sig-release", Help: "Where cut issues are opened.",
		field: func(c *Config) any { return &c.IssueRepo }},
	{Env: "CUTBOT_ISSUE_TEMPLATE", Flag: "issue-template", Default: ".github/ISSUE_TEMPLATE/cut-release.md", Help: "The cut-release template's path in the issue repository.",
		field: func(c *Config) any { return &c.IssueTemplatePath }},
	{Env: "CUTBOT_TESTGRID_URL", Flag: "testgrid-url", Default: "https://testgrid.k8s.io/", Help: "testgrid, whose sig-release-<branch>-blocking summary gates the no-mock stage.",
		field: func(c *Config) any { return &c.TestGridURL }},
	{Env: "CUTBOT_PROW_URL", Flag: "prow-url", Default: "https://prow.k8s.io/", Help: "prow, read (prowjobs.js) when the promotion job left no commit status.",
		field: func(c *Config) any { return &c.ProwURL }},
	{Env: "CUTBOT_PROMOTION_REPO", Flag: "promotion-repo", Default: "kubernetes/k8s.io", Help: "Where image-promotion PRs are opened (kpromo pr).",
		field: func(c *Config) any { return &c.PromotionRepo }},
	{Env: "CUTBOT_RELEASE_REPO", Flag: "release-repo", Default: "kubernetes/kubernetes", Help: "Whose GitHub release must exist before \"is live\".",
		field: func(c *Config) any { return &c.ReleaseRepo }},
	{Env: "CUTBOT_PUBLISHING_BOT_ISSUE", Flag: "publishing-bot-issue", Default: "kubernetes/kubernetes#56876", Help: "The issue that is closed while the publishing-bot is healthy.",
		field: func(c *Config) any { return &c.PublishingBotIssue }},
	{Env: "CUTBOT_PROMOTION_REMIND_AFTER", Flag: "promotion-remind-after", Default: "2h", Help: "Remind the release managers in the thread when the promotion PR waits for approval longer.",
		field: func(c *Config) any { return &c.RemindAfter }},
	{Env: "CUTBOT_GITHUB_POLL_INTERVAL", Flag: "github-poll-interval", Default: "1m", Help: "How often GitHub is read for each cut that waits on it.",
		field: func(c *Config) any { return &c.GitHubPollInterval }},
	{Env: "CUTBOT_CHERRYPICK_REPO", Flag: "cherrypick-repo", Default: "kubernetes/kubernetes", Help: "Whose release branches /release freeze and thaw act on.",
		field: func(c *Config) any { return &c.CherryPickRepo }},
	{Env: "CUTBOT_FREEZE_LABEL", Flag: "freeze-label", Default: "cherry-pick-approved", Help: "The label a cherry-pick freeze takes off the PRs that are not ready, and the thaw puts back.",
		field: func(c *Config) any { return &c.FreezeLabel }},
	{Env: "CUTBOT_BOARD_BRANCHES", Flag: "board-branches", Help: "Release branches on the patch-release board, comma-separated (release-1.31,release-1.30). Empty: the branches the calendar plans a next patch release for.",
		field: func(c *Config) any { return &c.BoardBranches }},
	{Env: "CUTBOT_BOARD_REFRESH", Flag: "board-refresh", Default: "10m", Help: "How often the board's branches are read from GitHub (unchanged answers come back 304 and cost no rate limit). /release picks --refresh reads at once.",
		field: func(c *Config) any { return &c.BoardRefresh }},
	{Env: "CUTBOT_BOARD_HISTORY", Flag: "board-history", Default: "1080h", Help: "How far back closed cherry-picks are read when the calendar names no earlier patch release of a branch (1080h: 45 days).",
		field: func(c *Config) any { return &c.BoardHistory }},
	{Env: "CUTBOT_KNOWN_ISSUES_QUERY", Flag: "known-issues-query", Default: `repo:kubernetes/kubernetes is:issue "introduced-in"`, Help: "GitHub issue search for known issues (issues with a ```release block of introduced-in= and resolved-in= lines); one search per refresh. \"off\": none.",
		field: func(c *Config) any { return &c.KnownIssuesQuery }},
	{Env: "CUTBOT_APPROVABLE_NOTICE", Flag: "approvable-notice", Default: "digest", Help: "Tell the release channel when a cherry-pick waits only for a release manager's approving review: digest (once a day, at CUTBOT_REMINDER_TIME), now (after the refresh that finds it) or off.",
		field: func(c *Config) any { return &c.ApprovableNotice }},
	{Env: "CUTBOT_CALENDARS", Flag: "calendars", Help: "Release calendars, comma-separated: files, or github:OWNER/REPO/PATH read through the contents API (e.g. github:kubernetes/website/data/releases/schedule.yaml). schedule.yaml, eol.yaml, a cycle's .ics or timeline YAML. Turns reminders on.",
		field: func(c *Config) any { return &c.Calendars }},
	{Env: "CUTBOT_TIMEZONE", Flag: "timezone", Default: "UTC", Help: "The zone reminders and cron run in (an IANA name, e.g. America/Los_Angeles).",
		field: func(c *Config) any { return &c.Timezone }},
	{Env: "CUTBOT_REMINDER_TIME", Flag: "reminder-time", Default: "09:00", Help: "The time of day, in CUTBOT_TIMEZONE, that a day's reminders go out.",
		field: func(c *Config) any { return &c.ReminderTime }},
	{Env: "CUTBOT_REMINDER_LEADS", Flag: "reminder-leads", Default: "3,0", Help: "Days before a cherry-pick deadline or cycle milestone that reminders go out (0: the day itself).",
		field: func(c *Config) any { return &c.ReminderLeads }},
	{Env: "CUTBOT_CALENDAR_RELOAD", Flag: "calendar-reload", Default: "*/30 * * * *", Help: "When the calendars are read again (a cron spec).",
		field: func(c *Config) any { return &c.CalendarReload }},
}

var (
	reRepo     = regexp.MustCompile(`^[\w.-]+/[\w.-]+$`)
	reIssueRef = regexp.MustCompile(`^[\w.-]+/[\w.-]+#\d+$`)
	reChannel  = regexp.MustCompile(`^[CG][A-Z0-9]{2,}$`)
	reGroup    = regexp.MustCompile(`^S[A-Z0-9]{2,}$`)
	reUser     = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
)

// loadConfig reads every setting from the environment, then the flags in args (which
// override it), and sets each in its field of Config. It does not validate; call validate.
func loadConfig(getenv func(string) string, fs *flag.FlagSet, args []string) (Config, error) {
	var c Config
	var errs []error
	raw := make([]string, len(settings)) // each setting's text, env first, then its flag
	for i, s := range settings {
		if s.Secret {
			v, err := secret(getenv, s.Env)
			if err != nil {
				errs = append(errs, err)
			}
			raw[i] = string(v)
			continue
		}
		raw[i] = s.Default
		if v := strings.TrimSpace(getenv(s.Env)); v != "" {
			raw[i] = v
		}
		if s.Flag != "" {
			fs.StringVar(&raw[i], s.Flag, raw[i], s.Help+" (env "+s.Env+")")
		}
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " ")))
	}
	for i, s := range settings {
		if err := setField(s.field(&c), raw[i]); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.Env, err))
		}
	}
	return c, errors.Join(errs...)
}

// setField parses v into dst, one of the field kinds a setting may have.
func setField(dst any, v string) error {
	switch p := dst.(type) {
	case *string:
		*p = strings.TrimSpace(v)
	case *Secret:
		*p = Secret(v)
	case *time.Duration:
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%q is not a duration like 20s, 15m or 3h", v)
		}
		*p = d
	case *[]string:
		*p = nil
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				*p = append(*p, item)
			}
		}
	default:
		return fmt.Errorf("setting of unknown kind %T", dst)
	}
	return nil
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
	if c.SlackPace != "slack" && c.SlackPace != "off" {
		bad("CUTBOT_SLACK_PACE %q: use slack (pace to Slack's rate limits) or off (an emulator without limits)", c.SlackPace)
	}
	if c.DB == "" {
		bad("CUTBOT_DB is empty: give the database file, e.g. /var/lib/cutbot/cutbot.db")
	} else if dir := filepath.Dir(c.DB); dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			bad("CUTBOT_DB %s: its directory %s does not exist", c.DB, dir)
		} else if f, err := os.CreateTemp(dir, ".cutbot-write-check-*"); err != nil {
			bad("CUTBOT_DB %s: cutbot cannot write in %s (%v): the database, its lock and its growth need a writable directory", c.DB, dir, err)
		} else {
			f.Close()
			os.Remove(f.Name())
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
	if c.HTTPEnabled() {
		if _, port, err := net.SplitHostPort(c.HTTPAddr); err != nil {
			bad("CUTBOT_HTTP_ADDR %q: give host:port or :port, e.g. :8080, or off to turn health checks and metrics off", c.HTTPAddr)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			bad("CUTBOT_HTTP_ADDR %q: the port %q is not a port number", c.HTTPAddr, port)
		}
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
	for _, b := range c.BoardBranches {
		if !regexp.MustCompile(`^release-\d+\.\d+$`).MatchString(b) {
			bad("CUTBOT_BOARD_BRANCHES: %q is not a release branch: use release-1.31", b)
		}
	}
	if c.BoardRefresh < time.Minute {
		bad("CUTBOT_BOARD_REFRESH %s is too often: GitHub is read for every branch each time; use 1m or more (10m is the default)", c.BoardRefresh)
	}
	if c.BoardHistory <= 0 {
		bad("CUTBOT_BOARD_HISTORY %s: give how far back closed cherry-picks are read, e.g. 1080h", c.BoardHistory)
	}
	for name, v := range map[string]string{"CUTBOT_AUTOPILOT": c.Autopilot, "CUTBOT_PATCH_MOCK_RUN": c.PatchMockRun} {
		if v != "on" && v != "off" {
			bad("%s %q: use on or off", name, v)
		}
	}
	if f := c.WebsiteFork; f != "" && strings.Count(f, "/") != 1 {
		bad("CUTBOT_WEBSITE_FORK %q: give owner/repo of the fork, e.g. k8s-release-robot/website", f)
	}
	if f := c.PromotionFork; f != "" && strings.Count(f, "/") != 1 {
		bad("CUTBOT_PROMOTION_FORK %q: give owner/repo of the fork, e.g. k8s-release-robot/k8s.io", f)
	}
	if c.MinPatchGap < 0 || c.MaxPatchGap < 0 {
		bad("CUTBOT_MIN_PATCH_GAP and CUTBOT_MAX_PATCH_GAP are durations such as 336h, or 0 for off")
	}
	if c.MinPatchGap > 0 && c.MaxPatchGap > 0 && c.MaxPatchGap < c.MinPatchGap {
		bad("CUTBOT_MAX_PATCH_GAP %s is shorter than CUTBOT_MIN_PATCH_GAP %s", c.MaxPatchGap, c.MinPatchGap)
	}
	if c.PrivateChannel != "" && c.PrivateChannel == c.Channel {
		bad("CUTBOT_PRIVATE_CHANNEL is CUTBOT_CHANNEL: embargoed cuts need a private channel of their own")
	}
	if r := c.PrivateIssueRepo; r != "" && strings.Count(r, "/") != 1 {
		bad("CUTBOT_PRIVATE_ISSUE_REPO %q: give owner/repo", r)
	}
	if c.ApprovableNotice != "digest" && c.ApprovableNotice != "now" && c.ApprovableNotice != "off" {
		bad("CUTBOT_APPROVABLE_NOTICE %q: use digest, now or off", c.ApprovableNotice)
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

func newLogger(w interface{ Write([]byte) (int, error) }, level, format string, secrets []Secret) *slog.Logger {
	l, err := parseLevel(level)
	if err != nil {
		l = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: l}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(redactingHandler{next: h, r: newRedactor(secrets)})
}
