package main

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/integrations/cloudbuildfake"
	"sigs.k8s.io/cutbot/integrations/githubfake"
	"sigs.k8s.io/cutbot/integrations/promotion"
	"sigs.k8s.io/cutbot/integrations/prow"
	"sigs.k8s.io/cutbot/integrations/testgrid"
)

// sandboxWorld is the GitHub, testgrid and prow the sandbox's bot talks to, and what people
// and prow do there while a cut runs.
type sandboxWorld struct {
	gh       *githubfake.Server
	testgrid *testgrid.Fake
	prow     *prow.Fake
	staging  *promotion.FakeRegistry // where the no-mock stages push their images

	mu        sync.Mutex
	prs       map[string]int    // version → its promotion PR
	merges    map[string]string // version → merge sha
	lastMerge string
	released  map[string]bool
	pushed    map[string]bool   // versions whose images are staged
	jobs      map[string]string // testgrid job → status
	jobRuns   int
}

func newSandboxWorld() *sandboxWorld {
	w := &sandboxWorld{
		gh: githubfake.New(sandboxGitHubToken, "cutbot-sandbox[bot]", nil), testgrid: testgrid.NewFake(), prow: prow.NewFake(), staging: promotion.NewFakeRegistry(),
		prs: map[string]int{}, merges: map[string]string{}, released: map[string]bool{}, pushed: map[string]bool{},
		jobs: map[string]string{"build-1.31": "PASSING", "ci-kubernetes-e2e-gci-gce-1.31": "PASSING", "ci-kubernetes-unit-1.31": "PASSING", "verify-1.31": "FLAKY"},
	}
	w.gh.SetFile("kubernetes/sig-release", ".github/ISSUE_TEMPLATE/cut-release.md", githubfake.CutReleaseTemplate)
	w.gh.AddIssue("kubernetes/sig-release", 2990, "Cut v1.31.2 release", "closed", "a-release-manager")
	w.gh.AddIssue("kubernetes/kubernetes", 56876, "publishing-bot is broken", "closed", "k8s-publishing-bot")
	w.gh.SeedReleases("kubernetes/kubernetes", "v1.31.2", "v1.30.6", "v1.29.10", "v1.28.14", "v1.32.0-rc.0", "v1.33.0-alpha.0")
	w.gh.AddPR("kubernetes/k8s.io", "Bump the registry sync", "bump-sync", "someone")
	// The promoter's manifest in k8s.io, on main, and cutbot's fork of k8s.io.
	w.gh.AddBranches("kubernetes/k8s.io", "main")
	w.gh.SetFile("kubernetes/k8s.io", promotion.DefaultImagesPath, sandboxImages)
	// Cherry-picks waiting on release-1.31, ready and not, for /release freeze.
	for i, p := range []struct {
		title  string
		labels []string
		status string
	}{
		{"Automated cherry pick of #127760: kubelet: fix the restart backoff", []string{"lgtm", "approved"}, "success"},
		{"Automated cherry pick of #127812: apiserver: do not leak watchers", []string{"approved"}, "success"},
		{"Automated cherry pick of #127901: bump Go to 1.22.9", []string{"lgtm", "approved"}, "failure"},
		{"Automated cherry pick of #127955: kubeadm: keep the etcd flags", []string{"lgtm", "approved", "do-not-merge/hold"}, "success"},
	} {
		n, sha := 128101+i, fmt.Sprintf("%040x", 128101+i)
		parents, _ := cutbot.PickParents(p.title, "", "")
		w.gh.AddPullRequest("kubernetes/kubernetes", githubfake.PR{Number: n, Title: p.title, Base: "release-1.31", HeadRef: fmt.Sprintf("automated-cherry-pick-of-#%d-upstream-release-1.31", parents[0]), HeadSHA: sha,
			Author: "k8s-infra-cherrypick-robot", Labels: append([]string{"cherry-pick-approved", "cncf-cla: yes", "kind/bug"}, p.labels...)})
		w.gh.SetStatus("kubernetes/kubernetes", sha, "pull-kubernetes-e2e-gce", p.status, fmt.Sprintf("https://prow.k8s.io/view/gs/kubernetes-jenkins/pr-logs/pull/%d/pull-kubernetes-e2e-gce/1", n))
	}
	// The patch-release board: the same change (#127760) picked to two more branches, one
	// merged; a cherry-pick on 1.31 that waits only for a review (later marked CVE in the
	// script); one closed; and a known issue in the patch-release format.
	const k8s = "kubernetes/kubernetes"
	weekAgo := time.Now().Add(-7 * 24 * time.Hour)
	for i, p := range []githubfake.PR{
		{Number: 128120, Title: "Automated cherry pick of #127760: kubelet: fix the restart backoff", Base: "release-1.30", HeadRef: "automated-cherry-pick-of-#127760-upstream-release-1.30",
			Labels: []string{"approved", "cncf-cla: yes", "kind/bug", "sig/node", "release-note", cutbot.NotApprovedLabel}},
		{Number: 128121, Title: "Automated cherry pick of #127760: kubelet: fix the restart backoff", Base: "release-1.29", HeadRef: "automated-cherry-pick-of-#127760-upstream-release-1.29",
			Labels: []string{"lgtm", "approved", "cherry-pick-approved", "kind/bug", "sig/node", "release-note"}, State: "closed", Merged: true, MergedAt: weekAgo},
		{Number: 128110, Title: "Automated cherry pick of #128060: kubelet: validate subPath before mounting", Base: "release-1.31", HeadRef: "automated-cherry-pick-of-#128060-upstream-release-1.31",
			Labels: []string{"lgtm", "approved", "cncf-cla: yes", "kind/bug", "sig/node", "release-note", cutbot.NotApprovedLabel}},
		{Number: 128111, Title: "[release-1.31] Update the docs of kubectl debug", Base: "release-1.31", HeadRef: "docs-debug-1.31",
			Labels: []string{"kind/documentation", "release-note-none"}, State: "closed", ClosedAt: weekAgo},
	} {
		p.HeadSHA, p.Author, p.CreatedAt = fmt.Sprintf("%040x", p.Number), []string{"k8s-infra-cherrypick-robot", "a-contributor"}[i%2], weekAgo
		if parents, _ := cutbot.PickParents(p.Title, p.HeadRef, ""); len(parents) > 0 {
			p.Body = fmt.Sprintf("Cherry pick of #%d on %s.\n\nFixes #127700", parents[0], p.Base)
		}
		w.gh.AddPullRequest(k8s, p)
		w.gh.SetStatus(k8s, p.HeadSHA, "pull-kubernetes-e2e-gce", "success", fmt.Sprintf("https://prow.k8s.io/view/gs/kubernetes-jenkins/pr-logs/pull/%d/pull-kubernetes-e2e-gce/1", p.Number))
	}
	// Merged since the last patch releases, for the release-notes drafts: one with its own
	// release-note block, one (on 1.30) whose note is its parent's.
	w.gh.AddPullRequest(k8s, githubfake.PR{Number: 127700, Title: "kube-proxy: clean up stale conntrack entries of UDP services", Base: "master", HeadRef: "conntrack",
		Author: "a-contributor", State: "closed", Merged: true, MergedAt: weekAgo.Add(-24 * time.Hour), CreatedAt: weekAgo.Add(-72 * time.Hour), Labels: []string{"kind/bug", "sig/network"},
		Body: "Fixes #127690\n\n```release-note\nkube-proxy: stale conntrack entries of UDP services are cleaned up when an endpoint goes away.\n```\n"})
	for _, p := range []githubfake.PR{
		{Number: 128090, Title: "Automated cherry pick of #127650: kubelet: fix the eviction of terminated pods", Base: "release-1.31", HeadRef: "automated-cherry-pick-of-#127650-upstream-release-1.31",
			Labels: []string{"lgtm", "approved", "cherry-pick-approved", "kind/bug", "sig/node", "release-note"},
			Body:   "Cherry pick of #127650 on release-1.31.\n\n```release-note\nkubelet: terminated pods are no longer evicted twice under memory pressure.\n```\n"},
		{Number: 128091, Title: "Automated cherry pick of #127700: kube-proxy: clean up stale conntrack entries of UDP services", Base: "release-1.30", HeadRef: "automated-cherry-pick-of-#127700-upstream-release-1.30",
			Labels: []string{"lgtm", "approved", "cherry-pick-approved", "kind/bug", "sig/network", "release-note"}, Body: "Cherry pick of #127700 on release-1.30."},
	} {
		p.HeadSHA, p.Author, p.CreatedAt, p.State, p.Merged, p.MergedAt = fmt.Sprintf("%040x", p.Number), "k8s-infra-cherrypick-robot", weekAgo.Add(-24*time.Hour), "closed", true, weekAgo
		w.gh.AddPullRequest(k8s, p)
	}
	w.gh.AddIssue(k8s, 128300, "kubelet restarts pods after a probe race", "open", "a-contributor")
	w.gh.EditBody(k8s, 128300, "```release\nintroduced-in=v1.31.2\n```\n```release\nresolved-in=v1.31.3\n```\n## Symptoms\nPods restart when a probe races the kubelet's sync.")
	w.gh.SetLabels(k8s, 128300, "priority/critical-urgent", "sig/node", "kind/regression")
	for _, b := range []string{"1.31", "1.30", "1.29", "1.28", "master"} {
		jobs := map[string]string{"build-" + b: "PASSING", "ci-kubernetes-e2e-gci-gce-" + b: "PASSING", "verify-" + b: "FLAKY"}
		if b == "1.31" {
			jobs = w.jobs
		}
		w.testgrid.Set("sig-release-"+b+"-blocking", jobs)
	}
	return w
}

