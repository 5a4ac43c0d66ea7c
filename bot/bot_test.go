package bot

import (
	"context"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/cutbot"
)

func TestCutOpensThread(t *testing.T) {
	fake := workspace(t)
	r := startBot(t, fake, "")

	id := r.run(alice, "cut v1.31.3")

	ctx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	acks, err := fake.WaitAck(ctx, id, 1)
	if err != nil || len(acks) != 1 || len(acks[0].Payload) != 0 {
		t.Errorf("acks = %+v, want one empty ack", acks)
	}
	msgs := fake.Messages(channelID)
	parents := topLevel(msgs)
	if len(parents) != 1 {
		t.Fatalf("top-level messages = %d, want 1:\n%s", len(parents), fake.Transcript(channelID))
	}
	parent := parents[0]
	if parent.Text != ":thread: Release Cut v1.31.3 (GH Issue: not linked yet)" {
		t.Errorf("parent text = %q", parent.Text)
	}
	mustContain(t, "parent", fake.Text(parent), "official release from `release-1.31`", "opened by @alice", "Next: Mock Stage")
	replies := repliesTo(msgs, parent.TS)
	if len(replies) != 1 {
		t.Fatalf("replies = %d, want the plan:\n%s", len(replies), fake.Transcript(channelID))
	}
	plan := fake.Text(replies[0])
	mustContain(t, "plan", plan,
		"1. *Mock Stage* — `krel stage --type official --branch release-1.31`",
		"2. *Mock Release*", "3. *No-mock Stage*",
		"4. *Image Promotion* — `kpromo pr --tag v1.31.3",
		"5. *No-mock Release*", "6. *Announcement*",
		"schedule.yaml")
	mustContain(t, "parent's progress", fake.Text(parent), ":white_circle: Mock Stage → :white_circle: Mock Release → :white_circle: No-mock Stage")
	if strings.Index(plan, "Mock Stage") > strings.Index(plan, "No-mock Release") {
		t.Error("plan stages out of order")
	}
	mustContain(t, "reply to alice", r.lastReply(alice), "Opened the cut.", "v1.31.3", "Planned, next: Mock Stage")

	// On the wire: the bot token travels as a form field, as real Slack expects.
	for _, c := range fake.Calls("chat.postMessage", "conversations.history", "usergroups.users.list") {
		if c.TokenVia != "form" {
			t.Errorf("%s sent its token by %q, want form", c.Method, c.TokenVia)
		}
	}
	// The store knows the cut and where its messages are.
	c := activeCut(t, r.store, "v1.31.3")
	if c.Messages[cutbot.MessageThread].TS != parent.TS || c.Messages[cutbot.MessagePlan].TS != replies[0].TS {
		t.Errorf("stored messages %+v, posted parent %s plan %s", c.Messages, parent.TS, replies[0].TS)
	}
	if !strings.HasPrefix(c.Messages[cutbot.MessageThread].Permalink, "https://cutbot-sandbox.slack.com/archives/C0RELMGMT/p") {
		t.Errorf("permalink = %q", c.Messages[cutbot.MessageThread].Permalink)
	}
	if c.OpenedBy != alice || c.Audit[0].Action != "cut.opened" {
		t.Errorf("audit = %+v", c.Audit)
	}
}

func TestInferredTypesAndFlags(t *testing.T) {
	fake := workspace(t)
	r := startBot(t, fake, "")
	for _, tc := range []struct{ text, want string }{
		{"cut v1.32.0-rc.1", "rc release from `release-1.32`"},
		{"cut v1.33.0-alpha.1", "alpha release from `master`"},
		{"cut v1.32.0-beta.0", "beta release from `master`"},
		{"cut v1.32.0-beta.1 --branch release-1.32", "beta release from `release-1.32`"},
		{"cut v1.30.7 --no-mock-run", "official release from `release-1.30`, no mock run"},
	} {
		r.run(alice, tc.text)
		mustContain(t, tc.text, r.lastReply(alice), tc.want)
	}
	c := activeCut(t, r.store, "v1.30.7")
	if !c.Stage(cutbot.MockStage).Skipped || !c.Stage(cutbot.MockRelease).Skipped || c.Stage(cutbot.NoMockStage).Skipped {
		t.Errorf("--no-mock-run stages: %+v", c.Stages)
	}
	plan := fake.Text(fake.Messages(channelID)[len(fake.Messages(channelID))-1])
	mustContain(t, "no-mock plan", plan, ":fast_forward: *Mock Stage* — skipped", ":fast_forward: *Mock Release* — skipped")

	// Five cuts at once, listed oldest first.
	r.run(guest, "status")
	mustContain(t, "status", r.lastReply(guest), "Active cuts (5)", "v1.32.0-rc.1", "v1.33.0-alpha.1", "v1.30.7")
}

