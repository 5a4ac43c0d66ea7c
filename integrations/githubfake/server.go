// Package githubfake is a stateful fake of the parts of GitHub's REST API cutbot uses, for
// tests and the sandbox: issues (with bodies humans edit), comments, pull requests with labels
// and reviews, merges, commit statuses, comparisons, releases and file contents. The real
// go-github client talks to it over HTTP; every request is recorded.
package githubfake

import (
	"cmp"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/cutbot/integrations/fakekit"
)

// Request is one API call the fake answered.
type Request struct {
	Method, Path string
	Query        string
	Body         string
	Status       int
}

type comment struct {
	ID   int64
	User string
	Body string
}

type issue struct {
	Number    int
	Title     string
	Body      string
	State     string
	Reason    string // state_reason: completed, not_planned, reopened
	User      string
	Labels    []string
	CreatedAt time.Time
	ClosedAt  time.Time
	UpdatedAt time.Time
	Comments  []comment
	PR        *pull
}

type pull struct {
	HeadRepo string // owner/name of the head's repository, when it is a fork
	Base     string
	HeadSHA  string
	HeadRef  string
	Merged   bool
	MergeSHA string
	MergedAt time.Time
	Reviews  []string
}

type status struct {
	Context, State, URL string
	At                  time.Time
}

type repo struct {
	tags        []string          // git tags, e.g. v1.31.2
	branches    map[string]bool   // branches besides the default one
	branchSHA   map[string]string // the commit of each branch created through the API
	releasedAt  map[string]time.Time
	branchFiles map[string]map[string]string // branch → path → content, written through the contents API
	issues      map[int]*issue
	next        int
	files       map[string]string
	statuses    map[string][]status
	history     []string // the default branch's commits, oldest first
	releases    map[string]string
}

// Server is a running fake.
type Server struct {
	http  *httptest.Server
	token string
	login string
	now   func() time.Time

	mu        sync.Mutex
	changes   fakekit.Changes
	repos     map[string]*repo
	requests  []Request
	limited   int
	retry     time.Duration
	searches  []time.Time // when the searches of the last minute were made
	failures  []failure
	commentID int64
	shaSeq    int
}

// New starts a fake GitHub that accepts token and says it belongs to login.
func New(token, login string, now func() time.Time) *Server {
	if now == nil {
		now = time.Now
	}
	s := &Server{token: token, login: login, now: now, repos: map[string]*repo{}}
	s.http = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the API base URL, for GITHUB_API_URL.
func (s *Server) URL() string { return s.http.URL + "/" }

// Close stops the server.
func (s *Server) Close() { s.http.Close() }

func (s *Server) repo(name string) *repo {
	r := s.repos[name]
	if r == nil {
		r = &repo{issues: map[int]*issue{}, next: 1, files: map[string]string{}, statuses: map[string][]status{}, releases: map[string]string{}, branches: map[string]bool{"master": true}}
		s.repos[name] = r
	}
	return r
}

func (s *Server) change(f func()) {
	s.mu.Lock()
	f()
	s.mu.Unlock()
	s.changes.Notify()
}

// WaitFor blocks until cond holds or ctx ends; cond may call the Server's methods.
func (s *Server) WaitFor(ctx context.Context, cond func() bool) error {
	return s.changes.Wait(ctx, cond)
}

// Requests returns the calls so far whose "METHOD path" starts with prefix ("" for all).
func (s *Server) Requests(prefix string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if strings.HasPrefix(r.Method+" "+r.Path, prefix) {
			out = append(out, r)
		}
	}
	return out
}

// SecondaryRateLimit makes the next n calls answer 403 with Retry-After, as GitHub's secondary
// rate limit does.
func (s *Server) SecondaryRateLimit(n int, retryAfter time.Duration) {
	s.change(func() { s.limited, s.retry = n, retryAfter })
}

type failure struct {
	prefix string
	status int
	after  bool // do the request, then answer status (the answer was lost)
}

// LoseNextAnswer makes the next request whose "METHOD path" starts with prefix happen, and
// then answer status, as when a connection drops after GitHub acted: the caller cannot know
// whether it did.
func (s *Server) LoseNextAnswer(prefix string, status int) {
	s.change(func() { s.failures = append(s.failures, failure{prefix, status, true}) })
}

// FailNext makes the next request whose "METHOD path" starts with prefix answer status.
func (s *Server) FailNext(prefix string, status int) {
	s.change(func() { s.failures = append(s.failures, failure{prefix: prefix, status: status}) })
}

// SetFile puts a file in a repository.
func (s *Server) SetFile(repoName, path, content string) {
	s.change(func() { s.repo(repoName).files[path] = content })
}

// AddIssue adds an issue with a given number (0: the next one) and returns its number.
func (s *Server) AddIssue(repoName string, number int, title, state, user string) int {
	var n int
	s.change(func() {
		r := s.repo(repoName)
		if number == 0 {
			number = r.next
		}
		r.next = max(r.next, number+1)
		r.issues[number] = &issue{Number: number, Title: title, State: state, User: user, CreatedAt: s.now()}
		n = number
	})
	return n
}

