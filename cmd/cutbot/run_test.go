package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/integrations/cloudbuildfake"
	"sigs.k8s.io/cutbot/integrations/githubfake"
	"sigs.k8s.io/cutbot/integrations/prow"
	"sigs.k8s.io/cutbot/integrations/slackfake"
	"sigs.k8s.io/cutbot/integrations/testgrid"
)

// runWorld is every outside system `cutbot run` talks to, faked on loopback, and the
// environment that points the binary at them: the settings README.md documents, nothing else.
type runWorld struct {
	slack    *slackfake.Server
	gh       *githubfake.Server
	cb       *cloudbuildfake.Server
	testgrid *testgrid.Fake
	vars     map[string]string
}

const runGitHubToken = "ghp_runtestTOKENnotreal0000000000"

func newRunWorld(t *testing.T, schedule string) *runWorld {
	t.Helper()
	w := &runWorld{slack: slackfake.New(slackfake.Options{}), gh: githubfake.New(runGitHubToken, "cutbot-test[bot]", nil), testgrid: testgrid.NewFake()}
	t.Cleanup(w.slack.Close)
	t.Cleanup(w.gh.Close)
	t.Cleanup(w.testgrid.Close)
	var err error
	if w.cb, err = cloudbuildfake.New(nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.cb.Close)
	pr := prow.NewFake()
	t.Cleanup(pr.Close)
	dl := httptest.NewServer(&ciVersions{n: map[string]int{}})
	t.Cleanup(dl.Close)

	w.slack.AddUser(slackfake.User{ID: "U0ALICE", Name: "alice"})
	w.slack.AddChannel("C0RELMGMT", "release-management", w.slack.Options().BotUserID, "U0ALICE")
	w.slack.AddUsergroup(slackfake.Usergroup{ID: "S0RELMGRS", Handle: "release-managers", Users: []string{"U0ALICE"}})
	w.gh.SetFile("kubernetes/website", "data/releases/schedule.yaml", schedule)
	w.gh.SetFile("kubernetes/sig-release", ".github/ISSUE_TEMPLATE/cut-release.md", githubfake.CutReleaseTemplate)
	w.gh.AddIssue("kubernetes/kubernetes", 56876, "publishing-bot is broken", "closed", "k8s-publishing-bot")
	w.gh.SeedReleases("kubernetes/kubernetes", "v1.31.3")
	w.testgrid.Set("sig-release-1.31-blocking", map[string]string{"build-1.31": "PASSING", "ci-kubernetes-unit-1.31": "FAILING"})

	dir := t.TempDir()
	stage, release, err := cloudbuildfake.WriteConfigs(dir)
	if err != nil {
		t.Fatal(err)
	}
	w.vars = map[string]string{
		"CUTBOT_HTTP_ADDR": "127.0.0.1:0", "SLACK_APP_TOKEN": w.slack.Options().AppToken, "SLACK_BOT_TOKEN": w.slack.Options().BotToken, "SLACK_API_URL": w.slack.APIURL(),
		"CUTBOT_DB": filepath.Join(dir, "cutbot.db"), "CUTBOT_CHANNEL": "C0RELMGMT", "CUTBOT_MANAGERS_GROUP": "S0RELMGRS",
		"CUTBOT_CLOUDBUILD_ENDPOINT": w.cb.Addr(), "CUTBOT_STAGE_BUILD_CONFIG": stage, "CUTBOT_RELEASE_BUILD_CONFIG": release,
		"CUTBOT_GCP_PROJECT": "k8s-release-test", "CUTBOT_CI_VERSION_URL": dl.URL + "/ci/", "CUTBOT_TOOL_REF": "v0.18.0",
		"GITHUB_TOKEN": runGitHubToken, "GITHUB_API_URL": w.gh.URL(),
		"CUTBOT_TESTGRID_URL": w.testgrid.URL(), "CUTBOT_PROW_URL": pr.URL(),
		"CUTBOT_CALENDARS":      "github:kubernetes/website/data/releases/schedule.yaml",
		"CUTBOT_REMINDER_TIME":  "00:00",
		"CUTBOT_REMINDER_LEADS": "1",
		// These tests start each stage by hand; the sandbox and TestAutopilot* play autopilot.
		"CUTBOT_AUTOPILOT": "off",
	}
	return w
}

// command sends a /release command as alice and waits for its private reply.
func (w *runWorld) command(ctx context.Context, t *testing.T, text string) string {
	t.Helper()
	before := len(w.slack.Ephemerals("U0ALICE"))
	if _, err := w.slack.SendSlashCommand(ctx, slackfake.SlashCommand{UserID: "U0ALICE", ChannelID: "C0RELMGMT", Text: text}); err != nil {
		t.Fatal(err)
	}
	if err := w.slack.WaitFor(ctx, func() bool { return len(w.slack.Ephemerals("U0ALICE")) > before }); err != nil {
		t.Fatalf("/release %s was not answered", text)
	}
	return w.slack.Text(w.slack.Ephemerals("U0ALICE")[before])
}

