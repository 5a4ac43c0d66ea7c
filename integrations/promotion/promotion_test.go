package promotion

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/integrations/github"
	"sigs.k8s.io/cutbot/integrations/githubfake"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.WriteFile(path, []byte(got), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (rerun with -update)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}

// TestManifestShape edits the real promoter manifest of promo-tools' canary (k8s-staging-bom):
// a new tag's digest is added in the promoter's order, a digest already there with the tag
// adds nothing (a no-op), and the result parses back to the same images.
func TestManifestShape(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "promo-tools-canary-k8s-staging-bom-images.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	images, err := Parse(data)
	if err != nil || len(images) != 1 || len(images[0].DMap) != 2 {
		t.Fatalf("parsed %+v, %v", images, err)
	}
	if got := string(Format(images)); got != string(data) {
		t.Errorf("formatting the real manifest changes it:\n%s\nwant\n%s", got, data)
	}
	after, added := Add(images, "v0.4.0", Staged{"bom": "sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"})
	if len(added) != 1 {
		t.Fatalf("added %v", added)
	}
	golden(t, "bom-images-after.golden", string(Format(after)))
	again, added := Add(after, "v0.4.0", Staged{"bom": "sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"})
	if len(added) != 0 || string(Format(again)) != string(Format(after)) {
		t.Errorf("a second promotion of the same digest added %v", added)
	}
	if _, err := Parse([]byte("- dmap: {}\n")); err == nil {
		t.Error("an image without a name parsed")
	}
}

