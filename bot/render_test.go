package bot

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/handlers"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// golden compares blocks, as the JSON Block Kit Builder accepts, with testdata/golden/name.json.
func golden(t *testing.T, name, text string, blocks []slack.Block) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep <url|label> readable; the file pastes into Block Kit Builder
	enc.SetIndent("", "  ")
	if err := enc.Encode(map[string]any{"blocks": blocks}); err != nil {
		t.Fatal(err)
	}
	got := buf.Bytes()
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./bot -run TestRender -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got); rerun with -update if the change is intended:\n%s", path, diff)
	}
	if text == "" {
		t.Errorf("%s has no fallback text", name)
	}
	for _, b := range blocks {
		if sb, ok := b.(*slack.SectionBlock); ok && sb.Text != nil && len(sb.Text.Text) > 3000 {
			t.Errorf("%s: a section is %d characters; Slack allows 3000", name, len(sb.Text.Text))
		}
	}
	if len(blocks) > 50 {
		t.Errorf("%s has %d blocks; Slack allows 50", name, len(blocks))
	}
}

func fixtureCut(t *testing.T, version string, noMock bool) *cutbot.Cut {
	t.Helper()
	spec, err := cutbot.NewCutSpec(cutbot.MustParseVersion(version), "", "", noMock)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cutbot.NewCut(spec, channelID, alice, t0)
	if err != nil {
		t.Fatal(err)
	}
	c.ID = "00000007"
	c.Messages[cutbot.MessageThread] = cutbot.MessageRef{Channel: channelID, TS: "1762794000.000001", Permalink: "https://kubernetes.slack.com/archives/C0RELMGMT/p1762794000000001"}
	return c
}

