package cutbot

import (
	"fmt"
	"slices"
	"strings"
)

// CutSpec is what a release manager asks for: which version, as which type, from which
// branch, and whether the mock pair runs.
type CutSpec struct {
	Version   Version
	Type      ReleaseType
	Branch    string
	NoMockRun bool // skip the mock stage and mock release
	// Embargo names the embargoed fix (e.g. "CVE-2026-1234"): the cut lives in the private
	// channel, and nothing about it is public until a release manager lifts the embargo.
	Embargo string
	// Source overrides where krel takes Kubernetes from (_K8S_ORG, _K8S_REPO, _K8S_REF), e.g.
	// a private fork of the Security Response Committee; empty fields keep cutbot's setting.
	Source Source
}

// Source is where krel takes Kubernetes from.
type Source struct{ Org, Repo, Ref string }

// NewCutSpec infers the type and branch a cut of v runs with, checks any the release manager
// gave explicitly against v, and returns the spec. Empty typ and branch mean "infer".
func NewCutSpec(v Version, typ ReleaseType, branch string, noMockRun bool) (CutSpec, error) {
	if v.IsZero() {
		return CutSpec{}, Errorf(EINVALID, "missing version: %s", versionHelp)
	}
	if typ == "" {
		typ = v.Type()
	} else if typ != v.Type() {
		return CutSpec{}, Errorf(EINVALID, "--type %s does not match %s, which is %s release: leave --type out, or give the version %s cut produces", typ, v, v.Type().WithArticle(), typ.WithArticle())
	}
	if branch == "" {
		branch = v.DefaultBranch()
	} else if allowed := allowedBranches(v); !slices.Contains(allowed, branch) && branch != HotfixBranch(v) {
		return CutSpec{}, Errorf(EINVALID, "--branch %s cannot produce %s: use %s", branch, v, strings.Join(allowed, " or "))
	}
	return CutSpec{Version: v, Type: typ, Branch: branch, NoMockRun: noMockRun}, nil
}

// allowedBranches are the branches a cut of v may run on: alphas only on master, betas on
// master or their release branch, RCs and official releases on their release branch, and a
// patch release also on the hotfix branch made from the release before it.
func allowedBranches(v Version) []string {
	switch v.Type() {
	case Alpha:
		return []string{MasterBranch}
	case Beta:
		return []string{MasterBranch, v.ReleaseBranch()}
	}
	if hf := HotfixBranch(v); hf != "" {
		return []string{v.ReleaseBranch(), hf + " (a hotfix, --hotfix)"}
	}
	return []string{v.ReleaseBranch()}
}

// WithArticle reads "an official", "an rc", "an alpha", "a beta".
func (t ReleaseType) WithArticle() string {
	if t == Beta {
		return "a " + string(t)
	}
	return "an " + string(t)
}

// StageKind names a step of a cut's plan.
type StageKind string

// The stages of a cut, in the order they run.
const (
	MockStage      StageKind = "mock-stage"
	MockRelease    StageKind = "mock-release"
	NoMockStage    StageKind = "nomock-stage"
	ImagePromotion StageKind = "image-promotion"
	NoMockRelease  StageKind = "nomock-release"
	Announcement   StageKind = "announcement"
)

// StageKinds lists every stage in plan order.
var StageKinds = []StageKind{MockStage, MockRelease, NoMockStage, ImagePromotion, NoMockRelease, Announcement}

// ParseStageKind accepts a stage's name as shown in help (mock-stage, nomock-release, ...).
func ParseStageKind(s string) (StageKind, error) {
	for _, k := range StageKinds {
		if string(k) == s {
			return k, nil
		}
	}
	names := make([]string, len(StageKinds))
	for i, k := range StageKinds {
		names[i] = string(k)
	}
	return "", Errorf(EINVALID, "unknown stage %q: use one of %s", s, strings.Join(names, ", "))
}

