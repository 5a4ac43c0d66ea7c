package slackfake_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"sigs.k8s.io/cutbot/integrations/slackfake"
)

func newFake(t *testing.T) *slackfake.Server {
	t.Helper()
	f := slackfake.New(slackfake.Options{})
	t.Cleanup(f.Close)
	f.AddUser(slackfake.User{ID: "U1", Name: "alice"})
	f.AddChannel("C1", "release-management", f.Options().BotUserID, "U1")
	f.AddChannel("C2", "elsewhere")
	return f
}

func client(f *slackfake.Server, botToken string) *slack.Client {
	return slack.New(botToken, slack.OptionAppLevelToken(f.Options().AppToken), slack.OptionAPIURL(f.APIURL()))
}

func TestTokensAsRealSlackTakesThem(t *testing.T) {
	f := newFake(t)
	ctx := context.Background()
	good := client(f, f.Options().BotToken)
	if _, _, err := good.PostMessageContext(ctx, "C1", slack.MsgOptionText("hi", false)); err != nil {
		t.Fatal(err)
	}
	if c := f.Calls("chat.postMessage")[0]; c.TokenVia != "form" || c.Params.Get("token") != "" {
		t.Errorf("chat.postMessage: token via %q, params keep token %q", c.TokenVia, c.Params.Get("token"))
	}
	if _, err := good.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: "C1", Ts: f.Messages("C1")[0].TS}); err != nil {
		t.Errorf("GET method with a Bearer header: %v", err)
	}
	if _, _, err := client(f, "xoxb-wrong").PostMessageContext(ctx, "C1", slack.MsgOptionText("hi", false)); err == nil || err.Error() != "invalid_auth" {
		t.Errorf("wrong bot token: %v", err)
	}
	if _, _, err := client(f, f.Options().AppToken).PostMessageContext(ctx, "C1", slack.MsgOptionText("hi", false)); err == nil || err.Error() != "not_allowed_token_type" {
		t.Errorf("app token on a bot method: %v", err)
	}
	// apps.connections.open: the app-level token, as a Bearer header, by POST.
	_, u, err := good.StartSocketModeContext(ctx)
	if err != nil || !strings.HasPrefix(u, "ws://127.0.0.1:") {
		t.Errorf("apps.connections.open = %q, %v", u, err)
	}
	if c := f.Calls("apps.connections.open")[0]; c.TokenVia != "header" {
		t.Errorf("apps.connections.open token via %q", c.TokenVia)
	}
	withBot := slack.New(f.Options().BotToken, slack.OptionAppLevelToken(f.Options().BotToken), slack.OptionAPIURL(f.APIURL()))
	if _, _, err := withBot.StartSocketModeContext(ctx); err == nil || err.Error() != "not_allowed_token_type" {
		t.Errorf("apps.connections.open with a bot token: %v", err)
	}
	resp, err := http.PostForm(f.APIURL()+"chat.postMessage", url.Values{"channel": {"C1"}, "text": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if c := f.Calls("chat.postMessage"); c[len(c)-1].Error != "not_authed" {
		t.Errorf("no token: %+v", c[len(c)-1])
	}
}

func TestChannelRules(t *testing.T) {
	f := newFake(t)
	api := client(f, f.Options().BotToken)
	ctx := context.Background()
	if _, _, err := api.PostMessageContext(ctx, "C2", slack.MsgOptionText("hi", false)); err == nil || err.Error() != "not_in_channel" {
		t.Errorf("post where the bot is not a member: %v", err)
	}
	if _, _, err := api.PostMessageContext(ctx, "C9", slack.MsgOptionText("hi", false)); err == nil || err.Error() != "channel_not_found" {
		t.Errorf("post to a missing channel: %v", err)
	}
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionTS("1.2"), slack.MsgOptionText("hi", false)); err == nil || err.Error() != "thread_not_found" {
		t.Errorf("reply to a missing thread: %v", err)
	}
	_, ts, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("v1", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("v2", false)); err != nil {
		t.Fatal(err)
	}
	m := f.Messages("C1")[0]
	if m.Text != "v2" || m.Edits() != 1 || m.Versions[0].Text != "v1" {
		t.Errorf("edited message = %+v", m)
	}
}

