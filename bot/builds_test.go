package bot

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/integrations/civersion"
	"sigs.k8s.io/cutbot/integrations/cloudbuild"
	"sigs.k8s.io/cutbot/integrations/cloudbuildfake"
	"sigs.k8s.io/cutbot/integrations/github"
	"sigs.k8s.io/cutbot/integrations/githubfake"
	"sigs.k8s.io/cutbot/integrations/prow"
	"sigs.k8s.io/cutbot/integrations/testgrid"
)

// builds is the build side of a test: the real Cloud Build client against the fake server, a
// fake dl.k8s.io, poll ticks the test sends, and a clock and sleep the test controls.
type builds struct {
	gh       *githubfake.Server
	ghClient *github.Client
	testgrid *testgrid.Fake
	prow     *prow.Fake
	cb       *cloudbuildfake.Server
	client   *cloudbuild.Client
	dl       *httptest.Server
	ticks    chan time.Time
	polled   chan struct{}
	clock    *testClock
	mu       sync.Mutex
	sleeps   []time.Duration
	ciLatest map[string]string
	ids      int
}

func newBuilds(t testing.TB) *builds {
	t.Helper()
	bl := &builds{ticks: make(chan time.Time), polled: make(chan struct{}, 100), clock: newClock(t0),
		ciLatest: map[string]string{"/ci/latest-1.31.txt": "v1.31.3-rc.0.12+8f0c0a4d", "/ci/latest-1.30.txt": "v1.30.7-rc.0.9+1a2b3c4d", "/ci/latest.txt": "v1.33.0-alpha.1.250+0123456789abcd"}}
	cb, err := cloudbuildfake.New(bl.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cb.Close)
	stage, release, err := cloudbuildfake.WriteConfigs(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	client, err := cloudbuild.New(context.Background(), cloudbuild.Config{Project: "k8s-release", Region: "us-central1", Endpoint: cb.Addr(), StageConfig: stage, ReleaseConfig: release})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	bl.dl = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bl.mu.Lock()
		v, ok := bl.ciLatest[r.URL.Path]
		bl.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(v + "\n"))
	}))
	t.Cleanup(bl.dl.Close)
	bl.cb, bl.client = cb, client

	// GitHub, testgrid and prow, as on a good day: the publishing-bot issue closed, the
	// blocking dashboards green, the cut-release template in kubernetes/sig-release.
	bl.gh = githubfake.New("ghp_fake", "cutbot-bot", bl.clock.Now)
	t.Cleanup(bl.gh.Close)
	bl.gh.SetFile("kubernetes/sig-release", ".github/ISSUE_TEMPLATE/cut-release.md", githubfake.CutReleaseTemplate)
	bl.gh.AddIssue("kubernetes/sig-release", 2990, "Cut v1.31.2 release", "closed", "someone")
	bl.gh.AddIssue("kubernetes/kubernetes", 56876, "publishing-bot is broken", "closed", "k8s-publishing-bot")
	bl.gh.SeedReleases("kubernetes/kubernetes", "v1.31.2", "v1.30.6", "v1.29.10", "v1.28.14", "v1.25.3", "v1.32.0-rc.0", "v1.33.0-alpha.0")
	bl.ghClient, err = github.New(context.Background(), bl.gh.URL(), "ghp_fake", nil)
	if err != nil {
		t.Fatal(err)
	}
	bl.testgrid = testgrid.NewFake()
	t.Cleanup(bl.testgrid.Close)
	for _, d := range []string{"sig-release-1.31-blocking", "sig-release-1.30-blocking", "sig-release-master-blocking"} {
		bl.testgrid.Set(d, map[string]string{"build-" + d: "PASSING", "ci-kubernetes-e2e-gci-gce": "PASSING", "verify": "FLAKY"})
	}
	bl.prow = prow.NewFake()
	t.Cleanup(bl.prow.Close)
	return bl
}

func (bl *builds) configure(cfg *Config) {
	cfg.Builder = bl.client
	cfg.Versions = &civersion.Source{BaseURL: bl.dl.URL + "/ci/"}
	cfg.BuildTarget = "k8s-release (us-central1)"
	cfg.Clock = bl.clock
	cfg.PollTicks = bl.ticks
	cfg.OnPolled = func() { bl.polled <- struct{}{} }
	cfg.WarnQueued = 20 * time.Minute
	cfg.WarnRunning = 3 * time.Hour
	cfg.Sleep = func(_ context.Context, d time.Duration) error {
		bl.mu.Lock()
		defer bl.mu.Unlock()
		bl.sleeps = append(bl.sleeps, d)
		return nil
	}
	cfg.GitHub = bl.ghClient
	cfg.TestGrid = &testgrid.Client{BaseURL: bl.testgrid.URL()}
	cfg.Prow = &prow.Client{BaseURL: bl.prow.URL()}
	cfg.RemindAfter = 2 * time.Hour
	cfg.NewID = func() string {
		bl.mu.Lock()
		defer bl.mu.Unlock()
		bl.ids++
		return "confirm" + string(rune('0'+bl.ids))
	}
}

func (bl *builds) waitPolled(t testing.TB) {
	t.Helper()
	select {
	case <-bl.polled:
	case <-time.After(10 * time.Second):
		t.Fatal("the bot did not poll")
	}
}

// poll makes the bot poll once and waits until the poll and its Slack edits are done.
func (bl *builds) poll(t testing.TB) {
	t.Helper()
	select {
	case bl.ticks <- bl.clock.Now():
	case <-time.After(10 * time.Second):
		t.Fatal("the bot did not take the poll tick")
	}
	bl.waitPolled(t)
}

// lastBuild is the newest build the fake holds.
func (bl *builds) lastBuild(t testing.TB) string {
	t.Helper()
	all := bl.cb.Builds()
	if len(all) == 0 {
		t.Fatal("no build was created")
	}
	return all[len(all)-1].Id
}

func (bl *builds) created() int { return len(bl.cb.Builds()) }

var _ cutbot.Builder = (*cloudbuild.Client)(nil)