// sandboxImages is the start of k8s.io's manifest of the Kubernetes images: the last patches.
const sandboxImages = `- name: kube-apiserver
  dmap:
    "sha256:0000000000000000000000000000000000000000000000000000000000000001": ["v1.31.2"]
- name: kube-proxy
  dmap:
    "sha256:0000000000000000000000000000000000000000000000000000000000000002": ["v1.31.2"]
`

// stagedImages are what a no-mock stage pushes to the staging registry in the sandbox.
var stagedImages = []string{"kube-apiserver", "kube-controller-manager", "kube-proxy", "kube-scheduler", "conformance"}

func (w *sandboxWorld) close() {
	w.staging.Close()
	w.gh.Close()
	w.testgrid.Close()
	w.prow.Close()
}

// do runs a ! line that acts outside cutbot, and says what it did.
func (w *sandboxWorld) do(cmd, arg string) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	const k8sio = "kubernetes/k8s.io"
	switch cmd {
	case "!testgrid":
		job, status, ok := strings.Cut(arg, " ")
		if !ok {
			return "", fmt.Errorf("!testgrid JOB STATUS")
		}
		w.jobs[job] = status
		w.testgrid.Set("sig-release-1.31-blocking", w.jobs)
		return fmt.Sprintf("testgrid now shows %s as %s on sig-release-1.31-blocking", job, status), nil
	case "!promo-job":
		if w.lastMerge == "" {
			return "", fmt.Errorf("!promo-job: no promotion PR was merged yet")
		}
		w.jobRuns++
		url := fmt.Sprintf("https://prow.k8s.io/view/gs/kubernetes-ci-logs/logs/post-k8sio-image-promo/%d", 1790000000000000000+w.jobRuns)
		w.gh.SetStatus(k8sio, w.lastMerge, "post-k8sio-image-promo", arg, url)
		return fmt.Sprintf("post-k8sio-image-promo finished with %s on %s", arg, w.lastMerge[:12]), nil
	}
	v, err := cutbot.ParseVersion(arg)
	if err != nil {
		return "", err
	}
	switch cmd {
	case "!approve", "!merge":
		if _, ok := w.prs[v.String()]; !ok {
			// The PR cutbot opened, as kpromo pr would.
			if n, found := w.gh.PRByTitle(k8sio, promotion.Title(cutbot.PromotionTags(v))); found {
				w.prs[v.String()] = n
			}
		}
	}
	switch cmd {
	case "!kpromo":
		tags := cutbot.PromotionTags(v)
		var names []string
		for _, t := range tags {
			names = append(names, t.String())
		}
		n := w.gh.AddPR(k8sio, "releng: Image promotion for kubernetes "+strings.Join(names, " / "), "kubernetes-"+tags[0].String()+"-image-promotion", "you", "do-not-merge/hold", "cncf-cla: yes", "sig/release")
		w.prs[v.String()] = n
		return fmt.Sprintf("kpromo pr opened https://github.com/%s/pull/%d", k8sio, n), nil
	case "!approve":
		n, ok := w.prs[v.String()]
		if !ok {
			return "", fmt.Errorf("!approve: no promotion PR for %s; !kpromo it first", v)
		}
		labels := []string{"approved", "lgtm", "cncf-cla: yes", "sig/release"}
		if _, body, _, _ := w.gh.PullBody(k8sio, n); strings.Contains(body, "/hold\n") && !w.unheld(n) {
			labels = append(labels, "do-not-merge/hold") // prow held it at /hold; cutbot lifts it
		}
		w.gh.SetLabels(k8sio, n, labels...)
		return fmt.Sprintf("a reviewer approved https://github.com/%s/pull/%d", k8sio, n), nil
	case "!merge":
		n, ok := w.prs[v.String()]
		if !ok {
			return "", fmt.Errorf("!merge: no promotion PR for %s", v)
		}
		sha := w.gh.Merge(k8sio, n)
		w.merges[v.String()], w.lastMerge = sha, sha
		return fmt.Sprintf("https://github.com/%s/pull/%d merged as %s", k8sio, n, sha[:12]), nil
	}
	return "", fmt.Errorf("unknown %s", cmd)
}

