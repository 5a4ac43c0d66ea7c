package github_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/integrations/github"
	"sigs.k8s.io/cutbot/integrations/githubfake"
)

var t0 = time.Date(2026, 11, 10, 17, 0, 0, 0, time.UTC)

func setup(t *testing.T) (*github.Client, *githubfake.Server) {
	t.Helper()
	fake := githubfake.New("ghp_test", "cutbot-bot", func() time.Time { return t0 })
	t.Cleanup(fake.Close)
	c, err := github.New(context.Background(), fake.URL(), "ghp_test", nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, fake
}

func TestIssues(t *testing.T) {
	c, fake := setup(t)
	ctx := context.Background()
	if c.Login() != "cutbot-bot" {
		t.Errorf("login = %q", c.Login())
	}
	fake.AddIssue("kubernetes/sig-release", 2990, "someone else's issue", "open", "alice")
	is, err := c.CreateIssue(ctx, "kubernetes/sig-release", "Cut v1.31.3 release", "body\n"+cutbot.IssueMarker("00000001"), []string{"sig/release", "area/release-eng"})
	if err != nil {
		t.Fatal(err)
	}
	if is.Number != 2991 || is.URL != "https://github.com/kubernetes/sig-release/issues/2991" || strings.Join(is.Labels, ",") != "sig/release,area/release-eng" {
		t.Errorf("created %+v", is)
	}
	if err := c.EditIssueBody(ctx, "kubernetes/sig-release", 2991, "new body "+cutbot.IssueMarker("00000001")); err != nil {
		t.Fatal(err)
	}
	got, _ := c.Issue(ctx, "kubernetes/sig-release", 2991)
	if !strings.HasPrefix(got.Body, "new body") {
		t.Errorf("body = %q", got.Body)
	}
	found, ok, err := c.FindIssue(ctx, "kubernetes/sig-release", cutbot.IssueMarker("00000001"), t0.Add(-time.Hour))
	if err != nil || !ok || found.Number != 2991 {
		t.Errorf("FindIssue = %+v %v %v", found, ok, err)
	}
	if _, ok, _ := c.FindIssue(ctx, "kubernetes/sig-release", cutbot.IssueMarker("00000002"), t0.Add(-time.Hour)); ok {
		t.Error("found an issue for another cut")
	}
	fake.SetFile("kubernetes/sig-release", ".github/ISSUE_TEMPLATE/cut-release.md", "---\nname: Cut a release\n---\nbody")
	if s, err := c.FileContent(ctx, "kubernetes/sig-release", ".github/ISSUE_TEMPLATE/cut-release.md", ""); err != nil || !strings.Contains(s, "Cut a release") {
		t.Errorf("FileContent = %q, %v", s, err)
	}
	if _, err := c.Issue(ctx, "kubernetes/sig-release", 9999); cutbot.ErrorCode(err) != cutbot.ENOTFOUND {
		t.Errorf("missing issue: %v", err)
	}
}

func TestPullRequestsStatusesReleases(t *testing.T) {
	c, fake := setup(t)
	ctx := context.Background()
	const repo = "kubernetes/k8s.io"
	fake.AddPR(repo, "Bump foo", "bump-foo", "dependabot")
	n := fake.AddPR(repo, "releng: Image promotion for kubernetes v1.31.3", "kubernetes-v1.31.3-image-promotion", "alice", "do-not-merge/hold", "sig/release")
	prs, err := c.OpenPullRequests(ctx, repo)
	if err != nil || len(prs) != 2 || prs[0].Number != n || !prs[0].Held || prs[0].HeadRef != "kubernetes-v1.31.3-image-promotion" {
		t.Fatalf("open PRs = %+v, %v", prs, err)
	}
	pr, _ := c.PullRequest(ctx, repo, n)
	if pr.Approved || pr.Merged {
		t.Errorf("new PR = %+v", pr)
	}
	fake.Review(repo, n, "APPROVED")
	if pr, _ = c.PullRequest(ctx, repo, n); !pr.Approved {
		t.Error("an approving review is not approval")
	}
	fake.SetLabels(repo, n, "approved", "lgtm")
	sha := fake.Merge(repo, n)
	pr, _ = c.PullRequest(ctx, repo, n)
	if !pr.Merged || pr.MergeSHA != sha || pr.MergedAt.IsZero() || !pr.Approved || pr.Held {
		t.Errorf("merged PR = %+v", pr)
	}
	later := fake.Commit(repo)
	if ok, _ := c.Contains(ctx, repo, sha, later); !ok {
		t.Error("a later commit does not contain the merge")
	}
	if ok, _ := c.Contains(ctx, repo, later, sha); ok {
		t.Error("the merge contains a later commit")
	}
	if _, ok, _ := c.CommitStatus(ctx, repo, sha, "post-k8sio-image-promo"); ok {
		t.Error("status before any was set")
	}
	fake.SetStatus(repo, sha, "post-k8sio-image-promo", "failure", "https://prow.k8s.io/view/gs/kubernetes-ci-logs/logs/post-k8sio-image-promo/1")
	st, ok, err := c.CommitStatus(ctx, repo, sha, "post-k8sio-image-promo")
	if err != nil || !ok || st.State != "failure" || !strings.Contains(st.URL, "post-k8sio-image-promo/1") {
		t.Errorf("status = %+v %v %v", st, ok, err)
	}
	if err := c.Comment(ctx, repo, n, "builds: ..."); err != nil {
		t.Fatal(err)
	}
	if cs, _ := c.Comments(ctx, repo, n); len(cs) != 1 || cs[0] != "builds: ..." {
		t.Errorf("comments = %q", cs)
	}
	if _, ok, err := c.Release(ctx, "kubernetes/kubernetes", "v1.31.3"); ok || err != nil {
		t.Errorf("release before it exists: %v %v", ok, err)
	}
	fake.AddRelease("kubernetes/kubernetes", "v1.31.3")
	if u, ok, _ := c.Release(ctx, "kubernetes/kubernetes", "v1.31.3"); !ok || u != "https://github.com/kubernetes/kubernetes/releases/tag/v1.31.3" {
		t.Errorf("release = %q %v", u, ok)
	}
}

func TestErrors(t *testing.T) {
	c, fake := setup(t)
	ctx := context.Background()
	fake.SecondaryRateLimit(1, 60*time.Second)
	_, err := c.Issue(ctx, "kubernetes/kubernetes", 56876)
	if cutbot.ErrorCode(err) != cutbot.EUNAVAILABLE || !strings.Contains(cutbot.ErrorMessage(err), "secondary rate limit") || !strings.Contains(cutbot.ErrorMessage(err), "1m0s") {
		t.Errorf("secondary rate limit: %v (%s)", err, cutbot.ErrorCode(err))
	}
	if _, err := github.New(ctx, fake.URL(), "ghp_wrong", nil); cutbot.ErrorCode(err) != cutbot.EUNAUTHORIZED || !strings.Contains(cutbot.ErrorMessage(err), "GITHUB_TOKEN") {
		t.Errorf("bad token: %v", err)
	}
	if _, err := c.Issue(ctx, "not-a-repo", 1); cutbot.ErrorCode(err) != cutbot.EINVALID {
		t.Errorf("bad repo: %v", err)
	}
}
