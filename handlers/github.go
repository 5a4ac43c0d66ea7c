package handlers

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/cutbot"
)

type ghDeps struct {
	api           cutbot.GitHub
	testgrid      cutbot.TestGrid
	prow          cutbot.Prow
	issueRepo     string
	templateText  string
	templatePath  string
	publishingBot string
	promotionRepo string
	promoter      cutbot.PromotionOpener // nil: a person runs kpromo pr
	promotionJob  string
	releaseRepo   string
	remindAfter   time.Duration
	every         time.Duration

	mu       sync.Mutex
	template *IssueTemplate
	synced   map[string]string // cut id → digest of cutbot's parts last written
	lastRead map[string]time.Time
}

func newGHDeps(d Deps) ghDeps {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&d.IssueRepo, "kubernetes/sig-release")
	def(&d.TemplatePath, ".github/ISSUE_TEMPLATE/cut-release.md")
	def(&d.PublishingBot, "kubernetes/kubernetes#56876")
	def(&d.PromotionRepo, "kubernetes/k8s.io")
	def(&d.PromotionJob, "post-k8sio-image-promo")
	def(&d.ReleaseRepo, "kubernetes/kubernetes")
	if d.RemindAfter == 0 {
		d.RemindAfter = 2 * time.Hour
	}
	return ghDeps{api: d.GitHub, testgrid: d.TestGrid, prow: d.Prow, issueRepo: d.IssueRepo, templateText: d.IssueTemplate,
		templatePath: d.TemplatePath, publishingBot: d.PublishingBot, promotionRepo: d.PromotionRepo, promoter: d.Promoter, promotionJob: d.PromotionJob,
		releaseRepo: d.ReleaseRepo, remindAfter: d.RemindAfter, every: d.GitHubEvery, synced: map[string]string{}, lastRead: map[string]time.Time{}}
}

// issueTemplate returns the cut-release template, read once.
func (h *Handlers) issueTemplate(ctx context.Context) (IssueTemplate, error) {
	g := &h.gh
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.template != nil {
		return *g.template, nil
	}
	text := g.templateText
	if text == "" {
		var err error
		if text, err = g.api.FileContent(ctx, g.issueRepo, g.templatePath, ""); err != nil {
			return IssueTemplate{}, fmt.Errorf("read the cut issue template %s/%s: %w", g.issueRepo, g.templatePath, err)
		}
	}
	t, err := ParseIssueTemplate(text)
	if err != nil {
		return IssueTemplate{}, fmt.Errorf("the cut issue template %s/%s: %w", g.issueRepo, g.templatePath, err)
	}
	g.template = &t
	return t, nil
}

// openIssue carries out an OpenIssue: the cut's issue, from the cut-release template. An
// uncertain one is first looked for by the hidden marker every issue cutbot opens carries.
func (h *Handlers) openIssue(ctx context.Context, c *cutbot.Cut, e cutbot.OpenIssue, uncertain bool) ([]cutbot.Event, error) {
	g := &h.gh
	if g.api == nil {
		return nil, cutbot.Errorf(cutbot.EINVALID, "GitHub is not configured")
	}
	tmpl, err := h.issueTemplate(ctx)
	if err != nil {
		return nil, err
	}
	is, err := once(ctx, uncertain,
		func(ctx context.Context) (cutbot.Issue, bool, error) {
			return g.api.FindIssue(ctx, e.Repo, cutbot.IssueMarker(c.ID), c.OpenedAt.Add(-time.Hour))
		},
		func(ctx context.Context) (cutbot.Issue, error) {
			return g.api.CreateIssue(ctx, e.Repo, IssueTitle(c.Version()), NewIssueBody(tmpl, c), tmpl.Labels)
		})
	if err != nil {
		return nil, err
	}
	h.log.Info("cut issue opened", "cut", c.ID, "issue", is.URL, "looked_up", uncertain)
	return []cutbot.Event{cutbot.IssueLinked{Ref: cutbot.IssueRef{Repo: e.Repo, Number: is.Number, URL: is.URL, Created: true}}}, nil
}

