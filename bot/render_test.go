package bot

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
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
		if err := c.Apply(e, t0.Add(time.Duration(i+1)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func TestRenderCutMessages(t *testing.T) {
	fresh := fixtureCut(t, "v1.31.3", false)
	running := apply(t, fixtureCut(t, "v1.32.0-rc.0", false),
		cutbot.StartStage{Stage: cutbot.MockStage, By: alice},
		cutbot.BuildSubmitted{Stage: cutbot.MockStage, Attempt: 1, BuildID: "8c9f5d0e", LogURL: "https://console.cloud.google.com/cloud-build/builds;region=us-central1/8c9f5d0e?project=k8s-release"},
		cutbot.StageFailed{Stage: cutbot.MockStage, Attempt: 1, Reason: "Step #4: osc checkout failed"},
		cutbot.StartStage{Stage: cutbot.MockStage, By: bob},
		cutbot.BuildSubmitted{Stage: cutbot.MockStage, Attempt: 2, BuildID: "9d0a6e1f", LogURL: "https://console.cloud.google.com/cloud-build/builds;region=us-central1/9d0a6e1f?project=k8s-release"},
		cutbot.StageProgressed{Stage: cutbot.MockStage, Attempt: 2, Step: "compiling"},
	)
	aborted := apply(t, fixtureCut(t, "v1.30.7", true), cutbot.Abort{By: bob, Reason: "kube-proxy regression <see #128000>"})

	for name, c := range map[string]*cutbot.Cut{"fresh-patch": fresh, "running-rc0": running, "aborted-no-mock": aborted} {
		t.Run(name, func(t *testing.T) {
			text, blocks := ThreadParent(c)
			golden(t, "thread-"+name, text, blocks)
			text, blocks = Plan(c)
			golden(t, "plan-"+name, text, blocks)
		})
	}
	text, blocks := AuditNote(aborted, len(aborted.Audit))
	golden(t, "note-abort", text, blocks)
	if want := ":no_entry: <@U0BOB> aborted the cut of v1.30.7: kube-proxy regression &lt;see #128000&gt;"; text != want {
		t.Errorf("abort note text = %q, want %q (user text escaped)", text, want)
	}
	if text, _ := ThreadParent(fresh); text != ":thread: Release Cut v1.31.3 (GH Issue: not linked yet)" {
		t.Errorf("thread text = %q", text)
	}
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
	} {
		t.Run(name, func(t *testing.T) {
			text, blocks := Reply(r)
			golden(t, "reply-"+name, text, blocks)
		})
	}
}
