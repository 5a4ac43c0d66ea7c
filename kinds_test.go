package cutbot

import (
	"strings"
	"testing"
	"time"
)

func TestHotfixSpec(t *testing.T) {
	v := MustParseVersion("v1.31.4")
	if got := HotfixBranch(v); got != "release-1.31.3" {
		t.Errorf("HotfixBranch = %q", got)
	}
	for _, s := range []string{"v1.31.0", "v1.32.0-rc.1"} {
		if got := HotfixBranch(MustParseVersion(s)); got != "" {
			t.Errorf("HotfixBranch(%s) = %q, want none", s, got)
		}
	}
	spec, err := NewCutSpec(v, "", "release-1.31.3", false)
	if err != nil || !spec.Hotfix() || spec.HotfixBase() != MustParseVersion("v1.31.3") || spec.Type != Official {
		t.Fatalf("spec %+v, %v", spec, err)
	}
	if _, err := NewCutSpec(v, "", "release-1.31.2", false); err == nil || !strings.Contains(err.Error(), "use release-1.31 or release-1.31.3 (a hotfix, --hotfix)") {
		t.Errorf("a hotfix branch of another release: %v", err)
	}
	plain, _ := NewCutSpec(v, "", "", false)
	if plain.Hotfix() || !plain.HotfixBase().IsZero() || plain.Excludes() != "" {
		t.Errorf("a plain patch reads as a hotfix: %+v", plain)
	}
}