// syncIssue brings cutbot's parts of the cut's issue up to date: one read and at most one
// write, and nothing at all when those parts have not changed since the last write.
func (h *Handlers) syncIssue(ctx context.Context, c *cutbot.Cut) {
	g := &h.gh
	if g.api == nil || c.Issue == nil || !c.Issue.Known() {
		return
	}
	tmpl, err := h.issueTemplate(ctx)
	if err != nil {
		h.log.Warn("sync issue", "cut", c.ID, "err", err)
		return
	}
	digest := fmt.Sprintf("%x", sha256.Sum256([]byte(UpdateIssueBody("", tmpl, c))))
	g.mu.Lock()
	same := g.synced[c.ID] == digest
	g.mu.Unlock()
	if same {
		return
	}
	is, err := g.api.Issue(ctx, c.Issue.Repo, c.Issue.Number)
	if err != nil {
		h.log.Warn("sync issue: read", "cut", c.ID, "issue", c.Issue.Number, "err", err)
		return
	}
	body := UpdateIssueBody(is.Body, tmpl, c)
	if body != is.Body {
		if err := g.api.EditIssueBody(ctx, c.Issue.Repo, c.Issue.Number, body); err != nil {
			h.log.Warn("sync issue: edit", "cut", c.ID, "issue", c.Issue.Number, "err", err)
			return
		}
	}
	g.mu.Lock()
	g.synced[c.ID] = digest
	g.mu.Unlock()
}

var rePRURL = regexp.MustCompile(`^https://github\.com/([^/]+/[^/]+)/pull/(\d+)/?$`)

// gates re-checks a cut's gates on demand.
func (h *Handlers) gates(x *execution) (Reply, error) {
	c, err := h.activeCutArg(x.ctx, x.inv)
	if err != nil {
		return nil, err
	}
	if c, err = h.checkGates(x.ctx, c, x.req.UserID); err != nil {
		return nil, err
	}
	headline := "Gates passed: the no-mock stage may run."
	if !c.Gates.OK() {
		headline = "Gates failed: " + c.Gates.Failures() + ". The no-mock stage is blocked unless forced."
	}
	return CutReply{Cut: c, Brief: true, Headline: headline}, nil
}

// checkGates checks what must hold before the no-mock stage (the publishing-bot issue is
// closed; the branch's release-blocking testgrid dashboard has no failing job), records each
// result as a fact on the cut, and posts it in the thread.
func (h *Handlers) checkGates(ctx context.Context, c *cutbot.Cut, by string) (*cutbot.Cut, error) {
	g := &h.gh
	gates := cutbot.Gates{At: h.clock.Now(), By: by}
	if g.api == nil {
		gates.Checks = append(gates.Checks, cutbot.GateCheck{Name: "publishing-bot", Detail: "cutbot cannot check the publishing-bot: GITHUB_TOKEN is not set"})
	} else {
		repo, num, _ := strings.Cut(g.publishingBot, "#")
		n, _ := strconv.Atoi(num)
		url := fmt.Sprintf("https://github.com/%s/issues/%d", repo, n)
		ch := cutbot.GateCheck{Name: "publishing-bot", URL: url}
		if is, err := g.api.Issue(ctx, repo, n); err != nil {
			ch.Detail = fmt.Sprintf("could not read %s: %s", g.publishingBot, cutbot.ErrorMessage(err))
		} else {
			ch.OK = is.State == "closed"
			ch.Detail = fmt.Sprintf("%s is %s", g.publishingBot, is.State)
			ch.URL = is.URL
		}
		gates.Checks = append(gates.Checks, ch)
	}
	if g.testgrid == nil {
		gates.Checks = append(gates.Checks, cutbot.GateCheck{Name: "testgrid", Detail: "cutbot cannot check testgrid: CUTBOT_TESTGRID_URL is not set"})
	} else {
		ch := cutbot.GateCheck{Name: "testgrid"}
		var page, dashboard, instead string
		var jobs []cutbot.TestGridJob
		var err error
		// A hotfix branch has no dashboard of its own, usually: the minor's stands in, and
		// the gate says so.
		for i, d := range h.gateDashboards(c) {
			dashboard = d
			page, jobs, err = g.testgrid.Summary(ctx, d)
			if cutbot.ErrorCode(err) != cutbot.ENOTFOUND {
				break
			}
			if i == 0 {
				instead = fmt.Sprintf("testgrid has no dashboard %s; read the minor's instead: ", d)
			}
		}
		ch.URL = page
		switch {
		case err != nil:
			ch.Detail = fmt.Sprintf("could not read %s: %s", dashboard, cutbot.ErrorMessage(err))
		default:
			for _, j := range jobs {
				if j.Status == "FAILING" || j.Status == "BROKEN" {
					ch.Failing = append(ch.Failing, fmt.Sprintf("%s <%s>", j.Name, j.URL))
				}
			}
			ch.OK = len(ch.Failing) == 0 && len(jobs) > 0
			switch {
			case len(jobs) == 0:
				ch.Detail = dashboard + " has no jobs"
			case ch.OK:
				ch.Detail = fmt.Sprintf("%s: %d jobs, none failing", dashboard, len(jobs))
			default:
				ch.Detail = fmt.Sprintf("%s: %d of %d jobs failing", dashboard, len(ch.Failing), len(jobs))
			}
		}
		ch.Detail = instead + ch.Detail
		gates.Checks = append(gates.Checks, ch)
	}
	c, err := h.change(ctx, c, cutbot.GatesChecked{Gates: gates})
	if err != nil {
		return c, err
	}
	h.log.Info("gates checked", "cut", c.ID, "ok", c.Gates.OK(), "detail", c.Audit[len(c.Audit)-1].Detail)
	return c, nil
}

