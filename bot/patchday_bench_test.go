package bot

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/cutbot/integrations/civersion"
	"sigs.k8s.io/cutbot/integrations/cloudbuild"
	"sigs.k8s.io/cutbot/integrations/cloudbuildfake"
	"sigs.k8s.io/cutbot/integrations/slackfake"
	"sigs.k8s.io/cutbot/store"
)

// BenchmarkPatchDay drives ten cuts at once through the mock stage and the mock release, on
// the real clock, against a fake Slack that enforces Slack's rate tiers and a fake Cloud Build
// whose builds take about a second, and reports:
//
//   - 429s: Slack refusals cutbot received (goal 0);
//   - writes/cut: chat.postMessage and chat.update calls per cut;
//   - done-delay-p50/max-ms: from a build's finish to its ✅ in the thread (goal < 5 s);
//   - reply-p50/p99-ms: from a command's envelope to its reply, for the cuts' commands and a
//     /release status every 100 ms from someone watching (goal p99 < 1 s).
//
// Run: go test ./bot -run '^$' -bench PatchDay -benchtime 1x
func BenchmarkPatchDay(b *testing.B) {
	for _, cuts := range []int{4, 10} {
		b.Run(fmt.Sprintf("cuts=%d", cuts), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				patchDay(b, cuts, 500*time.Millisecond)
			}
		})
	}
}

// liveBot is a bot on the real clock with builds that progress by themselves.
type liveBot struct {
	fake  *slackfake.Server
	cb    *cloudbuildfake.Server
	store *store.Store
	bot   *Bot
	stop  func()
}

func startLiveBot(tb testing.TB, fake *slackfake.Server, poll time.Duration, dbPath string) *liveBot {
	tb.Helper()
	cb, err := cloudbuildfake.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(cb.Close)
	cb.SetAuto(&cloudbuildfake.Auto{Queued: 200 * time.Millisecond, Step: 200 * time.Millisecond})
	return startLiveBotOn(tb, fake, cb, poll, dbPath)
}

func startLiveBotOn(tb testing.TB, fake *slackfake.Server, cb *cloudbuildfake.Server, poll time.Duration, dbPath string, edit ...func(*Config)) *liveBot {
	tb.Helper()
	dir := tb.TempDir()
	stage, release, err := cloudbuildfake.WriteConfigs(dir)
	if err != nil {
		tb.Fatal(err)
	}
	client, err := cloudbuild.New(context.Background(), cloudbuild.Config{Project: "k8s-release", Region: "us-central1", Endpoint: cb.Addr(), StageConfig: stage, ReleaseConfig: release})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { client.Close() })
	dl := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		minor := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/ci/latest-"), ".txt")
		fmt.Fprintf(w, "v%s.0-rc.0.12+8f0c0a4d\n", minor)
	}))
	tb.Cleanup(dl.Close)
	if dbPath == "" {
		dbPath = filepath.Join(dir, "cutbot.db")
	}
	st, err := store.Open(dbPath, store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	lb := &liveBot{fake: fake, cb: cb, store: st}
	opts := fake.Options()
	cfg := Config{
		AppToken: opts.AppToken, BotToken: opts.BotToken, APIURL: fake.APIURL(),
		Channel: channelID, ManagersGroup: groupID, Managers: []string{carol},
		Builder: client, Versions: &civersion.Source{BaseURL: dl.URL + "/ci/"}, BuildTarget: "k8s-release (us-central1)",
		PollInterval: poll,
	}
	for _, e := range edit {
		e(&cfg)
	}
	b, err := New(cfg, st)
	if err != nil {
		tb.Fatal(err)
	}
	lb.bot = b
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	lb.stop = func() {
		cancel()
		<-done
		st.Close()
	}
	return lb
}

// command sends /release text as user and returns how long until its reply reached Slack.
func (lb *liveBot) command(ctx context.Context, tb testing.TB, user, text string) time.Duration {
	start := time.Now()
	id, err := lb.fake.SendSlashCommand(ctx, slackfake.SlashCommand{UserID: user, ChannelID: channelID, Text: text})
	if err != nil {
		tb.Error(err)
		return 0
	}
	var at time.Time
	if err := lb.fake.WaitFor(ctx, func() bool {
		var ok bool
		at, ok = lb.fake.RepliedAt(id)
		return ok
	}); err != nil {
		tb.Errorf("/release %s: no reply: %v", text, err)
		return 0
	}
	return at.Sub(start)
}

