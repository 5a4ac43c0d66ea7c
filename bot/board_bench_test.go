package bot

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/handlers"
	"sigs.k8s.io/cutbot/integrations/githubfake"
	"sigs.k8s.io/cutbot/integrations/schedule"
)

// BenchmarkBoardRefresh counts the GitHub requests of one refresh of the board with 4
// branches and 50 open cherry-picks (and 20 closed since the window began): the first read,
// then reads where nothing changed (conditional requests: 304s, which GitHub does not count
// against the rate limit), then a read after one PR changed.
// Run: go test ./bot -run '^$' -bench BoardRefresh -benchtime 20x
func BenchmarkBoardRefresh(b *testing.B) {
	fake := workspace(b)
	bl := newBuilds(b)
	branches := []string{"release-1.31", "release-1.30", "release-1.29", "release-1.28"}
	plan := "schedules:\n"
	for i, br := range branches {
		minor := 31 - i
		plan += fmt.Sprintf("- release: \"1.%d\"\n  next: {release: 1.%d.9, cherryPickDeadline: \"2026-11-13\", targetDate: \"2026-11-18\"}\n  previousPatches:\n  - {release: 1.%d.8, cherryPickDeadline: \"2026-10-17\", targetDate: \"2026-10-21\"}\n  - {release: 1.%d.7, cherryPickDeadline: \"2026-09-12\", targetDate: \"2026-09-16\"}\n", minor, minor, minor, minor)
		for j := range 18 {
			open := j < 13 && i*13+j < 50
			n := 130000 + i*100 + j
			p := githubfake.PR{Number: n, Title: fmt.Sprintf("Automated cherry pick of #%d: fix %d", 129000+j, j), Base: br, HeadRef: fmt.Sprintf("automated-cherry-pick-of-#%d-upstream-%s", 129000+j, br),
				HeadSHA: fmt.Sprintf("%040x", n), Labels: []string{"lgtm", "kind/bug", "sig/node", cutbot.NotApprovedLabel}, CreatedAt: t0.Add(-48 * time.Hour)}
			if !open {
				p.State, p.Merged, p.MergedAt = "closed", true, t0.Add(-time.Duration(j)*24*time.Hour)
			}
			bl.gh.AddPullRequest(k8s, p)
			bl.gh.SetStatus(k8s, p.HeadSHA, "pull-kubernetes-e2e-gce", "success", "https://prow.k8s.io/view/1")
		}
	}
	path := filepath.Join(b.TempDir(), "schedule.yaml")
	os.WriteFile(path, []byte(plan), 0o644)
	r := startBotEdit(b, fake, "", bl, func(c *Config) {
		c.Calendars = []cutbot.CalendarSource{&schedule.Source{Spec: path}}
		c.KnownIssuesQuery = `repo:kubernetes/kubernetes is:issue "introduced-in"`
		c.ApprovableNotice = handlers.NoticeOff
	})
	count := func() (all, notModified int) {
		for _, q := range bl.gh.Requests("GET ") {
			all++
			if q.Status == 304 {
				notModified++
			}
		}
		return
	}
	// The start-up read is the cold one.
	cold, _ := count()
	open := 0
	for _, br := range branches {
		bd, _ := r.store.Board(context.Background(), br)
		for _, p := range bd.Picks {
			if p.State == cutbot.PickOpen {
				open++
			}
		}
	}
	b.ResetTimer()
	before, before304 := count()
	for range b.N {
		r.runJob("board")
	}
	b.StopTimer()
	after, after304 := count()
	warm := float64(after-before) / float64(b.N)
	warm304 := float64(after304-before304) / float64(b.N)
	// One PR changes: its list pages and its status are read again in full.
	bl.gh.SetLabels(k8s, 130000, "lgtm", "approved", "kind/bug")
	c0, n0 := count()
	r.runJob("board")
	c1, n1 := count()
	b.ReportMetric(float64(cold), "requests/cold-refresh")
	b.ReportMetric(warm, "requests/warm-refresh")
	b.ReportMetric(warm304, "304s/warm-refresh")
	b.ReportMetric(float64((c1-c0)-(n1-n0)), "full-reads/after-1-change")
	b.ReportMetric(float64(open), "open-picks")
}
