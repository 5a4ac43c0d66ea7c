package bot

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"sigs.k8s.io/cutbot/integrations/slackfake"
)

// BenchmarkEnvelopeToAck measures, through the real socketmode client over a real websocket,
// the time from the fake Slack writing a slash-command envelope to it receiving the ack:
//
//   - bare: a socketmode client whose only handler acks (the transport's own cost);
//   - cutbot/status and cutbot/cut: cutbot's full router and handlers.
//
// Each iteration waits until the command is fully handled before the next, so ns/op is the
// whole command; ack-p50/ack-p99 are the ack latency and done-p99 the time to the end of the
// command (reply sent). Run: go test ./bot -run '^$' -bench EnvelopeToAck -benchtime 2000x
func BenchmarkEnvelopeToAck(b *testing.B) {
	b.Run("bare", func(b *testing.B) {
		fake := workspace(b)
		opts := fake.Options()
		api := slack.New(opts.BotToken, slack.OptionAppLevelToken(opts.AppToken), slack.OptionAPIURL(fake.APIURL()))
		sm := socketmode.New(api)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go sm.RunContext(ctx)
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case evt := <-sm.Events:
					if evt.Request != nil && evt.Type == socketmode.EventTypeSlashCommand {
						sm.Ack(*evt.Request)
					}
				}
			}
		}()
		benchAcks(b, fake, nil, func(int) (string, string) { return guest, "status" })
	})
	b.Run("cutbot/status", func(b *testing.B) {
		fake := workspace(b)
		r := startBot(b, fake, "")
		benchAcks(b, fake, r, func(int) (string, string) { return guest, "status" })
	})
	b.Run("cutbot/cut", func(b *testing.B) {
		fake := workspace(b)
		r := startBot(b, fake, "")
		benchAcks(b, fake, r, func(i int) (string, string) {
			return alice, fmt.Sprintf("cut v1.%d.%d", 100+i/1000, 1+i%1000) // a new version every time
		})
	})
}

func benchAcks(b *testing.B, fake *slackfake.Server, r *running, next func(i int) (user, text string)) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := fake.WaitConnected(ctx); err != nil {
		b.Fatal(err)
	}
	acks := make([]time.Duration, 0, b.N)
	dones := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		user, text := next(i)
		start := time.Now()
		id, err := fake.SendSlashCommand(ctx, slackfake.SlashCommand{UserID: user, ChannelID: channelID, Text: text})
		if err != nil {
			b.Fatal(err)
		}
		got, err := fake.WaitAck(ctx, id, 1)
		if err != nil {
			b.Fatal(err)
		}
		acks = append(acks, got[0].At.Sub(got[0].Sent))
		if r != nil {
			r.waitHandled(id)
			dones = append(dones, time.Since(start))
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(percentile(acks, 50)), "ack-p50-ns")
	b.ReportMetric(float64(percentile(acks, 99)), "ack-p99-ns")
	if len(dones) > 0 {
		b.ReportMetric(float64(percentile(dones, 99)), "done-p99-ns")
	}
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}