// promotion names the image-promotion PR of a cut by hand.
func (h *Handlers) promotion(x *execution) (Reply, error) {
	ctx := x.ctx
	if h.gh.api == nil {
		return nil, cutbot.Errorf(cutbot.EINVALID, "cutbot is not set up to read GitHub: set GITHUB_TOKEN")
	}
	c, err := h.activeCutArg(ctx, x.inv)
	if err != nil {
		return nil, err
	}
	m := rePRURL.FindStringSubmatch(x.inv.Arg(1))
	if m == nil {
		return nil, cutbot.Errorf(cutbot.EINVALID, "%q is not a pull request URL: give it as https://github.com/%s/pull/NUMBER", x.inv.Arg(1), h.gh.promotionRepo)
	}
	n, _ := strconv.Atoi(m[2])
	pr, err := h.gh.api.PullRequest(ctx, m[1], n)
	if err != nil {
		return nil, err
	}
	var events []cutbot.Event
	s := c.Stage(cutbot.ImagePromotion)
	if !s.Status().InFlight() {
		events = append(events, cutbot.StartStage{Stage: cutbot.ImagePromotion, By: x.req.UserID, Force: x.inv.Flags["force"]})
		s = nil
	}
	attempt := 1
	if s != nil {
		attempt = s.Current().N
	} else if cur := c.Stage(cutbot.ImagePromotion).Current(); cur != nil {
		attempt = cur.N + 1
	}
	events = append(events, cutbot.PromotionPRFound{Attempt: attempt, Ref: pr.Ref(), URL: pr.URL, Title: pr.Title, By: x.req.UserID})
	if c, err = h.change(ctx, c, events...); err != nil {
		return nil, err
	}
	h.log.Info("promotion PR named", "cut", c.ID, "pr", pr.URL, "by", x.req.UserID)
	return CutReply{Cut: c, Brief: true, Headline: fmt.Sprintf("Following %s for the image promotion.", pr.Ref())}, nil
}

// kpromoTitle is the title `kpromo pr` gives a promotion PR.
func kpromoTitle(tags []cutbot.Version) string {
	parts := make([]string, len(tags))
	for i, t := range tags {
		parts[i] = t.String()
	}
	return "releng: Image promotion for kubernetes " + strings.Join(parts, " / ")
}

