package bot

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/handlers"
	"sigs.k8s.io/cutbot/integrations/slackfake"
)

// longText is random text of up to n characters, with what Slack escapes and multi-byte
// characters, as a person might paste it.
func longText(r *rand.Rand, n int) string {
	const alphabet = "abcdefghij KLMNOP <>&\"*_`~ ✅é漢"
	runes := []rune(alphabet)
	var b strings.Builder
	for range r.IntN(n) + 1 {
		b.WriteRune(runes[r.IntN(len(runes))])
	}
	return b.String()
}

// checkLimits fails the test if Slack would refuse the message: its blocks (as Slack checks
// them, with the fake's checker) or its text.
func checkLimits(t *testing.T, what, text string, blocks []slack.Block) {
	t.Helper()
	raw, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatal(err)
	}
	for _, p := range slackfake.CheckBlocks(list, slackfake.MaxMessageBlocks) {
		t.Errorf("%s: Slack would refuse it: %s", what, p)
	}
	if utf8.RuneCountInString(text) > slackfake.MaxMessageText {
		t.Errorf("%s: text of %d characters", what, utf8.RuneCountInString(text))
	}
}

// TestBlockKitLimitsHold renders every kind of message with random long inputs (reasons,
// errors, titles, many cuts, many PRs, many reminders) and checks each stays within Slack's
// limits. The seed is fixed, so a failure repeats.
func TestBlockKitLimitsHold(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	for round := range 10 {
		long := func() string { return longText(r, 6000) }
		c := fixtureCut(t, "v1.31.3", round%2 == 0)
		v := view{Now: t0.Add(time.Hour), Builds: true, ManagersGroup: groupID}
		events := []cutbot.Event{
			cutbot.GatesChecked{Gates: cutbot.Gates{By: alice, Checks: []cutbot.GateCheck{{Name: "testgrid", Detail: long(), Failing: []string{long(), long()}}}}},
			cutbot.RequestConfirmation{ID: "c1", Stage: cutbot.NoMockStage, By: alice, Force: long(), BuildVersion: long(), Target: long()},
			cutbot.NeedsAttention{Detail: long()},
			cutbot.Noted{By: alice, Action: "freeze.started", Detail: long()},
		}
		if round%2 == 1 {
			events = append([]cutbot.Event{cutbot.StartStage{Stage: cutbot.MockStage, By: alice, BuildVersion: long(), Force: long()},
				cutbot.BuildSubmitted{Stage: cutbot.MockStage, Attempt: 1, BuildID: "b1", LogURL: "https://log/b1"},
				cutbot.StageFailed{Stage: cutbot.MockStage, Attempt: 1, Reason: long()}}, events...)
			events = append(events, cutbot.Abort{By: alice, Reason: long()})
		}
		for _, e := range events {
			c.Apply(e, t0) // some are refused in some rounds; what applies is rendered
		}
		keys := []string{cutbot.MessageThread, cutbot.MessagePlan, "confirm:c1", cutbot.MessageLive, cutbot.StageMessageKey(cutbot.MockStage, 1)}
		for i := range c.Audit {
			keys = append(keys, cutbot.AuditMessageKey(i+1))
		}
		for _, key := range keys {
			text, blocks, err := v.CutMessage(c, key)
			if err != nil {
				continue
			}
			checkLimits(t, fmt.Sprintf("round %d %s", round, key), text, blocks)
		}

		var cuts []*cutbot.Cut
		for i := range r.IntN(400) + 1 {
			x := fixtureCut(t, fmt.Sprintf("v1.%d.%d", 20+i/50, i%50), false)
			x.Attention = long()
			cuts = append(cuts, x)
		}
		f := fixtureFreeze(cutbot.FreezePreviewed)
		f.Reason = long()
		for i := range r.IntN(300) {
			f.PRs = append(f.PRs, cutbot.FreezePR{Number: 100000 + i, Title: long(), URL: "https://github.com/kubernetes/kubernetes/pull/1", Reasons: []string{long()}})
		}
		var reminders []cutbot.Reminder
		for i := range r.IntN(300) {
			reminders = append(reminders, cutbot.Reminder{ID: fmt.Sprintf("cycle-%d", i), Kind: cutbot.CycleMilestone, Day: cutbot.DayOf(t0), At: t0, Items: []string{long()}, Cycle: long()})
		}
		var milestones []cutbot.Milestone
		for i := range r.IntN(500) {
			milestones = append(milestones, cutbot.Milestone{Kind: cutbot.CycleMilestone, Day: cutbot.DayOf(t0.AddDate(0, 0, i)), What: long(), Cycle: long()})
		}
		spec, _ := cutbot.NewCutSpec(cutbot.MustParseVersion("v1.31.3"), "", "", false)
		var actions []string
		for range r.IntN(80) {
			actions = append(actions, long())
		}
		for name, rep := range map[string]handlers.Reply{
			"error":     handlers.ErrorReply{Message: long(), Cut: c, Usage: handlers.Lookup("cut")},
			"refused":   handlers.RefusedReply{Command: handlers.Lookup("cut"), Who: long()},
			"help":      handlers.HelpReply{Commands: handlers.Commands},
			"status":    handlers.StatusReply{Cuts: cuts},
			"cut":       handlers.CutReply{Cut: c, Headline: long()},
			"dry-run":   handlers.PlanReply{Spec: spec, Existing: c, Actions: actions},
			"freeze":    handlers.FreezeReply{Freeze: f, Confirm: true},
			"reminders": handlers.RemindersReply{Next: reminders, Muted: reminders, Location: time.UTC, Headline: long()},
			"schedule":  handlers.ScheduleReply{From: cutbot.DayOf(t0), To: cutbot.DayOf(t0).AddDays(500), Milestones: milestones, Location: time.UTC, Loaded: t0},
		} {
			text, blocks := Reply(rep)
			checkLimits(t, fmt.Sprintf("round %d reply %s", round, name), text, blocks)
		}
		text := v.Reminder(cutbot.Due{Reminder: cutbot.Reminder{Kind: cutbot.CycleMilestone, Items: []string{long(), long()}, Cycle: long()}})
		checkLimits(t, "reminder", text, []slack.Block{section(text)})
	}
}

// TestStatusPointsPastWhatFits: a status of 400 cuts says how to see the rest.
func TestStatusPointsPastWhatFits(t *testing.T) {
	var cuts []*cutbot.Cut
	for i := range 400 {
		c := fixtureCut(t, fmt.Sprintf("v1.%d.%d", 20+i/50, i%50), false)
		c.Attention = strings.Repeat("a long story ", 30)
		cuts = append(cuts, c)
	}
	_, blocks := Reply(handlers.StatusReply{Cuts: cuts})
	raw, _ := json.Marshal(blocks[len(blocks)-1])
	if len(blocks) != 50 || !strings.Contains(string(raw), "`/release status VERSION` shows any one cut.") {
		t.Errorf("%d blocks, last %s", len(blocks), raw)
	}
}
