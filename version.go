package cutbot

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"

	"github.com/blang/semver/v4"
)

// ReleaseType is krel's --type: what kind of release a cut produces.
type ReleaseType string

// The release types krel knows.
const (
	Alpha    ReleaseType = "alpha"
	Beta     ReleaseType = "beta"
	RC       ReleaseType = "rc"
	Official ReleaseType = "official"
)

// ReleaseTypes lists the valid types, in the order they occur in a minor release cycle.
var ReleaseTypes = []ReleaseType{Alpha, Beta, RC, Official}

// ParseReleaseType parses krel's --type value.
func ParseReleaseType(s string) (ReleaseType, error) {
	for _, t := range ReleaseTypes {
		if string(t) == s {
			return t, nil
		}
	}
	return "", Errorf(EINVALID, "unknown release type %q: use one of alpha, beta, rc, official", s)
}

// MasterBranch is the branch alphas (and early betas) are cut from.
const MasterBranch = "master"

// Version is a Kubernetes release version: vMAJOR.MINOR.PATCH with an optional -alpha.N,
// -beta.N or -rc.N. The zero value is not a valid version.
type Version struct {
	Major, Minor, Patch uint64
	Pre                 ReleaseType // Alpha, Beta, RC, or "" for an official release
	PreN                uint64
}

const versionHelp = "expected vMAJOR.MINOR.PATCH with an optional -alpha.N, -beta.N or -rc.N, e.g. v1.31.3 or v1.32.0-rc.1"

// ParseVersion parses a release version such as v1.31.3 or v1.32.0-rc.1. Its errors say
// what was wrong and what would be right.
func ParseVersion(s string) (Version, error) {
	if s == "" {
		return Version{}, Errorf(EINVALID, "missing version: %s", versionHelp)
	}
	if !strings.HasPrefix(s, "v") {
		if _, err := semver.Parse(s); err == nil {
			return Version{}, Errorf(EINVALID, "version %q must start with \"v\": did you mean v%s?", s, s)
		}
		return Version{}, Errorf(EINVALID, "%q is not a release version: %s", s, versionHelp)
	}
	sv, err := semver.Parse(s[1:])
	if err != nil {
		return Version{}, Errorf(EINVALID, "%q is not a release version: %s", s, versionHelp)
	}
	if len(sv.Build) > 0 {
		return Version{}, Errorf(EINVALID, "%q has build metadata (+%s): that is a build version, not a release version; %s", s, strings.Join(sv.Build, "."), versionHelp)
	}
	v := Version{Major: sv.Major, Minor: sv.Minor, Patch: sv.Patch}
	if len(sv.Pre) == 0 {
		return v, nil
	}
	pre := sv.Pre[0].String()
	switch {
	case len(sv.Pre) != 2 || !sv.Pre[1].IsNum || (pre != string(Alpha) && pre != string(Beta) && pre != string(RC)):
		return Version{}, Errorf(EINVALID, "%q has pre-release %q: use -alpha.N, -beta.N or -rc.N (N a number), e.g. v%d.%d.0-rc.1", s, preString(sv.Pre), v.Major, v.Minor)
	case v.Patch != 0:
		return Version{}, Errorf(EINVALID, "%q: alpha, beta and rc releases are cut for x.y.0 only (did you mean v%d.%d.0-%s.%d?)", s, v.Major, v.Minor, pre, sv.Pre[1].VersionNum)
	}
	v.Pre, v.PreN = ReleaseType(pre), sv.Pre[1].VersionNum
	return v, nil
}

func preString(pre []semver.PRVersion) string {
	parts := make([]string, len(pre))
	for i, p := range pre {
		parts[i] = p.String()
	}
	return strings.Join(parts, ".")
}

// MustParseVersion is ParseVersion for constants in tests and tables; it panics on error.
func MustParseVersion(s string) Version {
	v, err := ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

// String returns the tag, e.g. v1.32.0-rc.1.
func (v Version) String() string {
	s := "v" + strconv.FormatUint(v.Major, 10) + "." + strconv.FormatUint(v.Minor, 10) + "." + strconv.FormatUint(v.Patch, 10)
	if v.Pre != "" {
		s += "-" + string(v.Pre) + "." + strconv.FormatUint(v.PreN, 10)
	}
	return s
}

// Compare orders versions as releases follow each other: -1 if v comes before w, 0 if they
// are the same, +1 if after (v1.32.0-alpha.1 < v1.32.0-beta.0 < v1.32.0-rc.0 < v1.32.0).
func (v Version) Compare(w Version) int {
	rank := func(t ReleaseType) int {
		switch t {
		case Alpha:
			return 0
		case Beta:
			return 1
		case RC:
			return 2
		}
		return 3
	}
	return cmp.Or(cmp.Compare(v.Major, w.Major), cmp.Compare(v.Minor, w.Minor), cmp.Compare(v.Patch, w.Patch),
		cmp.Compare(rank(v.Pre), rank(w.Pre)), cmp.Compare(v.PreN, w.PreN))
}

// IsZero reports whether v is the zero Version.
func (v Version) IsZero() bool { return v == Version{} }

// Type is the release type this version is cut as.
func (v Version) Type() ReleaseType {
	if v.Pre == "" {
		return Official
	}
	return v.Pre
}

// ReleaseBranch is the release branch of v's minor version, e.g. release-1.31.
func (v Version) ReleaseBranch() string { return fmt.Sprintf("release-%d.%d", v.Major, v.Minor) }

// DefaultBranch is the branch a cut of v runs on unless the release managers say otherwise:
// alphas and betas on master, release candidates and official releases on their release
// branch.
func (v Version) DefaultBranch() string {
	switch v.Type() {
	case Alpha, Beta:
		return MasterBranch
	default:
		return v.ReleaseBranch()
	}
}

// IsPatch reports whether v is a patch release (x.y.z with z > 0).
func (v Version) IsPatch() bool { return v.Pre == "" && v.Patch > 0 }

// PromotionTags are the image tags an image-promotion PR must promote for a cut of v,
// following the handbook: alphas, betas, later RCs and patch releases promote their own tag;
// the first RC also the next minor's alpha.0; a stable x.y.0 also x.y.1-rc.0.
func PromotionTags(v Version) []Version {
	tags := []Version{v}
	switch {
	case v.Pre == RC && v.PreN == 0:
		tags = append(tags, Version{Major: v.Major, Minor: v.Minor + 1, Pre: Alpha})
	case v.Pre == "" && v.Patch == 0:
		tags = append(tags, Version{Major: v.Major, Minor: v.Minor, Patch: 1, Pre: RC})
	}
	return tags
}

// NextVersion is the version krel builds next, of type typ, on the minor of v, given the tags
// that minor already has (as the branch's git describe sees them): the patch after the
// latest official release (or x.y.0 before any), the rc, beta or alpha after the latest of
// its kind (or .0 before any).
func NextVersion(v Version, typ ReleaseType, tags []Version) Version {
	next := Version{Major: v.Major, Minor: v.Minor}
	if typ == Official {
		found := false
		for _, t := range tags {
			if t.Major == v.Major && t.Minor == v.Minor && t.Pre == "" && (!found || t.Patch >= next.Patch) {
				next.Patch, found = t.Patch, true
			}
		}
		if found {
			next.Patch++
		}
		return next
	}
	next.Pre = typ
	found := false
	for _, t := range tags {
		if t.Major == v.Major && t.Minor == v.Minor && t.Pre == typ && (!found || t.PreN >= next.PreN) {
			next.PreN, found = t.PreN, true
		}
	}
	if found {
		next.PreN++
	}
	return next
}