// findPR looks for the cut's promotion PR among the open PRs of the promotion repository, by
// kpromo's title, or its branch kubernetes-<tag>-image-promotion.
func (h *Handlers) findPR(ctx context.Context, c *cutbot.Cut) (cutbot.PullRequest, bool, error) {
	tags := cutbot.PromotionTags(c.Version())
	title, branch := kpromoTitle(tags), "kubernetes-"+tags[0].String()+"-image-promotion"
	prs, err := h.gh.api.OpenPullRequests(ctx, h.gh.promotionRepo)
	if err != nil {
		return cutbot.PullRequest{}, false, err
	}
	for _, pr := range prs {
		if pr.CreatedAt.Before(c.OpenedAt.Add(-24*time.Hour)) && !pr.CreatedAt.IsZero() {
			continue // from an earlier cut of the same version
		}
		if pr.Title == title || pr.HeadRef == branch {
			return pr, true, nil
		}
	}
	return cutbot.PullRequest{}, false, nil
}

func promotionMarker(cutID string) string { return "<!-- cutbot:promotion " + cutID + " -->" }

// commentBuilds carries out a CommentBuilds: the cut's build links on its promotion PR, as
// the promo-tools docs ask. An uncertain one is first looked for among the PR's comments by
// its hidden marker.
func (h *Handlers) commentBuilds(ctx context.Context, c *cutbot.Cut, e cutbot.CommentBuilds, uncertain bool) ([]cutbot.Event, error) {
	repo, num, _ := strings.Cut(e.PR, "#")
	n, perr := strconv.Atoi(num)
	if perr != nil {
		return nil, cutbot.Errorf(cutbot.EINVALID, "bad PR reference %q", e.PR)
	}
	marker := promotionMarker(c.ID)
	_, err := once(ctx, uncertain,
		func(ctx context.Context) (struct{}, bool, error) {
			found, err := h.hasComment(ctx, repo, n, marker)
			return struct{}{}, found, err
		},
		func(ctx context.Context) (struct{}, error) {
			return struct{}{}, h.gh.api.Comment(ctx, repo, n, buildLinks(c, marker))
		})
	if err != nil {
		return nil, err
	}
	return []cutbot.Event{cutbot.PromotionCommented{Attempt: e.Attempt, PR: e.PR}}, nil
}

// openPromotionPR carries out an OpenPromotionPR: the PR kpromo pr would open, with the
// build links in its body; or the finding that there is nothing to promote. An uncertain one
// looks for the PR by its head branch first.
func (h *Handlers) openPromotionPR(ctx context.Context, c *cutbot.Cut, e cutbot.OpenPromotionPR, uncertain bool) ([]cutbot.Event, error) {
	p := h.gh.promoter
	s := c.Stage(cutbot.ImagePromotion)
	if p == nil || s == nil || s.Current() == nil || s.Current().N != e.Attempt || !s.Status().InFlight() {
		return []cutbot.Event{cutbot.EffectDone{Key: e.Key()}}, nil // nothing to open any more
	}
	v := c.Version()
	res, err := once(ctx, uncertain,
		func(ctx context.Context) (cutbot.PromotionPR, bool, error) { return p.Find(ctx, v) },
		func(ctx context.Context) (cutbot.PromotionPR, error) {
			return p.Open(ctx, v, buildLinks(c, promotionMarker(c.ID)))
		})
	if err != nil {
		return nil, err
	}
	if res.NoOp {
		h.log.Info("no-op promotion", "cut", c.ID)
		return []cutbot.Event{cutbot.PromotionNoop{Attempt: e.Attempt, Detail: fmt.Sprintf("nothing to promote: every staged image of %s is already in the promoter's manifest, so no PR is needed", v)}}, nil
	}
	h.log.Info("promotion PR recorded", "cut", c.ID, "pr", res.URL, "images", res.Images, "looked_up", uncertain)
	return []cutbot.Event{cutbot.PromotionPRFound{Attempt: e.Attempt, Ref: res.Ref(), URL: res.URL, Title: res.Title, Opened: true}}, nil
}

