// Package github reads and writes GitHub for cutbot with the real go-github client: the cut
// issue, the publishing-bot gate, the image-promotion PR and its checks, the release. It
// implements cutbot.GitHub.
package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"sigs.k8s.io/cutbot"
)

// DefaultAPIURL is github.com's API.
const DefaultAPIURL = "https://api.github.com/"

// Client is a cutbot.GitHub.
type Client struct {
	c     *gh.Client
	login string // the token's user, who creates cutbot's issues
	cache *etagCache
}

var _ cutbot.GitHub = (*Client)(nil)

// New returns a client for the API at apiURL ("" for github.com; GitHub Enterprise's is
// https://HOST/api/v3/) authenticated with token.
func New(ctx context.Context, apiURL, token string, httpClient *http.Client) (*Client, error) {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	// Conditional requests: a GET asked again carries the ETag GitHub gave, and an unchanged
	// answer (304) costs no rate limit.
	cache := newETagCache(httpClient.Transport, 4096)
	hc := *httpClient
	hc.Transport = cache
	c := gh.NewClient(&hc)
	if token != "" {
		c = c.WithAuthToken(token)
	}
	if apiURL != "" && apiURL != DefaultAPIURL {
		if !strings.HasSuffix(apiURL, "/") {
			apiURL += "/"
		}
		u, err := url.Parse(apiURL)
		if err != nil {
			return nil, fmt.Errorf("GITHUB_API_URL %q: %w", apiURL, err)
		}
		c.BaseURL, c.UploadURL = u, u
	}
	client := &Client{c: c, cache: cache}
	user, _, err := c.Users.Get(ctx, "")
	if err != nil {
		return nil, client.coded("read the token's user", err)
	}
	client.login = user.GetLogin()
	return client, nil
}

// Login is the user the token belongs to.
func (c *Client) Login() string { return c.login }

func split(repo string) (string, string, error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return "", "", cutbot.Errorf(cutbot.EINVALID, "%q is not a repository: use owner/name", repo)
	}
	return owner, name, nil
}

func issueOf(repo string, i *gh.Issue) cutbot.Issue {
	var labels []string
	for _, l := range i.Labels {
		labels = append(labels, l.GetName())
	}
	return cutbot.Issue{Repo: repo, Number: i.GetNumber(), URL: i.GetHTMLURL(), Title: i.GetTitle(), Body: i.GetBody(), State: i.GetState(), Labels: labels}
}

func (c *Client) CreateIssue(ctx context.Context, repo, title, body string, labels []string) (cutbot.Issue, error) {
	owner, name, err := split(repo)
	if err != nil {
		return cutbot.Issue{}, err
	}
	i, _, err := c.c.Issues.Create(ctx, owner, name, &gh.IssueRequest{Title: &title, Body: &body, Labels: &labels})
	if err != nil {
		return cutbot.Issue{}, c.coded("open an issue in "+repo, err)
	}
	return issueOf(repo, i), nil
}

func (c *Client) Issue(ctx context.Context, repo string, number int) (cutbot.Issue, error) {
	owner, name, err := split(repo)
	if err != nil {
		return cutbot.Issue{}, err
	}
	i, _, err := c.c.Issues.Get(ctx, owner, name, number)
	if err != nil {
		return cutbot.Issue{}, c.coded(fmt.Sprintf("read %s#%d", repo, number), err)
	}
	return issueOf(repo, i), nil
}

func (c *Client) EditIssueBody(ctx context.Context, repo string, number int, body string) error {
	owner, name, err := split(repo)
	if err != nil {
		return err
	}
	_, _, err = c.c.Issues.Edit(ctx, owner, name, number, &gh.IssueRequest{Body: &body})
	return c.coded(fmt.Sprintf("edit %s#%d", repo, number), err)
}

func (c *Client) CloseIssue(ctx context.Context, repo string, number int, reason string) error {
	owner, name, err := split(repo)
	if err != nil {
		return err
	}
	closed := "closed"
	_, _, err = c.c.Issues.Edit(ctx, owner, name, number, &gh.IssueRequest{State: &closed, StateReason: &reason})
	return c.coded(fmt.Sprintf("close %s#%d", repo, number), err)
}