func apply(t *testing.T, c *cutbot.Cut, events ...cutbot.Event) *cutbot.Cut {
	t.Helper()
	for i, e := range events {
		if _, err := c.Apply(e, t0.Add(time.Duration(i+1)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func TestRenderCutMessages(t *testing.T) {
	fresh := fixtureCut(t, "v1.31.3", false)
	running := apply(t, fixtureCut(t, "v1.32.0-rc.0", false),
		cutbot.StartStage{Stage: cutbot.MockStage, By: alice, BuildVersion: "v1.32.0-beta.2.41+77de3a4"},
		cutbot.BuildSubmitted{Stage: cutbot.MockStage, Attempt: 1, BuildID: "8c9f5d0e", LogURL: "https://console.cloud.google.com/cloud-build/builds;region=us-central1/8c9f5d0e?project=k8s-release"},
		cutbot.StageFailed{Stage: cutbot.MockStage, Attempt: 1, Reason: "Step #4: osc checkout failed"},
		cutbot.StartStage{Stage: cutbot.MockStage, By: bob, BuildVersion: "v1.32.0-beta.2.41+77de3a4"},
		cutbot.BuildSubmitted{Stage: cutbot.MockStage, Attempt: 2, BuildID: "9d0a6e1f", LogURL: "https://console.cloud.google.com/cloud-build/builds;region=us-central1/9d0a6e1f?project=k8s-release"},
		cutbot.StageProgressed{Stage: cutbot.MockStage, Attempt: 2, Step: "compiling"},
	)
	aborted := apply(t, fixtureCut(t, "v1.30.7", true), cutbot.Abort{By: bob, Reason: "kube-proxy regression <see #128000>"})

	v := view{Now: t0.Add(2 * time.Hour), Builds: true}
	for name, c := range map[string]*cutbot.Cut{"fresh-patch": fresh, "running-rc0": running, "aborted-no-mock": aborted} {
		t.Run(name, func(t *testing.T) {
			text, blocks := v.ThreadParent(c)
			golden(t, "thread-"+name, text, blocks)
			text, blocks = v.Plan(c)
			golden(t, "plan-"+name, text, blocks)
		})
	}
	text, blocks := v.AuditNote(aborted, len(aborted.Audit))
	golden(t, "note-abort", text, blocks)
	if want := ":no_entry: <@U0BOB> aborted the cut of v1.30.7: kube-proxy regression &lt;see #128000&gt;"; text != want {
		t.Errorf("abort note text = %q, want %q (user text escaped)", text, want)
	}
	if text, _ := v.ThreadParent(fresh); text != ":thread: Release Cut v1.31.3 (GH Issue: not linked yet)" {
		t.Errorf("thread text = %q", text)
	}
}

const bv = "v1.31.3-rc.0.12+8f0c0a4d"

func TestRenderStageLines(t *testing.T) {
	v := view{Now: t0.Add(3 * time.Hour), Builds: true}
	c := apply(t, fixtureCut(t, "v1.31.3", false),
		cutbot.StartStage{Stage: cutbot.MockStage, By: alice, BuildVersion: bv},
		cutbot.BuildSubmitted{Stage: cutbot.MockStage, Attempt: 1, BuildID: "b1", LogURL: "https://console.cloud.google.com/cloud-build/builds;region=us-central1/b1?project=k8s-release"},
		cutbot.StageProgressed{Stage: cutbot.MockStage, Attempt: 1, Step: "compiling"},
	)
	text, blocks := v.StageLine(c, cutbot.MockStage, 1)
	golden(t, "stage-running", text, blocks)
	if want := ":hourglass_flowing_sand: Mock Stage (<https://console.cloud.google.com/cloud-build/builds;region=us-central1/b1?project=k8s-release|logs>)\nCurrent status: compiling"; text != want {
		t.Errorf("running line = %q", text)
	}
	apply(t, c, cutbot.StageFailed{Stage: cutbot.MockStage, Attempt: 1, Reason: `failed at staging: Build step 2 "staging" failed`})
	text, blocks = v.StageLine(c, cutbot.MockStage, 1)
	golden(t, "stage-failed", text, blocks)
	apply(t, c, cutbot.StartStage{Stage: cutbot.MockStage, By: bob, BuildVersion: bv},
		cutbot.BuildSubmitted{Stage: cutbot.MockStage, Attempt: 2, BuildID: "b2", LogURL: "https://log/b2"},
		cutbot.StageSucceeded{Stage: cutbot.MockStage, Attempt: 2})
	text, blocks = v.StageLine(c, cutbot.MockStage, 2)
	golden(t, "stage-succeeded", text, blocks)
	if want := "-> :white_check_mark: (2m 0s)"; !strings.HasSuffix(text, want) {
		t.Errorf("succeeded line = %q, want it to end %q", text, want)
	}
	// The failed first attempt keeps its line and link, without a Retry button now.
	_, blocks = v.StageLine(c, cutbot.MockStage, 1)
	if len(blocks) != 2 {
		t.Errorf("old attempt still has %d blocks (a Retry button?)", len(blocks))
	}
	apply(t, c, cutbot.StartStage{Stage: cutbot.MockRelease, By: alice, BuildVersion: bv, Force: "checked by hand"})
	text, blocks = v.StageLine(c, cutbot.MockRelease, 1)
	golden(t, "stage-submitting-forced", text, blocks)

	// The confirmation of the no-mock stage, pending and then confirmed.
	apply(t, c, cutbot.BuildSubmitted{Stage: cutbot.MockRelease, Attempt: 1, BuildID: "b3"}, cutbot.StageSucceeded{Stage: cutbot.MockRelease, Attempt: 1},
		cutbot.GatesChecked{Gates: cutbot.Gates{By: alice, Checks: []cutbot.GateCheck{
			{Name: "publishing-bot", OK: true, Detail: "kubernetes/kubernetes#56876 is closed", URL: "https://github.com/kubernetes/kubernetes/issues/56876"},
			{Name: "testgrid", OK: true, Detail: "sig-release-1.31-blocking: 24 jobs, none failing", URL: "https://testgrid.k8s.io/sig-release-1.31-blocking"}}}},
		cutbot.RequestConfirmation{ID: "c0ffee", Stage: cutbot.NoMockStage, By: alice, BuildVersion: bv, Target: "k8s-release (us-central1)"})
	text, blocks = v.Confirmation(c, "c0ffee")
	golden(t, "confirm-pending", text, blocks)
	text, blocks = v.ThreadParent(c)
	golden(t, "thread-waiting-for-confirmation", text, blocks)
	apply(t, c, cutbot.StartStage{Stage: cutbot.NoMockStage, By: alice, Confirmation: "c0ffee"})
	text, blocks = v.Confirmation(c, "c0ffee")
	golden(t, "confirm-confirmed", text, blocks)
	apply(t, c, cutbot.StageWarned{Stage: cutbot.NoMockStage, Attempt: 1, Kind: "queued", Detail: "has been queued for 25m0s"})
	text, blocks = v.AuditNote(c, len(c.Audit))
	golden(t, "note-warning", text, blocks)
}

func TestRenderReplies(t *testing.T) {
	c := fixtureCut(t, "v1.31.3", false)
	other := fixtureCut(t, "v1.30.7", false)
	spec := c.Spec
	for name, r := range map[string]handlers.Reply{
		"help":             handlers.HelpReply{Commands: handlers.Commands},
		"help-cut":         handlers.HelpReply{Commands: handlers.Commands, Detail: handlers.Lookup("cut")},
		"status-empty":     handlers.StatusReply{},
		"status-two":       handlers.StatusReply{Cuts: []*cutbot.Cut{c, other}},
		"cut-opened":       handlers.CutReply{Cut: c, Headline: "Opened the cut."},
		"refused":          handlers.RefusedReply{Command: handlers.Lookup("cut"), Who: "@release-managers"},
		"error-usage":      handlers.ErrorReply{Message: `Unknown flag "--force" for ` + "`cut`.", Usage: handlers.Lookup("cut")},
		"error-conflict":   handlers.ErrorReply{Message: "v1.31.3 already has an active cut, opened by <@U0ALICE>.", Cut: c},
		"dry-run":          handlers.PlanReply{Spec: spec, Actions: []string{"record the cut", "post the thread", "post the plan"}},
		"dry-run-conflict": handlers.PlanReply{Spec: spec, Existing: c, Actions: []string{"record the cut"}},
		"freeze-dry-run":   handlers.FreezeReply{Freeze: fixtureFreeze(cutbot.FreezePreviewed), DryRun: true},
		"freeze-preview":   handlers.FreezeReply{Freeze: fixtureFreeze(cutbot.FreezePreviewed), Confirm: true},
		"freeze-frozen":    handlers.FreezeReply{Freeze: fixtureFreeze(cutbot.FreezeFrozen)},
		"freeze-thawed":    handlers.FreezeReply{Freeze: fixtureFreeze(cutbot.FreezeThawed)},
	} {
		t.Run(name, func(t *testing.T) {
			text, blocks := Reply(r)
			golden(t, "reply-"+name, text, blocks)
		})
	}
}

// fixtureFreeze is a freeze of release-1.31 over four PRs, at the given state.
func fixtureFreeze(state cutbot.FreezeState) *cutbot.Freeze {
	done := cutbot.SideEffect{Intent: true, Done: t0}
	pr := func(n int, title string, reasons ...string) cutbot.FreezePR {
		return cutbot.FreezePR{Number: n, Title: title, URL: fmt.Sprintf("https://github.com/kubernetes/kubernetes/pull/%d", n), Reasons: reasons}
	}
	f := &cutbot.Freeze{ID: "f00000001", Repo: "kubernetes/kubernetes", Branch: "release-1.31", Label: "cherry-pick-approved", Reason: "v1.31.4 cut", By: alice, At: t0, State: state,
		PRs: []cutbot.FreezePR{
			pr(128001, "Automated cherry pick of #127000: kubelet: fix <probe> & restart", "needs lgtm", "on hold"),
			pr(128002, "Automated cherry pick of #127100: bump Go", "failing: pull-kubernetes-e2e-gce"),
			pr(128003, "Automated cherry pick of #127200: apiserver fix", "needs approve"),
			pr(128004, "Automated cherry pick of #127300: ready one"),
		}}
	if state == cutbot.FreezePreviewed {
		return f
	}
	f.PRs[0].Unlabel, f.PRs[0].Notice = done, done
	f.PRs[1].Unlabel, f.PRs[1].Notice = done, done
	f.PRs[2].Skipped = "ready to merge by the time of the freeze"
	if state == cutbot.FreezeThawed {
		f.PRs[0].Outcome, f.PRs[0].Relabel, f.PRs[0].Thawed = cutbot.OutcomeRelabeled, done, done
		f.PRs[1].Outcome = cutbot.OutcomeMerged
	}
	return f
}

// TestRenderLog: the timeline of a cut with a retried, forced and gated history, paged.
func TestRenderLog(t *testing.T) {
	c := fixtureCut(t, "v1.31.3", false)
	c.Messages[cutbot.StageMessageKey(cutbot.MockStage, 1)] = cutbot.MessageRef{Channel: channelID, TS: "1762794060.000002", Permalink: "https://kubernetes.slack.com/archives/C0RELMGMT/p1762794060000002?thread_ts=1762794000.000001"}
	var events []cutbot.Event
	events = append(events, cutbot.VersionChecked{By: alice, Detail: "v1.31.3 is the official krel builds next from release-1.31 (the latest is v1.31.2 in kubernetes/kubernetes)"})
	for i := 1; i <= 12; i++ { // a flaky mock stage, retried many times
		id := fmt.Sprintf("b%02d", i)
		events = append(events,
			cutbot.StartStage{Stage: cutbot.MockStage, By: []string{alice, bob}[i%2], BuildVersion: bv},
			cutbot.BuildSubmitted{Stage: cutbot.MockStage, Attempt: i, BuildID: id, LogURL: "https://console.cloud.google.com/cloud-build/builds;region=us-central1/" + id + "?project=k8s-release"})
		if i < 12 {
			events = append(events, cutbot.StageFailed{Stage: cutbot.MockStage, Attempt: i, Reason: `Build step 2 "staging" failed`})
		}
	}
	events = append(events, cutbot.StageSucceeded{Stage: cutbot.MockStage, Attempt: 12},
		cutbot.StartStage{Stage: cutbot.MockRelease, By: alice, BuildVersion: bv, Force: "checked the mock stage's artifacts by hand"},
		cutbot.StageCancelled{Stage: cutbot.MockRelease, Attempt: 1, By: bob},
		cutbot.Abort{By: bob, Reason: "cancel for <the> CVE & start again"})
	apply(t, c, events...)
	loc, _ := time.LoadLocation("America/Los_Angeles")
	all := c.Timeline()
	for page, entries := range [][]cutbot.TimelineEntry{all[:handlers.LogPageSize], all[handlers.LogPageSize:]} {
		r := handlers.LogReply{Cut: c, Entries: entries, Page: page + 1, Pages: 2, Total: len(all), Location: loc}
		text, blocks := Reply(r)
		golden(t, fmt.Sprintf("reply-log-page-%d", page+1), text, blocks)
	}
	if len(all) <= handlers.LogPageSize {
		t.Fatalf("the fixture has %d entries; it should need two pages", len(all))
	}
}