// reminders are the channel's messages that are reminders of the cherry-pick deadline.
func (w *runWorld) reminders() []string {
	var out []string
	for _, m := range w.slack.Messages("C0RELMGMT") {
		if text := w.slack.Text(m); strings.Contains(text, ":cherries: The cherry-pick deadline for v1.31.4") {
			out = append(out, text)
		}
	}
	return out
}

// scheduleAround is a schedule.yaml, as schedule-builder writes it into kubernetes/website,
// whose next 1.31 patch has its cherry-pick deadline tomorrow.
func scheduleAround(now time.Time) string {
	today := cutbot.DayOf(now.UTC())
	return fmt.Sprintf(`schedules:
- release: "1.31"
  maintenanceModeStartDate: "%s"
  endOfLifeDate: "%s"
  next: {release: 1.31.4, cherryPickDeadline: "%s", targetDate: "%s"}
`, today.AddDays(200), today.AddDays(260), today.AddDays(1), today.AddDays(5))
}

// TestRunFromDocumentedSettings runs the built binary configured only through the settings
// README.md documents, each pointing at a fake on loopback, and checks that each feature
// the sandbox shows works there too: the release calendar from GitHub's contents API and its
// reminder (posted once, across a restart), the cut issue, a stage on Cloud Build with its
// CI build version and tool ref, and the testgrid gate.
func TestRunFromDocumentedSettings(t *testing.T) {
	w := newRunWorld(t, scheduleAround(time.Now()))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	cc := exec.Command(cutbotBinary(t), "check-config")
	cc.Env = environ(w.vars)
	out, err := cc.CombinedOutput()
	if err != nil {
		t.Fatalf("check-config: %v\n%s", err, out)
	}
	mustHave(t, "check-config", string(out),
		"reminders              from github:kubernetes/website/data/releases/schedule.yaml at 00:00 UTC, 1 day before",
		"builds                 projects/k8s-release-test/locations/us-central1 via "+w.cb.Addr(),
		"GitHub                 "+w.gh.URL())
	if strings.Contains(string(out), runGitHubToken) {
		t.Errorf("check-config printed the GitHub token:\n%s", out)
	}

	p := startBinary(t, w.vars, "run")
	if err := w.slack.WaitFor(ctx, func() bool { return len(w.reminders()) > 0 }); err != nil {
		t.Fatalf("no cherry-pick deadline reminder was posted:\n%s", p.logs.String())
	}
	mustHave(t, "reminder", w.reminders()[0], "is tomorrow (")
	if len(w.gh.Requests("GET /repos/kubernetes/website/contents/data/releases/schedule.yaml")) == 0 {
		t.Error("schedule.yaml was not read through the contents API")
	}

	reply := w.command(ctx, t, "cut v1.31.4")
	mustHave(t, "cut reply", reply, "v1.31.4")
	if err := w.slack.WaitFor(ctx, func() bool { return len(w.gh.IssueNumbers("kubernetes/sig-release")) == 1 }); err != nil {
		t.Fatalf("no cut issue was opened in kubernetes/sig-release:\n%s", p.logs.String())
	}
	if title, _, _, _, _ := w.gh.Issue("kubernetes/sig-release", w.gh.IssueNumbers("kubernetes/sig-release")[0]); title != "Cut v1.31.4 release" {
		t.Errorf("cut issue %q", title)
	}

	w.command(ctx, t, "next v1.31.4")
	if err := w.cb.WaitFor(ctx, func() bool { return len(w.cb.Builds()) == 1 }); err != nil {
		t.Fatalf("no build was created on Cloud Build:\n%s", p.logs.String())
	}
	b := w.cb.Builds()[0]
	if !strings.HasPrefix(b.Substitutions["_BUILDVERSION"], "v1.31.0-rc.0.") || b.Substitutions["_TOOL_REF"] != "v0.18.0" || b.ProjectId != "k8s-release-test" {
		t.Errorf("build: project %s, substitutions %v", b.ProjectId, b.Substitutions)
	}

	gates := w.command(ctx, t, "gates v1.31.4")
	mustHave(t, "gates reply", gates, "ci-kubernetes-unit-1.31")
	p.stop(30 * time.Second)
	logs := p.logs.String()

	// Restarted on the same database, the reminder is not posted again.
	p = startBinary(t, w.vars, "run")
	p.waitLog(ctx, "connected to slack")
	p.stop(30 * time.Second)
	if n := len(w.reminders()); n != 1 {
		t.Errorf("the reminder was posted %d times, want once:\n%s", n, strings.Join(w.reminders(), "\n---\n"))
	}
	if strings.Contains(logs+p.logs.String(), runGitHubToken) {
		t.Error("the logs hold the GitHub token")
	}
}

func mustHave(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}
