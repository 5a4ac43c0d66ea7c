package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/cutbot/integrations/slackfake"
)

// TestSIGTERMStopsCleanly builds the cutbot binary, runs it against a fake Slack, has it
// handle a command, sends it SIGTERM, and expects a clean exit.
func TestSIGTERMStopsCleanly(t *testing.T) {
	bin := cutbotBinary(t)
	fake := slackfake.New(slackfake.Options{})
	defer fake.Close()
	fake.AddUser(slackfake.User{ID: "U0ALICE", Name: "alice"})
	fake.AddChannel("C0RELMGMT", "release-management", fake.Options().BotUserID, "U0ALICE")
	fake.AddUsergroup(slackfake.Usergroup{ID: "S0RELMGRS", Handle: "release-managers", Users: []string{"U0ALICE"}})

	cmd := exec.Command(bin, "run", "--log-format", "json")
	cmd.Env = append(os.Environ(),
		"CUTBOT_HTTP_ADDR=127.0.0.1:0", "SLACK_APP_TOKEN="+fake.Options().AppToken, "SLACK_BOT_TOKEN="+fake.Options().BotToken,
		"SLACK_API_URL="+fake.APIURL(), "CUTBOT_DB="+filepath.Join(t.TempDir(), "cutbot.db"),
		"CUTBOT_CHANNEL=C0RELMGMT", "CUTBOT_MANAGERS_GROUP=S0RELMGRS")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := make(chan string, 100)
	go func() {
		s := bufio.NewScanner(stderr)
		for s.Scan() {
			logs <- s.Text()
		}
		close(logs)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := fake.SendSlashCommand(ctx, slackfake.SlashCommand{UserID: "U0ALICE", ChannelID: "C0RELMGMT", Text: "cut v1.31.3"}); err != nil {
		t.Fatal(err)
	}
	if err := fake.WaitFor(ctx, func() bool { return len(fake.Ephemerals("U0ALICE")) == 1 }); err != nil {
		t.Fatal("the command was not answered")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var all []string
	for l := range logs {
		all = append(all, l)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("cutbot exited with %v after SIGTERM:\n%s", err, strings.Join(all, "\n"))
	}
	if !strings.Contains(strings.Join(all, "\n"), `"msg":"stopped: nothing left in progress"`) {
		t.Errorf("no clean-stop log line:\n%s", strings.Join(all, "\n"))
	}
}