// SetIssueState opens or closes an issue.
func (s *Server) SetIssueState(repoName string, number int, state string) {
	s.change(func() { s.repo(repoName).issues[number].State = state })
}

// EditBody changes an issue's body, as a person editing it on GitHub.
func (s *Server) EditBody(repoName string, number int, body string) {
	s.change(func() { s.repo(repoName).issues[number].Body = body })
}

// StateReason returns why an issue was closed (GitHub's state_reason), "" if it was not.
func (s *Server) StateReason(repoName string, number int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := s.repo(repoName).issues[number]; i != nil {
		return i.Reason
	}
	return ""
}

// Issue returns an issue's title, body, state and labels.
func (s *Server) Issue(repoName string, number int) (title, body, state string, labels []string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.repo(repoName).issues[number]
	if i == nil {
		return "", "", "", nil, false
	}
	return i.Title, i.Body, i.State, slices.Clone(i.Labels), true
}

// IssueNumbers lists the numbers of a repository's issues (not PRs), ascending.
func (s *Server) IssueNumbers(repoName string) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int
	for n, i := range s.repo(repoName).issues {
		if i.PR == nil {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// CommentsOn returns the bodies of an issue's or PR's comments.
func (s *Server) CommentsOn(repoName string, number int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	if i := s.repo(repoName).issues[number]; i != nil {
		for _, c := range i.Comments {
			out = append(out, c.Body)
		}
	}
	return out
}

// PR is a pull request to add as it is, e.g. from a recorded GitHub response.
type PR struct {
	Number        int
	Title         string
	Base, HeadRef string
	HeadSHA       string
	Author        string
	Labels        []string
	State         string // open or closed
	Merged        bool
	MergeSHA      string
	CreatedAt     time.Time
	MergedAt      time.Time
	ClosedAt      time.Time // default: MergedAt for a merged PR
	Body          string
}

// AddPullRequest adds a pull request with its own number.
func (s *Server) AddPullRequest(repoName string, p PR) {
	s.change(func() {
		r := s.repo(repoName)
		if p.State == "" {
			p.State = "open"
		}
		if p.ClosedAt.IsZero() && p.Merged {
			p.ClosedAt = p.MergedAt
		}
		r.issues[p.Number] = &issue{Number: p.Number, Title: p.Title, Body: p.Body, State: p.State, User: p.Author, Labels: slices.Clone(p.Labels), CreatedAt: p.CreatedAt,
			ClosedAt: p.ClosedAt, UpdatedAt: latest(p.CreatedAt, p.ClosedAt),
			PR: &pull{Base: p.Base, HeadRef: p.HeadRef, HeadSHA: p.HeadSHA, Merged: p.Merged, MergeSHA: p.MergeSHA, MergedAt: p.MergedAt}}
		r.next = max(r.next, p.Number+1)
	})
}

// Labels returns an issue's or PR's labels.
func (s *Server) Labels(repoName string, number int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := s.repo(repoName).issues[number]; i != nil {
		return slices.Clone(i.Labels)
	}
	return nil
}

// Close closes an issue or PR, merged or not.
func (s *Server) ClosePR(repoName string, number int, merged bool) {
	s.change(func() {
		i := s.repo(repoName).issues[number]
		i.State, i.ClosedAt, i.UpdatedAt = "closed", s.now(), s.now()
		if merged && i.PR != nil {
			i.PR.Merged, i.PR.MergeSHA, i.PR.MergedAt = true, s.commitLocked(repoName), s.now()
		}
	})
}

// AddPR opens a pull request and returns its number.
func (s *Server) AddPR(repoName, title, headRef, author string, labels ...string) int {
	var n int
	s.change(func() {
		r := s.repo(repoName)
		n = r.next
		r.next++
		r.issues[n] = &issue{Number: n, Title: title, State: "open", User: author, Labels: labels, CreatedAt: s.now(), PR: &pull{HeadRef: headRef}}
	})
	return n
}

// SetLabels replaces a PR's or issue's labels (as prow does for /lgtm, /approve, /hold).
func (s *Server) SetLabels(repoName string, number int, labels ...string) {
	s.change(func() {
		i := s.repo(repoName).issues[number]
		i.Labels, i.UpdatedAt = labels, s.now()
	})
}

// Review adds a review (APPROVED, CHANGES_REQUESTED, COMMENTED) to a PR.
func (s *Server) Review(repoName string, number int, state string) {
	s.change(func() {
		p := s.repo(repoName).issues[number].PR
		p.Reviews = append(p.Reviews, state)
	})
}

// Commit adds a commit to a repository's default branch and returns its sha.
func (s *Server) Commit(repoName string) string {
	var sha string
	s.change(func() { sha = s.commitLocked(repoName) })
	return sha
}

func (s *Server) commitLocked(repoName string) string {
	s.shaSeq++
	sha := fmt.Sprintf("%x", sha1.Sum([]byte(fmt.Sprintf("commit %d of %s", s.shaSeq, repoName))))
	r := s.repo(repoName)
	r.history = append(r.history, sha)
	return sha
}

// Merge merges a PR, adding its merge commit to the default branch, and returns the sha.
func (s *Server) Merge(repoName string, number int) string {
	var sha string
	s.change(func() {
		i := s.repo(repoName).issues[number]
		sha = s.commitLocked(repoName)
		i.State, i.PR.Merged, i.PR.MergeSHA, i.PR.MergedAt, i.ClosedAt, i.UpdatedAt = "closed", true, sha, s.now(), s.now(), s.now()
	})
	return sha
}

// SetStatus sets a commit status context, as prow reports a job.
func (s *Server) SetStatus(repoName, sha, context, state, url string) {
	s.change(func() {
		r := s.repo(repoName)
		list := r.statuses[sha]
		for i := range list {
			if list[i].Context == context {
				list[i] = status{context, state, url, s.now()}
				return
			}
		}
		r.statuses[sha] = append(list, status{context, state, url, s.now()})
	})
}

// AddRelease publishes a GitHub release for tag.
// AddTags adds git tags to a repository.
func (s *Server) AddTags(repoName string, tags ...string) {
	s.change(func() { r := s.repo(repoName); r.tags = append(r.tags, tags...) })
}

var reVersion = regexp.MustCompile(`^v(\d+)\.(\d+)\.(\d+)(?:-(alpha|beta|rc)\.(\d+))?$`)

// SeedReleases gives a repository the tags and release branches of a release history up to
// each latest version given: for v1.31.2, the branch release-1.31 and v1.31.0-rc.0 … v1.31.2;
// for v1.32.0-rc.1, release-1.32 and the alphas, betas and rcs before it; for
// v1.33.0-alpha.1, alpha.0 and alpha.1 (on master).
func (s *Server) SeedReleases(repoName string, latest ...string) {
	for _, l := range latest {
		m := reVersion.FindStringSubmatch(l)
		if m == nil {
			panic("githubfake: SeedReleases: not a version: " + l)
		}
		major, _ := strconv.Atoi(m[1])
		minor, _ := strconv.Atoi(m[2])
		patch, _ := strconv.Atoi(m[3])
		pre := m[4]
		n, _ := strconv.Atoi(m[5])
		var tags []string
		add := func(kind string, upto int) {
			for i := 0; i <= upto; i++ {
				tags = append(tags, fmt.Sprintf("v%d.%d.0-%s.%d", major, minor, kind, i))
			}
		}
		switch pre {
		case "alpha":
			add("alpha", n)
		case "beta":
			add("alpha", 3)
			add("beta", n)
		case "rc":
			add("alpha", 3)
			add("beta", 2)
			add("rc", n)
			s.AddBranches(repoName, fmt.Sprintf("release-%d.%d", major, minor))
		default:
			add("alpha", 3)
			add("beta", 2)
			add("rc", 1)
			for p := 0; p <= patch; p++ {
				tags = append(tags, fmt.Sprintf("v%d.%d.%d", major, minor, p))
			}
			s.AddBranches(repoName, fmt.Sprintf("release-%d.%d", major, minor))
		}
		s.AddTags(repoName, tags...)
	}
}

// AddBranches adds branches to a repository (master is always there).
func (s *Server) AddBranches(repoName string, branches ...string) {
	s.change(func() {
		for _, b := range branches {
			s.repo(repoName).branches[b] = true
		}
	})
}

// AddRelease adds a GitHub release of tag, published now.
func (s *Server) AddRelease(repoName, tag string) { s.AddReleaseAt(repoName, tag, s.now()) }

// AddReleaseAt adds a GitHub release of tag published at at.
func (s *Server) AddReleaseAt(repoName, tag string, at time.Time) {
	s.change(func() {
		r := s.repo(repoName)
		r.releases[tag] = fmt.Sprintf("https://github.com/%s/releases/tag/%s", repoName, tag)
		if r.releasedAt == nil {
			r.releasedAt = map[string]time.Time{}
		}
		r.releasedAt[tag] = at
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	var body []byte
	if r.Body != nil {
		body = make([]byte, 0, 1024)
		buf := make([]byte, 4096)
		for {
			n, err := r.Body.Read(buf)
			body = append(body, buf[:n]...)
			if err != nil {
				break
			}
		}
	}
	status, res := s.route(r, body)
	if pg, ok := res.(paged); ok {
		res = pg.items
		if pg.wrap != nil {
			res = pg.wrap
		}
		if pg.link != "" {
			w.Header().Set("Link", pg.link)
		}
	}
	// A GET answers with an ETag; asked again with it in If-None-Match and nothing changed,
	// it answers 304 Not Modified with no body, as GitHub does (and such a request does not
	// count against the rate limit there).
	var out []byte
	if status == http.StatusOK && r.Method == http.MethodGet {
		out, _ = json.Marshal(res)
		etag := fmt.Sprintf(`"%x"`, sha1.Sum(append([]byte(w.Header().Get("Link")), out...)))
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			status = http.StatusNotModified
		}
	}
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Body: string(body), Status: status})
	retry := s.retry
	s.mu.Unlock()
	s.changes.Notify()
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusForbidden && retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(retry/time.Second)))
	}
	if reset, ok := res.(searchLimited); ok {
		w.Header().Set("X-RateLimit-Limit", "30")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.reset.Unix(), 10))
		w.Header().Set("X-RateLimit-Resource", "search")
		res = obj{"message": "API rate limit exceeded for search", "documentation_url": "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}
	}
	w.WriteHeader(status)
	switch {
	case status == http.StatusNotModified:
	case out != nil:
		w.Write(append(out, '\n'))
	default:
		json.NewEncoder(w).Encode(res)
	}
}

