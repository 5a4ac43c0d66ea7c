package cutbot

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseVersion(t *testing.T) {
	good := []struct {
		in   string
		want Version
		typ  ReleaseType
		br   string
	}{
		{"v1.31.3", Version{Major: 1, Minor: 31, Patch: 3}, Official, "release-1.31"},
		{"v1.31.0", Version{Major: 1, Minor: 31}, Official, "release-1.31"},
		{"v1.32.0-rc.1", Version{Major: 1, Minor: 32, Pre: RC, PreN: 1}, RC, "release-1.32"},
		{"v1.32.0-rc.0", Version{Major: 1, Minor: 32, Pre: RC}, RC, "release-1.32"},
		{"v1.33.0-alpha.1", Version{Major: 1, Minor: 33, Pre: Alpha, PreN: 1}, Alpha, "master"},
		{"v1.32.0-beta.0", Version{Major: 1, Minor: 32, Pre: Beta}, Beta, "master"},
	}
	for _, tc := range good {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseVersion(tc.in)
			if err != nil {
				t.Fatalf("ParseVersion(%q): %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseVersion(%q) (-want +got):\n%s", tc.in, diff)
			}
			if got.String() != tc.in {
				t.Errorf("String() = %q, want %q", got.String(), tc.in)
			}
			if got.Type() != tc.typ || got.DefaultBranch() != tc.br {
				t.Errorf("Type, DefaultBranch = %s, %s; want %s, %s", got.Type(), got.DefaultBranch(), tc.typ, tc.br)
			}
		})
	}

	bad := []struct{ in, wantMsg string }{
		{"", "missing version"},
		{"1.31", "not a release version"},
		{"1.31.3", "did you mean v1.31.3?"},
		{"v1.31", "not a release version"},
		{"v1.31.3-foo", `pre-release "foo"`},
		{"v1.31.3-rc", `pre-release "rc"`},
		{"v1.31.0-rc.x", `pre-release "rc.x"`},
		{"v1.31.0-gamma.1", `pre-release "gamma.1"`},
		{"v1.31.3-rc.1", "x.y.0 only (did you mean v1.31.0-rc.1?)"},
		{"v1.31.3+abc", "build version"},
		{"v1.31.0-rc.1+abc", "build version"},
		{"latest", "not a release version"},
		{"v01.31.3", "not a release version"},
	}
	for _, tc := range bad {
		t.Run("bad/"+tc.in, func(t *testing.T) {
			_, err := ParseVersion(tc.in)
			if err == nil {
				t.Fatalf("ParseVersion(%q) succeeded, want an error", tc.in)
			}
			if ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("ParseVersion(%q) = %v (%s), want EINVALID containing %q", tc.in, err, ErrorCode(err), tc.wantMsg)
			}
			if !strings.Contains(err.Error(), "v1.") && tc.in != "" && !strings.Contains(err.Error(), "e.g.") {
				t.Errorf("error %q gives no example of a right version", err)
			}
		})
	}
}

