package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/cutbot/integrations/slackfake"
)

// The sandbox workspace: a #release-management channel, a @release-managers group with
// "you" and "alex" in it, and "guest", who is not a release manager.
const (
	sandboxChannel = "C0RELMGMT"
	sandboxGroup   = "S0RELMGRS"
	sandboxYou     = "U0SANDBOX"
)

var sandboxUsers = []slackfake.User{
	{ID: sandboxYou, Name: "you", RealName: "You (release manager)"},
	{ID: "U0ALEX", Name: "alex", RealName: "Alex (release manager)"},
	{ID: "U0GUEST", Name: "guest", RealName: "Guest (not a release manager)"},
}

const sandboxIntro = `cutbot sandbox: the real bot, against a fake Slack workspace on this machine.
  #release-management is the release channel; @release-managers holds @you and @alex.
  Type /release commands (try /release help). Prefix a line with @alex or @guest to act as
  them (@guest is not a release manager). Lines starting with # are printed as notes.
`

func (m *Main) sandbox(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cutbot sandbox", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	script := fs.String("script", "", "read commands from this file instead of standard input")
	dbPath := fs.String("db", "", "bbolt file to keep (default: a temporary one, removed at exit)")
	verbose := fs.Bool("v", false, "show the bot's logs")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errUsage
		}
		return err
	}
	in := m.Stdin
	if *script != "" {
		f, err := os.Open(*script)
		if err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
		defer f.Close()
		in = f
	}
	if *dbPath == "" {
		dir, err := os.MkdirTemp("", "cutbot-sandbox-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*dbPath = filepath.Join(dir, "cutbot.db")
	}

	fake := slackfake.New(slackfake.Options{})
	defer fake.Close()
	for _, u := range sandboxUsers {
		fake.AddUser(u)
	}
	fake.AddChannel(sandboxChannel, "release-management", fake.Options().BotUserID, sandboxYou, "U0ALEX", "U0GUEST")
	fake.AddUsergroup(slackfake.Usergroup{ID: sandboxGroup, Handle: "release-managers", Name: "Release Managers", Users: []string{sandboxYou, "U0ALEX"}})

	opts := fake.Options()
	cfg := Config{
		SlackAppToken: Secret(opts.AppToken), SlackBotToken: Secret(opts.BotToken), SlackAPIURL: fake.APIURL(),
		DB: *dbPath, Channel: sandboxChannel, ManagersGroup: sandboxGroup, LogLevel: "warn", LogFormat: "text",
	}
	if *verbose {
		cfg.LogLevel = "info"
	}
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("sandbox configuration: %w", err)
	}

	handled := newSignals()
	inner := m.OnHandled
	runner := &Main{Stdout: m.Stdout, Stderr: m.Stderr, Getenv: m.Getenv, OnHandled: func(id string) {
		handled.fire(id)
		if inner != nil {
			inner(id)
		}
	}}
	botCtx, stopBot := context.WithCancel(ctx)
	botDone := make(chan error, 1)
	go func() { botDone <- runner.serve(botCtx, cfg, newLogger(m.Stderr, cfg.LogLevel, cfg.LogFormat)) }()
	defer func() { stopBot(); <-botDone }()

	connect, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := waitEither(connect, fake.WaitConnected, botDone); err != nil {
		return fmt.Errorf("sandbox: the bot did not connect to the fake workspace: %w", err)
	}
	fmt.Fprint(m.Stdout, sandboxIntro)

	seen := 0
	show := func() {
		for _, c := range fake.Changes(seen) {
			fmt.Fprintln(m.Stdout, indentBlock(fake.Describe(c), "  "))
			seen = c.Seq + 1
		}
	}
	lines := bufio.NewScanner(in)
	for lines.Scan() {
		line := strings.TrimSpace(lines.Text())
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "#"):
			fmt.Fprintf(m.Stdout, "\n%s\n", line)
			continue
		}
		userID, name, text := sandboxYou, "you", line
		if strings.HasPrefix(line, "@") {
			who, rest, _ := strings.Cut(line[1:], " ")
			id := ""
			for _, u := range sandboxUsers {
				if u.Name == who {
					id = u.ID
				}
			}
			if id == "" {
				fmt.Fprintf(m.Stdout, "sandbox: there is no @%s here; the people are @you, @alex and @guest\n", who)
				continue
			}
			userID, name, text = id, who, strings.TrimSpace(rest)
		}
		cmd, rest, _ := strings.Cut(text, " ")
		if cmd != "/release" {
			fmt.Fprintf(m.Stdout, "sandbox: type /release commands, e.g. /release help (got %q)\n", text)
			continue
		}
		fmt.Fprintf(m.Stdout, "\n› @%s: %s\n", name, text)
		wait, done := context.WithTimeout(ctx, 60*time.Second)
		id, err := fake.SendSlashCommand(wait, slackfake.SlashCommand{UserID: userID, ChannelID: sandboxChannel, Text: rest})
		if err == nil {
			err = handled.wait(wait, id)
		}
		done()
		if err != nil {
			return fmt.Errorf("sandbox: %s: %w", text, err)
		}
		show()
	}
	if err := lines.Err(); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "\n── the channel as it stands ──\n%s", fake.Transcript(sandboxChannel))
	return nil
}

func indentBlock(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// waitEither waits for f(ctx) to succeed, unless the bot stops first.
func waitEither(ctx context.Context, f func(context.Context) error, botDone chan error) error {
	errc := make(chan error, 1)
	go func() { errc <- f(ctx) }()
	select {
	case err := <-errc:
		return err
	case err := <-botDone:
		botDone <- err // let the deferred shutdown see it too
		if err == nil {
			err = errors.New("the bot stopped")
		}
		return err
	}
}

// signals lets the sandbox wait for the bot to finish one envelope.
type signals struct {
	mu   sync.Mutex
	done map[string]chan struct{}
}

func newSignals() *signals { return &signals{done: map[string]chan struct{}{}} }

func (s *signals) ch(id string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.done[id]
	if !ok {
		c = make(chan struct{})
		s.done[id] = c
	}
	return c
}

func (s *signals) fire(id string) {
	c := s.ch(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-c:
	default:
		close(c)
	}
}

func (s *signals) wait(ctx context.Context, id string) error {
	select {
	case <-s.ch(id):
		return nil
	case <-ctx.Done():
		return fmt.Errorf("the bot did not finish the command: %w", ctx.Err())
	}
}