func TestRedeliveredEnvelopeHandledOnce(t *testing.T) {
	fake := workspace(t)
	r := startBot(t, fake, "")
	id := r.run(alice, "cut v1.31.3")

	ctx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	if err := fake.Redeliver(ctx, id); err != nil {
		t.Fatal(err)
	}
	r.waitHandled(id)
	if _, err := fake.WaitAck(ctx, id, 2); err != nil {
		t.Errorf("the redelivery was not acknowledged: %v", err)
	}
	if n := len(topLevel(fake.Messages(channelID))); n != 1 {
		t.Errorf("threads = %d after a redelivery, want 1", n)
	}
	if n := len(fake.Ephemerals(alice)); n != 1 {
		t.Errorf("replies = %d after a redelivery, want 1", n)
	}
}

func TestNonManagerIsRefused(t *testing.T) {
	fake := workspace(t)
	r := startBot(t, fake, "")
	r.run(guest, "cut v1.31.3")
	mustContain(t, "refusal", r.lastReply(guest), "Only release managers (@release-managers and @carol) may run `/release cut`")
	if msgs := fake.Messages(channelID); len(msgs) != 0 {
		t.Errorf("a refused cut posted %d messages", len(msgs))
	}
	if _, err := r.store.ActiveCut(context.Background(), cutbot.MustParseVersion("v1.31.3")); cutbot.ErrorCode(err) != cutbot.ENOTFOUND {
		t.Errorf("a refused cut was stored: %v", err)
	}
	// A configured manager who is not in the group may.
	r.run(carol, "cut v1.31.3")
	mustContain(t, "carol's cut", r.lastReply(carol), "Opened the cut.")
	// Anyone may look, and dry-run.
	r.run(guest, "cut v1.30.7 --dry-run")
	mustContain(t, "guest dry run", r.lastReply(guest), "Dry run of /release cut v1.30.7: nothing was changed.")
	r.run(guest, "abort v1.31.3 --reason nope")
	mustContain(t, "guest abort", r.lastReply(guest), "Only release managers")
	if c := activeCut(t, r.store, "v1.31.3"); c.Status != cutbot.CutActive {
		t.Errorf("a refused abort changed the cut: %s", c.Status)
	}
}

func TestSecondCutOfActiveVersionRefused(t *testing.T) {
	fake := workspace(t)
	r := startBot(t, fake, "")
	r.run(alice, "cut v1.31.3")
	link := activeCut(t, r.store, "v1.31.3").Messages[cutbot.MessageThread].Permalink
	r.run(bob, "cut v1.31.3")
	mustContain(t, "refusal", r.lastReply(bob), "v1.31.3 already has an active cut, opened by @alice", link, "/release abort v1.31.3")
	if n := len(topLevel(fake.Messages(channelID))); n != 1 {
		t.Errorf("threads = %d, want 1", n)
	}
	r.run(bob, "cut v1.31.3 --dry-run")
	mustContain(t, "dry run", r.lastReply(bob), "It would be refused: v1.31.3 already has an active cut")
}

func TestBadInputChangesNothing(t *testing.T) {
	fake := workspace(t)
	r := startBot(t, fake, "")
	for _, tc := range []struct{ text, want string }{
		{"cut 1.31", `"1.31" is not a release version`},
		{"cut v1.31", "expected vMAJOR.MINOR.PATCH"},
		{"cut v1.31.3-foo", `pre-release "foo"`},
		{"cut 1.31.3", "did you mean v1.31.3?"},
		{"cut v1.31.3 --forse x", `Unknown flag "--forse"`},
		{"cut v1.31.3 --type rc", "--type rc does not match v1.31.3"},
		{"cut v1.31.3 --branch release-1.30", "use release-1.31"},
		{"deploy v1.31.3", `Unknown command "deploy"`},
		{"abort v1.31.3", "needs --reason"},
		{"abort v1.31.3 --reason x", "v1.31.3 has no active cut to abort."},
	} {
		r.run(alice, tc.text)
		reply := r.lastReply(alice)
		mustContain(t, tc.text, reply, tc.want)
	}
	// The usage of the command comes with the error.
	r.run(alice, "cut v1.31.3 --forse x")
	mustContain(t, "usage", r.lastReply(alice), "*Usage:* `/release cut VERSION [--type TYPE] [--branch BRANCH] [--hotfix] [--embargo \"CVE-…\"] [--k8s-org ORG] [--k8s-repo REPO] [--k8s-ref REF] [--no-mock-run] [--mock-run] [--no-start] [--issue NUMBER] [--force \"REASON\"] [--dry-run]`", "Examples:")
	if msgs := fake.Messages(channelID); len(msgs) != 0 {
		t.Errorf("bad input posted %d messages", len(msgs))
	}
	if cuts, _ := r.store.ActiveCuts(context.Background()); len(cuts) != 0 {
		t.Errorf("bad input stored %d cuts", len(cuts))
	}
}

