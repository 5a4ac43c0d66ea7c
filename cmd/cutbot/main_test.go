package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/cutbot/integrations/slackfake"
	"sigs.k8s.io/cutbot/store"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func goodEnv(t *testing.T) map[string]string {
	return map[string]string{
		"SLACK_APP_TOKEN":       "xapp-1-A0CUTBOT-1234-abcdef",
		"CUTBOT_HTTP_ADDR":      "127.0.0.1:0",
		"SLACK_BOT_TOKEN":       "xoxb-1234-5678-abcdef",
		"SLACK_API_URL":         "http://127.0.0.1:9/api",
		"CUTBOT_DB":             filepath.Join(t.TempDir(), "cutbot.db"),
		"CUTBOT_CHANNEL":        "C0RELMGMT",
		"CUTBOT_MANAGERS_GROUP": "S0RELMGRS",
		"CUTBOT_MANAGERS":       "U0ALICE, U0BOB",
	}
}

func TestConfigFromEnvAndFlags(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	cfg, err := loadConfig(env(goodEnv(t)), fs, []string{"--channel", "C0OTHER"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Channel != "C0OTHER" {
		t.Errorf("flag did not override env: channel %s", cfg.Channel)
	}
	if cfg.SlackAPIURL != "http://127.0.0.1:9/api/" {
		t.Errorf("API URL not normalized to end in /: %s", cfg.SlackAPIURL)
	}
	if strings.Join(cfg.Managers, ",") != "U0ALICE,U0BOB" {
		t.Errorf("managers = %q", cfg.Managers)
	}
}

func TestConfigErrorsSayWhatIsMissing(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(map[string]string)
		want []string
	}{
		{"nothing set", func(m map[string]string) { clear(m) }, []string{
			"SLACK_APP_TOKEN is not set: create an app-level token with the connections:write scope",
			"SLACK_BOT_TOKEN is not set", "CUTBOT_CHANNEL is not set",
			"neither CUTBOT_MANAGERS_GROUP nor CUTBOT_MANAGERS is set"}},
		{"tokens swapped", func(m map[string]string) {
			m["SLACK_APP_TOKEN"], m["SLACK_BOT_TOKEN"] = m["SLACK_BOT_TOKEN"], m["SLACK_APP_TOKEN"]
		}, []string{"SLACK_APP_TOKEN holds a bot token", "SLACK_BOT_TOKEN holds an app-level token"}},
		{"channel name", func(m map[string]string) { m["CUTBOT_CHANNEL"] = "#release-management" }, []string{`CUTBOT_CHANNEL "#release-management" is not a channel id`}},
		{"group handle", func(m map[string]string) { m["CUTBOT_MANAGERS_GROUP"] = "@release-managers" }, []string{"not a usergroup id"}},
		{"bad user", func(m map[string]string) { m["CUTBOT_MANAGERS"] = "alice" }, []string{`"alice" is not a user id`}},
		{"bad url", func(m map[string]string) { m["SLACK_API_URL"] = "slack.com/api" }, []string{"SLACK_API_URL \"slack.com/api\" is not an http(s) URL"}},
		{"db dir", func(m map[string]string) { m["CUTBOT_DB"] = "/nonexistent/dir/cutbot.db" }, []string{"its directory /nonexistent/dir does not exist"}},
		{"http addr", func(m map[string]string) { m["CUTBOT_HTTP_ADDR"] = "8080" }, []string{`CUTBOT_HTTP_ADDR "8080": give host:port or :port, e.g. :8080, or off`}},
		{"http port", func(m map[string]string) { m["CUTBOT_HTTP_ADDR"] = ":http-alt" }, []string{`the port "http-alt" is not a port number`}},
		{"both token and file", func(m map[string]string) { m["SLACK_BOT_TOKEN_FILE"] = "/x" }, []string{"SLACK_BOT_TOKEN and SLACK_BOT_TOKEN_FILE are both set"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := goodEnv(t)
			tc.edit(vars)
			var out, errOut bytes.Buffer
			m := &Main{Stdout: &out, Stderr: &errOut, Getenv: env(vars)}
			err := m.Run(context.Background(), []string{"check-config"})
			if err == nil {
				t.Fatal("check-config accepted a bad configuration")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestTokensFromFilesAndNeverPrinted(t *testing.T) {
	vars := goodEnv(t)
	dir := t.TempDir()
	secretBot := "xoxb-9999-8888-topsecretvalue"
	os.WriteFile(filepath.Join(dir, "bot"), []byte(secretBot+"\n"), 0o600)
	delete(vars, "SLACK_BOT_TOKEN")
	vars["SLACK_BOT_TOKEN_FILE"] = filepath.Join(dir, "bot")
	var out, errOut bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errOut, Getenv: env(vars)}
	if err := m.Run(context.Background(), []string{"check-config"}); err != nil {
		t.Fatal(err)
	}
	printed := out.String() + errOut.String()
	if !strings.Contains(printed, "configuration ok") || !strings.Contains(printed, "xoxb-…(redacted)") {
		t.Errorf("check-config output:\n%s", printed)
	}
	for _, secret := range []string{secretBot, "topsecretvalue", vars["SLACK_APP_TOKEN"], "abcdef"} {
		if strings.Contains(printed, secret) {
			t.Errorf("check-config printed a token (%q):\n%s", secret, printed)
		}
	}
}

// TestRunLogsNoTokens runs `cutbot run` against a fake Slack, with info logging, until it
// has handled a command, and checks the logs hold no token.
func TestRunLogsNoTokens(t *testing.T) {
	fake := slackfake.New(slackfake.Options{AppToken: "xapp-1-A0CUTBOT-777-appsecretvalue", BotToken: "xoxb-777-888-botsecretvalue"})
	defer fake.Close()
	fake.AddUser(slackfake.User{ID: "U0ALICE", Name: "alice"})
	fake.AddChannel("C0RELMGMT", "release-management", fake.Options().BotUserID, "U0ALICE")
	fake.AddUsergroup(slackfake.Usergroup{ID: "S0RELMGRS", Handle: "release-managers", Users: []string{"U0ALICE"}})
	vars := goodEnv(t)
	vars["SLACK_APP_TOKEN"], vars["SLACK_BOT_TOKEN"], vars["SLACK_API_URL"] = fake.Options().AppToken, fake.Options().BotToken, fake.APIURL()
	vars["CUTBOT_LOG_LEVEL"] = "debug"

	var out, logs syncBuffer
	handled := make(chan string, 10)
	m := &Main{Stdout: &out, Stderr: &logs, Getenv: env(vars), OnHandled: func(id string) { handled <- id }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, []string{"run"}) }()

	wait, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	id, err := fake.SendSlashCommand(wait, slackfake.SlashCommand{UserID: "U0ALICE", ChannelID: "C0RELMGMT", Text: "cut v1.31.3"})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-handled:
		if got != id {
			t.Fatalf("handled %s, want %s", got, id)
		}
	case <-wait.Done():
		t.Fatalf("command not handled; logs:\n%s", logs.String())
	}
	cancel() // what SIGTERM does
	if err := <-done; err != nil {
		t.Fatalf("run returned %v on shutdown", err)
	}
	l := logs.String()
	for _, s := range []string{"appsecretvalue", "botsecretvalue"} {
		if strings.Contains(l, s) {
			t.Errorf("logs contain a token:\n%s", l)
		}
	}
	for _, w := range []string{"starting cutbot", "connected to slack", "cut opened", "stopped"} {
		if !strings.Contains(l, w) {
			t.Errorf("logs lack %q:\n%s", w, l)
		}
	}
}

func TestSandboxPlaysTheExampleScript(t *testing.T) {
	var out, logs syncBuffer
	m := &Main{Stdout: &out, Stderr: &logs, Getenv: env(nil)}
	script := filepath.Join("..", "..", "examples", "patch-release.txt")
	if err := m.Run(context.Background(), []string{"sandbox", "--script", script, "--build-step", "30ms", "--poll", "50ms"}); err != nil {
		t.Fatalf("sandbox: %v\nlogs:\n%s", err, logs.String())
	}
	got := out.String()
	for _, w := range []string{
		"› @you: /release cut v1.31.3",
		"cutbot posted in #release-management:\n      :thread: Release Cut v1.31.3 (GH Issue: not linked yet)",
		"cutbot replied in the thread in #release-management:\n      *Plan for v1.31.3",
		"Only release managers (@release-managers) may run `/release cut`",
		"did you mean v1.31.3?",
		"Mock Release needs Mock Stage (pending) to succeed first",
		"› @you: /release next v1.31.3\n",
		"cutbot replied in the thread in #release-management:\n      :hourglass_flowing_sand: Mock Stage (logs <https://console.cloud.google.com/cloud-build/builds;region=us-central1/9e3779b1-fake-0001?project=k8s-release>)\n",
		"    + -> :white_check_mark:",
		"› @you clicks [Next stage] on v1.31.3",
		":warning: *Confirm No-mock Stage of v1.31.3*: it creates real artifacts.",
		"only @you, who asked for No-mock Stage, can confirm it",
		`-> :x: failed at staging: Build step 2 "staging" failed`,
		"› @you clicks [Retry No-mock Stage]",
		"attempt 2 · started by @you",
		"No-mock Stage is blocked: a gate failed: sig-release-1.31-blocking: 1 of 4 jobs failing",
		"cc: @release-managers",
		":x: post-k8sio-image-promo failed",
		"-> Image promotion is :white_check_mark:",
		":kubernetes: Kubernetes v1.31.3 is live! (shoutout to @you for helping cut the release)",
		"- [x] Collect metrics",
		"Opened the cut. The mock stage starts now",
		":warning: *Confirm No-mock Stage of v1.30.7*: it creates real artifacts.",
		":warning: *Confirm No-mock Release of v1.30.7*: it creates real artifacts.",
		":kubernetes: Kubernetes v1.30.7 is live! (shoutout to @you for helping cut the release)",
		":no_entry: @you aborted the cut of v1.29.11: cherry-pick #128000 must land first",
		"v1.31.4 would come 0 days after v1.31.3",
		"Created release-1.31.3 from v1.31.3: the stages may run.",
		"cutbot posted in #release-managers-private:\n      :thread: Release Cut :lock: v1.28.15, embargoed security release",
		"No cut of that version has been opened.",
		":thread: Release Cut v1.28.15, security release (CVE-2026-1234)",
		"── the channel as it stands ──",
		"No active cuts.",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("sandbox output lacks %q", w)
		}
	}
	if strings.Count(got, ":thread: Release Cut v1.31.3") < 2 {
		t.Error("the final transcript does not show the v1.31.3 thread")
	}
	if logs.String() != "" {
		t.Errorf("the sandbox logged warnings:\n%s", logs.String())
	}
}

func TestSandboxFromStdinAndBadLines(t *testing.T) {
	var out, logs syncBuffer
	in := strings.NewReader("/release status\nhello\n@nobody /release help\n@guest /release cut v1.31.3\n")
	m := &Main{Stdin: in, Stdout: &out, Stderr: &logs, Getenv: env(nil)}
	if err := m.Run(context.Background(), []string{"sandbox"}); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"No active cuts.", `type /release commands, click LABEL, !wait or !fail-next STEP (got "hello")`, "there is no @nobody here", "Only release managers"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
}

func TestUnknownSubcommand(t *testing.T) {
	var out, errOut bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errOut, Getenv: env(nil)}
	if err := m.Run(context.Background(), []string{"deploy"}); err == nil || !strings.Contains(errOut.String(), `unknown subcommand "deploy"`) {
		t.Errorf("err %v, stderr %q", err, errOut.String())
	}
	if err := m.Run(context.Background(), []string{"version"}); err != nil || !strings.HasPrefix(out.String(), "cutbot ") {
		t.Errorf("version: %v %q", err, out.String())
	}
}

// TestCheckConfigOnlineAndCheckDB: check-config --online asks Slack (and says when the bot is
// not in the channel); check-db says the database is whole, or that it is damaged and what to do.
func TestCheckConfigOnlineAndCheckDB(t *testing.T) {
	fake := slackfake.New(slackfake.Options{})
	defer fake.Close()
	fake.AddChannel("C0RELMGMT", "release-management", fake.Options().BotUserID)
	fake.AddChannel("C0OTHER", "other")
	fake.AddUsergroup(slackfake.Usergroup{ID: "S0RELMGRS", Handle: "release-managers"})
	vars := goodEnv(t)
	vars["SLACK_APP_TOKEN"], vars["SLACK_BOT_TOKEN"], vars["SLACK_API_URL"] = fake.Options().AppToken, fake.Options().BotToken, fake.APIURL()
	var out bytes.Buffer
	if err := (&Main{Stdout: &out, Stderr: &out, Getenv: env(vars)}).Run(context.Background(), []string{"check-config", "--online"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "workspace ok: cutbot-sandbox as @cutbot; posts in #release-management; release managers are @release-managers") {
		t.Errorf("check-config --online:\n%s", out.String())
	}
	vars["CUTBOT_CHANNEL"] = "C0OTHER"
	err := (&Main{Stdout: &out, Stderr: &out, Getenv: env(vars)}).Run(context.Background(), []string{"check-config", "--online"})
	if err == nil || !strings.Contains(err.Error(), "/invite @cutbot in #other") {
		t.Errorf("check-config --online with the bot not in the channel: %v", err)
	}

	out.Reset()
	m := &Main{Stdout: &out, Stderr: &out, Getenv: env(vars)}
	if err := m.Run(context.Background(), []string{"check-db"}); err == nil {
		t.Error("check-db of a database that does not exist succeeded")
	}
	st, err := store.Open(vars["CUTBOT_DB"], store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := m.Run(context.Background(), []string{"check-db"}); err != nil || !strings.Contains(out.String(), "is whole (checked in") {
		t.Errorf("check-db: %v\n%s", err, out.String())
	}
	os.WriteFile(vars["CUTBOT_DB"], []byte(strings.Repeat("garbage", 1000)), 0o600)
	if err := m.Run(context.Background(), []string{"check-db"}); err == nil || !strings.Contains(err.Error(), "is damaged") || !strings.Contains(err.Error(), "restore it from a backup") {
		t.Errorf("check-db of a damaged file: %v", err)
	}
}

// TestCheckConfigReadOnlyDirectory: a database directory cutbot cannot write in is reported.
func TestCheckConfigReadOnlyDirectory(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o500)
	defer os.Chmod(dir, 0o700)
	if os.Geteuid() == 0 {
		dir = "/proc" // root writes in any directory, but not in /proc
	}
	vars := goodEnv(t)
	vars["CUTBOT_DB"] = filepath.Join(dir, "cutbot.db")
	err := (&Main{Stdout: io.Discard, Stderr: io.Discard, Getenv: env(vars)}).Run(context.Background(), []string{"check-config"})
	if err == nil || !strings.Contains(err.Error(), "cannot write in") {
		t.Errorf("check-config with a read-only directory: %v", err)
	}
}

// TestSandboxKeepsItsDatabaseAcrossRuns: a second sandbox run on the same --db answers its
// commands (each fake workspace's envelope ids are its own, as Slack's are, so the second
// run's are not taken for redeliveries of the first's) and shows the cut the first opened.
func TestSandboxKeepsItsDatabaseAcrossRuns(t *testing.T) {
	db := filepath.Join(t.TempDir(), "sandbox.db")
	for i, script := range []string{"/release cut v1.31.3\n", "/release status\n/release status v1.31.3\n"} {
		var out, logs syncBuffer
		m := &Main{Stdin: strings.NewReader(script), Stdout: &out, Stderr: &logs, Getenv: env(nil)}
		if err := m.Run(context.Background(), []string{"sandbox", "--db", db}); err != nil {
			t.Fatalf("run %d: %v\n%s", i+1, err, logs.String())
		}
		if i == 1 {
			mustContain(t, "second run", out.String(), "*Active cuts (1):*", "v1.31.3")
			if strings.Count(out.String(), "cutbot replied to @you") < 2 && strings.Count(out.String(), "v1.31.3") < 2 {
				t.Errorf("the second run did not answer both commands:\n%s", out.String())
			}
		}
	}
}

// TestAutopilotScriptTouches counts the human lines of the example script's autopilot cut
// (v1.30.7): commands and clicks by people, and the one outside action that is a person's
// (the approval of the promotion PR on GitHub). A clean patch cut takes four.
func TestAutopilotScriptTouches(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", "patch-release.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var touches []string
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.Contains(line, "v1.30.7") || strings.HasPrefix(line, "#") {
			continue
		}
		switch {
		case strings.HasPrefix(line, "/release"), strings.HasPrefix(line, "click"), strings.HasPrefix(line, "@"), strings.HasPrefix(line, "!approve"):
			touches = append(touches, line)
		case strings.HasPrefix(line, "!kpromo"):
			t.Errorf("the autopilot cut runs kpromo by hand: %q", line)
		}
	}
	if len(touches) != 4 {
		t.Errorf("the autopilot cut takes %d human touches, want 4: %q", len(touches), touches)
	}
}