func TestBranchMustExistBeforeStages(t *testing.T) {
	spec, _ := NewCutSpec(MustParseVersion("v1.31.4"), "", "release-1.31.3", false)
	c, _ := NewCut(spec, "C1", "U1", time.Unix(0, 0))
	c.ID = "1"
	now := time.Unix(60, 0)
	if _, err := c.Apply(BranchMissing{Branch: "release-1.31.3"}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Apply(StartStage{Stage: MockStage, By: "U1", BuildVersion: "v1.31.4-rc.0.1+abc"}, now); err == nil || !strings.Contains(err.Error(), "does not exist yet") {
		t.Errorf("a stage started before the branch exists: %v", err)
	}
	if _, err := c.Apply(RequestBranch{By: "U2"}, now); ErrorCode(err) != EUNAUTHORIZED {
		t.Errorf("someone else confirmed the branch: %v", err)
	}
	effects, err := c.Apply(RequestBranch{By: "U1"}, now)
	if err != nil || len(effects) != 1 || effects[0] != (CreateBranch{Branch: "release-1.31.3", From: "v1.31.3"}) {
		t.Fatalf("effects %v, %v", effects, err)
	}
	if _, err := c.Apply(RequestBranch{By: "U1"}, now); ErrorCode(err) != ECONFLICT {
		t.Errorf("a second request while the first is under way: %v", err)
	}
	if _, err := c.Apply(BranchCreated{SHA: "0123456789abcdef0123"}, now); err != nil {
		t.Fatal(err)
	}
	if c.MissingBranch != "" || c.Intends(CreateBranch{Branch: "release-1.31.3"}.Key()) {
		t.Errorf("after creation: missing %q, journal %v", c.MissingBranch, c.Journal)
	}
	last := c.Audit[len(c.Audit)-1]
	if last.Action != "branch.created" || last.Actor != "U1" || last.Detail != "release-1.31.3 from v1.31.3 at 0123456789ab" {
		t.Errorf("audit %+v", last)
	}
	if _, err := c.Apply(StartStage{Stage: MockStage, By: "U1", BuildVersion: "v1.31.4-rc.0.1+abc"}, now); err != nil {
		t.Errorf("the stage cannot start once the branch exists: %v", err)
	}
}

func TestEmbargoSecretsAndLift(t *testing.T) {
	spec, _ := NewCutSpec(MustParseVersion("v1.31.5"), "", "", false)
	spec.Embargo = "CVE-2026-1234, CVE-2026-1235"
	c, _ := NewCut(spec, "G1", "U1", time.Unix(0, 0))
	if got := strings.Join(c.Secrets(), " "); got != "v1.31.5 CVE-2026-1234 CVE-2026-1235" {
		t.Errorf("secrets %q", got)
	}
	scheduled := *c
	scheduled.VersionPublic = true
	if got := strings.Join(scheduled.Secrets(), " "); got != "CVE-2026-1234 CVE-2026-1235" {
		t.Errorf("a scheduled version is public knowledge; secrets %q", got)
	}
	effects, err := c.Apply(LiftEmbargo{By: "U2"}, time.Unix(60, 0))
	if err != nil || c.Embargoed() || len(c.Secrets()) != 0 || c.LiftedBy != "U2" {
		t.Fatalf("after the lift: %v, embargoed %v", err, c.Embargoed())
	}
	if len(effects) != 2 || effects[0] != (PostMessage{Message: MessagePublic}) {
		t.Errorf("effects %v, want the public thread and the note", effects)
	}
	if _, err := c.Apply(LiftEmbargo{By: "U2"}, time.Unix(61, 0)); ErrorCode(err) != ECONFLICT {
		t.Errorf("lifted twice: %v", err)
	}
	plain, _ := NewCut(CutSpec{Version: MustParseVersion("v1.31.5"), Type: Official, Branch: "release-1.31"}, "C1", "U1", time.Unix(0, 0))
	if _, err := plain.Apply(LiftEmbargo{By: "U2"}, time.Unix(60, 0)); ErrorCode(err) != EINVALID {
		t.Errorf("lifted a cut without an embargo: %v", err)
	}
}

func TestTimingOnTheCalendar(t *testing.T) {
	day := func(s string) Day { d, _ := ParseDay(s); return d }
	ms := []Milestone{
		{Kind: PatchReleased, Day: day("2024-09-10"), What: "v1.30.5"},
		{Kind: PatchReleased, Day: day("2024-08-14"), What: "v1.30.4"},
		{Kind: PatchTarget, Day: day("2024-10-15"), What: "v1.30.6"},
		{Kind: PatchReleased, Day: day("2024-09-11"), What: "v1.31.1"},
	}
	last, ok := LastRelease(MustParseVersion("v1.30.6"), ms, nil)
	if !ok || last.Version.String() != "v1.30.5" || last.Day != day("2024-09-10") || last.Source != "the calendar" {
		t.Fatalf("last %+v", last)
	}
	if why := TooSoon(MustParseVersion("v1.30.6"), last, day("2024-09-20"), DefaultMinPatchGap); !strings.Contains(why, "10 days after v1.30.5") {
		t.Errorf("too soon: %q", why)
	}
	if why := TooSoon(MustParseVersion("v1.30.6"), last, day("2024-09-24"), DefaultMinPatchGap); why != "" {
		t.Errorf("14 days is enough, got %q", why)
	}
	if why := TooSoon(MustParseVersion("v1.31.0"), last, day("2024-09-11"), DefaultMinPatchGap); why != "" {
		t.Errorf("an x.y.0 is no patch: %q", why)
	}
	gh := Released{Version: MustParseVersion("v1.30.6"), Day: day("2024-10-15"), Source: "its GitHub release"}
	if l, _ := LastRelease(MustParseVersion("v1.30.7"), ms, []Released{gh}); l != gh {
		t.Errorf("GitHub's later release not taken: %+v", l)
	}
	at := time.Date(2024, 10, 8, 9, 0, 0, 0, time.UTC)
	if _, ok := GapReminder("release-1.30", last, 3, day("2024-10-08"), DefaultMaxPatchGap, at); ok {
		t.Error("28 days is within the gap")
	}
	if _, ok := GapReminder("release-1.30", last, 0, day("2024-10-20"), DefaultMaxPatchGap, at); ok {
		t.Error("reminded with nothing merged")
	}
	d, ok := GapReminder("release-1.30", last, 2, day("2024-10-09"), DefaultMaxPatchGap, at)
	if !ok || d.ID != "gap-release-1.30-v1.30.5" || !strings.Contains(d.Detail, "29 days") || !strings.Contains(d.Detail, "2 cherry-picks have merged") {
		t.Errorf("gap %+v", d)
	}
}
