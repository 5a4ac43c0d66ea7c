package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// arrival is what one setting must put into Config: a sample value as a person would type
// it, and the field it must fill, read straight from Config (not through the settings
// table's own accessor, so a row pointing at the wrong field is caught).
type arrival struct {
	sample string
	want   any
	got    func(Config) any
}

var arrivals = map[string]arrival{
	"SLACK_APP_TOKEN":               {"xapp-1-A0TEST-1-abc", Secret("xapp-1-A0TEST-1-abc"), func(c Config) any { return c.SlackAppToken }},
	"SLACK_BOT_TOKEN":               {"xoxb-1-2-abc", Secret("xoxb-1-2-abc"), func(c Config) any { return c.SlackBotToken }},
	"SLACK_API_URL":                 {"http://127.0.0.1:1/api/", "http://127.0.0.1:1/api/", func(c Config) any { return c.SlackAPIURL }},
	"CUTBOT_SLACK_PACE":             {"off", "off", func(c Config) any { return c.SlackPace }},
	"CUTBOT_DB":                     {"/data/x.db", "/data/x.db", func(c Config) any { return c.DB }},
	"CUTBOT_CHANNEL":                {"C0TEST", "C0TEST", func(c Config) any { return c.Channel }},
	"CUTBOT_MANAGERS_GROUP":         {"S0TEST", "S0TEST", func(c Config) any { return c.ManagersGroup }},
	"CUTBOT_MANAGERS":               {"U0A, U0B", []string{"U0A", "U0B"}, func(c Config) any { return c.Managers }},
	"CUTBOT_LOG_LEVEL":              {"debug", "debug", func(c Config) any { return c.LogLevel }},
	"CUTBOT_LOG_FORMAT":             {"json", "json", func(c Config) any { return c.LogFormat }},
	"CUTBOT_HTTP_ADDR":              {"127.0.0.1:9090", "127.0.0.1:9090", func(c Config) any { return c.HTTPAddr }},
	"CUTBOT_GCP_PROJECT":            {"my-project", "my-project", func(c Config) any { return c.GCPProject }},
	"CUTBOT_GCP_REGION":             {"europe-west1", "europe-west1", func(c Config) any { return c.GCPRegion }},
	"CUTBOT_CLOUDBUILD_ENDPOINT":    {"127.0.0.1:9", "127.0.0.1:9", func(c Config) any { return c.CloudBuildEndpoint }},
	"CUTBOT_STAGE_BUILD_CONFIG":     {"/s.yaml", "/s.yaml", func(c Config) any { return c.StageBuildConfig }},
	"CUTBOT_RELEASE_BUILD_CONFIG":   {"/r.yaml", "/r.yaml", func(c Config) any { return c.ReleaseBuildConfig }},
	"CUTBOT_CI_VERSION_URL":         {"http://127.0.0.1:2/ci/", "http://127.0.0.1:2/ci/", func(c Config) any { return c.CIVersionURL }},
	"CUTBOT_TOOL_REF":               {"v0.18.0", "v0.18.0", func(c Config) any { return c.ToolRef }},
	"CUTBOT_POLL_INTERVAL":          {"7s", 7 * time.Second, func(c Config) any { return c.PollInterval }},
	"CUTBOT_WARN_QUEUED":            {"11m", 11 * time.Minute, func(c Config) any { return c.WarnQueued }},
	"CUTBOT_WARN_RUNNING":           {"5h", 5 * time.Hour, func(c Config) any { return c.WarnRunning }},
	"GITHUB_TOKEN":                  {"ghp_testtesttest", Secret("ghp_testtesttest"), func(c Config) any { return c.GitHubToken }},
	"GITHUB_API_URL":                {"https://ghe.example/api/v3/", "https://ghe.example/api/v3/", func(c Config) any { return c.GitHubAPIURL }},
	"CUTBOT_ISSUE_REPO":             {"me/issues", "me/issues", func(c Config) any { return c.IssueRepo }},
	"CUTBOT_ISSUE_TEMPLATE":         {"t.md", "t.md", func(c Config) any { return c.IssueTemplatePath }},
	"CUTBOT_TESTGRID_URL":           {"http://127.0.0.1:3/", "http://127.0.0.1:3/", func(c Config) any { return c.TestGridURL }},
	"CUTBOT_PROW_URL":               {"http://127.0.0.1:4/", "http://127.0.0.1:4/", func(c Config) any { return c.ProwURL }},
	"CUTBOT_PROMOTION_REPO":         {"me/k8s.io", "me/k8s.io", func(c Config) any { return c.PromotionRepo }},
	"CUTBOT_RELEASE_REPO":           {"me/kubernetes", "me/kubernetes", func(c Config) any { return c.ReleaseRepo }},
	"CUTBOT_PUBLISHING_BOT_ISSUE":   {"me/kubernetes#1", "me/kubernetes#1", func(c Config) any { return c.PublishingBotIssue }},
	"CUTBOT_PROMOTION_REMIND_AFTER": {"90m", 90 * time.Minute, func(c Config) any { return c.RemindAfter }},
	"CUTBOT_GITHUB_POLL_INTERVAL":   {"45s", 45 * time.Second, func(c Config) any { return c.GitHubPollInterval }},
	"CUTBOT_CHERRYPICK_REPO":        {"me/cherries", "me/cherries", func(c Config) any { return c.CherryPickRepo }},
	"CUTBOT_FREEZE_LABEL":           {"cp-ok", "cp-ok", func(c Config) any { return c.FreezeLabel }},
	"CUTBOT_BOARD_BRANCHES":         {"release-1.31, release-1.30", []string{"release-1.31", "release-1.30"}, func(c Config) any { return c.BoardBranches }},
	"CUTBOT_BOARD_REFRESH":          {"5m", 5 * time.Minute, func(c Config) any { return c.BoardRefresh }},
	"CUTBOT_BOARD_HISTORY":          {"240h", 240 * time.Hour, func(c Config) any { return c.BoardHistory }},
	"CUTBOT_KNOWN_ISSUES_QUERY":     {`repo:o/r is:issue "resolved-in"`, `repo:o/r is:issue "resolved-in"`, func(c Config) any { return c.KnownIssuesQuery }},
	"CUTBOT_APPROVABLE_NOTICE":      {"now", "now", func(c Config) any { return c.ApprovableNotice }},
	"CUTBOT_PRIVATE_CHANNEL":        {"G0PRIVATE", "G0PRIVATE", func(c Config) any { return c.PrivateChannel }},
	"CUTBOT_PRIVATE_ISSUE_REPO":     {"sec/issues", "sec/issues", func(c Config) any { return c.PrivateIssueRepo }},
	"CUTBOT_MIN_PATCH_GAP":          {"240h", 240 * time.Hour, func(c Config) any { return c.MinPatchGap }},
	"CUTBOT_MAX_PATCH_GAP":          {"720h", 720 * time.Hour, func(c Config) any { return c.MaxPatchGap }},
	"CUTBOT_AUTOPILOT":              {"off", "off", func(c Config) any { return c.Autopilot }},
	"CUTBOT_PATCH_MOCK_RUN":         {"off", "off", func(c Config) any { return c.PatchMockRun }},
	"CUTBOT_PROMOTION_FORK":         {"bot/k8s.io", "bot/k8s.io", func(c Config) any { return c.PromotionFork }},
	"CUTBOT_STAGING_REGISTRY":       {"127.0.0.1:5000/k8s-staging-kubernetes", "127.0.0.1:5000/k8s-staging-kubernetes", func(c Config) any { return c.StagingRegistry }},
	"CUTBOT_WEBSITE_REPO":           {"me/website", "me/website", func(c Config) any { return c.WebsiteRepo }},
	"CUTBOT_WEBSITE_FORK":           {"bot/website", "bot/website", func(c Config) any { return c.WebsiteFork }},
	"CUTBOT_CALENDARS":              {"github:kubernetes/website/data/releases/schedule.yaml, /etc/eol.yaml", []string{"github:kubernetes/website/data/releases/schedule.yaml", "/etc/eol.yaml"}, func(c Config) any { return c.Calendars }},
	"CUTBOT_TIMEZONE":               {"Europe/Berlin", "Europe/Berlin", func(c Config) any { return c.Timezone }},
	"CUTBOT_REMINDER_TIME":          {"10:30", "10:30", func(c Config) any { return c.ReminderTime }},
	"CUTBOT_REMINDER_LEADS":         {"5,1,0", "5,1,0", func(c Config) any { return c.ReminderLeads }},
	"CUTBOT_CALENDAR_RELOAD":        {"@hourly", "@hourly", func(c Config) any { return c.CalendarReload }},
}

