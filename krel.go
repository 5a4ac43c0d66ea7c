package cutbot

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
)

// BuildJob is the kind of Cloud Build job krel submits: a stage or a release.
type BuildJob string

// The jobs krel submits, each with its own cloudbuild config (gcb/stage, gcb/release).
const (
	JobStage   BuildJob = "stage"
	JobRelease BuildJob = "release"
)

// KrelOptions are the parts of a krel submission that do not depend on the cut: where the
// release tooling and Kubernetes come from, who submits, and how verbosely.
type KrelOptions struct {
	ToolOrg, ToolRepo, ToolRef string // kubernetes/release at a ref
	K8sOrg, K8sRepo, K8sRef    string // kubernetes/kubernetes
	UserTag                    string // _GCP_USER_TAG: who submitted
	LogLevel                   string
}

// DefaultKrelOptions are krel's defaults, with cutbot as the submitter.
func DefaultKrelOptions() KrelOptions {
	return KrelOptions{ToolOrg: "kubernetes", ToolRepo: "release", ToolRef: "master", K8sOrg: "kubernetes", K8sRepo: "kubernetes", UserTag: "cutbot", LogLevel: "info"}
}

// BuildRequest is one Cloud Build job to submit for a stage attempt: which config, with which
// substitutions, and the tag that names the attempt so the job can be found again.
type BuildRequest struct {
	CutID         string
	Stage         StageKind
	Attempt       int
	Job           BuildJob
	Substitutions map[string]string
	Tag           string
}

// BuildTag is cutbot's own tag on a job: it names the cut, stage and attempt, so that an
// attempt whose submission was interrupted is looked up rather than submitted twice. Cloud
// Build tags allow letters, digits, '_', '.' and '-'.
func BuildTag(cutID string, k StageKind, attempt int) string {
	return fmt.Sprintf("cutbot-%s-%s-%d", cutID, k, attempt)
}

// Buckets krel stages to: the real one for no-mock runs, the gcb one for mocks.
const (
	NoMockBucket = "gs://kubernetes-release"
	MockBucket   = "gs://kubernetes-release-gcb"
)

// KrelBuild returns the job `krel stage` or `krel release` would submit for the current attempt
// of stage k of c: the same substitutions (see kubernetes/release pkg/gcp/gcb), with the build
// version the attempt recorded.
func KrelBuild(c *Cut, k StageKind, opts KrelOptions) (BuildRequest, error) {
	if !k.IsBuild() {
		return BuildRequest{}, c.refuse("%s is not a Cloud Build job", k.Title())
	}
	s := c.Stage(k)
	if s == nil || s.Current() == nil {
		return BuildRequest{}, c.refuse("%s has not started", k.Title())
	}
	a := s.Current()
	if a.BuildVersion == "" {
		return BuildRequest{}, c.refuse("%s attempt %d has no build version", k.Title(), a.N)
	}
	v, spec := c.Spec.Version, c.Spec
	if src := spec.Source; src.Org != "" || src.Repo != "" || src.Ref != "" {
		opts.K8sOrg = cmp.Or(src.Org, opts.K8sOrg)
		opts.K8sRepo = cmp.Or(src.Repo, opts.K8sRepo)
		opts.K8sRef = cmp.Or(src.Ref, opts.K8sRef)
	}
	nomock, nomockTag, bucket := "", "", MockBucket
	if !k.IsMock() {
		nomock, nomockTag, bucket = "--nomock", "nomock", NoMockBucket
	}
	prime := strings.TrimPrefix(v.String(), "v")
	subs := map[string]string{
		"_TOOL_ORG": opts.ToolOrg, "_TOOL_REPO": opts.ToolRepo, "_TOOL_REF": opts.ToolRef,
		"_K8S_ORG": opts.K8sOrg, "_K8S_REPO": opts.K8sRepo, "_K8S_REF": opts.K8sRef,
		"_GCP_USER_TAG":           opts.UserTag,
		"_TYPE":                   string(spec.Type),
		"_TYPE_TAG":               string(spec.Type),
		"_RELEASE_BRANCH":         spec.Branch,
		"_BUILDVERSION":           a.BuildVersion,
		"_NOMOCK":                 nomock,
		"_NOMOCK_TAG":             nomockTag,
		"_LOG_LEVEL":              opts.LogLevel,
		"_MAJOR_VERSION_TAG":      strconv.FormatUint(v.Major, 10),
		"_MINOR_VERSION_TAG":      strconv.FormatUint(v.Minor, 10),
		"_PATCH_VERSION_TAG":      strconv.FormatUint(v.Patch, 10),
		"_KUBERNETES_VERSION_TAG": prime,
	}
	job := JobStage
	if !k.IsStage() {
		job = JobRelease
		subs["_KUBERNETES_GCS_BUCKET"] = fmt.Sprintf("%s/stage/%s/%s/gcs-stage/%s", bucket, a.BuildVersion, v, v)
	}
	return BuildRequest{CutID: c.ID, Stage: k, Attempt: a.N, Job: job, Substitutions: subs, Tag: BuildTag(c.ID, k, a.N)}, nil
}

// ReleaseBuildVersion is the build version a release stage consumes: the one its stage
// succeeded with.
func (c *Cut) ReleaseBuildVersion(k StageKind) (string, error) {
	src := c.Stage(k.StageOf())
	if src == nil {
		return "", c.refuse("%s has no stage to take a build version from", k.Title())
	}
	if src.Status() != StatusSucceeded {
		return "", c.refuse("%s builds from %s's build version, and %s has not succeeded (%s)", k.Title(), src.Kind.Title(), src.Kind.Title(), src.Status())
	}
	bv := src.Current().Outputs[OutputBuildVersion]
	if bv == "" {
		return "", c.refuse("%s succeeded without recording a build version", src.Kind.Title())
	}
	return bv, nil
}