func TestPromotionTags(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"v1.31.3", []string{"v1.31.3"}},
		{"v1.20.0", []string{"v1.20.0", "v1.20.1-rc.0"}},
		{"v1.20.0-rc.0", []string{"v1.20.0-rc.0", "v1.21.0-alpha.0"}},
		{"v1.20.0-rc.1", []string{"v1.20.0-rc.1"}},
		{"v1.29.0-alpha.1", []string{"v1.29.0-alpha.1"}},
		{"v1.20.0-beta.1", []string{"v1.20.0-beta.1"}},
		{"v1.32.0-beta.0", []string{"v1.32.0-beta.0"}},
	} {
		var got []string
		for _, v := range PromotionTags(MustParseVersion(tc.in)) {
			got = append(got, v.String())
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("PromotionTags(%s) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestNewCutSpec(t *testing.T) {
	for _, tc := range []struct {
		name, version, typ, branch string
		want                       CutSpec
		wantErr                    string
	}{
		{name: "patch inferred", version: "v1.31.3", want: CutSpec{Type: Official, Branch: "release-1.31"}},
		{name: "rc inferred", version: "v1.32.0-rc.1", want: CutSpec{Type: RC, Branch: "release-1.32"}},
		{name: "alpha inferred", version: "v1.33.0-alpha.1", want: CutSpec{Type: Alpha, Branch: "master"}},
		{name: "beta inferred", version: "v1.32.0-beta.0", want: CutSpec{Type: Beta, Branch: "master"}},
		{name: "beta on its release branch", version: "v1.32.0-beta.2", branch: "release-1.32", want: CutSpec{Type: Beta, Branch: "release-1.32"}},
		{name: "type given and agreeing", version: "v1.31.3", typ: "official", want: CutSpec{Type: Official, Branch: "release-1.31"}},
		{name: "type disagrees", version: "v1.31.3", typ: "rc", wantErr: "--type rc does not match v1.31.3, which is an official release"},
		{name: "wrong release branch", version: "v1.31.3", branch: "release-1.30", wantErr: "--branch release-1.30 cannot produce v1.31.3: use release-1.31"},
		{name: "alpha off master", version: "v1.33.0-alpha.1", branch: "release-1.33", wantErr: "use master"},
		{name: "official on master", version: "v1.31.0", branch: "master", wantErr: "use release-1.31"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := MustParseVersion(tc.version)
			got, err := NewCutSpec(v, ReleaseType(tc.typ), tc.branch, false)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || ErrorCode(err) != EINVALID {
					t.Fatalf("NewCutSpec = %v, want EINVALID containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Version = v
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanDiffersByType(t *testing.T) {
	spec := func(v string, noMock bool) CutSpec {
		s, err := NewCutSpec(MustParseVersion(v), "", "", noMock)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	plan := spec("v1.31.3", false).Plan()
	var kinds []StageKind
	for _, st := range plan {
		kinds = append(kinds, st.Kind)
		if st.Skipped {
			t.Errorf("%s skipped without --no-mock-run", st.Kind)
		}
	}
	if diff := cmp.Diff(StageKinds, kinds); diff != "" {
		t.Errorf("plan order (-want +got):\n%s", diff)
	}
	if got := plan[0].Does; got != "krel stage --type official --branch release-1.31" {
		t.Errorf("mock stage does %q", got)
	}
	if got := plan[2].Does; got != "krel stage --type official --branch release-1.31 --nomock" {
		t.Errorf("no-mock stage does %q", got)
	}
	for _, st := range spec("v1.31.3", true).Plan() {
		if st.Skipped != st.Kind.IsMock() {
			t.Errorf("--no-mock-run: %s skipped=%v", st.Kind, st.Skipped)
		}
	}
	if got := spec("v1.32.0-rc.0", false).Plan()[3].Does; !strings.Contains(got, "--tag v1.32.0-rc.0 --tag v1.33.0-alpha.0") {
		t.Errorf("rc.0 promotion does %q", got)
	}
	if got := spec("v1.33.0-alpha.1", false).Plan()[0].Does; got != "krel stage --type alpha --branch master" {
		t.Errorf("alpha mock stage does %q", got)
	}
	if fu := spec("v1.32.0-rc.0", false).FollowUps(); len(fu) != 1 || !strings.Contains(fu[0], "branch creation") {
		t.Errorf("rc.0 follow-ups = %q", fu)
	}
	if fu := spec("v1.31.3", false).FollowUps(); len(fu) != 1 || !strings.Contains(fu[0], "schedule.yaml") {
		t.Errorf("patch follow-ups = %q", fu)
	}
	if fu := spec("v1.32.0-beta.1", false).FollowUps(); len(fu) != 0 {
		t.Errorf("beta follow-ups = %q", fu)
	}
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"v1.31.3", "v1.32.0-rc.1", "1.31", "v1.31.3-foo", "v1.2.3+x", "v"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVersion(s)
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("ParseVersion(%q) error %v has code %s", s, err, ErrorCode(err))
			}
			return
		}
		if v.String() != s {
			t.Fatalf("ParseVersion(%q).String() = %q", s, v.String())
		}
	})
}
