package bot

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"sigs.k8s.io/cutbot/integrations/cloudbuildfake"
)

// BenchmarkRestart stores cuts (some closed, 100 active with a build running), restarts the
// bot on that database, and reports:
//
//   - connect-ms: from the start of Run to the Socket Mode connection (goal: flat in the
//     number of closed cuts);
//   - polled-ms: from the start of Run until every running build was read once (goal ≤ 1 s);
//   - idle-edits: chat.update calls that changed nothing (goal 0).
//
// Run: go test ./bot -run '^$' -bench Restart -benchtime 1x
func BenchmarkRestart(b *testing.B) {
	for _, closed := range []int{20, 200} {
		b.Run(fmt.Sprintf("active=100/closed=%d", closed), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				restartOnce(b, 100, closed)
			}
		})
	}
}

func restartOnce(b *testing.B, active, closed int) {
	b.StopTimer()
	fake := workspace(b)
	db := filepath.Join(b.TempDir(), "cutbot.db")
	cb, err := cloudbuildfake.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cb.Close) // builds stay queued: they are running when cutbot comes back
	// Seeding is not what is measured: no pacing, and every post out before the stop.
	lb := startLiveBotOn(b, fake, cb, time.Hour, db, func(c *Config) { c.SlackLimits = unpaced() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := fake.WaitConnected(ctx); err != nil {
		b.Fatal(err)
	}
	for i := range closed {
		v := fmt.Sprintf("v1.%d.%d", 10+i/100, i%100)
		lb.command(ctx, b, carol, "cut "+v)
		lb.command(ctx, b, carol, "abort "+v+` --reason "seeded"`)
	}
	for i := range active {
		v := fmt.Sprintf("v2.%d.%d", i/100, i%100)
		lb.command(ctx, b, carol, "cut "+v)
		lb.command(ctx, b, carol, "next "+v)
	}
	builds := lb.cb.Builds()
	if len(builds) != active {
		b.Fatalf("%d builds running, want %d", len(builds), active)
	}
	lb.bot.settle(ctx, "")
	lb.stop()
	fake.WaitFor(ctx, func() bool { return fake.Connections() == 0 })
	before := len(fake.Calls())
	gets := len(lb.cb.Requests("GetBuild"))
	opened := fake.Opened()

	b.StartTimer()
	start := time.Now()
	again := startLiveBotOn(b, fake, lb.cb, time.Hour, db)
	if err := fake.WaitFor(ctx, func() bool { return fake.Opened() > opened && fake.Connections() > 0 }); err != nil {
		b.Fatal(err)
	}
	connected := time.Since(start)
	seen := map[string]bool{}
	pollWait, stopWaiting := context.WithTimeout(ctx, 30*time.Second)
	err = lb.cb.WaitFor(pollWait, func() bool {
		for _, r := range lb.cb.Requests("GetBuild")[gets:] {
			seen[r.ID] = true
		}
		return len(seen) >= active
	})
	stopWaiting()
	polled := time.Since(start)
	if err != nil {
		b.Logf("only %d of %d running builds were read within 30 s of the restart", len(seen), active)
	}
	b.StopTimer()
	time.Sleep(500 * time.Millisecond) // let any edits the restart queued go out, to count them
	again.stop()

	idle := 0
	for _, m := range fake.Messages(channelID) {
		for i := 1; i < len(m.Versions); i++ {
			if m.Versions[i].At.After(start) && m.Versions[i].Text == m.Versions[i-1].Text && bytes.Equal(m.Versions[i].Blocks, m.Versions[i-1].Blocks) {
				idle++
			}
		}
	}
	b.Logf("active %d, closed %d: connected after %v, %d of %d running builds read after %v, %d edits that changed nothing, %d Slack calls",
		active, closed, connected, len(seen), active, polled, idle, len(fake.Calls())-before)
	b.ReportMetric(ms(connected), "connect-ms")
	b.ReportMetric(ms(polled), "polled-ms")
	b.ReportMetric(float64(idle), "idle-edits")
	b.ReportMetric(float64(len(fake.Calls())-before), "slack-calls")
}