// Title is the stage's name as the handbook's Slack thread writes it.
func (k StageKind) Title() string {
	switch k {
	case MockStage:
		return "Mock Stage"
	case MockRelease:
		return "Mock Release"
	case NoMockStage:
		return "No-mock Stage"
	case ImagePromotion:
		return "Image Promotion"
	case NoMockRelease:
		return "No-mock Release"
	case Announcement:
		return "Announcement"
	}
	return string(k)
}

// IsMock reports whether the stage is one of the non-destructive mock pair.
func (k StageKind) IsMock() bool { return k == MockStage || k == MockRelease }

// IsBuild reports whether the stage runs as a Cloud Build job (krel stage or krel release).
func (k StageKind) IsBuild() bool {
	return k == MockStage || k == MockRelease || k == NoMockStage || k == NoMockRelease
}

// IsStage reports whether the stage is a krel stage (which resolves a build version), as
// opposed to a krel release (which consumes one).
func (k StageKind) IsStage() bool { return k == MockStage || k == NoMockStage }

// NeedsConfirmation reports whether starting the stage needs the requester to confirm: every
// no-mock build creates real artifacts.
func (k StageKind) NeedsConfirmation() bool { return k == NoMockStage || k == NoMockRelease }

// StageOf is the stage whose build version a release consumes: the mock stage for the mock
// release, the no-mock stage for the no-mock release.
func (k StageKind) StageOf() StageKind {
	switch k {
	case MockRelease:
		return MockStage
	case NoMockRelease:
		return NoMockStage
	}
	return ""
}

// Step is one stage of a plan with what it will do, in the words of the tools release
// managers run by hand today.
type Step struct {
	Kind    StageKind
	Skipped bool   // the plan leaves this stage out (--no-mock-run)
	Does    string // the equivalent manual command or action
}

// Plan returns the stages a cut of s goes through, in order, each described.
func (s CutSpec) Plan() []Step {
	steps := make([]Step, 0, len(StageKinds))
	for _, k := range StageKinds {
		steps = append(steps, Step{Kind: k, Skipped: s.NoMockRun && k.IsMock(), Does: s.describe(k)})
	}
	return steps
}

func (s CutSpec) describe(k StageKind) string {
	krel := fmt.Sprintf("--type %s --branch %s", s.Type, s.Branch)
	switch k {
	case MockStage:
		return "krel stage " + krel
	case MockRelease:
		return "krel release " + krel + " --build-version <from mock stage>"
	case NoMockStage:
		return "krel stage " + krel + " --nomock"
	case ImagePromotion:
		tags := PromotionTags(s.Version)
		args := make([]string, len(tags))
		for i, t := range tags {
			args[i] = fmt.Sprintf("--tag %s", t)
		}
		return "kpromo pr " + strings.Join(args, " ") + ", merge, wait for post-k8sio-image-promo"
	case NoMockRelease:
		return "krel release " + krel + " --nomock --build-version <from no-mock stage>"
	case Announcement:
		return fmt.Sprintf(":kubernetes: Kubernetes %s is live!", s.Version)
	}
	return ""
}

// FollowUps are the handbook's extra tasks for some cuts, which cutbot lists but does not run.
func (s CutSpec) FollowUps() []string {
	var out []string
	v := s.Version
	if v.Pre == RC && v.PreN == 0 {
		out = append(out, fmt.Sprintf("Post-release branch creation tasks for %s (rc.0 only)", v.ReleaseBranch()))
	}
	if v.Pre == "" && v.Patch == 0 {
		out = append(out, fmt.Sprintf("Code thaw PR merged and OBS project created for v%d.%d (x.y.0 only)", v.Major, v.Minor))
	}
	if v.IsPatch() {
		out = append(out, "Update schedule.yaml on kubernetes/website with schedule-builder (patch releases only)")
	}
	return out
}

// String reads "kubernetes-security/kubernetes@release-1.31" with the parts that are set.
func (s Source) String() string {
	out := s.Org
	if s.Repo != "" {
		out += "/" + s.Repo
	}
	if s.Ref != "" {
		out += "@" + s.Ref
	}
	return strings.TrimPrefix(out, "/")
}
