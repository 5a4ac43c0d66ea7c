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
		templatePath: d.TemplatePath, publishingBot: d.PublishingBot, promotionRepo: d.PromotionRepo, promotionJob: d.PromotionJob,
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

// ensureIssue gives the cut its GitHub issue: the existing one a release manager named, or a
// new one from the template. The intent is stored before the issue is opened; an intent left
// by a crash is resolved by finding the issue by its marker before opening another.
func (h *Handlers) ensureIssue(ctx context.Context, c *cutbot.Cut, existing int, by string) (*cutbot.Cut, error) {
	g := &h.gh
	if g.api == nil || (c.Issue != nil && c.Issue.Known()) {
		return c, nil
	}
	if existing > 0 {
		is, err := g.api.Issue(ctx, g.issueRepo, existing)
		if err != nil {
			return c, err
		}
		c, err = h.apply(ctx, c.ID, cutbot.IssueLinked{Ref: cutbot.IssueRef{Repo: g.issueRepo, Number: is.Number, URL: is.URL}, By: by})
		if err != nil {
			return c, err
		}
		h.syncIssue(ctx, c)
		return c, nil
	}
	tmpl, err := h.issueTemplate(ctx)
	if err != nil {
		return c, err
	}
	if c.Issue != nil { // an intent from an earlier try: the issue may exist
		is, found, err := g.api.FindIssue(ctx, g.issueRepo, cutbot.IssueMarker(c.ID), c.OpenedAt.Add(-time.Hour))
		if err != nil {
			return c, err
		}
		if found {
			h.log.Info("reconciled an issue opened before a restart", "cut", c.ID, "issue", is.Number)
			return h.apply(ctx, c.ID, cutbot.IssueLinked{Ref: cutbot.IssueRef{Repo: g.issueRepo, Number: is.Number, URL: is.URL, Created: true}})
		}
	} else if c, err = h.apply(ctx, c.ID, cutbot.IssueIntent{Repo: g.issueRepo}); err != nil {
		return c, err
	}
	is, err := g.api.CreateIssue(ctx, g.issueRepo, IssueTitle(c.Version()), NewIssueBody(tmpl, c), tmpl.Labels)
	if err != nil {
		return c, err
	}
	h.log.Info("cut issue opened", "cut", c.ID, "issue", is.URL)
	return h.apply(ctx, c.ID, cutbot.IssueLinked{Ref: cutbot.IssueRef{Repo: g.issueRepo, Number: is.Number, URL: is.URL, Created: true}})
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
	dashboard := "sig-release-" + strings.TrimPrefix(c.Spec.Branch, "release-") + "-blocking"
	if g.testgrid == nil {
		gates.Checks = append(gates.Checks, cutbot.GateCheck{Name: "testgrid", Detail: "cutbot cannot check testgrid: CUTBOT_TESTGRID_URL is not set"})
	} else {
		ch := cutbot.GateCheck{Name: "testgrid"}
		page, jobs, err := g.testgrid.Summary(ctx, dashboard)
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
		gates.Checks = append(gates.Checks, ch)
	}
	c, err := h.applyWithNote(ctx, c.ID, cutbot.GatesChecked{Gates: gates})
	if err != nil {
		return c, err
	}
	h.log.Info("gates checked", "cut", c.ID, "ok", c.Gates.OK(), "detail", c.Audit[len(c.Audit)-1].Detail)
	if err := h.finishMessages(ctx, c, true); err != nil {
		h.log.Error("post gates", "cut", c.ID, "err", err)
	}
	h.syncIssue(ctx, c)
	return c, nil
}