type obj = map[string]any

// paged is one page of a list, with the Link header GitHub sends when there are more.
type paged struct {
	items []obj
	link  string
	wrap  obj // when set, the answer (search wraps its page in total_count and items)
}

// page cuts a list into pages as GitHub does: per_page (30 by default, at most 100) and
// page, with rel="next" and rel="last" links.
func page(r *http.Request, all []obj) paged {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, 100)
	n, _ := strconv.Atoi(q.Get("page"))
	n = max(n, 1)
	last := max((len(all)+per-1)/per, 1)
	lo, hi := min((n-1)*per, len(all)), min(n*per, len(all))
	pg := paged{items: all[lo:hi]}
	if pg.items == nil {
		pg.items = []obj{}
	}
	if n < last {
		at := func(k int) string {
			u := *r.URL
			u.Scheme, u.Host = "http", r.Host
			v := u.Query()
			v.Set("page", strconv.Itoa(k))
			u.RawQuery = v.Encode()
			return u.String()
		}
		pg.link = fmt.Sprintf("<%s>; rel=\"next\", <%s>; rel=\"last\"", at(n+1), at(last))
	}
	return pg
}

func (s *Server) route(r *http.Request, body []byte) (int, any) {
	auth := r.Header.Get("Authorization")
	if auth != "Bearer "+s.token && auth != "token "+s.token {
		return http.StatusUnauthorized, obj{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.failures {
		if strings.HasPrefix(r.Method+" "+r.URL.EscapedPath(), f.prefix) {
			s.failures = append(s.failures[:i], s.failures[i+1:]...)
			if f.after {
				s.routeLocked(r, body)
			}
			return f.status, obj{"message": "injected failure"}
		}
	}
	return s.routeLocked(r, body)
}

func (s *Server) routeLocked(r *http.Request, body []byte) (int, any) {
	if s.limited > 0 {
		s.limited--
		return http.StatusForbidden, obj{"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}
	}
	// Split the path as sent: a label name may hold an escaped "/".
	parts := strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/")
	for i := range parts {
		if u, err := url.PathUnescape(parts[i]); err == nil {
			parts[i] = u
		}
	}
	if len(parts) == 2 && parts[0] == "search" && parts[1] == "issues" {
		return s.searchIssues(r)
	}
	if len(parts) == 1 && parts[0] == "user" {
		return http.StatusOK, obj{"login": s.login, "id": 1, "type": "Bot"}
	}
	if len(parts) < 4 || parts[0] != "repos" {
		return http.StatusNotFound, obj{"message": "Not Found"}
	}
	name := parts[1] + "/" + parts[2]
	rp := s.repo(name)
	rest := parts[3:]
	num := func(i int) (*issue, bool) {
		if len(rest) <= i {
			return nil, false
		}
		n, err := strconv.Atoi(rest[i])
		if err != nil {
			return nil, false
		}
		is := rp.issues[n]
		return is, is != nil
	}
	switch {
	case rest[0] == "issues" && len(rest) == 1 && r.Method == http.MethodPost:
		var req struct {
			Title  string   `json:"title"`
			Body   string   `json:"body"`
			Labels []string `json:"labels"`
		}
		if json.Unmarshal(body, &req) != nil || req.Title == "" {
			return http.StatusUnprocessableEntity, obj{"message": "Validation Failed", "errors": []obj{{"resource": "Issue", "field": "title", "code": "missing_field"}}}
		}
		n := rp.next
		rp.next++
		i := &issue{Number: n, Title: req.Title, Body: req.Body, State: "open", User: s.login, Labels: req.Labels, CreatedAt: s.now()}
		rp.issues[n] = i
		return http.StatusCreated, s.issueJSON(name, i)
	case rest[0] == "issues" && len(rest) == 1 && r.Method == http.MethodGet:
		q := r.URL.Query()
		since, _ := time.Parse(time.RFC3339, q.Get("since"))
		var out []obj
		for n := rp.next - 1; n > 0; n-- {
			i := rp.issues[n]
			if i == nil || (q.Get("creator") != "" && i.User != q.Get("creator")) || (q.Get("state") != "all" && i.State != "open") || i.CreatedAt.Before(since) {
				continue
			}
			out = append(out, s.issueJSON(name, i))
		}
		return http.StatusOK, out
	case rest[0] == "issues" && len(rest) == 2:
		i, ok := num(1)
		if !ok {
			return http.StatusNotFound, obj{"message": "Not Found"}
		}
		if r.Method == http.MethodPatch {
			var req map[string]any
			json.Unmarshal(body, &req)
			if b, ok := req["body"].(string); ok {
				i.Body = b
			}
			if st, ok := req["state"].(string); ok {
				if st != "open" && st != "closed" {
					return http.StatusUnprocessableEntity, obj{"message": "Validation Failed", "errors": []obj{{"field": "state", "code": "invalid"}}}
				}
				i.State, i.Reason = st, ""
			}
			if reason, ok := req["state_reason"].(string); ok {
				if !slices.Contains([]string{"completed", "not_planned", "reopened"}, reason) {
					return http.StatusUnprocessableEntity, obj{"message": "Validation Failed", "errors": []obj{{"field": "state_reason", "code": "invalid"}}}
				}
				i.Reason = reason
			}
		}
		return http.StatusOK, s.issueJSON(name, i)
	case rest[0] == "issues" && len(rest) == 3 && rest[2] == "labels" && r.Method == http.MethodPost:
		i, ok := num(1)
		if !ok {
			return http.StatusNotFound, obj{"message": "Not Found"}
		}
		// GitHub takes {"labels": [...]} or, as go-github sends it, a bare array.
		var req struct {
			Labels []string `json:"labels"`
		}
		if json.Unmarshal(body, &req.Labels) != nil && json.Unmarshal(body, &req) != nil || len(req.Labels) == 0 {
			return http.StatusUnprocessableEntity, obj{"message": "Invalid request.\n\nNo labels given."}
		}
		for _, l := range req.Labels {
			if !slices.Contains(i.Labels, l) {
				i.Labels = append(i.Labels, l)
			}
		}
		return http.StatusOK, labelsJSON(i.Labels)
	case rest[0] == "issues" && len(rest) == 4 && rest[2] == "labels" && r.Method == http.MethodDelete:
		i, ok := num(1)
		if !ok {
			return http.StatusNotFound, obj{"message": "Not Found"}
		}
		k := slices.Index(i.Labels, rest[3])
		if k < 0 {
			return http.StatusNotFound, obj{"message": "Label does not exist"}
		}
		i.Labels = slices.Delete(i.Labels, k, k+1)
		return http.StatusOK, labelsJSON(i.Labels)
	case rest[0] == "issues" && len(rest) == 3 && rest[2] == "comments":
		i, ok := num(1)
		if !ok {
			return http.StatusNotFound, obj{"message": "Not Found"}
		}
		if r.Method == http.MethodPost {
			var req struct {
				Body string `json:"body"`
			}
			json.Unmarshal(body, &req)
			s.commentID++
			i.Comments = append(i.Comments, comment{ID: s.commentID, User: s.login, Body: req.Body})
			return http.StatusCreated, obj{"id": s.commentID, "body": req.Body, "user": obj{"login": s.login}}
		}
		var out []obj
		for _, c := range i.Comments {
			out = append(out, obj{"id": c.ID, "body": c.Body, "user": obj{"login": c.User}})
		}
		return http.StatusOK, page(r, out)
	case rest[0] == "pulls" && len(rest) == 1 && r.Method == http.MethodPost:
		var req struct {
			Title, Head, Base, Body string
		}
		if err := json.Unmarshal(body, &req); err != nil || req.Title == "" || req.Head == "" || req.Base == "" {
			return http.StatusUnprocessableEntity, obj{"message": "Validation Failed"}
		}
		owner, branch, ok := strings.Cut(req.Head, ":")
		if !ok {
			owner, branch = parts[1], req.Head
		}
		// GitHub refuses a second open PR from the same head into the same base, and a head
		// branch that does not exist.
		headRepo := ""
		for n, hr := range s.repos {
			if strings.HasPrefix(n, owner+"/") && hr.branches[branch] {
				headRepo = n
			}
		}
		if headRepo == "" {
			return http.StatusUnprocessableEntity, obj{"message": "Validation Failed", "errors": []obj{{"field": "head", "code": "invalid"}}}
		}
		for _, i := range rp.issues {
			if i.PR != nil && i.State == "open" && i.PR.Base == req.Base && i.headLabel() == owner+":"+branch {
				return http.StatusUnprocessableEntity, obj{"message": "Validation Failed", "errors": []obj{{"message": "A pull request already exists for " + owner + ":" + branch + "."}}}
			}
		}
		n := rp.next
		rp.next++
		rp.issues[n] = &issue{Number: n, Title: req.Title, Body: req.Body, State: "open", User: owner, CreatedAt: s.now(),
			PR: &pull{HeadRef: branch, HeadRepo: headRepo, Base: req.Base, HeadSHA: fmt.Sprintf("%040x", 1000+n)}}
		return http.StatusCreated, s.pullJSON(name, rp.issues[n])
	case rest[0] == "pulls" && len(rest) == 1:
		var list []*issue
		q := r.URL.Query()
		state := cmp.Or(q.Get("state"), "open")
		for n := rp.next - 1; n > 0; n-- {
			if i := rp.issues[n]; i != nil && i.PR != nil && (state == "all" || i.State == state) && (q.Get("base") == "" || i.PR.Base == q.Get("base")) &&
				(q.Get("head") == "" || q.Get("head") == i.headLabel()) {
				list = append(list, i)
			}
		}
		// sort: created (default) or updated; direction: desc (default) or asc.
		if q.Get("sort") == "updated" {
			slices.SortStableFunc(list, func(a, b *issue) int { return b.updated().Compare(a.updated()) })
		}
		if q.Get("direction") == "asc" {
			slices.Reverse(list)
		}
		out := []obj{}
		for _, i := range list {
			out = append(out, s.pullJSON(name, i))
		}
		return http.StatusOK, page(r, out)
	case rest[0] == "pulls" && len(rest) == 2:
		i, ok := num(1)
		if !ok || i.PR == nil {
			return http.StatusNotFound, obj{"message": "Not Found"}
		}
		return http.StatusOK, s.pullJSON(name, i)
	case rest[0] == "pulls" && len(rest) == 3 && rest[2] == "reviews":
		i, ok := num(1)
		if !ok || i.PR == nil {
			return http.StatusNotFound, obj{"message": "Not Found"}
		}
		var out []obj
		for k, st := range i.PR.Reviews {
			out = append(out, obj{"id": k + 1, "state": st})
		}
		return http.StatusOK, out
	case rest[0] == "commits" && len(rest) == 3 && rest[2] == "status":
		var list []obj
		combined := "success"
		for _, st := range rp.statuses[rest[1]] {
			list = append(list, obj{"context": st.Context, "state": st.State, "target_url": st.URL, "updated_at": st.At.Format(time.RFC3339)})
			switch {
			case st.State == "failure" || st.State == "error":
				combined = "failure"
			case st.State == "pending" && combined == "success":
				combined = "pending"
			}
		}
		if len(list) == 0 {
			combined = "pending"
		}
		return http.StatusOK, obj{"state": combined, "sha": rest[1], "statuses": list, "total_count": len(list)}
	case rest[0] == "compare" && len(rest) == 2:
		base, head, ok := strings.Cut(rest[1], "...")
		bi, hi := slices.Index(rp.history, base), slices.Index(rp.history, head)
		if !ok || bi < 0 || hi < 0 {
			return http.StatusNotFound, obj{"message": "Not Found"}
		}
		st := "identical"
		switch {
		case hi > bi:
			st = "ahead"
		case hi < bi:
			st = "behind"
		}
		return http.StatusOK, obj{"status": st, "ahead_by": max(hi-bi, 0), "behind_by": max(bi-hi, 0)}
	case rest[0] == "git" && len(rest) >= 3 && rest[1] == "matching-refs" && rest[2] == "tags":
		prefix := strings.Join(rest[3:], "/")
		out := []obj{}
		for _, t := range rp.tags {
			if strings.HasPrefix(t, prefix) {
				out = append(out, obj{"ref": "refs/tags/" + t, "object": obj{"type": "tag", "sha": tagObject(t)}})
			}
		}
		return http.StatusOK, out
	case rest[0] == "git" && len(rest) >= 3 && rest[1] == "ref" && rest[2] == "tags" && r.Method == http.MethodGet:
		// Release tags are annotated: the ref points to a tag object.
		t := strings.Join(rest[3:], "/")
		if !slices.Contains(rp.tags, t) {
			return http.StatusNotFound, obj{"message": "Not Found"}
		}
		return http.StatusOK, obj{"ref": "refs/tags/" + t, "object": obj{"type": "tag", "sha": tagObject(t)}}
	case rest[0] == "git" && len(rest) == 3 && rest[1] == "tags" && r.Method == http.MethodGet:
		for _, t := range rp.tags {
			if tagObject(t) == rest[2] {
				return http.StatusOK, obj{"sha": rest[2], "tag": t, "object": obj{"type": "commit", "sha": tagCommit(t)}}
			}
		}
		return http.StatusNotFound, obj{"message": "Not Found"}
	case rest[0] == "git" && len(rest) == 2 && rest[1] == "refs" && r.Method == http.MethodPost:
		var req struct {
			Ref string `json:"ref"`
			SHA string `json:"sha"`
		}
		if err := json.Unmarshal(body, &req); err != nil || !strings.HasPrefix(req.Ref, "refs/heads/") || req.SHA == "" {
			return http.StatusUnprocessableEntity, obj{"message": "Invalid request"}
		}
		// GitHub refuses a branch that exists, and a sha that is not a commit it has.
		b := strings.TrimPrefix(req.Ref, "refs/heads/")
		if rp.branches[b] {
			return http.StatusUnprocessableEntity, obj{"message": "Reference already exists"}
		}
		known := false
		for _, t := range rp.tags {
			known = known || tagCommit(t) == req.SHA
		}
		// A fork shares its network's objects: any repository's branch head will do.
		for _, other := range s.repos {
			for b := range other.branches {
				known = known || other.branchHead(b) == req.SHA
			}
		}
		if !known {
			return http.StatusUnprocessableEntity, obj{"message": "Object does not exist"}
		}
		rp.branches[b] = true
		if rp.branchSHA == nil {
			rp.branchSHA = map[string]string{}
		}
		rp.branchSHA[b] = req.SHA
		return http.StatusCreated, obj{"ref": req.Ref, "object": obj{"type": "commit", "sha": req.SHA}}
	case rest[0] == "branches" && len(rest) >= 2:
		b := strings.Join(rest[1:], "/")
		if !rp.branches[b] {
			return http.StatusNotFound, obj{"message": "Branch not found"}
		}
		return http.StatusOK, obj{"name": b, "commit": obj{"sha": rp.branchHead(b)}}
	case rest[0] == "releases" && len(rest) == 3 && rest[1] == "tags":
		u, ok := rp.releases[rest[2]]
		if !ok {
			return http.StatusNotFound, obj{"message": "Not Found"}
		}
		out := obj{"tag_name": rest[2], "html_url": u, "name": "Kubernetes " + rest[2]}
		if at, ok := rp.releasedAt[rest[2]]; ok {
			out["published_at"] = at.UTC().Format(time.RFC3339)
		}
		return http.StatusOK, out
	case rest[0] == "contents" && len(rest) >= 2 && r.Method == http.MethodPut:
		path := strings.Join(rest[1:], "/")
		var req struct {
			Message, Content, SHA, Branch string
		}
		if err := json.Unmarshal(body, &req); err != nil || req.Message == "" || req.Branch == "" {
			return http.StatusUnprocessableEntity, obj{"message": "Invalid request"}
		}
		if !rp.branches[req.Branch] {
			return http.StatusNotFound, obj{"message": "Branch " + req.Branch + " not found"}
		}
		old, exists := rp.fileOn(req.Branch, path)
		if exists && req.SHA != blobSHA(old) {
			return http.StatusConflict, obj{"message": path + " does not match " + req.SHA}
		}
		content, err := base64.StdEncoding.DecodeString(req.Content)
		if err != nil {
			return http.StatusUnprocessableEntity, obj{"message": "content is not valid Base64"}
		}
		if rp.branchFiles == nil {
			rp.branchFiles = map[string]map[string]string{}
		}
		if rp.branchFiles[req.Branch] == nil {
			rp.branchFiles[req.Branch] = map[string]string{}
		}
		rp.branchFiles[req.Branch][path] = string(content)
		return http.StatusOK, obj{"content": obj{"path": path, "sha": blobSHA(string(content))}, "commit": obj{"sha": blobSHA("commit " + string(content)), "message": req.Message}}
	case rest[0] == "contents" && len(rest) >= 2:
		path := strings.Join(rest[1:], "/")
		c, ok := rp.fileOn(r.URL.Query().Get("ref"), path)
		if !ok {
			return http.StatusNotFound, obj{"message": "Not Found"}
		}
		return http.StatusOK, obj{"type": "file", "encoding": "base64", "name": rest[len(rest)-1], "path": path, "sha": blobSHA(c), "content": base64.StdEncoding.EncodeToString([]byte(c))}
	}
	return http.StatusNotFound, obj{"message": "Not Found"}
}

func labelsJSON(labels []string) []obj {
	out := []obj{}
	for _, l := range labels {
		out = append(out, obj{"name": l})
	}
	return out
}

func (s *Server) issueJSON(repoName string, i *issue) obj {
	kind := "issues"
	o := obj{"number": i.Number, "title": i.Title, "body": i.Body, "state": i.State, "labels": labelsJSON(i.Labels),
		"user": obj{"login": i.User}, "created_at": i.CreatedAt.Format(time.RFC3339)}
	if i.Reason != "" {
		o["state_reason"] = i.Reason
	}
	if i.PR != nil {
		kind = "pull"
		o["pull_request"] = obj{"url": fmt.Sprintf("https://api.github.com/repos/%s/pulls/%d", repoName, i.Number)}
	}
	o["html_url"] = fmt.Sprintf("https://github.com/%s/%s/%d", repoName, kind, i.Number)
	o["repository_url"] = "https://api.github.com/repos/" + repoName
	return o
}

func (s *Server) pullJSON(repoName string, i *issue) obj {
	o := obj{"number": i.Number, "title": i.Title, "body": i.Body, "state": i.State, "labels": labelsJSON(i.Labels),
		"user": obj{"login": i.User}, "created_at": i.CreatedAt.Format(time.RFC3339), "head": obj{"ref": i.PR.HeadRef, "sha": i.PR.HeadSHA},
		"base":     obj{"ref": i.PR.Base},
		"html_url": fmt.Sprintf("https://github.com/%s/pull/%d", repoName, i.Number), "merged": i.PR.Merged}
	if i.PR.Merged {
		o["merge_commit_sha"] = i.PR.MergeSHA
		o["merged_at"] = i.PR.MergedAt.Format(time.RFC3339)
	}
	if !i.ClosedAt.IsZero() {
		o["closed_at"] = i.ClosedAt.Format(time.RFC3339)
	}
	o["updated_at"] = i.updated().Format(time.RFC3339)
	return o
}

// updated is when the issue last changed, as GitHub's updated_at says.
func (i *issue) updated() time.Time { return latest(i.CreatedAt, i.ClosedAt, i.UpdatedAt) }

func latest(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}

// searchLimited is the answer to a search past the search API's budget.
type searchLimited struct{ reset time.Time }

// searchIssues answers GET /search/issues as GitHub does for the qualifiers cutbot uses:
// repo:OWNER/NAME, is:issue, is:pr, is:open, is:closed, label:NAME, and words or "quoted
// phrases" matched in the title or body. Like GitHub, it allows 30 searches a minute (by the
// fake's clock) and answers 403 with X-RateLimit-Remaining: 0 past that. Call with s.mu held.
func (s *Server) searchIssues(r *http.Request) (int, any) {
	now := s.now()
	s.searches = slices.DeleteFunc(s.searches, func(t time.Time) bool { return now.Sub(t) >= time.Minute })
	if len(s.searches) >= 30 {
		return http.StatusForbidden, searchLimited{reset: s.searches[0].Add(time.Minute)}
	}
	s.searches = append(s.searches, now)
	q := r.URL.Query().Get("q")
	var repoName string
	var want []func(*issue) bool
	for _, term := range searchTerms(q) {
		k, v, qualified := strings.Cut(term, ":")
		switch {
		case qualified && k == "repo":
			repoName = v
		case qualified && k == "is":
			switch v {
			case "issue":
				want = append(want, func(i *issue) bool { return i.PR == nil })
			case "pr":
				want = append(want, func(i *issue) bool { return i.PR != nil })
			case "open", "closed":
				want = append(want, func(i *issue) bool { return i.State == v })
			}
		case qualified && k == "label":
			want = append(want, func(i *issue) bool { return slices.Contains(i.Labels, strings.Trim(v, `"`)) })
		case qualified && k == "in":
		default:
			phrase := strings.ToLower(strings.Trim(term, `"`))
			want = append(want, func(i *issue) bool {
				return strings.Contains(strings.ToLower(i.Title), phrase) || strings.Contains(strings.ToLower(i.Body), phrase)
			})
		}
	}
	if repoName == "" {
		return http.StatusUnprocessableEntity, obj{"message": "Validation Failed", "errors": []obj{{"message": "cutbot's fake searches one repo: add repo:OWNER/NAME"}}}
	}
	rp := s.repo(repoName)
	items := []obj{}
	for n := rp.next - 1; n > 0; n-- {
		i := rp.issues[n]
		if i == nil || slices.ContainsFunc(want, func(w func(*issue) bool) bool { return !w(i) }) {
			continue
		}
		items = append(items, s.issueJSON(repoName, i))
	}
	pg := page(r, items)
	return http.StatusOK, paged{items: nil, link: pg.link, wrap: obj{"total_count": len(items), "incomplete_results": false, "items": pg.items}}
}

// searchTerms splits a search query on spaces, keeping "quoted phrases" whole.
func searchTerms(q string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range q {
		switch {
		case r == '"':
			quoted = !quoted
			cur.WriteRune(r)
		case r == ' ' && !quoted:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// tagObject and tagCommit are the shas of a release tag's annotated tag object and of the
// commit it tags.
func tagObject(tag string) string { return fmt.Sprintf("%x", sha1.Sum([]byte("tag "+tag))) }
func tagCommit(tag string) string { return fmt.Sprintf("%x", sha1.Sum([]byte("commit "+tag))) }

// BranchSHA is the commit a branch created through the API points to ("" if none was).
func (s *Server) BranchSHA(repoName, branch string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.repo(repoName).branchSHA[branch]
}

// TagCommit is the commit a release tag points to, as the fake serves it.
func TagCommit(tag string) string { return tagCommit(tag) }

// branchHead is the commit a branch points to.
func (r *repo) branchHead(b string) string {
	if sha := r.branchSHA[b]; sha != "" {
		return sha
	}
	return fmt.Sprintf("%040x", len(b))
}

// fileOn is a file as it stands on a branch ("" or unknown: the default branch's).
func (r *repo) fileOn(branch, path string) (string, bool) {
	if c, ok := r.branchFiles[branch][path]; ok {
		return c, true
	}
	c, ok := r.files[path]
	return c, ok
}

func blobSHA(content string) string { return fmt.Sprintf("%x", sha1.Sum([]byte("blob "+content))) }

// headLabel is "owner:branch" of a pull request's head.
func (i *issue) headLabel() string {
	owner := i.User
	if i.PR.HeadRepo != "" {
		owner, _, _ = strings.Cut(i.PR.HeadRepo, "/")
	}
	return owner + ":" + i.PR.HeadRef
}

// FileOn is a file of a repository as it stands on branch, with whether it exists.
func (s *Server) FileOn(repoName, branch, path string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.repo(repoName).fileOn(branch, path)
}

// PullBody is the title and body of a pull request, and its head as owner:branch.
func (s *Server) PullBody(repoName string, number int) (title, body, head string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.repo(repoName).issues[number]
	if i == nil || i.PR == nil {
		return "", "", "", false
	}
	return i.Title, i.Body, i.headLabel(), true
}

// PRByTitle is the newest open pull request of a repository with this title.
func (s *Server) PRByTitle(repoName, title string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repo(repoName)
	for n := r.next - 1; n > 0; n-- {
		if i := r.issues[n]; i != nil && i.PR != nil && i.State == "open" && i.Title == title {
			return n, true
		}
	}
	return 0, false
}
