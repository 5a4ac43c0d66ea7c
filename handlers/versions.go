package handlers

import (
	"context"
	"fmt"
	"slices"

	"sigs.k8s.io/cutbot"
)

// checkVersion holds a version to be cut against the release repository: its branch must
// exist, the version must not be tagged or released already, and it should be the one krel
// builds next from the branch (else it takes --force "reason"). It says what it checked; it
// refuses with the reason. Without GitHub it says the check was skipped.
//
// A hotfix's branch (release-X.Y.Z) may not exist yet: then the tag it is made from must,
// and missing says the branch is to be created.
func (h *Handlers) checkVersion(ctx context.Context, spec cutbot.CutSpec, force string) (checked string, missing bool, err error) {
	checked, err = h.checkVersionOf(ctx, spec, force, &missing)
	return checked, missing, err
}

func (h *Handlers) checkVersionOf(ctx context.Context, spec cutbot.CutSpec, force string, missing *bool) (string, error) {
	g := &h.gh
	v := spec.Version
	if g.api == nil {
		return "the version was not checked against GitHub (GITHUB_TOKEN is not set)", nil
	}
	// The GitHub client's errors already say what it could not do.
	couldNot := func(what string, err error) (string, error) {
		why := cutbot.ErrorMessage(err)
		if cutbot.ErrorCode(err) == cutbot.EINTERNAL {
			why = "could not " + what
		}
		if force != "" {
			return fmt.Sprintf("the version could not be checked (%s); cut anyway: %s", why, force), nil
		}
		return "", cutbot.Errorf(cutbot.EUNAVAILABLE, "%s was not checked: %s. Try again in a moment, or add --force \"reason\" to cut without the check.", v, why)
	}
	if spec.Branch != cutbot.MasterBranch {
		ok, err := g.api.BranchExists(ctx, g.releaseRepo, spec.Branch)
		if err != nil {
			return couldNot("read the branch "+spec.Branch+" of "+g.releaseRepo, err)
		}
		switch {
		case !ok && spec.Hotfix():
			*missing = true
		case !ok:
			return "", cutbot.Errorf(cutbot.EINVALID, "%s: the branch %s does not exist in %s, so krel cannot build %s from it; check the version", v, spec.Branch, g.releaseRepo, v)
		}
	}
	names, err := g.api.Tags(ctx, g.releaseRepo, fmt.Sprintf("v%d.%d.", v.Major, v.Minor))
	if err != nil {
		return couldNot("list the tags of "+g.releaseRepo, err)
	}
	var tags []cutbot.Version
	for _, n := range names {
		if t, err := cutbot.ParseVersion(n); err == nil {
			tags = append(tags, t)
		}
	}
	if base := spec.HotfixBase(); !base.IsZero() && !slices.Contains(tags, base) {
		return "", cutbot.Errorf(cutbot.EINVALID, "%s: the hotfix branch %s is made from the tag %s, which %s does not have; a hotfix follows a release", v, spec.Branch, base, g.releaseRepo)
	}
	if slices.Contains(tags, v) {
		return "", cutbot.Errorf(cutbot.ECONFLICT, "%s is already tagged in %s: it was released (https://github.com/%s/releases/tag/%s); a release is never cut twice", v, g.releaseRepo, g.releaseRepo, v)
	}
	if url, found, err := g.api.Release(ctx, g.releaseRepo, v.String()); err != nil {
		return couldNot("read the releases of "+g.releaseRepo, err)
	} else if found {
		return "", cutbot.Errorf(cutbot.ECONFLICT, "%s is already released in %s (%s); a release is never cut twice", v, g.releaseRepo, url)
	}
	next := cutbot.NextVersion(v, spec.Type, tags)
	latest := "no " + string(spec.Type) + " release yet"
	if l, ok := latestOf(tags, spec.Type, v); ok {
		latest = "the latest is " + l.String()
	}
	if next != v {
		if force == "" {
			return "", cutbot.Errorf(cutbot.EINVALID, "%s is not the %s krel builds next from %s: that is %s (%s in %s). Cut %s, or add --force \"reason\" to cut %s anyway; the reason is recorded.",
				v, spec.Type, spec.Branch, next, latest, g.releaseRepo, next, v)
		}
		return fmt.Sprintf("%s is not the %s krel builds next from %s (that is %s); cut anyway: %s", v, spec.Type, spec.Branch, next, force), nil
	}
	out := fmt.Sprintf("%s is the %s krel builds next from %s (%s in %s)", v, spec.Type, spec.Branch, latest, g.releaseRepo)
	if *missing {
		out += fmt.Sprintf("; the hotfix branch %s does not exist yet, and is to be made from %s", spec.Branch, spec.HotfixBase())
	}
	return out, nil
}

// latestOf is the newest tag of type typ on v's minor.
func latestOf(tags []cutbot.Version, typ cutbot.ReleaseType, v cutbot.Version) (cutbot.Version, bool) {
	var out cutbot.Version
	found := false
	want := typ
	if typ == cutbot.Official {
		want = ""
	}
	for _, t := range tags {
		if t.Major != v.Major || t.Minor != v.Minor || t.Pre != want {
			continue
		}
		if !found || t.Patch > out.Patch || t.Patch == out.Patch && t.PreN > out.PreN {
			out, found = t, true
		}
	}
	return out, found
}