// unholdPromotion lifts the hold of the promotion PR cutbot opened, once it is approved:
// "/hold cancel", as a person would, once (looked for among the PR's comments when uncertain).
func (h *Handlers) unholdPromotion(ctx context.Context, c *cutbot.Cut, e cutbot.UnholdPromotion, uncertain bool) ([]cutbot.Event, error) {
	repo, num, _ := strings.Cut(e.PR, "#")
	n, perr := strconv.Atoi(num)
	if perr != nil {
		return nil, cutbot.Errorf(cutbot.EINVALID, "bad PR reference %q", e.PR)
	}
	marker := "<!-- cutbot:unhold " + c.ID + " -->"
	_, err := once(ctx, uncertain,
		func(ctx context.Context) (struct{}, bool, error) {
			found, err := h.hasComment(ctx, repo, n, marker)
			return struct{}{}, found, err
		},
		func(ctx context.Context) (struct{}, error) {
			body := "/hold cancel\n\nApproved: cutbot lifts the hold it opened the PR with, so that the images are promoted before the no-mock release.\n" + marker
			return struct{}{}, h.gh.api.Comment(ctx, repo, n, body)
		})
	if err != nil {
		return nil, err
	}
	return []cutbot.Event{cutbot.PromotionUnheld{Attempt: e.Attempt}}, nil
}

// closeIssue says on the aborted cut's issue why it was aborted, once (a hidden marker finds
// a comment made before an interruption), and closes the issue as not planned if cutbot
// opened it and it is still open.
func (h *Handlers) closeIssue(ctx context.Context, c *cutbot.Cut, e cutbot.CloseIssue, uncertain bool) ([]cutbot.Event, error) {
	g := &h.gh
	if g.api == nil {
		return nil, cutbot.Errorf(cutbot.EUNAVAILABLE, "GitHub is not configured")
	}
	marker := "<!-- cutbot:aborted " + c.ID + " -->"
	_, err := once(ctx, uncertain,
		func(ctx context.Context) (struct{}, bool, error) {
			found, err := h.hasComment(ctx, e.Repo, e.Number, marker)
			return struct{}{}, found, err
		},
		func(ctx context.Context) (struct{}, error) {
			return struct{}{}, g.api.Comment(ctx, e.Repo, e.Number, abortComment(c, e, marker))
		})
	if err != nil {
		return nil, err
	}
	if e.Close {
		is, err := g.api.Issue(ctx, e.Repo, e.Number)
		if err != nil {
			return nil, err
		}
		if is.State != "closed" {
			if err := g.api.CloseIssue(ctx, e.Repo, e.Number, "not_planned"); err != nil {
				return nil, err
			}
		}
	}
	h.log.Info("aborted cut's issue updated", "cut", c.ID, "issue", fmt.Sprintf("%s#%d", e.Repo, e.Number), "closed", e.Close)
	return []cutbot.Event{cutbot.IssueClosed{Closed: e.Close}}, nil
}

// abortComment is what the aborted cut's issue is told.
func abortComment(c *cutbot.Cut, e cutbot.CloseIssue, marker string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "The %s release cut was aborted by a release manager", c.Version())
	fmt.Fprintf(&b, ":\n\n> %s\n\n", strings.ReplaceAll(e.Reason, "\n", "\n> "))
	if thread := c.Messages[cutbot.MessageThread].Permalink; thread != "" {
		fmt.Fprintf(&b, "The cut's thread: %s\n", thread)
	}
	if e.Close {
		b.WriteString("Closing this issue as not planned; a new cut opens a new issue.\n")
	} else {
		b.WriteString("This issue was linked by a person, so cutbot leaves it open.\n")
	}
	b.WriteString("\n" + marker + "\n")
	return b.String()
}

// buildLinks is the comment on a promotion PR: the cut's builds, for the reviewers.
func buildLinks(c *cutbot.Cut, marker string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Builds of the %s release cut, for the reviewers:\n\n", c.Version())
	for _, k := range []cutbot.StageKind{cutbot.MockStage, cutbot.MockRelease, cutbot.NoMockStage} {
		s := c.Stage(k)
		if s.Skipped {
			fmt.Fprintf(&b, "- %s: skipped\n", k.Title())
			continue
		}
		if at := s.Current(); at != nil && at.LogURL != "" {
			fmt.Fprintf(&b, "- %s: %s (%s)\n", k.Title(), at.LogURL, at.Status)
		}
	}
	if s := c.Stage(cutbot.NoMockStage).Current(); s != nil {
		fmt.Fprintf(&b, "\nBuild version: `%s`\n", s.BuildVersion)
	}
	if c.Issue != nil && c.Issue.Known() {
		fmt.Fprintf(&b, "Cut issue: %s\n", c.Issue.URL)
	}
	b.WriteString("\n" + marker + "\n")
	return b.String()
}