func TestHelpListsEveryCommand(t *testing.T) {
	fake := workspace(t)
	r := startBot(t, fake, "")
	r.run(guest, "help")
	mustContain(t, "help", r.lastReply(guest),
		"`/release cut VERSION [--type TYPE] [--branch BRANCH] [--hotfix] [--embargo \"CVE-…\"] [--k8s-org ORG] [--k8s-repo REPO] [--k8s-ref REF] [--no-mock-run] [--mock-run] [--no-start] [--issue NUMBER] [--force \"REASON\"] [--dry-run]`", "Who: release managers (--dry-run: anyone)",
		"`/release status [VERSION]`", "`/release abort VERSION --reason \"REASON\"`", "`/release help [COMMAND]`", "Who: anyone")
	r.run(guest, "")
	mustContain(t, "empty command", r.lastReply(guest), "Commands:")
	r.run(guest, "help cut")
	mustContain(t, "help cut", r.lastReply(guest), "--no-mock-run`: skip the mock stage and mock release", "/release cut v1.32.0-rc.1 --dry-run")
}

func TestStatusAndAbort(t *testing.T) {
	fake := workspace(t)
	r := startBot(t, fake, "")
	r.run(guest, "status")
	mustContain(t, "empty status", r.lastReply(guest), "No active cuts.")
	r.run(alice, "cut v1.31.3")
	r.run(alice, "cut v1.30.7")

	r.run(guest, "status v1.31.3")
	mustContain(t, "one cut", r.lastReply(guest), "*Mock Stage* — pending", "opened by @alice")
	r.run(guest, "status v1.29.11")
	mustContain(t, "unknown cut", r.lastReply(guest), "No cut of v1.29.11 has been opened.")

	r.run(bob, `abort v1.31.3 --reason "kube-proxy regression, see #128000"`)
	mustContain(t, "abort reply", r.lastReply(bob), "Aborted the cut.", "Aborted by @bob: kube-proxy regression, see #128000")

	msgs := fake.Messages(channelID)
	var parent = topLevel(msgs)[0]
	if parent.Edits() != 1 {
		t.Errorf("parent edited %d times, want 1 (in place)", parent.Edits())
	}
	mustContain(t, "aborted parent", fake.Text(parent), ":no_entry: Aborted by @bob: kube-proxy regression")
	replies := repliesTo(msgs, parent.TS)
	if len(replies) != 2 {
		t.Fatalf("replies = %d, want plan and abort note:\n%s", len(replies), fake.Transcript(channelID))
	}
	mustContain(t, "abort note", fake.Text(replies[1]), "@bob aborted the cut of v1.31.3: kube-proxy regression")

	r.run(guest, "status")
	reply := r.lastReply(guest)
	mustContain(t, "status after abort", reply, "Active cuts (1)", "v1.30.7")
	if strings.Contains(reply, "v1.31.3") {
		t.Errorf("aborted cut still listed as active:\n%s", reply)
	}
	r.run(guest, "status v1.31.3")
	mustContain(t, "aborted cut stays in the record", r.lastReply(guest), "Aborted", "kube-proxy regression")

	// The version is free for a new cut; the old one stays in the record.
	r.run(alice, "cut v1.31.3")
	mustContain(t, "new cut", r.lastReply(alice), "Opened the cut.")
	if n := len(topLevel(fake.Messages(channelID))); n != 3 {
		t.Errorf("threads = %d, want 3", n)
	}
}

func TestRestartDoesNotRepost(t *testing.T) {
	fake := workspace(t)
	first := startBot(t, fake, "")
	first.run(alice, "cut v1.31.3")
	first.stop()
	posts := len(fake.Calls("chat.postMessage"))

	second := startBot(t, fake, first.dbPath)
	second.run(guest, "status")
	mustContain(t, "status after restart", second.lastReply(guest), "Active cuts (1)", "v1.31.3")
	if got := len(fake.Calls("chat.postMessage")); got != posts {
		t.Errorf("restart posted %d more messages", got-posts)
	}
	second.run(bob, "cut v1.31.3")
	mustContain(t, "second cut after restart", second.lastReply(bob), "already has an active cut")
}