// stagingRegistry is go-containerregistry's in-memory registry, with kubernetes images of tag
// pushed to it under k8s-staging-kubernetes, and images of another project and another tag.
func stagingRegistry(t *testing.T, tag string, images ...string) (string, map[string]string) {
	t.Helper()
	reg := NewFakeRegistry()
	t.Cleanup(reg.Close)
	digests := map[string]string{}
	push := func(repo, tag string) string {
		d, err := reg.Push(repo, tag)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, im := range images {
		digests[im] = push("k8s-staging-kubernetes/"+im, tag)
	}
	push("k8s-staging-other/tool", tag)
	push("k8s-staging-kubernetes/kube-old", "v1.30.0")
	return reg.Host(), digests
}

const k8sio, fork = "kubernetes/k8s.io", "k8s-release-robot/k8s.io"

// TestOpenPromotionPR opens the promotion PR of v1.31.3 against the fake GitHub (through the
// real go-github client) and the in-memory registry: the fork's branch, kpromo's title and
// body with /hold, the manifest change (golden); a try whose PR was refused and a restart
// after the branch push open exactly one PR with one commit; a release with nothing new to
// promote is a no-op.
func TestOpenPromotionPR(t *testing.T) {
	host, digests := stagingRegistry(t, "v1.31.3", "kube-apiserver", "kube-proxy", "conformance-amd64")
	gh := githubfake.New("ghp_fake", "k8s-release-robot", nil)
	t.Cleanup(gh.Close)
	gh.AddBranches(k8sio, "main")
	gh.SetFile(k8sio, DefaultImagesPath, "- name: kube-apiserver\n  dmap:\n    \"sha256:0000000000000000000000000000000000000000000000000000000000000000\": [\"v1.31.2\"]\n")
	client, err := github.New(context.Background(), gh.URL(), "ghp_fake", nil)
	if err != nil {
		t.Fatal(err)
	}
	o := &Opener{GitHub: client, Staging: &Registry{Base: host + "/k8s-staging-kubernetes"}, Repo: k8sio, Base: "main", Fork: fork, Path: DefaultImagesPath}
	ctx := context.Background()
	v := cutbot.MustParseVersion("v1.31.3")

	staged, err := o.Staging.Staged(ctx, "v1.31.3")
	if err != nil || len(staged) != 3 || staged["kube-proxy"] != digests["kube-proxy"] {
		t.Fatalf("staged %v, %v; pushed %v", staged, err, digests)
	}
	if _, found, err := o.Find(ctx, v); found || err != nil {
		t.Fatalf("found a PR before any: %v", err)
	}

	// The PR is refused once, after the branch was pushed (cutbot then stops, say): the next
	// try finds the branch as it left it, commits nothing new, and opens one PR.
	gh.FailNext("POST /repos/kubernetes/k8s.io/pulls", 502)
	if _, err := o.Open(ctx, v, "Builds: https://console.cloud.google.com/cloud-build/builds/x"); err == nil {
		t.Fatal("the refused PR was not reported")
	}
	if _, found, _ := o.Find(ctx, v); found {
		t.Fatal("a PR exists after the refusal")
	}
	pr, err := o.Open(ctx, v, "Builds: https://console.cloud.google.com/cloud-build/builds/x")
	if err != nil || pr.NoOp || pr.Images != 3 {
		t.Fatalf("open: %+v, %v", pr, err)
	}
	if n := len(gh.Requests("PUT /repos/k8s-release-robot/k8s.io/contents/")); n != 1 {
		t.Errorf("%d commits of the manifest, want 1", n)
	}
	if n := len(gh.Requests("POST /repos/k8s-release-robot/k8s.io/git/refs")); n != 1 {
		t.Errorf("%d branch creations, want 1", n)
	}
	title, body, head, ok := gh.PullBody(k8sio, pr.Number)
	if !ok || title != "releng: Image promotion for kubernetes v1.31.3" || head != "k8s-release-robot:kubernetes-v1.31.3-image-promotion" {
		t.Errorf("PR %q from %q", title, head)
	}
	for _, w := range []string{"This is an automated PR generated from `kpromo`", "/hold\ncc: @kubernetes/release-engineering", "Builds: https://console.cloud.google.com/cloud-build/builds/x"} {
		if !strings.Contains(body, w) {
			t.Errorf("PR body lacks %q:\n%s", w, body)
		}
	}
	changed, _ := gh.FileOn(fork, "kubernetes-v1.31.3-image-promotion", DefaultImagesPath)
	for im, d := range digests {
		changed = strings.ReplaceAll(changed, d, "sha256:<"+im+">") // the registry's digests are random
	}
	golden(t, "k8s-images-after.golden", changed)

	found, ok, err := o.Find(ctx, v)
	if !ok || err != nil || found.Number != pr.Number {
		t.Errorf("Find after Open: %+v %v %v", found, ok, err)
	}
	// The answer to the PR's creation is lost: the PR is taken, not opened twice.
	gh.LoseNextAnswer("POST /repos/kubernetes/k8s.io/pulls", 502)
	if again, err := o.Open(ctx, v, ""); err != nil || again.Number != pr.Number {
		t.Errorf("a second Open: %+v, %v", again, err)
	}
	if n := len(gh.Requests("POST /repos/kubernetes/k8s.io/pulls")); n != 3 {
		t.Errorf("%d PR creations asked, want 3 (refused, opened, refused as a duplicate)", n)
	}

	// Merged: the manifest on main has the digests; the next cut of the same images is a no-op.
	gh.SetFile(k8sio, DefaultImagesPath, string(mustFile(t, gh, fork, "kubernetes-v1.31.3-image-promotion")))
	noop, err := o.Open(ctx, v, "")
	if err != nil || !noop.NoOp {
		t.Errorf("nothing new to promote: %+v, %v", noop, err)
	}
	if _, err := o.Open(ctx, cutbot.MustParseVersion("v1.31.9"), ""); cutbot.ErrorCode(err) != cutbot.ENOTFOUND {
		t.Errorf("no staged image: %v", err)
	}
}

func mustFile(t *testing.T, gh *githubfake.Server, repo, branch string) []byte {
	t.Helper()
	c, ok := gh.FileOn(repo, branch, DefaultImagesPath)
	if !ok {
		t.Fatalf("no manifest on %s of %s", branch, repo)
	}
	return []byte(c)
}