// TestEverySettingArrives sets each row of the settings table (the one README.md is checked
// against) through its environment variable and, separately, through its flag (or, for a
// token, its _FILE variable), runs the real loadConfig, and checks the value is in Config.
func TestEverySettingArrives(t *testing.T) {
	for _, s := range settings {
		a, ok := arrivals[s.Env]
		if !ok {
			t.Errorf("%s has no row in arrivals: say which Config field it fills", s.Env)
			continue
		}
		ways := map[string]func(t *testing.T) (map[string]string, []string){
			"env": func(t *testing.T) (map[string]string, []string) { return map[string]string{s.Env: a.sample}, nil },
		}
		if s.Flag != "" {
			ways["flag"] = func(t *testing.T) (map[string]string, []string) { return nil, []string{"--" + s.Flag, a.sample} }
		}
		if s.Secret {
			ways["file"] = func(t *testing.T) (map[string]string, []string) {
				p := filepath.Join(t.TempDir(), "secret")
				if err := os.WriteFile(p, []byte(a.sample+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				return map[string]string{s.Env + "_FILE": p}, nil
			}
		}
		for way, set := range ways {
			t.Run(s.Env+"/"+way, func(t *testing.T) {
				vars, args := set(t)
				fs := flag.NewFlagSet("t", flag.ContinueOnError)
				fs.SetOutput(io.Discard)
				c, err := loadConfig(env(vars), fs, args)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(a.want, a.got(c)); diff != "" {
					t.Errorf("%s set by %s did not arrive in Config (-want +got):\n%s", s.Env, way, diff)
				}
			})
		}
	}
	for name := range arrivals {
		found := false
		for _, s := range settings {
			found = found || s.Env == name
		}
		if !found {
			t.Errorf("arrivals has %s, which is not a setting", name)
		}
	}
}

// TestSettingDefaultsArrive checks that with nothing set, each setting's documented default
// is what Config holds.
func TestSettingDefaultsArrive(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c, err := loadConfig(env(nil), fs, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		a := arrivals[s.Env]
		if a.got == nil {
			continue // reported by TestEverySettingArrives
		}
		var want any
		switch a.want.(type) {
		case time.Duration:
			want, _ = time.ParseDuration(s.Default)
		case []string:
			if s.Default != "" {
				t.Fatalf("%s: a list default needs a case here", s.Env)
			}
			want = []string(nil)
		case Secret:
			want = Secret("")
		default:
			want = s.Default
		}
		if diff := cmp.Diff(want, a.got(c)); diff != "" {
			t.Errorf("%s's default (-want +got):\n%s", s.Env, diff)
		}
	}
}

// TestFlagOverridesEnvAndBadDurations: a flag wins over the environment, and a duration that
// is not one is named with its variable.
func TestFlagOverridesEnvAndBadDurations(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c, err := loadConfig(env(map[string]string{"CUTBOT_CALENDARS": "a.yaml", "CUTBOT_POLL_INTERVAL": "soon"}), fs,
		[]string{"--calendars", "b.yaml,c.yaml", "--poll-interval", "5s"})
	if err != nil {
		t.Fatalf("a good flag over a bad environment value: %v", err)
	}
	if diff := cmp.Diff([]string{"b.yaml", "c.yaml"}, c.Calendars); diff != "" {
		t.Errorf("calendars (-want +got):\n%s", diff)
	}
	if c.PollInterval != 5*time.Second {
		t.Errorf("poll interval %s", c.PollInterval)
	}
	fs = flag.NewFlagSet("t", flag.ContinueOnError)
	_, err = loadConfig(env(map[string]string{"CUTBOT_WARN_RUNNING": "3 hours"}), fs, nil)
	if err == nil || err.Error() != `CUTBOT_WARN_RUNNING: "3 hours" is not a duration like 20s, 15m or 3h` {
		t.Errorf("bad duration: %v", err)
	}
}

// TestSecretShowsOnlyItsKind: a redacted token shows at most its kind, whatever its shape.
func TestSecretShowsOnlyItsKind(t *testing.T) {
	for token, want := range map[string]string{
		"":                                   "(unset)",
		"xoxb-1234-5678-abcdef":              "xoxb-…(redacted)",
		"xapp-1-A0CUTBOT-1234-abcdef":        "xapp-…(redacted)",
		"ghp_abcdefghijklmnopqrstuvwxyz0123": "ghp_…(redacted)",
		"github_pat_11ABCDEFG_abcdefghijkl":  "github_pat_…(redacted)",
		"supersecretwithoutakind":            "…(redacted)",
		"abc-def":                            "…(redacted)",
		"ghp_":                               "…(redacted)",
	} {
		s := Secret(token)
		for _, got := range []string{s.String(), s.GoString(), s.LogValue().String(), fmt.Sprintf("%v %s %#v", s, s, s)} {
			if !strings.Contains(got, want) || (len(token) > 5 && strings.Contains(got, token[5:])) {
				t.Errorf("%q shows as %q, want %q", token, got, want)
			}
		}
	}
}

func TestHTTPCanBeTurnedOff(t *testing.T) {
	for _, c := range []struct {
		vars map[string]string
		args []string
		on   bool
	}{
		{nil, nil, true},
		{map[string]string{"CUTBOT_HTTP_ADDR": "off"}, nil, false},
		{map[string]string{"CUTBOT_HTTP_ADDR": ""}, nil, true}, // unset and empty take the default
		{nil, []string{"--http-addr", ""}, false},
		{nil, []string{"--http-addr", "off"}, false},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		cfg, err := loadConfig(env(c.vars), fs, c.args)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.HTTPEnabled() != c.on {
			t.Errorf("%v %v: served = %v, want %v", c.vars, c.args, cfg.HTTPEnabled(), c.on)
		}
	}
}