func TestHistoryRepliesMetadataAndPaging(t *testing.T) {
	f := newFake(t)
	api := client(f, f.Options().BotToken)
	ctx := context.Background()
	md := slack.SlackMetadata{EventType: "cutbot_message", EventPayload: map[string]any{"cut_id": "00000001", "key": "thread"}}
	_, parent, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("parent", false), slack.MsgOptionMetadata(md))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		api.PostMessageContext(ctx, "C1", slack.MsgOptionText("other", false))
		api.PostMessageContext(ctx, "C1", slack.MsgOptionTS(parent), slack.MsgOptionText("reply", false))
	}
	var seen []slack.Message
	params := &slack.GetConversationHistoryParameters{ChannelID: "C1", Limit: 2, IncludeAllMetadata: true}
	for {
		resp, err := api.GetConversationHistoryContext(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, resp.Messages...)
		if !resp.HasMore {
			break
		}
		params.Cursor = resp.ResponseMetaData.NextCursor
	}
	if len(seen) != 6 || seen[5].Timestamp != parent || seen[5].Metadata.EventPayload["cut_id"] != "00000001" || seen[5].ReplyCount != 5 {
		t.Errorf("history: %d messages, oldest %+v", len(seen), seen[len(seen)-1])
	}
	resp, _ := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: "C1"})
	if resp.Messages[len(resp.Messages)-1].Metadata.EventType != "" {
		t.Error("metadata returned without include_all_metadata")
	}
	msgs, _, _, err := api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{ChannelID: "C1", Timestamp: parent})
	if err != nil || len(msgs) != 6 || msgs[0].Timestamp != parent {
		t.Errorf("replies = %d, %v", len(msgs), err)
	}
}

