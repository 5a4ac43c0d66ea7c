// Package promotion opens the image-promotion pull request of a release the way `kpromo pr`
// does (kubernetes/release#1445 asks cutbot to): it reads the staged images' digests from the
// staging registry, adds them to the promoter's images.yaml in the promotion repository
// (kubernetes/k8s.io's registry.k8s.io/images/k8s-staging-kubernetes/images.yaml) on a branch
// of a fork named as kpromo names it, and opens the PR with kpromo's title and body, on hold.
// When every staged image is in the manifest already, it says so instead (a no-op promotion).
package promotion

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"go.yaml.in/yaml/v3"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/integrations/github"
)

// DefaultImagesPath is where the promoter keeps the Kubernetes images' manifest in k8s.io.
const DefaultImagesPath = "registry.k8s.io/images/k8s-staging-kubernetes/images.yaml"

// Image is one image of a promoter manifest: its name under the staging registry and the
// tags of each digest.
type Image struct {
	Name string              `yaml:"name"`
	DMap map[string][]string `yaml:"dmap"`
}

// Parse reads a promoter images.yaml.
func Parse(data []byte) ([]Image, error) {
	var out []Image
	if err := yaml.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("images.yaml: %w", err)
	}
	for _, im := range out {
		if im.Name == "" {
			return nil, errors.New("images.yaml: an image without a name")
		}
	}
	return out, nil
}

// Format writes images as the promoter's tools write them: images by name, digests in order,
// one line each with its tags.
func Format(images []Image) []byte {
	images = slices.Clone(images)
	sort.Slice(images, func(i, j int) bool { return images[i].Name < images[j].Name })
	var b bytes.Buffer
	for _, im := range images {
		fmt.Fprintf(&b, "- name: %s\n  dmap:\n", im.Name)
		digests := make([]string, 0, len(im.DMap))
		for d := range im.DMap {
			digests = append(digests, d)
		}
		sort.Strings(digests)
		for _, d := range digests {
			tags := make([]string, len(im.DMap[d]))
			for i, t := range im.DMap[d] {
				tags[i] = strconv.Quote(t)
			}
			fmt.Fprintf(&b, "    %q: [%s]\n", d, strings.Join(tags, ", "))
		}
	}
	return b.Bytes()
}

// Staged is what the staging registry holds for a tag: image name → digest.
type Staged map[string]string

// Add puts the staged images of tag into images. It returns what it added ("name@digest"),
// none when every one was there already: a no-op promotion.
func Add(images []Image, tag string, staged Staged) ([]Image, []string) {
	out := slices.Clone(images)
	var added []string
	names := make([]string, 0, len(staged))
	for n := range staged {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		d := staged[n]
		i := slices.IndexFunc(out, func(im Image) bool { return im.Name == n })
		if i < 0 {
			out = append(out, Image{Name: n, DMap: map[string][]string{}})
			i = len(out) - 1
		} else {
			dm := make(map[string][]string, len(out[i].DMap)+1)
			for k, v := range out[i].DMap {
				dm[k] = slices.Clone(v)
			}
			out[i].DMap = dm
		}
		if slices.Contains(out[i].DMap[d], tag) {
			continue
		}
		out[i].DMap[d] = append(out[i].DMap[d], tag)
		added = append(added, n+"@"+d)
	}
	return out, added
}

// Branch, Title and Body are kpromo's: the fork's branch is named after the first tag.
func Branch(tags []cutbot.Version) string {
	return "kubernetes-" + tags[0].String() + "-image-promotion"
}

func Title(tags []cutbot.Version) string {
	return "releng: Image promotion for kubernetes " + joinTags(tags)
}

// joinTags reads "v1.32.0-rc.0 / v1.33.0-alpha.0".
func joinTags(tags []cutbot.Version) string {
	names := make([]string, len(tags))
	for i, t := range tags {
		names[i] = t.String()
	}
	return strings.Join(names, " / ")
}

func Body(tags []cutbot.Version, extra string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Image promotion for Kubernetes %s\n\n", joinTags(tags))
	b.WriteString("This is an automated PR generated from `kpromo` (opened by cutbot, as `kpromo pr` would)\n\n")
	b.WriteString("```\n/hold\ncc: @kubernetes/release-engineering\n```\n")
	if extra != "" {
		b.WriteString("\n" + extra)
	}
	return b.String()
}

// Registry reads the staging registry, e.g. gcr.io/k8s-staging-kubernetes.
type Registry struct {
	Base    string // host and path of the staging project
	Options []remote.Option
}