func (c *Client) FindIssue(ctx context.Context, repo, marker string, since time.Time) (cutbot.Issue, bool, error) {
	owner, name, err := split(repo)
	if err != nil {
		return cutbot.Issue{}, false, err
	}
	opts := &gh.IssueListByRepoOptions{Creator: c.login, State: "all", Since: since, ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		issues, resp, err := c.c.Issues.ListByRepo(ctx, owner, name, opts)
		if err != nil {
			return cutbot.Issue{}, false, c.coded("list issues of "+repo, err)
		}
		for _, i := range issues {
			if !i.IsPullRequest() && strings.Contains(i.GetBody(), marker) {
				return issueOf(repo, i), true, nil
			}
		}
		if resp.NextPage == 0 {
			return cutbot.Issue{}, false, nil
		}
		opts.Page = resp.NextPage
	}
}

func (c *Client) FileContent(ctx context.Context, repo, path, ref string) (string, error) {
	owner, name, err := split(repo)
	if err != nil {
		return "", err
	}
	f, _, _, err := c.c.Repositories.GetContents(ctx, owner, name, path, &gh.RepositoryContentGetOptions{Ref: ref})
	if err != nil {
		return "", c.coded(fmt.Sprintf("read %s/%s", repo, path), err)
	}
	if f == nil {
		return "", cutbot.Errorf(cutbot.EINVALID, "%s/%s is a directory, not a file", repo, path)
	}
	return f.GetContent()
}

func (c *Client) prOf(ctx context.Context, repo string, p *gh.PullRequest, reviews bool) (cutbot.PullRequest, error) {
	pr := cutbot.PullRequest{Repo: repo, Number: p.GetNumber(), URL: p.GetHTMLURL(), Title: p.GetTitle(), HeadRef: p.GetHead().GetRef(),
		HeadSHA: p.GetHead().GetSHA(), Base: p.GetBase().GetRef(),
		Author: p.GetUser().GetLogin(), State: p.GetState(), Merged: p.GetMerged(), MergeSHA: p.GetMergeCommitSHA(),
		MergedAt: p.GetMergedAt().Time, CreatedAt: p.GetCreatedAt().Time, ClosedAt: p.GetClosedAt().Time, Body: p.GetBody()}
	for _, l := range p.Labels {
		pr.Labels = append(pr.Labels, l.GetName())
	}
	pr.Held = slices.Contains(pr.Labels, "do-not-merge/hold")
	pr.Approved = slices.Contains(pr.Labels, "approved") && slices.Contains(pr.Labels, "lgtm")
	if !pr.Merged {
		pr.MergeSHA = "" // GitHub's test-merge commit of an open PR means nothing here
	}
	if reviews && !pr.Approved && !pr.Merged {
		owner, name, _ := split(repo)
		rs, _, err := c.c.PullRequests.ListReviews(ctx, owner, name, pr.Number, &gh.ListOptions{PerPage: 100})
		if err != nil {
			return pr, c.coded(fmt.Sprintf("read the reviews of %s", pr.Ref()), err)
		}
		for _, r := range rs {
			pr.Approved = pr.Approved || r.GetState() == "APPROVED"
		}
	}
	return pr, nil
}

func (c *Client) OpenPullRequests(ctx context.Context, repo string) ([]cutbot.PullRequest, error) {
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	ps, _, err := c.c.PullRequests.List(ctx, owner, name, &gh.PullRequestListOptions{State: "open", Sort: "created", Direction: "desc", ListOptions: gh.ListOptions{PerPage: 100}})
	if err != nil {
		return nil, c.coded("list the open pull requests of "+repo, err)
	}
	out := make([]cutbot.PullRequest, 0, len(ps))
	for _, p := range ps {
		pr, _ := c.prOf(ctx, repo, p, false)
		out = append(out, pr)
	}
	return out, nil
}

func (c *Client) PullRequest(ctx context.Context, repo string, number int) (cutbot.PullRequest, error) {
	owner, name, err := split(repo)
	if err != nil {
		return cutbot.PullRequest{}, err
	}
	p, _, err := c.c.PullRequests.Get(ctx, owner, name, number)
	if err != nil {
		return cutbot.PullRequest{}, c.coded(fmt.Sprintf("read %s#%d", repo, number), err)
	}
	return c.prOf(ctx, repo, p, true)
}

