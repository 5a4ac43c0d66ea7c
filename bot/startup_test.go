package bot

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/cutbot/integrations/slackfake"
	"sigs.k8s.io/cutbot/store"
)

// TestStartupRefusesAChannelItCannotPostTo: cutbot refuses to start when CUTBOT_CHANNEL does
// not exist, the bot is not in it, or it is archived, and when the usergroup does not exist,
// saying what to fix; it opens no Socket Mode connection.
func TestStartupRefusesAChannelItCannotPostTo(t *testing.T) {
	for _, tc := range []struct {
		name    string
		channel string
		group   string
		setup   func(*slackfake.Server)
		want    string
	}{
		{"channel_not_found", "C0NOWHERE", groupID, nil, "CUTBOT_CHANNEL C0NOWHERE: no such channel in cutbot-sandbox, or it is private and the bot is not in it"},
		{"not_in_channel", "C0ELSE", groupID, func(f *slackfake.Server) { f.AddChannel("C0ELSE", "elsewhere", alice) }, "the bot is not in it, so it cannot post there: /invite @cutbot in #elsewhere"},
		{"private, not invited", "G0SECRET", groupID, func(f *slackfake.Server) { f.AddPrivateChannel("G0SECRET", "secret", alice) }, "no such channel"},
		{"archived", channelID, groupID, func(f *slackfake.Server) { f.ArchiveChannel(channelID) }, "is archived"},
		{"no such usergroup", channelID, "S0NOBODY", nil, "CUTBOT_MANAGERS_GROUP S0NOBODY: no such usergroup"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := workspace(t)
			if tc.setup != nil {
				tc.setup(fake)
			}
			st, err := store.Open(filepath.Join(t.TempDir(), "cutbot.db"), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			opts := fake.Options()
			b, err := New(Config{AppToken: opts.AppToken, BotToken: opts.BotToken, APIURL: fake.APIURL(), Channel: tc.channel, ManagersGroup: tc.group, SlackLimits: unpaced()}, st)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err = b.Run(ctx)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run = %v, want an error saying %q", err, tc.want)
			}
			if fake.Opened() != 0 {
				t.Error("cutbot connected to Socket Mode although it cannot work")
			}
		})
	}
	// A private channel the bot is in is fine.
	fake := workspace(t)
	fake.AddPrivateChannel("G0PRIV", "release-managers-private", fake.Options().BotUserID, alice)
	ws, err := Probe(context.Background(), Config{AppToken: fake.Options().AppToken, BotToken: fake.Options().BotToken, APIURL: fake.APIURL(), Channel: "G0PRIV", ManagersGroup: groupID})
	if err != nil || ws.Channel != "#release-managers-private (private)" || ws.Usergroup != "@release-managers" {
		t.Errorf("Probe = %+v, %v", ws, err)
	}
}
