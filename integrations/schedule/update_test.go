package schedule

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/integrations/github"
	"sigs.k8s.io/cutbot/integrations/githubfake"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestAdvanceTheRealSchedule applies v1.31.2's release (on 2024-10-15, its target date) to
// kubernetes/website's real schedule.yaml and checks the result against schedule-builder's
// rules: 1.31.2 is first among 1.31's previousPatches, with its date; next is 1.31.3 on the
// first upcoming date after it (2024-11-08 / 2024-11-12); past upcoming dates are gone; the
// other branches and the header are untouched; the diff is golden.
func TestAdvanceTheRealSchedule(t *testing.T) {
	before, err := os.ReadFile(filepath.Join("testdata", "website", "schedule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	day, _ := cutbot.ParseDay("2024-10-15")
	after, summary, changed, err := Advance(before, cutbot.MustParseVersion("v1.31.2"), day)
	if err != nil || !changed {
		t.Fatalf("advance: %v", err)
	}
	if summary != "1.31.2 came out on 2024-10-15; next for 1.31 is 1.31.3 (cherry-pick deadline 2024-11-08, target 2024-11-12)" {
		t.Errorf("summary %q", summary)
	}
	path := filepath.Join("testdata", "schedule-after-v1.31.2.golden.yaml")
	if *update {
		os.WriteFile(path, after, 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (rerun with -update)", err)
	}
	if diff := cmp.Diff(string(want), string(after)); diff != "" {
		t.Errorf("schedule.yaml after v1.31.2 (-want +got):\n%s", diff)
	}
	// The rules, checked on what cutbot reads back.
	var was, now sbFile
	mustParse(t, before, &was)
	mustParse(t, after, &now)
	b := now.Schedules[0]
	if b.Release != "1.31" || b.PreviousPatches[0].Release != "1.31.2" || b.PreviousPatches[0].TargetDate != "2024-10-15" || b.PreviousPatches[0].CherryPickDeadline != "2024-10-11" ||
		b.PreviousPatches[1].Release != "1.31.1" || len(b.PreviousPatches) != 2 {
		t.Errorf("1.31's previous patches: %+v", b.PreviousPatches)
	}
	if *b.Next != (sbPatch{Release: "1.31.3", CherryPickDeadline: "2024-11-08", TargetDate: "2024-11-12"}) {
		t.Errorf("1.31's next: %+v", *b.Next)
	}
	if len(now.UpcomingReleases) != 3 || now.UpcomingReleases[0].TargetDate != "2024-10-15" {
		t.Errorf("upcoming: %+v", now.UpcomingReleases)
	}
	for i := 1; i < len(was.Schedules); i++ {
		if diff := cmp.Diff(was.Schedules[i], now.Schedules[i]); diff != "" {
			t.Errorf("schedule %s changed:\n%s", was.Schedules[i].Release, diff)
		}
	}
	if !strings.HasPrefix(string(after), "# Use \"schedule-builder\" to maintain this file:") {
		t.Error("the header comment is lost")
	}
	// Again: nothing to do. Out of order: refused.
	if _, _, changed, err := Advance(after, cutbot.MustParseVersion("v1.31.2"), day); changed || err != nil {
		t.Errorf("a second advance: changed %v, %v", changed, err)
	}
	if _, _, _, err := Advance(before, cutbot.MustParseVersion("v1.31.4"), day); cutbot.ErrorCode(err) != cutbot.EINVALID {
		t.Errorf("advancing past the next patch: %v", err)
	}
	if _, _, _, err := Advance(before, cutbot.MustParseVersion("v1.40.1"), day); cutbot.ErrorCode(err) != cutbot.ENOTFOUND {
		t.Errorf("a branch without a schedule: %v", err)
	}
}

func mustParse(t *testing.T, data []byte, into *sbFile) {
	t.Helper()
	_, body := splitHeader(data)
	if err := yaml.UnmarshalStrict(body, into); err != nil {
		t.Fatal(err)
	}
}

// TestScheduleUpdater opens the PR against the fake GitHub through go-github: from the fork's
// branch, once, with the summary in its body; found again by its head branch.
func TestScheduleUpdater(t *testing.T) {
	gh := githubfake.New("ghp_fake", "cutbot-bot", nil)
	t.Cleanup(gh.Close)
	before, _ := os.ReadFile(filepath.Join("testdata", "website", "schedule.yaml"))
	gh.AddBranches("kubernetes/website", "main")
	gh.SetFile("kubernetes/website", DefaultSchedulePath, string(before))
	client, err := github.New(context.Background(), gh.URL(), "ghp_fake", nil)
	if err != nil {
		t.Fatal(err)
	}
	u := &Updater{GitHub: client, Repo: "kubernetes/website", Base: "main", Fork: "cutbot-bot/website", Path: DefaultSchedulePath}
	v := cutbot.MustParseVersion("v1.31.2")
	day, _ := cutbot.ParseDay("2024-10-15")
	pr, ok, err := u.Open(context.Background(), v, day)
	if err != nil || !ok {
		t.Fatalf("open: %v", err)
	}
	title, body, head, _ := gh.PullBody("kubernetes/website", pr.Number)
	if title != "Update the patch release schedule: 1.31.2 is out" || head != "cutbot-bot:cutbot-schedule-v1.31.2" || !strings.Contains(body, "next for 1.31 is 1.31.3") {
		t.Errorf("PR %q from %q:\n%s", title, head, body)
	}
	got, _ := gh.FileOn("cutbot-bot/website", "cutbot-schedule-v1.31.2", DefaultSchedulePath)
	want, _ := os.ReadFile(filepath.Join("testdata", "schedule-after-v1.31.2.golden.yaml"))
	if got != string(want) {
		t.Error("the fork's branch does not hold the golden schedule")
	}
	if found, ok, err := u.Find(context.Background(), v); !ok || err != nil || found.Number != pr.Number {
		t.Errorf("find: %v %v %v", found, ok, err)
	}
}