// FindPullRequest returns a pull request into repo from head ("owner:branch"), open or
// closed, the newest first.
func (c *Client) FindPullRequest(ctx context.Context, repo, head string) (cutbot.PullRequest, bool, error) {
	owner, name, err := split(repo)
	if err != nil {
		return cutbot.PullRequest{}, false, err
	}
	prs, _, err := c.c.PullRequests.List(ctx, owner, name, &gh.PullRequestListOptions{State: "all", Head: head, ListOptions: gh.ListOptions{PerPage: 10}})
	if err != nil {
		return cutbot.PullRequest{}, false, c.coded(fmt.Sprintf("list the pull requests of %s from %s", repo, head), err)
	}
	if len(prs) == 0 {
		return cutbot.PullRequest{}, false, nil
	}
	pr, err := c.prOf(ctx, repo, prs[0], false)
	return pr, err == nil, err
}

// OpenPullRequest opens a pull request into base of repo from head ("owner:branch").
func (c *Client) OpenPullRequest(ctx context.Context, repo, head, base, title, body string) (cutbot.PullRequest, error) {
	owner, name, err := split(repo)
	if err != nil {
		return cutbot.PullRequest{}, err
	}
	p, _, err := c.c.PullRequests.Create(ctx, owner, name, &gh.NewPullRequest{Title: gh.String(title), Head: gh.String(head), Base: gh.String(base), Body: gh.String(body)})
	if err != nil {
		return cutbot.PullRequest{}, c.coded(fmt.Sprintf("open a pull request into %s from %s", repo, head), err)
	}
	return c.prOf(ctx, repo, p, false)
}

// FileProposal is a one-file change proposed as a pull request from a fork: Content at Path,
// on Branch of Fork, into Base of Repo.
type FileProposal struct {
	Repo, Base, Fork, Branch, Path string
	Content, Title, Body           string
}

// Head is the proposal's head as GitHub names it, "owner:branch".
func (p FileProposal) Head() string {
	owner, _, _ := strings.Cut(p.Fork, "/")
	return owner + ":" + p.Branch
}

// ProposeFile commits the proposal's file on the fork's branch (CommitFile: nothing new if it
// holds it already) and opens the pull request. A pull request that exists for that head
// already (a try whose answer was lost) is taken, not opened twice.
func (c *Client) ProposeFile(ctx context.Context, p FileProposal) (cutbot.PullRequest, error) {
	if _, err := c.CommitFile(ctx, p.Fork, p.Branch, p.Repo, p.Base, p.Path, p.Content, p.Title); err != nil {
		return cutbot.PullRequest{}, err
	}
	pr, err := c.OpenPullRequest(ctx, p.Repo, p.Head(), p.Base, p.Title, p.Body)
	if err != nil {
		if found, ok, ferr := c.FindPullRequest(ctx, p.Repo, p.Head()); ferr == nil && ok {
			return found, nil
		}
		return cutbot.PullRequest{}, err
	}
	return pr, nil
}

// CommitFile makes path on branch of repo hold content, with one commit (message): the
// branch is made first, at the head of fromBranch of fromRepo, if it does not exist (a fork
// shares its upstream's commits). It reports whether anything changed (false: the branch held
// the content already).
func (c *Client) CommitFile(ctx context.Context, repo, branch, fromRepo, fromBranch, path, content, message string) (bool, error) {
	owner, name, err := split(repo)
	if err != nil {
		return false, err
	}
	ok, err := c.BranchExists(ctx, repo, branch)
	if err != nil {
		return false, err
	}
	if !ok {
		fo, fn, err := split(fromRepo)
		if err != nil {
			return false, err
		}
		b, _, err := c.c.Repositories.GetBranch(ctx, fo, fn, fromBranch, 1)
		if err != nil {
			return false, c.coded(fmt.Sprintf("read the branch %s of %s", fromBranch, fromRepo), err)
		}
		_, _, err = c.c.Git.CreateRef(ctx, owner, name, &gh.Reference{Ref: gh.String("refs/heads/" + branch), Object: &gh.GitObject{SHA: b.GetCommit().SHA}})
		var er *gh.ErrorResponse
		if err != nil && !(errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusUnprocessableEntity) {
			return false, c.coded(fmt.Sprintf("create the branch %s of %s", branch, repo), err)
		}
	}
	opts := &gh.RepositoryContentFileOptions{Message: gh.String(message), Content: []byte(content), Branch: gh.String(branch)}
	file, _, resp, err := c.c.Repositories.GetContents(ctx, owner, name, path, &gh.RepositoryContentGetOptions{Ref: branch})
	switch {
	case resp != nil && resp.StatusCode == http.StatusNotFound:
	case err != nil:
		return false, c.coded(fmt.Sprintf("read %s on %s of %s", path, branch, repo), err)
	default:
		current, err := file.GetContent()
		if err != nil {
			return false, fmt.Errorf("decode %s on %s of %s: %w", path, branch, repo, err)
		}
		if current == content {
			return false, nil
		}
		opts.SHA = file.SHA
	}
	if _, _, err := c.c.Repositories.UpdateFile(ctx, owner, name, path, opts); err != nil {
		return false, c.coded(fmt.Sprintf("commit %s on %s of %s", path, branch, repo), err)
	}
	return true, nil
}