// lineDone waits until the thread of version shows title's line with a ✅.
func (lb *liveBot) lineDone(ctx context.Context, version, title string) error {
	return lb.fake.WaitFor(ctx, func() bool { return lb.line(version, title, ":white_check_mark:") != nil })
}

// line is the newest reply in version's thread that is title's stage line and contains want.
func (lb *liveBot) line(version, title, want string) *slackfake.Message {
	msgs := lb.fake.Messages(channelID)
	parentTS := ""
	for _, m := range msgs {
		if m.ThreadTS == "" && strings.HasPrefix(m.Text, ":thread: Release Cut "+version+" ") {
			parentTS = m.TS
		}
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if parentTS != "" && m.ThreadTS == parentTS && strings.HasPrefix(m.Text, ":hourglass_flowing_sand: "+title+" ") && strings.Contains(m.Text, want) {
			return &m
		}
	}
	return nil
}

func patchDay(b *testing.B, cuts int, poll time.Duration) {
	fake := workspace(b)
	fake.EnforceRateLimits(slackfake.SlackRateLimits())
	lb := startLiveBot(b, fake, poll, "")
	defer lb.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := fake.WaitConnected(ctx); err != nil {
		b.Fatal(err)
	}

	var mu sync.Mutex
	var replies []time.Duration
	record := func(d time.Duration) {
		mu.Lock()
		replies = append(replies, d)
		mu.Unlock()
	}
	watching, stopWatching := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() { // someone keeps asking where things stand
		defer close(watched)
		for watching.Err() == nil {
			record(lb.command(ctx, b, guest, "status"))
			select {
			case <-watching.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()

	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range cuts {
		v := fmt.Sprintf("v1.%d.3", 20+i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			record(lb.command(ctx, b, carol, "cut "+v))
			for _, title := range []string{"Mock Stage", "Mock Release"} {
				record(lb.command(ctx, b, carol, "next "+v))
				if err := lb.lineDone(ctx, v, title); err != nil {
					b.Errorf("%s of %s never showed ✅: %v", title, v, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	stopWatching()
	<-watched

	limited, writes := 0, 0
	for _, c := range fake.Calls() {
		switch {
		case c.Error == "ratelimited":
			limited++
		case c.Error == "" && (c.Method == "chat.postMessage" || c.Method == "chat.update"):
			writes++
		}
	}
	var delays []time.Duration
	for _, bl := range lb.cb.Builds() {
		if bl.FinishTime == nil {
			continue
		}
		for _, m := range fake.Messages(channelID) {
			if !strings.Contains(m.Text, bl.Id) || !strings.HasPrefix(m.Text, ":hourglass_flowing_sand: ") {
				continue
			}
			for _, ver := range m.Versions {
				if strings.Contains(ver.Text, ":white_check_mark:") {
					delays = append(delays, ver.At.Sub(bl.FinishTime.AsTime()))
					if testing.Verbose() {
						b.Logf("build %s: created %s, finished %s, line posted %s, ✅ %s", bl.Id[:8], bl.CreateTime.AsTime().Sub(start), bl.FinishTime.AsTime().Sub(start), m.Versions[0].At.Sub(start), ver.At.Sub(start))
					}
					break
				}
			}
		}
	}
	b.Logf("%d cuts: %d 429s, %.1f writes/cut, done delay p50 %v max %v (%d of %d builds shown done), replies p50 %v p99 %v (%d), %v in all",
		cuts, limited, float64(writes)/float64(cuts), percentile(delays, 50), percentile(delays, 100), len(delays), 2*cuts,
		percentile(replies, 50), percentile(replies, 99), len(replies), elapsed)
	if len(delays) != 2*cuts {
		b.Errorf("found the ✅ of %d builds, want %d", len(delays), 2*cuts)
	}
	b.ReportMetric(float64(limited), "429s")
	b.ReportMetric(float64(writes)/float64(cuts), "writes/cut")
	b.ReportMetric(ms(percentile(delays, 50)), "done-delay-p50-ms")
	b.ReportMetric(ms(percentile(delays, 100)), "done-delay-max-ms")
	b.ReportMetric(ms(percentile(replies, 50)), "reply-p50-ms")
	b.ReportMetric(ms(percentile(replies, 99)), "reply-p99-ms")
	b.ReportMetric(elapsed.Seconds(), "wall-s")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
