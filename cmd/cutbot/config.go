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
	"strings"

	"sigs.k8s.io/cutbot/bot"
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
}

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
}

var (
	reChannel = regexp.MustCompile(`^[CG][A-Z0-9]{2,}$`)
	reGroup   = regexp.MustCompile(`^S[A-Z0-9]{2,}$`)
	reUser    = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
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
	}{{"SLACK_APP_TOKEN", &c.SlackAppToken}, {"SLACK_BOT_TOKEN", &c.SlackBotToken}} {
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
