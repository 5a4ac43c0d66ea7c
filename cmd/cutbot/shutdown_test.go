package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/integrations/cloudbuildfake"
	"sigs.k8s.io/cutbot/integrations/slackfake"
	"sigs.k8s.io/cutbot/store"
)

// TestSIGTERMWaitsForACommand sends the built binary SIGTERM while /release next is inside a
// slow CIVersion (dl.k8s.io held by the test). The process finishes the command first: the
// build is created once, the reply is sent, the attempt is stored with its build id, and only
// then does it exit (the store closing last).
func TestSIGTERMWaitsForACommand(t *testing.T) {
	fake := slackfake.New(slackfake.Options{})
	defer fake.Close()
	fake.AddUser(slackfake.User{ID: "U0ALICE", Name: "alice"})
	fake.AddChannel("C0RELMGMT", "release-management", fake.Options().BotUserID, "U0ALICE")
	fake.AddUsergroup(slackfake.Usergroup{ID: "S0RELMGRS", Handle: "release-managers", Users: []string{"U0ALICE"}})
	cb, err := cloudbuildfake.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	asked, release := make(chan struct{}, 1), make(chan struct{})
	dl := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked <- struct{}{}
		<-release // dl.k8s.io is slow today
		fmt.Fprintln(w, "v1.31.3-rc.0.12+8f0c0a4d")
	}))
	defer dl.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	dir := t.TempDir()
	stage, rel, err := cloudbuildfake.WriteConfigs(dir)
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "cutbot.db")
	p := startBinary(t, map[string]string{
		"CUTBOT_HTTP_ADDR": "127.0.0.1:0", "SLACK_APP_TOKEN": fake.Options().AppToken, "SLACK_BOT_TOKEN": fake.Options().BotToken, "SLACK_API_URL": fake.APIURL(),
		"CUTBOT_DB": db, "CUTBOT_CHANNEL": "C0RELMGMT", "CUTBOT_MANAGERS_GROUP": "S0RELMGRS",
		"CUTBOT_CLOUDBUILD_ENDPOINT": cb.Addr(), "CUTBOT_STAGE_BUILD_CONFIG": stage, "CUTBOT_RELEASE_BUILD_CONFIG": rel,
		"CUTBOT_CI_VERSION_URL": dl.URL + "/ci/",
	}, "run")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	send := func(text string) string {
		id, err := fake.SendSlashCommand(ctx, slackfake.SlashCommand{UserID: "U0ALICE", ChannelID: "C0RELMGMT", Text: text})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	replied := func(id string) bool { _, ok := fake.RepliedAt(id); return ok }
	first := send("cut v1.31.3")
	if err := fake.WaitFor(ctx, func() bool { return replied(first) }); err != nil {
		t.Fatalf("cut not answered:\n%s", p.logs.String())
	}
	next := send("next v1.31.3")
	select {
	case <-asked:
	case <-ctx.Done():
		t.Fatalf("the command never asked for the CI version:\n%s", p.logs.String())
	}
	if err := p.cmd.Process.Signal(sigterm); err != nil {
		t.Fatal(err)
	}
	p.waitLog(ctx, "stopping: finishing the work in progress")
	if replied(next) || len(cb.Builds()) != 0 {
		t.Fatal("the command went on before CIVersion answered")
	}
	close(release)
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("cutbot exited with %v:\n%s", err, p.logs.String())
		}
	case <-ctx.Done():
		t.Fatalf("cutbot did not stop:\n%s", p.logs.String())
	}
	if !replied(next) {
		t.Error("cutbot exited without answering the command it had taken")
	}
	builds := cb.Builds()
	if len(builds) != 1 {
		t.Fatalf("%d builds created, want the command's one", len(builds))
	}
	st, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatalf("the store was not closed cleanly: %v", err)
	}
	defer st.Close()
	c, err := st.ActiveCut(ctx, cutbot.MustParseVersion("v1.31.3"))
	if err != nil {
		t.Fatal(err)
	}
	if a := c.Stage(cutbot.MockStage).Current(); a == nil || a.BuildID != builds[0].Id || a.Status != cutbot.StatusRunning {
		t.Errorf("stored attempt %+v, want build %s running", a, builds[0].Id)
	}
	if !strings.Contains(p.logs.String(), "stopped: nothing left in progress") {
		t.Errorf("no clean stop:\n%s", p.logs.String())
	}
}