func TestRateLimitCarriesRetryAfter(t *testing.T) {
	f := newFake(t)
	f.RateLimit("chat.update", 1, 3*time.Second)
	_, _, _, err := client(f, f.Options().BotToken).UpdateMessageContext(context.Background(), "C1", "1.1", slack.MsgOptionText("x", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 3*time.Second {
		t.Errorf("err = %v, want a RateLimitedError of 3s", err)
	}
}

// TestEnvelopesAsSlackSendsThem drives the real socketmode client: the slash command payload
// (is_enterprise_install as a string) decodes, and a redelivery carries retry_attempt.
func TestEnvelopesAsSlackSendsThem(t *testing.T) {
	f := newFake(t)
	sm := socketmode.New(client(f, f.Options().BotToken))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go sm.RunContext(ctx)
	id, err := f.SendSlashCommand(ctx, slackfake.SlashCommand{UserID: "U1", ChannelID: "C1", Text: "status"})
	if err != nil {
		t.Fatal(err)
	}
	var got []socketmode.Request
	for len(got) < 2 {
		select {
		case evt := <-sm.Events:
			if evt.Type != socketmode.EventTypeSlashCommand {
				continue
			}
			cmd := evt.Data.(slack.SlashCommand)
			if cmd.Command != "/release" || cmd.Text != "status" || cmd.UserName != "alice" || cmd.ResponseURL == "" {
				t.Errorf("decoded command = %+v", cmd)
			}
			sm.Ack(*evt.Request)
			got = append(got, *evt.Request)
			if len(got) == 1 {
				if _, err := f.WaitAck(ctx, id, 1); err != nil {
					t.Fatal(err)
				}
				if err := f.Redeliver(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
		case <-ctx.Done():
			t.Fatalf("got %d envelopes", len(got))
		}
	}
	if got[0].RetryAttempt != 0 || got[1].RetryAttempt != 1 || got[1].RetryReason != "timeout" || got[1].EnvelopeID != id {
		t.Errorf("deliveries = %+v", got)
	}
}

// TestRateTiers: with Slack's tiers enforced, chat.postMessage takes its burst in a channel
// and then about one a second, independently per channel; chat.update (Tier 3) takes its
// burst of 10, then 50 a minute; each refusal is a 429 with the seconds until a token is back.
func TestRateTiers(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	f := slackfake.New(slackfake.Options{Now: func() time.Time { return now }})
	t.Cleanup(f.Close)
	f.AddChannel("C1", "one", f.Options().BotUserID)
	f.AddChannel("C2", "two", f.Options().BotUserID)
	f.EnforceRateLimits(slackfake.SlackRateLimits())
	api := client(f, f.Options().BotToken)
	ctx := context.Background()
	post := func(ch string) error {
		_, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("hi", false))
		return err
	}
	for i := range 3 {
		if err := post("C1"); err != nil {
			t.Fatalf("post %d of the burst: %v", i+1, err)
		}
	}
	var rl *slack.RateLimitedError
	if err := post("C1"); !errors.As(err, &rl) || rl.RetryAfter != time.Second {
		t.Fatalf("the 4th post in a second: %v, want 429 with Retry-After 1s", err)
	}
	if err := post("C2"); err != nil {
		t.Errorf("another channel has its own budget: %v", err)
	}
	now = now.Add(time.Second)
	if err := post("C1"); err != nil {
		t.Errorf("a second later: %v", err)
	}
	_, ts, _ := api.PostMessageContext(ctx, "C2", slack.MsgOptionText("x", false))
	for i := range 10 {
		if _, _, _, err := api.UpdateMessageContext(ctx, "C2", ts, slack.MsgOptionText("edit", false)); err != nil {
			t.Fatalf("edit %d of the burst: %v", i+1, err)
		}
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, "C2", ts, slack.MsgOptionText("edit", false)); !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
		t.Errorf("the 11th edit: %v, want 429 with Retry-After 2s (1.2s rounded up)", err)
	}
	now = now.Add(1200 * time.Millisecond)
	if _, _, _, err := api.UpdateMessageContext(ctx, "C2", ts, slack.MsgOptionText("edit", false)); err != nil {
		t.Errorf("1.2s later a token is back: %v", err)
	}
	limited := 0
	for _, c := range f.Calls() {
		if c.Error == "ratelimited" {
			limited++
		}
	}
	if limited != 2 {
		t.Errorf("recorded %d refusals, want 2", limited)
	}
	if v := f.Messages("C2")[1].Versions; !v[len(v)-1].At.Equal(now) {
		t.Errorf("the last version's time is %v, want %v", v[len(v)-1].At, now)
	}
}

// TestBlockKitLimits: the fake refuses what Slack refuses: a section over 3,000 characters, a
// header over 150, a button label over 75, more than 50 blocks, a text over 40,000.
func TestBlockKitLimits(t *testing.T) {
	f := newFake(t)
	api := client(f, f.Options().BotToken)
	ctx := context.Background()
	long := func(n int) string { return strings.Repeat("é", n) }
	var many []slack.Block
	for range 51 {
		many = append(many, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "x", false, false), nil, nil))
	}
	for name, opt := range map[string]slack.MsgOption{
		"section": slack.MsgOptionBlocks(slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, long(3001), false, false), nil, nil)),
		"header":  slack.MsgOptionBlocks(slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, long(151), false, false))),
		"button":  slack.MsgOptionBlocks(slack.NewActionBlock("a", slack.NewButtonBlockElement("x", "v", slack.NewTextBlockObject(slack.PlainTextType, long(76), false, false)))),
		"blocks":  slack.MsgOptionBlocks(many...),
	} {
		if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("t", false), opt); err == nil || !strings.Contains(err.Error(), "invalid_blocks") {
			t.Errorf("%s over the limit: %v, want invalid_blocks", name, err)
		}
	}
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText(long(40001), false)); err == nil || !strings.Contains(err.Error(), "msg_too_long") {
		t.Errorf("a 40,001-character text: %v, want msg_too_long", err)
	}
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("ok", false), slack.MsgOptionBlocks(slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, long(3000), false, false), nil, nil))); err != nil {
		t.Errorf("a section of exactly 3,000 characters: %v", err)
	}
}
