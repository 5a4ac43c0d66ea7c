package bot

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/slack-go/slack"
)

// BenchmarkPosterBurst sends a burst of status changes of one stage line (as a build racing
// through its steps produces) through the poster to the fake Slack, and reports how many
// Slack writes each change cost. Each op is one burst of `changes` edits, then a flush.
// Run: go test ./bot -run '^$' -bench PosterBurst
func BenchmarkPosterBurst(b *testing.B) {
	for _, changes := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("changes=%d", changes), func(b *testing.B) {
			fake := workspace(b)
			opts := fake.Options()
			api := slack.New(opts.BotToken, slack.OptionAPIURL(fake.APIURL()))
			p := newPoster(api, nil, slog.New(slog.DiscardHandler), nil, nil)
			ctx := context.Background()
			ch, ts, err := p.post(ctx, PriorityProgress, channelID, newContent("line", nil))
			if err != nil {
				b.Fatal(err)
			}
			ref := msgRef{ch, ts}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j := 0; j < changes; j++ {
					p.update(ref, newContent(fmt.Sprintf(":hourglass_flowing_sand: Mock Stage\nCurrent status: step %d.%d", i, j), nil), PriorityDecoration)
				}
				if err := p.flush(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			st := p.statsNow()
			b.ReportMetric(float64(st.Edits)/float64(b.N*changes), "writes/change")
			b.ReportMetric(float64(st.Edits)/float64(b.N), "writes/burst")
		})
	}
}