func (c *Client) Comments(ctx context.Context, repo string, number int) ([]string, error) {
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	var out []string
	opts := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		cs, resp, err := c.c.Issues.ListComments(ctx, owner, name, number, opts)
		if err != nil {
			return nil, c.coded(fmt.Sprintf("read the comments of %s#%d", repo, number), err)
		}
		for _, cm := range cs {
			out = append(out, cm.GetBody())
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

func (c *Client) Comment(ctx context.Context, repo string, number int, body string) error {
	owner, name, err := split(repo)
	if err != nil {
		return err
	}
	_, _, err = c.c.Issues.CreateComment(ctx, owner, name, number, &gh.IssueComment{Body: &body})
	return c.coded(fmt.Sprintf("comment on %s#%d", repo, number), err)
}

func (c *Client) CommitStatus(ctx context.Context, repo, sha, context string) (cutbot.CommitStatus, bool, error) {
	owner, name, err := split(repo)
	if err != nil {
		return cutbot.CommitStatus{}, false, err
	}
	cs, _, err := c.c.Repositories.GetCombinedStatus(ctx, owner, name, sha, &gh.ListOptions{PerPage: 100})
	if err != nil {
		return cutbot.CommitStatus{}, false, c.coded(fmt.Sprintf("read the status of %s@%s", repo, sha), err)
	}
	for _, s := range cs.Statuses {
		if s.GetContext() == context {
			return cutbot.CommitStatus{State: s.GetState(), URL: s.GetTargetURL(), At: s.GetUpdatedAt().Time}, true, nil
		}
	}
	return cutbot.CommitStatus{}, false, nil
}

func (c *Client) Contains(ctx context.Context, repo, base, head string) (bool, error) {
	if base == head {
		return true, nil
	}
	owner, name, err := split(repo)
	if err != nil {
		return false, err
	}
	cmp, _, err := c.c.Repositories.CompareCommits(ctx, owner, name, base, head, &gh.ListOptions{PerPage: 1})
	if err != nil {
		return false, c.coded(fmt.Sprintf("compare %s...%s in %s", base, head, repo), err)
	}
	st := cmp.GetStatus()
	return st == "ahead" || st == "identical", nil
}

func (c *Client) Release(ctx context.Context, repo, tag string) (string, bool, error) {
	owner, name, err := split(repo)
	if err != nil {
		return "", false, err
	}
	r, _, err := c.c.Repositories.GetReleaseByTag(ctx, owner, name, tag)
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound {
		return "", false, nil
	}
	if err != nil {
		return "", false, c.coded(fmt.Sprintf("read the %s release of %s", tag, repo), err)
	}
	return r.GetHTMLURL(), true, nil
}

// ReleasedAt is when the GitHub release of tag was published, if it exists.
func (c *Client) ReleasedAt(ctx context.Context, repo, tag string) (time.Time, bool, error) {
	owner, name, err := split(repo)
	if err != nil {
		return time.Time{}, false, err
	}
	r, _, err := c.c.Repositories.GetReleaseByTag(ctx, owner, name, tag)
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, c.coded(fmt.Sprintf("read the %s release of %s", tag, repo), err)
	}
	return r.GetPublishedAt().Time, !r.GetPublishedAt().IsZero(), nil
}

// Tags lists the git tags of repo starting with prefix, through the matching-refs API (one
// request however many tags the repository has).
func (c *Client) Tags(ctx context.Context, repo, prefix string) ([]string, error) {
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	var out []string
	opts := &gh.ReferenceListOptions{Ref: "tags/" + prefix, ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		refs, resp, err := c.c.Git.ListMatchingRefs(ctx, owner, name, opts)
		if err != nil {
			return nil, c.coded(fmt.Sprintf("list the %s tags of %s", prefix, repo), err)
		}
		for _, r := range refs {
			out = append(out, strings.TrimPrefix(r.GetRef(), "refs/tags/"))
		}
		if resp == nil || resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// BranchExists reports whether repo has the branch.
func (c *Client) BranchExists(ctx context.Context, repo, branch string) (bool, error) {
	owner, name, err := split(repo)
	if err != nil {
		return false, err
	}
	// GetBranch answers a status other than 200 with a plain error and the response (not an
	// *ErrorResponse), so the 404 of a missing branch is read from the response.
	_, resp, err := c.c.Repositories.GetBranch(ctx, owner, name, branch, 1)
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		return false, nil
	}
	if resp != nil && resp.StatusCode != http.StatusOK {
		err = &gh.ErrorResponse{Response: resp.Response, Message: err.Error()}
	}
	if err != nil {
		return false, c.coded(fmt.Sprintf("read the branch %s of %s", branch, repo), err)
	}
	return true, nil
}

// CreateBranch creates branch at the commit tag points to, through the git refs API (the tag
// of a Kubernetes release is annotated: its ref points to a tag object, whose object is the
// commit).
func (c *Client) CreateBranch(ctx context.Context, repo, branch, tag string) (string, error) {
	owner, name, err := split(repo)
	if err != nil {
		return "", err
	}
	ref, _, err := c.c.Git.GetRef(ctx, owner, name, "tags/"+tag)
	if err != nil {
		return "", c.coded(fmt.Sprintf("read the tag %s of %s", tag, repo), err)
	}
	sha := ref.GetObject().GetSHA()
	if ref.GetObject().GetType() == "tag" {
		t, _, err := c.c.Git.GetTag(ctx, owner, name, sha)
		if err != nil {
			return "", c.coded(fmt.Sprintf("read the tag object of %s in %s", tag, repo), err)
		}
		sha = t.GetObject().GetSHA()
	}
	_, _, err = c.c.Git.CreateRef(ctx, owner, name, &gh.Reference{Ref: gh.String("refs/heads/" + branch), Object: &gh.GitObject{SHA: gh.String(sha)}})
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusUnprocessableEntity && strings.Contains(strings.ToLower(er.Message), "already exists") {
		return "", cutbot.Errorf(cutbot.ECONFLICT, "the branch %s already exists in %s", branch, repo)
	}
	if err != nil {
		return "", c.coded(fmt.Sprintf("create the branch %s of %s from %s", branch, repo, tag), err)
	}
	return sha, nil
}

func (c *Client) PullRequestsTo(ctx context.Context, repo, base string) ([]cutbot.PullRequest, error) {
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	var out []cutbot.PullRequest
	opts := &gh.PullRequestListOptions{State: "open", Base: base, ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		ps, resp, err := c.c.PullRequests.List(ctx, owner, name, opts)
		if err != nil {
			return nil, c.coded(fmt.Sprintf("list the open pull requests into %s of %s", base, repo), err)
		}
		for _, p := range ps {
			pr, _ := c.prOf(ctx, repo, p, false)
			out = append(out, pr)
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// ClosedPullRequestsTo lists the pull requests into base closed (merged or not) since since,
// most recently updated first: pages are read until one holds nothing updated since then.
func (c *Client) ClosedPullRequestsTo(ctx context.Context, repo, base string, since time.Time) ([]cutbot.PullRequest, error) {
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	var out []cutbot.PullRequest
	opts := &gh.PullRequestListOptions{State: "closed", Base: base, Sort: "updated", Direction: "desc", ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		ps, resp, err := c.c.PullRequests.List(ctx, owner, name, opts)
		if err != nil {
			return nil, c.coded(fmt.Sprintf("list the closed pull requests into %s of %s", base, repo), err)
		}
		older := false
		for _, p := range ps {
			if p.GetUpdatedAt().Before(since) {
				older = true
				continue
			}
			if p.GetClosedAt().Before(since) {
				continue // closed before, touched since (a comment, a label)
			}
			pr, _ := c.prOf(ctx, repo, p, false)
			out = append(out, pr)
		}
		if older || resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// SearchIssues runs an issue search (GitHub's search API: 30 searches a minute, 1,000
// results a query) and returns up to max results.
func (c *Client) SearchIssues(ctx context.Context, query string, max int) ([]cutbot.Issue, error) {
	var out []cutbot.Issue
	opts := &gh.SearchOptions{Sort: "created", Order: "desc", ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		res, resp, err := c.c.Search.Issues(ctx, query, opts)
		if err != nil {
			return nil, c.coded(fmt.Sprintf("search issues (%s)", query), err)
		}
		for _, i := range res.Issues {
			repo := ""
			if u := i.GetRepositoryURL(); u != "" {
				parts := strings.Split(strings.TrimRight(u, "/"), "/")
				if len(parts) >= 2 {
					repo = parts[len(parts)-2] + "/" + parts[len(parts)-1]
				}
			}
			out = append(out, issueOf(repo, i))
			if len(out) >= max {
				return out, nil
			}
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

func (c *Client) CombinedStatus(ctx context.Context, repo, sha string) (string, []string, error) {
	owner, name, err := split(repo)
	if err != nil {
		return "", nil, err
	}
	cs, _, err := c.c.Repositories.GetCombinedStatus(ctx, owner, name, sha, &gh.ListOptions{PerPage: 100})
	if err != nil {
		return "", nil, c.coded(fmt.Sprintf("read the status of %s@%s", repo, sha), err)
	}
	var failing []string
	for _, s := range cs.Statuses {
		if st := s.GetState(); st == "failure" || st == "error" {
			failing = append(failing, s.GetContext())
		}
	}
	return cs.GetState(), failing, nil
}

// RemoveLabel removes a label. go-github puts the name into the URL path as it is, so a name
// with "/" (do-not-merge/hold) would address another path: it is escaped here.
func (c *Client) RemoveLabel(ctx context.Context, repo string, number int, label string) error {
	owner, name, err := split(repo)
	if err != nil {
		return err
	}
	_, err = c.c.Issues.RemoveLabelForIssue(ctx, owner, name, number, url.PathEscape(label))
	return c.coded(fmt.Sprintf("remove %s from %s#%d", label, repo, number), err)
}

func (c *Client) AddLabel(ctx context.Context, repo string, number int, label string) error {
	owner, name, err := split(repo)
	if err != nil {
		return err
	}
	_, _, err = c.c.Issues.AddLabelsToIssue(ctx, owner, name, number, []string{label})
	return c.coded(fmt.Sprintf("add %s to %s#%d", label, repo, number), err)
}

// coded turns a go-github error into a coded error: rate limits and outages are EUNAVAILABLE
// (worth retrying later), a refused token says what scope is needed.
func (c *Client) coded(what string, err error) error {
	if err == nil {
		return nil
	}
	var abuse *gh.AbuseRateLimitError
	var rate *gh.RateLimitError
	var er *gh.ErrorResponse
	switch {
	case errors.As(err, &abuse):
		wait := "a while"
		if abuse.RetryAfter != nil {
			wait = abuse.RetryAfter.String()
		}
		return fmt.Errorf("%w: %w", cutbot.Errorf(cutbot.EUNAVAILABLE, "GitHub's secondary rate limit stopped cutbot from trying to %s; it waits %s before trying again", what, wait), err)
	case errors.As(err, &rate):
		return fmt.Errorf("%w: %w", cutbot.Errorf(cutbot.EUNAVAILABLE, "GitHub's rate limit stopped cutbot from trying to %s until %s", what, rate.Rate.Reset.Format(time.Kitchen)), err)
	case errors.As(err, &er) && er.Response != nil:
		switch code := er.Response.StatusCode; {
		case code == http.StatusUnauthorized || code == http.StatusForbidden:
			return fmt.Errorf("%w: %w", cutbot.Errorf(cutbot.EUNAUTHORIZED, "GitHub refused to let cutbot %s (%d): check that GITHUB_TOKEN is valid and may write issues and pull-request comments there", what, code), err)
		case code == http.StatusNotFound:
			return fmt.Errorf("%w: %w", cutbot.Errorf(cutbot.ENOTFOUND, "GitHub could not %s: not found", what), err)
		case code == http.StatusUnprocessableEntity:
			return fmt.Errorf("%w: %w", cutbot.Errorf(cutbot.EINVALID, "GitHub rejected the request to %s: %s", what, er.Message), err)
		case code >= 500:
			return fmt.Errorf("%w: %w", cutbot.Errorf(cutbot.EUNAVAILABLE, "GitHub could not %s just now (%d)", what, code), err)
		}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%w: %w", cutbot.Errorf(cutbot.EUNAVAILABLE, "could not reach GitHub to %s", what), err)
	}
	return fmt.Errorf("github: %s: %w", what, err)
}
