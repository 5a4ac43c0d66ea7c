package cutbot

import (
	"os"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestNextVersionOnRealReleases: for each release branch in kubernetes/website's
// schedule.yaml (a copy in integrations/schedule/testdata), the patches it lists as released
// (previousPatches) are the tags, and the version it plans next is what krel would build.
func TestNextVersionOnRealReleases(t *testing.T) {
	raw, err := os.ReadFile("integrations/schedule/testdata/website/schedule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Schedules []struct {
			Release string `json:"release"`
			Next    struct {
				Release string `json:"release"`
			} `json:"next"`
			PreviousPatches []struct {
				Release string `json:"release"`
			} `json:"previousPatches"`
		} `json:"schedules"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, s := range file.Schedules {
		if s.Next.Release == "" || len(s.PreviousPatches) == 0 {
			continue
		}
		want := MustParseVersion("v" + s.Next.Release)
		tags := []Version{MustParseVersion("v" + s.Release + ".0-rc.0"), MustParseVersion("v" + s.Release + ".0-rc.1")}
		for _, p := range s.PreviousPatches {
			tags = append(tags, MustParseVersion("v"+p.Release))
		}
		if got := NextVersion(want, Official, tags); got != want {
			t.Errorf("release-%s after %d patches: next %s, schedule.yaml plans %s", s.Release, len(s.PreviousPatches), got, want)
		}
		checked++
	}
	if checked < 3 {
		t.Fatalf("only %d branches checked", checked)
	}
}

func TestNextVersion(t *testing.T) {
	v := func(s string) Version { return MustParseVersion(s) }
	tags := []Version{v("v1.32.0-alpha.0"), v("v1.32.0-alpha.1"), v("v1.32.0-alpha.3"), v("v1.32.0-beta.0"), v("v1.32.0-rc.0"), v("v1.31.4"), v("v1.33.0-alpha.0")}
	for _, tc := range []struct {
		typ  ReleaseType
		want string
	}{
		{Alpha, "v1.32.0-alpha.4"}, {Beta, "v1.32.0-beta.1"}, {RC, "v1.32.0-rc.1"}, {Official, "v1.32.0"},
	} {
		if got := NextVersion(v("v1.32.0"), tc.typ, tags); got.String() != tc.want {
			t.Errorf("next %s of 1.32: %s, want %s", tc.typ, got, tc.want)
		}
	}
	if got := NextVersion(v("v1.34.0"), Alpha, nil); got.String() != "v1.34.0-alpha.0" {
		t.Errorf("first alpha: %s", got)
	}
}