// startWatch starts a stage cutbot watches rather than builds (image promotion, the
// announcement), as cutbot itself or for a release manager.
func (h *Handlers) startWatch(ctx context.Context, c *cutbot.Cut, k cutbot.StageKind, by, force string) (*cutbot.Cut, error) {
	c, err := h.store.UpdateCut(ctx, c.ID, func(c *cutbot.Cut) error {
		now := h.clock.Now()
		if err := c.Apply(cutbot.StartStage{Stage: k, By: by, Force: force}, now); err != nil {
			return err
		}
		step := "waiting for the GitHub release " + c.Version().String()
		if k == cutbot.ImagePromotion {
			step = "waiting for the promotion PR"
		}
		if err := c.Apply(cutbot.StageNoted{Stage: k, Attempt: c.Stage(k).Current().N, Step: step}, now); err != nil {
			return err
		}
		if k == cutbot.ImagePromotion {
			// The note that says which kpromo command to run.
			return c.Apply(cutbot.MessageIntent{Key: cutbot.AuditMessageKey(len(c.Audit)), Channel: c.Channel}, now)
		}
		return nil
	})
	if err != nil {
		return c, err
	}
	h.log.Info("watching", "cut", c.ID, "stage", k, "user", by)
	if err := h.finishMessages(ctx, c, true); err != nil {
		h.log.Error("post", "cut", c.ID, "err", err)
	}
	h.refreshAll(ctx, c)
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
	s := c.Stage(cutbot.ImagePromotion)
	if !s.Status().InFlight() {
		if c, err = h.startWatch(ctx, c, cutbot.ImagePromotion, x.req.UserID, x.inv.Flags["force"]); err != nil {
			return nil, err
		}
	}
	c, err = h.foundPR(ctx, c, pr, x.req.UserID)
	if err != nil {
		return nil, err
	}
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

// foundPR records the promotion PR, posts it in the thread for the release managers, and
// comments on it with the cut's build links (once, even across restarts).
func (h *Handlers) foundPR(ctx context.Context, c *cutbot.Cut, pr cutbot.PullRequest, by string) (*cutbot.Cut, error) {
	a := c.Stage(cutbot.ImagePromotion).Current()
	c, err := h.store.UpdateCut(ctx, c.ID, func(c *cutbot.Cut) error {
		now := h.clock.Now()
		if err := c.Apply(cutbot.PromotionPRFound{Attempt: a.N, Ref: pr.Ref(), URL: pr.URL, Title: pr.Title, By: by}, now); err != nil {
			return err
		}
		if _, ok := c.Messages[cutbot.StageMessageKey(cutbot.ImagePromotion, a.N)]; ok {
			return nil
		}
		return c.Apply(cutbot.MessageIntent{Key: cutbot.StageMessageKey(cutbot.ImagePromotion, a.N), Channel: c.Channel}, now)
	})
	if err != nil {
		return c, err
	}
	h.log.Info("promotion PR found", "cut", c.ID, "pr", pr.URL, "by", by)
	if c, err = h.ensurePosted(ctx, c, cutbot.StageMessageKey(cutbot.ImagePromotion, a.N), true); err != nil {
		h.log.Error("post promotion PR", "cut", c.ID, "err", err)
	}
	h.refreshAll(ctx, c)
	return h.commentBuilds(ctx, c, pr)
}

func promotionMarker(cutID string) string { return "<!-- cutbot:promotion " + cutID + " -->" }

// commentBuilds comments on the promotion PR with the cut's build links, as the promo-tools
// docs ask. The intent is stored first; after a crash the PR's comments are searched for the
// marker before commenting again.
func (h *Handlers) commentBuilds(ctx context.Context, c *cutbot.Cut, pr cutbot.PullRequest) (*cutbot.Cut, error) {
	a := c.Stage(cutbot.ImagePromotion).Current()
	switch a.Outputs["pr_comment"] {
	case pr.Ref():
		return c, nil
	case "posting:" + pr.Ref():
		comments, err := h.gh.api.Comments(ctx, pr.Repo, pr.Number)
		if err != nil {
			return c, err
		}
		for _, body := range comments {
			if strings.Contains(body, promotionMarker(c.ID)) {
				return h.apply(ctx, c.ID, cutbot.StageNoted{Stage: cutbot.ImagePromotion, Attempt: a.N, Key: "pr_comment", Value: pr.Ref()})
			}
		}
	default:
		var err error
		if c, err = h.apply(ctx, c.ID, cutbot.StageNoted{Stage: cutbot.ImagePromotion, Attempt: a.N, Key: "pr_comment", Value: "posting:" + pr.Ref()}); err != nil {
			return c, err
		}
	}
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
	b.WriteString("\n" + promotionMarker(c.ID) + "\n")
	if err := h.gh.api.Comment(ctx, pr.Repo, pr.Number, b.String()); err != nil {
		return c, err
	}
	return h.apply(ctx, c.ID, cutbot.StageNoted{Stage: cutbot.ImagePromotion, Attempt: a.N, Key: "pr_comment", Value: pr.Ref(),
		Fact: fmt.Sprintf("commented on %s with the build links", pr.Ref())})
}

// followPromotion moves the image promotion along: find the PR, note its approval, remind
// the release managers when it waits, and once merged follow the promotion job on the merge
// commit or a later one, until it passes.
func (h *Handlers) followPromotion(ctx context.Context, c *cutbot.Cut, a cutbot.Attempt) error {
	g := &h.gh
	if a.BuildID == "" {
		pr, found, err := h.findPR(ctx, c)
		if err != nil || !found {
			return err
		}
		_, err = h.foundPR(ctx, c, pr, "")
		return err
	}
	if a.Outputs["pr_comment"] != strings.TrimPrefix(a.BuildID, "") && a.Outputs["pr_comment"] != a.BuildID {
		// A comment interrupted by a crash: finish it.
		if pr, err := h.prOf(ctx, a.BuildID); err == nil {
			if c, err = h.commentBuilds(ctx, c, pr); err != nil {
				return err
			}
		}
	}
	pr, err := h.prOf(ctx, a.BuildID)
	if err != nil {
		return err
	}
	now := h.clock.Now()
	note := func(key, value, fact, step string) error {
		if (key == "" || a.Outputs[key] == value) && (step == "" || a.Step == step) {
			return nil
		}
		var err error
		c, err = h.record(ctx, c, cutbot.ImagePromotion, a.N, cutbot.StageNoted{Stage: cutbot.ImagePromotion, Attempt: a.N, Key: key, Value: value, Fact: fact, Step: step})
		if err == nil {
			a = *c.Stage(cutbot.ImagePromotion).Current()
		}
		return err
	}
	if !pr.Merged {
		switch {
		case pr.State == "closed":
			return note("", "", "", "the PR was closed without merging; point cutbot at the new one with /release promotion")
		case pr.Approved:
			step := "approved; waiting for the merge"
			if pr.Held {
				step = "approved; on hold (/unhold to merge)"
			}
			if a.Outputs["approved"] == "" {
				return note("approved", "yes", pr.Ref()+" approved", step)
			}
			return note("", "", "", step)
		}
		if found := promotionFoundAt(c, a.N); !found.IsZero() && now.Sub(found) > g.remindAfter {
			h.warn(ctx, c, cutbot.ImagePromotion, a, "unapproved", fmt.Sprintf("PR %s has waited %s for approval", pr.URL, roundDuration(now.Sub(found))))
		}
		return note("", "", "", "waiting for approval")
	}
	if a.Outputs["merge_sha"] == "" {
		if err := note("merge_sha", pr.MergeSHA, fmt.Sprintf("%s merged at %s", pr.Ref(), pr.MergeSHA), "merged; waiting for "+g.promotionJob); err != nil {
			return err
		}
	}
	state, url, found, err := h.promotionJob(ctx, pr.MergeSHA)
	if err != nil || !found {
		return err
	}
	switch state {
	case "success":
		if err := note("job_url", url, fmt.Sprintf("%s passed on %s or later: %s", g.promotionJob, short(pr.MergeSHA), url), ""); err != nil {
			return err
		}
		_, err := h.record(ctx, c, cutbot.ImagePromotion, a.N, cutbot.StageSucceeded{Stage: cutbot.ImagePromotion, Attempt: a.N})
		h.log.Info("image promotion done", "cut", c.ID, "job", url)
		return err
	case "failure":
		h.warn(ctx, c, cutbot.ImagePromotion, a, "job-failed:"+url, fmt.Sprintf("%s failed: %s; cutbot keeps watching for a rerun", g.promotionJob, url))
		return note("", "", "", g.promotionJob+" failed; watching for a rerun")
	default:
		return note("", "", "", g.promotionJob+" is running (its queue is shared with a daily job, so a long wait is normal)")
	}
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

// followAnnouncement posts "is live" once the GitHub release of the tag exists, and ends the
// cut.
func (h *Handlers) followAnnouncement(ctx context.Context, c *cutbot.Cut, a cutbot.Attempt) error {
	g := &h.gh
	tag := c.Version().String()
	url, found, err := g.api.Release(ctx, g.releaseRepo, tag)
	if err != nil {
		return err
	}
	if !found {
		return nil
	}
	if a.Outputs["release_url"] == "" {
		if c, err = h.apply(ctx, c.ID, cutbot.StageNoted{Stage: cutbot.Announcement, Attempt: a.N, Key: "release_url", Value: url, Fact: "the GitHub release " + tag + " exists: " + url}); err != nil {
			return err
		}
	}
	if c, err = h.ensurePosted(ctx, c, cutbot.MessageLive, false); err != nil {
		return err
	}
	c, err = h.record(ctx, c, cutbot.Announcement, a.N, cutbot.StageSucceeded{Stage: cutbot.Announcement, Attempt: a.N})
	if err == nil {
		h.log.Info("release is live", "cut", c.ID, "release", url)
		h.remindThaw(ctx, c)
	}
	return err
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
	if c, err = h.apply(x.ctx, c.ID, cutbot.AnnouncementLinked{URL: x.inv.Arg(1), By: x.req.UserID}); err != nil {
		return nil, err
	}
	h.refreshAll(x.ctx, c)
	return CutReply{Cut: c, Brief: true, Headline: "Recorded the announcement link."}, nil
}

// pollGitHub follows the watched stages of every active cut, at most every GitHubEvery per
// cut, and keeps each cut's issue in step.
func (h *Handlers) pollGitHub(ctx context.Context, c *cutbot.Cut) error {
	g := &h.gh
	if g.api == nil {
		return nil
	}
	now := h.clock.Now()
	g.mu.Lock()
	last := g.lastRead[c.ID]
	due := g.every <= 0 || now.Sub(last) >= g.every
	if due {
		g.lastRead[c.ID] = now
	}
	g.mu.Unlock()
	if !due {
		return nil
	}
	h.syncIssue(ctx, c)
	var errs []error
	for _, k := range []cutbot.StageKind{cutbot.ImagePromotion, cutbot.Announcement} {
		s := c.Stage(k)
		if !s.Status().InFlight() {
			continue
		}
		key := string(k) + ":" + c.ID
		if !h.submitting.claim(key) {
			continue
		}
		if h.backoff.wait(key, now) {
			h.submitting.release(key)
			continue
		}
		var err error
		if k == cutbot.ImagePromotion {
			err = h.followPromotion(ctx, c, *s.Current())
		} else {
			err = h.followAnnouncement(ctx, c, *s.Current())
		}
		h.submitting.release(key)
		if err != nil {
			d := h.backoff.fail(key, now)
			errs = append(errs, fmt.Errorf("follow %s of cut %s: %w (next try in %s)", k, c.ID, err, d))
			continue
		}
		h.backoff.ok(key)
	}
	return errors.Join(errs...)
}