// TestRestartReconcilesInterruptedPosts plays a crash between posting the thread (and plan)
// and recording their timestamps: the restarted bot finds both messages by their metadata
// and posts nothing again.
func TestRestartReconcilesInterruptedPosts(t *testing.T) {
	fake := workspace(t)
	first := startBot(t, fake, "")
	first.run(alice, "cut v1.31.3")
	c := activeCut(t, first.store, "v1.31.3")
	want := c.Messages
	// Forget the timestamps, keep the intents: what the store holds if cutbot died right
	// after chat.postMessage returned.
	if _, err := first.store.UpdateCut(context.Background(), c.ID, func(c *cutbot.Cut) error {
		for _, k := range []string{cutbot.MessageThread, cutbot.MessagePlan} {
			delete(c.Messages, k)
			c.Journal = append(c.Journal, cutbot.PostMessage{Message: k})
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	first.stop()
	posts := len(fake.Calls("chat.postMessage"))

	second := startBot(t, fake, first.dbPath)
	second.run(guest, "status") // Resume ran before the bot took commands
	if got := len(fake.Calls("chat.postMessage")); got != posts {
		t.Errorf("restart posted %d messages again:\n%s", got-posts, fake.Transcript(channelID))
	}
	got := activeCut(t, second.store, "v1.31.3").Messages
	for k, ref := range want {
		if got[k].TS != ref.TS {
			t.Errorf("message %s reconciled to %q, want %q", k, got[k].TS, ref.TS)
		}
	}
	if len(fake.Calls("conversations.history")) == 0 || len(fake.Calls("conversations.replies")) == 0 {
		t.Error("reconciling did not look the messages up")
	}
}

// TestPostFailureIsRecoverable: Slack refuses the thread (the bot is not in the channel); the
// cut is kept with its intent, the user is told, and running the same command again posts
// the thread once.
func TestPostFailureIsRecoverable(t *testing.T) {
	fake := workspace(t)
	r := startBot(t, fake, "")
	fake.Fail("chat.postMessage", "not_in_channel")
	r.run(alice, "cut v1.31.3")
	mustContain(t, "failure reply", r.lastReply(alice), "The cut of v1.31.3 is recorded, but its thread could not be posted", "not_in_channel", "run the same `/release cut` to try now")
	r.run(alice, "cut v1.31.3")
	mustContain(t, "retry reply", r.lastReply(alice), "Posted the thread of the cut that an earlier attempt had recorded.")
	if n := len(topLevel(fake.Messages(channelID))); n != 1 {
		t.Errorf("threads = %d, want 1:\n%s", n, fake.Transcript(channelID))
	}
}

// TestSlackShapes feeds the bot real envelopes recorded from Slack SDKs: a slash command for
// another command, an events_api and a block_actions envelope. All are acknowledged; none
// does anything.
func TestRecordedEnvelopesAreAcked(t *testing.T) {
	fake := workspace(t)
	r := startBot(t, fake, "")
	for _, f := range []string{
		"slash_commands.python-slack-sdk.json",
		"events_api-app_mention.python-slack-sdk.json",
		"interactive-block_actions-message.java-slack-sdk.json",
	} {
		raw := readRecorded(t, f)
		id := envelopeID(t, raw)
		ctx, done := context.WithTimeout(context.Background(), 10*time.Second)
		if err := fake.SendRaw(ctx, id, raw); err != nil {
			t.Fatal(err)
		}
		if _, err := fake.WaitAck(ctx, id, 1); err != nil {
			t.Errorf("%s not acknowledged: %v", f, err)
		}
		done()
		r.waitHandled(id)
	}
	if msgs := fake.Messages(channelID); len(msgs) != 0 {
		t.Errorf("recorded envelopes posted %d messages", len(msgs))
	}
	// The slash command was for /hello-socket-mode: its user is told what cutbot answers.
	mustContain(t, "reply", r.lastReply("U111"), "cutbot answers /release, not /hello-socket-mode.")
}

func TestDisconnectReconnects(t *testing.T) {
	fake := workspace(t)
	r := startBot(t, fake, "")
	fake.Disconnect("warning")
	ctx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	if err := fake.WaitFor(ctx, func() bool { return fake.Opened() == 2 && fake.Connections() == 1 }); err != nil {
		t.Fatalf("bot did not reconnect: opened %d, open %d", fake.Opened(), fake.Connections())
	}
	r.run(alice, "cut v1.31.3")
	mustContain(t, "after reconnect", r.lastReply(alice), "Opened the cut.")
}
