package handlers

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/integrations/githubfake"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.MkdirAll("testdata", 0o755)
		os.WriteFile(path, []byte(got), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./handlers -run TestIssue -update creates it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

var t0 = time.Date(2026, 11, 10, 17, 0, 0, 0, time.UTC)

func TestParseIssueTemplate(t *testing.T) {
	tmpl, err := ParseIssueTemplate(githubfake.CutReleaseTemplate)
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.Title != "Cut v1.x.y-{alpha,beta,rc}.z release" || strings.Join(tmpl.Labels, ",") != "sig/release,area/release-eng" {
		t.Errorf("template = %q %q", tmpl.Title, tmpl.Labels)
	}
	if _, err := ParseIssueTemplate("no front matter"); err == nil {
		t.Error("accepted a template without front matter")
	}
	if IssueTitle(cutbot.MustParseVersion("v1.31.3")) != "Cut v1.31.3 release" {
		t.Error("title")
	}
}

func TestIssueBody(t *testing.T) {
	tmpl, _ := ParseIssueTemplate(githubfake.CutReleaseTemplate)
	spec, _ := cutbot.NewCutSpec(cutbot.MustParseVersion("v1.31.3"), "", "", false)
	c, _ := cutbot.NewCut(spec, "C0RELMGMT", "U0ALICE", t0)
	c.ID = "00000001"
	at := t0
	apply := func(events ...cutbot.Event) {
		t.Helper()
		for _, e := range events {
			at = at.Add(7 * time.Minute)
			if _, err := c.Apply(e, at); err != nil {
				t.Fatal(err)
			}
		}
	}
	apply(cutbot.MessagePosted{Key: cutbot.MessageThread, Ref: cutbot.MessageRef{Channel: "C0RELMGMT", TS: "1.1", Permalink: "https://kubernetes.slack.com/archives/C0RELMGMT/p1762794000000001"}})
	body := NewIssueBody(tmpl, c)
	golden(t, "issue-new.md", body)
	if !strings.Contains(body, cutbot.IssueMarker("00000001")) || !strings.Contains(body, "## Scheduled to happen: Tue, 2026-11-10") {
		t.Error("marker or schedule missing")
	}

	// A person adds a blocking issue and an action item: cutbot's updates keep them.
	human := strings.Replace(body, "## Action Items\n", "## Action Items\n\n- [ ] Fix the flaky kube-proxy test (added by a person)\n", 1)
	human = strings.Replace(human, "## Release Blocking Issues\n", "## Release Blocking Issues\n\n- [x] kubernetes/kubernetes#128000 merged\n", 1)

	const bv = "v1.31.3-rc.0.12+8f0c0a4d"
	apply(
		cutbot.StartStage{Stage: cutbot.MockStage, By: "U0ALICE", BuildVersion: bv},
		cutbot.BuildSubmitted{Stage: cutbot.MockStage, Attempt: 1, BuildID: "b1", LogURL: "https://console.cloud.google.com/cloud-build/builds;region=us-central1/b1?project=k8s-release"},
		cutbot.StageFailed{Stage: cutbot.MockStage, Attempt: 1, Reason: "failed at staging"},
		cutbot.StartStage{Stage: cutbot.MockStage, By: "U0ALICE", BuildVersion: bv},
		cutbot.BuildSubmitted{Stage: cutbot.MockStage, Attempt: 2, BuildID: "b2", LogURL: "https://log/b2"},
		cutbot.StageSucceeded{Stage: cutbot.MockStage, Attempt: 2},
		cutbot.StartStage{Stage: cutbot.MockRelease, By: "U0BOB", BuildVersion: bv},
		cutbot.BuildSubmitted{Stage: cutbot.MockRelease, Attempt: 1, BuildID: "b3", LogURL: "https://log/b3"},
		cutbot.StageSucceeded{Stage: cutbot.MockRelease, Attempt: 1},
		cutbot.GatesChecked{Gates: cutbot.Gates{Checks: []cutbot.GateCheck{
			{Name: "publishing-bot", OK: true, Detail: "kubernetes/kubernetes#56876 is closed"},
			{Name: "testgrid", OK: true, Detail: "sig-release-1.31-blocking: 3 jobs, none failing"}}}},
		cutbot.RequestConfirmation{ID: "c1", Stage: cutbot.NoMockStage, By: "U0ALICE", BuildVersion: bv},
		cutbot.StartStage{Stage: cutbot.NoMockStage, By: "U0ALICE", Confirmation: "c1"},
		cutbot.BuildSubmitted{Stage: cutbot.NoMockStage, Attempt: 1, BuildID: "b4", LogURL: "https://log/b4"},
	)
	updated := UpdateIssueBody(human, tmpl, c)
	golden(t, "issue-updated.md", updated)
	for _, keep := range []string{"- [ ] Fix the flaky kube-proxy test (added by a person)", "- [x] kubernetes/kubernetes#128000 merged"} {
		if !strings.Contains(updated, keep) {
			t.Errorf("an update lost a person's line %q", keep)
		}
	}
	for _, want := range []string{
		"- [x] Create a thread on #release-management: https://kubernetes.slack.com/archives/C0RELMGMT/p1762794000000001",
		"- [x] Screenshot unhealthy release branch testgrid boards — sig-release-1.31-blocking: 3 jobs, none failing",
		"  - [x] Stage\n  - [x] Release\n",
		"| Mock stage | `krel stage --type official --branch release-1.31` | [logs](https://console.cloud.google.com/cloud-build/builds;region=us-central1/b1?project=k8s-release) | 2026-11-10 17:14 UTC | 14m 0s | no |",
		"| Mock stage (attempt 2) |",
		"| Mock release | `krel release --type official --branch release-1.31 --build-version v1.31.3-rc.0.12+8f0c0a4d` |",
		"| Stage | `krel stage --type official --branch release-1.31 --nomock` | [logs](https://log/b4) | 2026-11-10 18:31 UTC |  | running |",
	} {
		if !strings.Contains(updated, want) {
			t.Errorf("updated body lacks %q", want)
		}
	}
	if again := UpdateIssueBody(updated, tmpl, c); again != updated {
		t.Error("a second update with nothing new changed the body")
	}
	apply(cutbot.StageSucceeded{Stage: cutbot.NoMockStage, Attempt: 1}, cutbot.StartStage{Stage: cutbot.ImagePromotion},
		cutbot.PromotionPRFound{Attempt: 1, Ref: "kubernetes/k8s.io#9340", URL: "https://github.com/kubernetes/k8s.io/pull/9340"})
	if got := UpdateIssueBody(updated, tmpl, c); !strings.Contains(got, "  - [ ] Image Promotion PR: https://github.com/kubernetes/k8s.io/pull/9340") || !strings.Contains(got, "  - [x] Stage\n  - [ ] Image") {
		t.Errorf("the PR link and the no-mock stage tick are missing:\n%s", got)
	}

	// An existing issue a release manager linked: cutbot's parts are appended, the rest kept.
	linked := "## Scheduled to happen: Tue, 2026-11-10\n\nWritten by a person.\n"
	got := UpdateIssueBody(linked, tmpl, c)
	if !strings.HasPrefix(got, linked) || !strings.Contains(got, "## Release Steps (kept by cutbot)") || !strings.Contains(got, historyBegin) {
		t.Errorf("linked issue body:\n%s", got)
	}
}
