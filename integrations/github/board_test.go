package github_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/integrations/githubfake"
)

func TestConditionalRequests(t *testing.T) {
	c, fake := setup(t)
	ctx := context.Background()
	const k8s = "kubernetes/kubernetes"
	fake.AddPullRequest(k8s, githubfake.PR{Number: 128001, Title: "Automated cherry pick of #127000: x", Base: "release-1.31", HeadSHA: "abc", Labels: []string{"lgtm"}, CreatedAt: t0})
	first, err := c.PullRequestsTo(ctx, k8s, "release-1.31")
	if err != nil || len(first) != 1 {
		t.Fatal(first, err)
	}
	again, err := c.PullRequestsTo(ctx, k8s, "release-1.31")
	if err != nil || !slices.Equal(again[0].Labels, first[0].Labels) {
		t.Fatalf("from the cache: %v %v", again, err)
	}
	reqs := fake.Requests("GET /repos/kubernetes/kubernetes/pulls")
	if len(reqs) != 2 || reqs[0].Status != 200 || reqs[1].Status != 304 {
		t.Errorf("requests %+v, want 200 then 304", reqs)
	}
	// A change is read, not served from the cache.
	fake.SetLabels(k8s, 128001, "lgtm", "approved")
	changed, _ := c.PullRequestsTo(ctx, k8s, "release-1.31")
	if !slices.Equal(changed[0].Labels, []string{"lgtm", "approved"}) {
		t.Errorf("after a change: %v", changed[0].Labels)
	}
	if hits, reads := c.CacheStats(); hits != 1 || reads < 3 {
		t.Errorf("cache stats: %d not modified, %d read", hits, reads)
	}
}

func TestClosedPullRequestsTo(t *testing.T) {
	c, fake := setup(t)
	ctx := context.Background()
	const k8s = "kubernetes/kubernetes"
	for i, closed := range []time.Time{t0.Add(-90 * 24 * time.Hour), t0.Add(-20 * 24 * time.Hour), t0.Add(-2 * 24 * time.Hour)} {
		fake.AddPullRequest(k8s, githubfake.PR{Number: 128001 + i, Title: "pick", Base: "release-1.31", State: "closed", Merged: i != 1, MergedAt: closed, ClosedAt: closed, CreatedAt: closed.Add(-time.Hour), Body: "Cherry pick of #1 on release-1.31."})
	}
	fake.AddPullRequest(k8s, githubfake.PR{Number: 128010, Title: "other branch", Base: "release-1.30", State: "closed", ClosedAt: t0, CreatedAt: t0})
	got, err := c.ClosedPullRequestsTo(ctx, k8s, "release-1.31", t0.Add(-30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var ns []int
	for _, p := range got {
		ns = append(ns, p.Number)
		if p.Body == "" || p.ClosedAt.IsZero() {
			t.Errorf("#%d: body %q closed %v", p.Number, p.Body, p.ClosedAt)
		}
	}
	if !slices.Equal(ns, []int{128003, 128002}) {
		t.Errorf("closed since 30 days: %v", ns)
	}
}

func TestSearchIssuesAndItsLimit(t *testing.T) {
	c, fake := setup(t)
	ctx := context.Background()
	const k8s = "kubernetes/kubernetes"
	n := fake.AddIssue(k8s, 120326, "json-patch regression", "open", "liggitt")
	fake.EditBody(k8s, n, "```release\nintroduced-in=v1.28.0\n```")
	fake.AddIssue(k8s, 120400, "something else", "open", "x")
	got, err := c.SearchIssues(ctx, `repo:kubernetes/kubernetes is:issue "introduced-in" in:body`, 100)
	if err != nil || len(got) != 1 || got[0].Number != 120326 || got[0].Repo != k8s {
		t.Fatalf("search: %+v %v", got, err)
	}
	// 30 searches a minute, as GitHub allows: the 31st is refused, with a coded error.
	for range 29 {
		if _, err := c.SearchIssues(ctx, "repo:kubernetes/kubernetes is:issue x", 1); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.SearchIssues(ctx, "repo:kubernetes/kubernetes is:issue x", 1)
	if cutbot.ErrorCode(err) != cutbot.EUNAVAILABLE {
		t.Errorf("the 31st search in a minute: %v (%s)", err, cutbot.ErrorCode(err))
	}
}