// unheld reports whether someone commented /hold cancel on k8s.io#n.
func (w *sandboxWorld) unheld(n int) bool {
	for _, c := range w.gh.CommentsOn("kubernetes/k8s.io", n) {
		if strings.HasPrefix(c, "/hold cancel") {
			return true
		}
	}
	return false
}

// pushStaged does what krel stage --nomock does to the registry: push the release's images,
// tagged with its version, to the staging registry (as the build is accepted: cutbot looks
// only once it has succeeded).
func (w *sandboxWorld) pushStaged(tags []string, subs map[string]string) {
	tag := "v" + subs["_KUBERNETES_VERSION_TAG"]
	if subs["_NOMOCK"] != "--nomock" || !slices.Contains(tags, "STAGE") {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pushed[tag] {
		return
	}
	for _, im := range stagedImages {
		w.staging.Push("k8s-staging-kubernetes/"+im, tag)
	}
	w.pushed[tag] = true
}

// publishReleases does what krel release --nomock does at its end: publish the GitHub release
// of every no-mock release build that succeeded.
func (w *sandboxWorld) publishReleases(cb *cloudbuildfake.Server) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, b := range cb.Builds() {
		tag := "v" + b.Substitutions["_KUBERNETES_VERSION_TAG"]
		if b.Status.String() == "SUCCESS" && b.Substitutions["_NOMOCK"] == "--nomock" && strings.Contains(strings.Join(b.Tags, " "), "RELEASE") && !w.released[tag] {
			w.gh.AddTags("kubernetes/kubernetes", tag) // krel release --nomock pushes the tag
			w.gh.AddRelease("kubernetes/kubernetes", tag)
			w.released[tag] = true
		}
	}
}