// Staged lists the images under the staging registry that carry tag, with their digests.
func (r *Registry) Staged(ctx context.Context, tag string) (Staged, error) {
	host, path, _ := strings.Cut(r.Base, "/")
	var nopts []name.Option
	if loopback(host) {
		nopts = append(nopts, name.Insecure)
	}
	reg, err := name.NewRegistry(host, nopts...)
	if err != nil {
		return nil, cutbot.Errorf(cutbot.EINVALID, "staging registry %q: %v", r.Base, err)
	}
	opts := append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}, r.Options...)
	repos, err := remote.Catalog(ctx, reg, opts...)
	if err != nil {
		return nil, cutbot.Errorf(cutbot.EUNAVAILABLE, "list the images of %s: %v", r.Base, err)
	}
	out := Staged{}
	prefix := strings.Trim(path, "/") + "/"
	for _, repo := range repos {
		if path != "" && !strings.HasPrefix(repo, prefix) {
			continue
		}
		ref, err := name.NewTag(host+"/"+repo+":"+tag, nopts...)
		if err != nil {
			return nil, err
		}
		desc, err := remote.Head(ref, opts...)
		var te *transport.Error
		if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
			continue // this image has no such tag
		}
		if err != nil {
			return nil, cutbot.Errorf(cutbot.EUNAVAILABLE, "read %s: %v", ref, err)
		}
		out[strings.TrimPrefix(repo, prefix)] = desc.Digest.String()
	}
	return out, nil
}

func loopback(host string) bool {
	h := host
	if i := strings.LastIndex(h, ":"); i >= 0 {
		h = h[:i]
	}
	return h == "localhost" || h == "127.0.0.1" || h == "[::1]"
}

// GitHub is what opening the PR needs of GitHub.
type GitHub interface {
	FileContent(ctx context.Context, repo, path, ref string) (string, error)
	FindPullRequest(ctx context.Context, repo, head string) (cutbot.PullRequest, bool, error)
	ProposeFile(ctx context.Context, p github.FileProposal) (cutbot.PullRequest, error)
}

// Opener opens image-promotion PRs. It implements cutbot.PromotionOpener.
type Opener struct {
	GitHub  GitHub
	Staging interface {
		Staged(ctx context.Context, tag string) (Staged, error)
	}
	Repo string // where the PR goes, e.g. kubernetes/k8s.io
	Base string // its branch, e.g. main
	Fork string // where the branch is pushed, e.g. k8s-release-robot/k8s.io
	Path string // the manifest, DefaultImagesPath
}

var _ cutbot.PromotionOpener = (*Opener)(nil)

// proposal is the PR of tags with the manifest content, as kpromo opens it.
func (o *Opener) proposal(tags []cutbot.Version, content, extra string) github.FileProposal {
	return github.FileProposal{Repo: o.Repo, Base: o.Base, Fork: o.Fork, Branch: Branch(tags), Path: o.Path,
		Content: content, Title: Title(tags), Body: Body(tags, extra)}
}

// Find looks for the PR a previous Open made (after a crash, say): by its head branch.
func (o *Opener) Find(ctx context.Context, v cutbot.Version) (cutbot.PromotionPR, bool, error) {
	pr, found, err := o.GitHub.FindPullRequest(ctx, o.Repo, o.proposal(cutbot.PromotionTags(v), "", "").Head())
	return cutbot.PromotionPR{PullRequest: pr}, found, err
}

// Open reads the staged images of v's promotion tags, adds them to the manifest on the
// fork's branch, and opens the PR; or says there is nothing to promote.
func (o *Opener) Open(ctx context.Context, v cutbot.Version, extra string) (cutbot.PromotionPR, error) {
	tags := cutbot.PromotionTags(v)
	current, err := o.GitHub.FileContent(ctx, o.Repo, o.Path, o.Base)
	if err != nil {
		return cutbot.PromotionPR{}, fmt.Errorf("read %s of %s: %w", o.Path, o.Repo, err)
	}
	images, err := Parse([]byte(current))
	if err != nil {
		return cutbot.PromotionPR{}, err
	}
	var added []string
	for _, t := range tags {
		staged, err := o.Staging.Staged(ctx, t.String())
		if err != nil {
			return cutbot.PromotionPR{}, err
		}
		if len(staged) == 0 {
			return cutbot.PromotionPR{}, cutbot.Errorf(cutbot.ENOTFOUND, "the staging registry has no image tagged %s: was the no-mock stage's push done?", t)
		}
		var a []string
		images, a = Add(images, t.String(), staged)
		added = append(added, a...)
	}
	if len(added) == 0 {
		return cutbot.PromotionPR{NoOp: true}, nil
	}
	pr, err := o.GitHub.ProposeFile(ctx, o.proposal(tags, string(Format(images)), extra))
	if err != nil {
		return cutbot.PromotionPR{}, err
	}
	return cutbot.PromotionPR{PullRequest: pr, Images: len(added)}, nil
}