// hasComment reports whether a comment on repo#n holds marker.
func (h *Handlers) hasComment(ctx context.Context, repo string, n int, marker string) (bool, error) {
	comments, err := h.gh.api.Comments(ctx, repo, n)
	if err != nil {
		return false, err
	}
	for _, body := range comments {
		if strings.Contains(body, marker) {
			return true, nil
		}
	}
	return false, nil
}

// followPromotion moves the image promotion along: find the PR, note its approval, remind
// the release managers when it waits, and once merged follow the promotion job on the merge
// commit or a later one, until it passes. Each fact is a typed event on the cut.
func (h *Handlers) followPromotion(ctx context.Context, c *cutbot.Cut, a cutbot.Attempt) (*cutbot.Cut, error) {
	g := &h.gh
	if a.BuildID == "" {
		pr, found, err := h.findPR(ctx, c)
		if err != nil || !found {
			return c, err
		}
		h.log.Info("promotion PR found", "cut", c.ID, "pr", pr.URL)
		return h.change(ctx, c, cutbot.PromotionPRFound{Attempt: a.N, Ref: pr.Ref(), URL: pr.URL, Title: pr.Title})
	}
	pr, err := h.prOf(ctx, a.BuildID)
	if err != nil {
		return c, err
	}
	record := func(e cutbot.Event) error {
		next, err := h.change(ctx, c, e)
		if cutbot.ErrorCode(err) == cutbot.ECONFLICT {
			return nil // already recorded
		}
		c = next
		return err
	}
	if !pr.Merged {
		switch {
		case pr.State == "closed":
			return c, record(cutbot.PromotionPRClosed{Attempt: a.N})
		case pr.Approved:
			return c, record(cutbot.PromotionApproved{Attempt: a.N, Held: pr.Held})
		}
		if found := promotionFoundAt(c, a.N); !found.IsZero() && h.clock.Now().Sub(found) > g.remindAfter {
			c = h.warn(ctx, c, cutbot.ImagePromotion, a, "unapproved", fmt.Sprintf("PR %s has waited %s for approval", pr.URL, roundDuration(h.clock.Now().Sub(found))))
		}
		return c, nil
	}
	if a.Outputs[cutbot.OutputMergeSHA] == "" {
		if err := record(cutbot.PromotionMerged{Attempt: a.N, SHA: pr.MergeSHA}); err != nil {
			return c, err
		}
	}
	state, url, found, err := h.promotionJob(ctx, pr.MergeSHA)
	if err != nil || !found {
		return c, err
	}
	switch state {
	case "success":
		h.log.Info("image promotion done", "cut", c.ID, "job", url)
		return c, record(cutbot.PromotionJobPassed{Attempt: a.N, Job: g.promotionJob, URL: url})
	case "failure":
		return c, record(cutbot.PromotionJobFailed{Attempt: a.N, Job: g.promotionJob, URL: url})
	}
	return c, record(cutbot.PromotionJobRunning{Attempt: a.N, URL: url})
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// promotionFoundAt is when the promotion PR of attempt n was found.
func promotionFoundAt(c *cutbot.Cut, n int) time.Time {
	for i := len(c.Audit) - 1; i >= 0; i-- {
		if e := c.Audit[i]; e.Action == "fact.promotion_pr" && e.Attempt == n {
			return e.At
		}
	}
	return time.Time{}
}

func (h *Handlers) prOf(ctx context.Context, ref string) (cutbot.PullRequest, error) {
	repo, num, _ := strings.Cut(ref, "#")
	n, err := strconv.Atoi(num)
	if err != nil {
		return cutbot.PullRequest{}, fmt.Errorf("bad PR reference %q", ref)
	}
	return h.gh.api.PullRequest(ctx, repo, n)
}

// promotionJob returns the state of the promotion job for the merge commit: its commit status
// first, else the newest prow run on the merge commit or a later one.
func (h *Handlers) promotionJob(ctx context.Context, mergeSHA string) (state, url string, found bool, err error) {
	g := &h.gh
	st, ok, err := g.api.CommitStatus(ctx, g.promotionRepo, mergeSHA, g.promotionJob)
	if err != nil {
		return "", "", false, err
	}
	if ok {
		switch st.State {
		case "success":
			return "success", st.URL, true, nil
		case "failure", "error":
			return "failure", st.URL, true, nil
		}
		return "pending", st.URL, true, nil
	}
	if g.prow == nil {
		return "", "", false, nil
	}
	runs, err := g.prow.Jobs(ctx, g.promotionJob)
	if err != nil {
		return "", "", false, err
	}
	for i, run := range runs {
		if i >= 10 {
			break
		}
		on := run.BaseSHA == mergeSHA
		if !on && run.BaseSHA != "" {
			if on, err = g.api.Contains(ctx, g.promotionRepo, mergeSHA, run.BaseSHA); err != nil {
				return "", "", false, err
			}
		}
		if !on {
			continue
		}
		switch run.State {
		case "success":
			return "success", run.URL, true, nil
		case "failure", "error", "aborted":
			return "failure", run.URL, true, nil
		}
		return "pending", run.URL, true, nil
	}
	return "", "", false, nil
}

// followAnnouncement records the GitHub release of the tag once it exists: the cut is done,
// and "is live" is posted.
func (h *Handlers) followAnnouncement(ctx context.Context, c *cutbot.Cut, a cutbot.Attempt) (*cutbot.Cut, error) {
	g := &h.gh
	url, found, err := g.api.Release(ctx, g.releaseRepo, c.Version().String())
	if err != nil || !found {
		return c, err
	}
	if c, err = h.change(ctx, c, cutbot.ReleasePublished{Attempt: a.N, URL: url}); err != nil {
		return c, err
	}
	h.log.Info("release is live", "cut", c.ID, "release", url)
	if h.scheduler != nil && c.Version().IsPatch() {
		if next, err := h.change(ctx, c, cutbot.ScheduleRequested{}); err == nil {
			c = next
		}
	}
	return h.remindThaw(ctx, c), nil
}

// announce records the link of the release announcement and shows it.
func (h *Handlers) announce(x *execution) (Reply, error) {
	v, err := versionArg(x.inv)
	if err != nil {
		return nil, err
	}
	c, err := h.store.LatestCut(x.ctx, v)
	if err != nil {
		return nil, err
	}
	if c, err = h.change(x.ctx, c, cutbot.AnnouncementLinked{URL: x.inv.Arg(1), By: x.req.UserID}); err != nil {
		return nil, err
	}
	return CutReply{Cut: c, Brief: true, Headline: "Recorded the announcement link."}, nil
}

// due moves the cut's next GitHub read to at.
func (g *ghDeps) due(cutID string, at time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.lastRead[cutID] = at
}

// pollGitHub follows the watched stages of the cut, at most every GitHubEvery, each with its
// own backoff. It runs on the cut's lane.
func (h *Handlers) pollGitHub(ctx context.Context, c *cutbot.Cut) (*cutbot.Cut, error) {
	g := &h.gh
	if g.api == nil {
		return c, nil
	}
	now := h.clock.Now()
	g.mu.Lock()
	due := g.every <= 0 || now.Sub(g.lastRead[c.ID]) >= g.every
	if due {
		g.lastRead[c.ID] = now
	}
	g.mu.Unlock()
	if !due {
		return c, nil
	}
	var errs []error
	for _, k := range []cutbot.StageKind{cutbot.ImagePromotion, cutbot.Announcement} {
		s := c.Stage(k)
		if !s.Status().InFlight() {
			continue
		}
		key := string(k) + ":" + c.ID
		if h.backoff.wait(key, now) {
			continue
		}
		var err error
		if k == cutbot.ImagePromotion {
			c, err = h.followPromotion(ctx, c, *s.Current())
		} else {
			c, err = h.followAnnouncement(ctx, c, *s.Current())
		}
		if err != nil {
			d := h.backoff.fail(key, now)
			errs = append(errs, fmt.Errorf("follow %s of cut %s: %w (next try in %s)", k, c.ID, err, d))
			continue
		}
		h.backoff.ok(key)
	}
	return c, errors.Join(errs...)
}
