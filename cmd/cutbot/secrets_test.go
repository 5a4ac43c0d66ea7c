package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/cutbot/integrations/githubfake"
	"sigs.k8s.io/cutbot/integrations/slackfake"
)

// secretOf is a random secret of a shape: a known kind and a random body, or no kind at all.
func secretOf(r *rand.Rand, kind string) (secret, body string) {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
	var b strings.Builder
	for range 12 + r.IntN(60) {
		b.WriteByte(chars[r.IntN(len(chars))])
	}
	return kind + b.String(), b.String()
}

// leaks reports whether out holds 6 or more consecutive characters of a secret's body (its
// kind, such as "ghp_", is not secret).
func leaks(out, body string) (string, bool) {
	for i := 0; i+6 <= len(body); i++ {
		if strings.Contains(out, body[i:i+6]) {
			return body[i : i+6], true
		}
	}
	return "", false
}

// TestNoSecretLeaks feeds random secrets of many shapes (Slack app and bot tokens, GitHub
// tokens of every kind and of no known kind, from the environment and from files) through
// check-config, the start-up and debug logs of run (text and JSON), a command, and error
// paths (Slack or GitHub refusing the token), and finds no 6 consecutive characters of any
// secret in anything printed or logged.
func TestNoSecretLeaks(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	githubKinds := []string{"ghp_", "github_pat_11ABC_", "gho_", "ghs_", "", "token-", "x"}
	for trial, ghKind := range githubKinds {
		app, appBody := secretOf(r, "xapp-1-")
		bot, botBody := secretOf(r, "xoxb-")
		gh, ghBody := secretOf(r, ghKind)
		bodies := map[string]string{"app": appBody, "bot": botBody, "github": ghBody}
		check := func(t *testing.T, where, out string) {
			t.Helper()
			for name, body := range bodies {
				if piece, ok := leaks(out, body); ok {
					t.Errorf("trial %d: %s shows 6+ characters of the %s token (%q):\n%s", trial, where, name, piece, out)
				}
			}
		}
		fake := slackfake.New(slackfake.Options{AppToken: app, BotToken: bot})
		fake.AddUser(slackfake.User{ID: "U0ALICE", Name: "alice"})
		fake.AddChannel("C0RELMGMT", "release-management", fake.Options().BotUserID, "U0ALICE")
		fake.AddUsergroup(slackfake.Usergroup{ID: "S0RELMGRS", Handle: "release-managers", Users: []string{"U0ALICE"}})
		ghFake := githubfake.New(gh, "cutbot-test[bot]", nil)
		ghFake.SetFile("kubernetes/sig-release", ".github/ISSUE_TEMPLATE/cut-release.md", githubfake.CutReleaseTemplate)
		vars := goodEnv(t)
		vars["SLACK_APP_TOKEN"], vars["SLACK_API_URL"], vars["GITHUB_API_URL"] = app, fake.APIURL(), ghFake.URL()
		delete(vars, "SLACK_BOT_TOKEN")
		tokenFile := filepath.Join(t.TempDir(), "bot-token")
		os.WriteFile(tokenFile, []byte(bot+"\n"), 0o600)
		vars["SLACK_BOT_TOKEN_FILE"] = tokenFile
		vars["GITHUB_TOKEN"] = gh
		vars["CUTBOT_LOG_LEVEL"] = "debug"

		var out syncBuffer
		m := &Main{Stdout: &out, Stderr: &out, Getenv: env(vars)}
		err := m.Run(context.Background(), []string{"check-config"})
		check(t, "check-config", out.String()+fmt.Sprint(err))

		for _, format := range []string{"text", "json"} {
			vars["CUTBOT_LOG_FORMAT"] = format
			var logs syncBuffer
			handled := make(chan string, 10)
			m := &Main{Stdout: &logs, Stderr: &logs, Getenv: env(vars), OnHandled: func(id string) { handled <- id }}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- m.Run(ctx, []string{"run"}) }()
			wait, stop := context.WithTimeout(context.Background(), 20*time.Second)
			if _, err := fake.SendSlashCommand(wait, slackfake.SlashCommand{UserID: "U0ALICE", ChannelID: "C0RELMGMT", Text: "cut v1.31.3 --dry-run"}); err != nil {
				t.Fatal(err)
			}
			select {
			case <-handled:
			case <-wait.Done():
				t.Fatalf("no command handled:\n%s", logs.String())
			}
			cancel()
			err := <-done
			fake.WaitFor(wait, func() bool { return fake.Connections() == 0 }) // the next run is the only connection
			stop()
			check(t, "run's "+format+" log", logs.String()+fmt.Sprint(err))
			if !strings.Contains(logs.String(), "starting cutbot") {
				t.Fatalf("run logged nothing:\n%s", logs.String())
			}
		}

		// Error paths: Slack and GitHub refuse tokens, and say so without showing them.
		for name, edit := range map[string]func(map[string]string){
			"slack refuses the bot token": func(v map[string]string) {
				v["SLACK_BOT_TOKEN_FILE"] = writeFile(t, "xoxb-"+botBody[:len(botBody)-1]+"Q")
			},
			"github refuses the token":  func(v map[string]string) { v["GITHUB_TOKEN"] = ghKind + ghBody + "Z" },
			"both a token and its file": func(v map[string]string) { v["SLACK_BOT_TOKEN"] = bot },
		} {
			v := map[string]string{}
			for k, x := range vars {
				v[k] = x
			}
			edit(v)
			var logs syncBuffer
			err := (&Main{Stdout: &logs, Stderr: &logs, Getenv: env(v)}).Run(context.Background(), []string{"run"})
			if err == nil {
				t.Fatalf("%s: run started", name)
			}
			check(t, name, logs.String()+err.Error())
		}
		fake.Close()
		ghFake.Close()
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSandboxLogsNoTokens: the sandbox, logging everything (-v), shows none of its tokens.
func TestSandboxLogsNoTokens(t *testing.T) {
	var out syncBuffer
	m := &Main{Stdin: strings.NewReader("/release cut v1.31.3\n/release status\n"), Stdout: &out, Stderr: &out, Getenv: env(nil)}
	if err := m.Run(context.Background(), []string{"sandbox", "-v"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "slack bot token ok") {
		t.Fatalf("the sandbox did not log (-v):\n%s", out.String())
	}
	// The sandbox's tokens are made up of words ("fake", "sandbox") the sandbox also prints,
	// so what must not show is each token, or its last ten characters.
	fake := slackfake.New(slackfake.Options{})
	defer fake.Close()
	for _, tok := range []string{fake.Options().AppToken, fake.Options().BotToken, sandboxGitHubToken} {
		if strings.Contains(out.String(), tok) || strings.Contains(out.String(), tok[len(tok)-10:]) {
			t.Errorf("the sandbox shows the token %s:\n%s", Secret(tok), out.String())
		}
	}
}
