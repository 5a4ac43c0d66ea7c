package cutbot

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// A hotfix release carries one specific change relative to the last release: the playbook
// makes a three-part branch release-X.Y.Z from the tag vX.Y.Z, cherry-picks onto it, and
// cuts vX.Y.(Z+1) from it. krel accepts such a branch (release-sdk's branch pattern
// `release-(\d+)\.(\d+)(\.(\d+))*$`), and the release type stays official.

var reHotfixBranch = regexp.MustCompile(`^release-(\d+)\.(\d+)\.(\d+)$`)

// HotfixBranch is the branch a hotfix of v is cut from: release-1.31.3 for v1.31.4. It is
// "" for a version that cannot be a hotfix (not a patch release).
func HotfixBranch(v Version) string {
	if !v.IsPatch() {
		return ""
	}
	return fmt.Sprintf("release-%d.%d.%d", v.Major, v.Minor, v.Patch-1)
}

// Hotfix reports whether the cut runs from a hotfix branch (release-X.Y.Z).
func (s CutSpec) Hotfix() bool { return reHotfixBranch.MatchString(s.Branch) }

// HotfixBase is the release a hotfix branch was made from (v1.31.3 for release-1.31.3);
// zero for any other branch.
func (s CutSpec) HotfixBase() Version {
	m := reHotfixBranch.FindStringSubmatch(s.Branch)
	if m == nil {
		return Version{}
	}
	major, _ := strconv.ParseUint(m[1], 10, 64)
	minor, _ := strconv.ParseUint(m[2], 10, 64)
	patch, _ := strconv.ParseUint(m[3], 10, 64)
	return Version{Major: major, Minor: minor, Patch: patch}
}

// Excludes says what a hotfix leaves out, for the plan, the thread and the issue.
func (s CutSpec) Excludes() string {
	if !s.Hotfix() {
		return ""
	}
	return fmt.Sprintf("only what is cherry-picked onto %s; it leaves out everything merged on %s since %s", s.Branch, s.Version.ReleaseBranch(), s.HotfixBase())
}

// CreateBranch creates the cut's hotfix branch in the release repository from the tag it is
// made from (a git ref, as `git push origin vX.Y.Z:refs/heads/release-X.Y.Z` would).
type CreateBranch struct {
	Branch string
	From   string // the tag, e.g. v1.31.3
}

func (e CreateBranch) Key() string { return "branch:" + e.Branch }
func (e CreateBranch) String() string {
	return fmt.Sprintf("create the branch %s from the tag %s", e.Branch, e.From)
}
func (CreateBranch) isEffect() {}

// BranchMissing records, when a hotfix cut opens, that its branch does not exist yet: no
// stage may start until it is created (RequestBranch).
type BranchMissing struct{ Branch string }

func (e BranchMissing) apply(c *Cut, _ time.Time) (*AuditEntry, error) {
	if !c.Spec.Hotfix() || e.Branch != c.Spec.Branch {
		return nil, c.refuse("only a hotfix cut's own branch can be missing")
	}
	c.MissingBranch = e.Branch
	return &AuditEntry{Action: "branch.missing", Detail: fmt.Sprintf("%s does not exist yet; it is made from %s", e.Branch, c.Spec.HotfixBase())}, nil
}

// RequestBranch is the requester's confirmation to create the missing hotfix branch from its
// tag. Only the release manager who opened the cut may give it; it is recorded.
type RequestBranch struct{ By string }

func (e RequestBranch) apply(c *Cut, _ time.Time) (*AuditEntry, error) {
	if err := c.mustBeActive(); err != nil {
		return nil, err
	}
	if c.MissingBranch == "" {
		return nil, c.conflict("the branch %s already exists", c.Spec.Branch)
	}
	eff := CreateBranch{Branch: c.MissingBranch, From: c.Spec.HotfixBase().String()}
	if c.Intends(eff.Key()) {
		return nil, c.conflict("the branch %s is already being created", c.MissingBranch)
	}
	if e.By != c.OpenedBy {
		return nil, Errorf(EUNAUTHORIZED, "%s: only <@%s>, who opened the cut, can confirm creating %s", c.Spec.Version, c.OpenedBy, c.MissingBranch)
	}
	c.intend(eff)
	return &AuditEntry{Actor: e.By, Action: "branch.requested", Detail: eff.String()}, nil
}

// BranchCreated records that the hotfix branch exists: created now, or found already there
// (Existed) when an interrupted creation is looked for.
type BranchCreated struct {
	SHA     string
	Existed bool
}

func (e BranchCreated) apply(c *Cut, _ time.Time) (*AuditEntry, error) {
	if c.MissingBranch == "" {
		return nil, nil // already recorded
	}
	branch := c.MissingBranch
	c.done(CreateBranch{Branch: branch}.Key())
	c.MissingBranch = ""
	detail := fmt.Sprintf("%s from %s", branch, c.Spec.HotfixBase())
	if e.SHA != "" {
		detail += " at " + shortSHA(e.SHA)
	}
	if e.Existed {
		detail += " (found already there)"
	}
	// The branch is created for whoever confirmed it: the audit names them.
	return &AuditEntry{Actor: c.LastActor("branch.requested"), Action: "branch.created", Detail: detail}, nil
}

func (BranchCreated) threadNote() {}

// LastActor is who did the latest action of the audit trail named action ("" if none).
func (c *Cut) LastActor(action string) string {
	for i := len(c.Audit) - 1; i >= 0; i-- {
		if c.Audit[i].Action == action {
			return c.Audit[i].Actor
		}
	}
	return ""
}
