package cloudbuild_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/integrations/cloudbuild"
	"sigs.k8s.io/cutbot/integrations/cloudbuildfake"
)

var t0 = time.Date(2026, 11, 10, 17, 0, 0, 0, time.UTC)

func setup(t *testing.T) (*cloudbuild.Client, *cloudbuildfake.Server) {
	t.Helper()
	fake, err := cloudbuildfake.New(func() time.Time { return t0 })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	stage, release, err := cloudbuildfake.WriteConfigs(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c, err := cloudbuild.New(context.Background(), cloudbuild.Config{Project: "k8s-release", Region: "us-central1", Endpoint: fake.Addr(), StageConfig: stage, ReleaseConfig: release})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, fake
}

// cutAt returns a cut of version whose stage k has just started (its earlier stages passed).
func cutAt(t *testing.T, version string, k cutbot.StageKind) *cutbot.Cut {
	t.Helper()
	spec, err := cutbot.NewCutSpec(cutbot.MustParseVersion(version), "", "", false)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cutbot.NewCut(spec, "C1", "U1", t0)
	if err != nil {
		t.Fatal(err)
	}
	c.ID = "00000042"
	if _, err := c.Apply(cutbot.GatesChecked{Gates: cutbot.Gates{Checks: []cutbot.GateCheck{{Name: "testgrid", OK: true}}}}, t0); err != nil {
		t.Fatal(err)
	}
	const bv = "v1.31.3-rc.0.12+8f0c0a4d"
	step := func(k cutbot.StageKind) {
		var events []cutbot.Event
		if k.NeedsConfirmation() {
			events = []cutbot.Event{cutbot.RequestConfirmation{ID: "c-" + string(k), Stage: k, By: "U1", BuildVersion: bv}, cutbot.StartStage{Stage: k, By: "U1", Confirmation: "c-" + string(k)}}
		} else {
			events = []cutbot.Event{cutbot.StartStage{Stage: k, By: "U1", BuildVersion: bv}}
		}
		for _, e := range events {
			if _, err := c.Apply(e, t0); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, s := range []cutbot.StageKind{cutbot.MockStage, cutbot.MockRelease, cutbot.NoMockStage, cutbot.ImagePromotion, cutbot.NoMockRelease} {
		step(s)
		if s == k {
			return c
		}
		for _, e := range []cutbot.Event{cutbot.BuildSubmitted{Stage: s, Attempt: 1, BuildID: "x"}, cutbot.StageSucceeded{Stage: s, Attempt: 1}} {
			if s == cutbot.ImagePromotion {
				continue
			}
			if _, err := c.Apply(e, t0); err != nil {
				t.Fatal(err)
			}
		}
		if s == cutbot.ImagePromotion {
			c.Stage(s).Attempts[0].Status = cutbot.StatusSucceeded // issue 4 runs it; here it only has to be done
		}
	}
	t.Fatalf("no stage %s", k)
	return nil
}

func TestSubmittedBuildsCarryKrelsSubstitutionsAndTags(t *testing.T) {
	client, fake := setup(t)
	ctx := context.Background()
	for _, tc := range []struct {
		version string
		stage   cutbot.StageKind
		subs    map[string]string // a subset checked exactly
		tags    []string
	}{
		{"v1.31.3", cutbot.MockStage,
			map[string]string{"_TYPE": "official", "_TYPE_TAG": "official", "_RELEASE_BRANCH": "release-1.31", "_NOMOCK": "", "_NOMOCK_TAG": "", "_BUILDVERSION": "v1.31.3-rc.0.12+8f0c0a4d", "_KUBERNETES_VERSION_TAG": "1.31.3", "_GIT_TAG": "v20261101-fake"},
			[]string{"cutbot", "release-1.31", "STAGE", "v20261101-fake", "official", "1", "31", "3", "1.31.3", "cutbot-00000042-mock-stage-1"}},
		{"v1.31.3", cutbot.MockRelease,
			map[string]string{"_NOMOCK": "", "_KUBERNETES_GCS_BUCKET": "gs://kubernetes-release-gcb/stage/v1.31.3-rc.0.12+8f0c0a4d/v1.31.3/gcs-stage/v1.31.3"},
			[]string{"cutbot", "release-1.31", "RELEASE", "v20261101-fake", "official", "1", "31", "3", "1.31.3", "cutbot-00000042-mock-release-1"}},
		{"v1.31.3", cutbot.NoMockStage,
			map[string]string{"_NOMOCK": "--nomock", "_NOMOCK_TAG": "nomock"},
			[]string{"cutbot", "release-1.31", "nomock", "STAGE", "v20261101-fake", "official", "1", "31", "3", "1.31.3", "cutbot-00000042-nomock-stage-1"}},
		{"v1.31.3", cutbot.NoMockRelease,
			map[string]string{"_NOMOCK": "--nomock", "_KUBERNETES_GCS_BUCKET": "gs://kubernetes-release/stage/v1.31.3-rc.0.12+8f0c0a4d/v1.31.3/gcs-stage/v1.31.3"},
			[]string{"cutbot", "release-1.31", "nomock", "RELEASE", "v20261101-fake", "official", "1", "31", "3", "1.31.3", "cutbot-00000042-nomock-release-1"}},
		{"v1.32.0-rc.1", cutbot.MockStage,
			map[string]string{"_TYPE": "rc", "_RELEASE_BRANCH": "release-1.32", "_KUBERNETES_VERSION_TAG": "1.32.0-rc.1", "_PATCH_VERSION_TAG": "0"},
			[]string{"cutbot", "release-1.32", "STAGE", "v20261101-fake", "rc", "1", "32", "0", "1.32.0-rc.1", "cutbot-00000042-mock-stage-1"}},
		{"v1.33.0-alpha.1", cutbot.NoMockStage,
			map[string]string{"_TYPE": "alpha", "_RELEASE_BRANCH": "master", "_NOMOCK": "--nomock"},
			[]string{"cutbot", "master", "nomock", "STAGE", "v20261101-fake", "alpha", "1", "33", "0", "1.33.0-alpha.1", "cutbot-00000042-nomock-stage-1"}},
		{"v1.32.0-beta.0", cutbot.MockRelease,
			map[string]string{"_TYPE": "beta", "_RELEASE_BRANCH": "master"},
			[]string{"cutbot", "master", "RELEASE", "v20261101-fake", "beta", "1", "32", "0", "1.32.0-beta.0", "cutbot-00000042-mock-release-1"}},
	} {
		t.Run(tc.version+"/"+string(tc.stage), func(t *testing.T) {
			c := cutAt(t, tc.version, tc.stage)
			req, err := cutbot.KrelBuild(c, tc.stage, cutbot.DefaultKrelOptions())
			if err != nil {
				t.Fatal(err)
			}
			ref, err := client.Submit(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if ref.ID == "" || !strings.Contains(ref.LogURL, ref.ID) || !strings.Contains(ref.LogURL, "project=k8s-release") {
				t.Errorf("ref = %+v", ref)
			}
			reqs := fake.Requests("CreateBuild")
			got := reqs[len(reqs)-1]
			if got.Parent != "projects/k8s-release/locations/us-central1" {
				t.Errorf("parent = %q", got.Parent)
			}
			for k, want := range tc.subs {
				if v, ok := got.Build.Substitutions[k]; !ok || v != want {
					t.Errorf("substitution %s = %q (set %v), want %q", k, v, ok, want)
				}
			}
			if diff := cmp.Diff(tc.tags, got.Build.Tags); diff != "" {
				t.Errorf("tags (-want +got):\n%s", diff)
			}
			if got.Build.Options.GetSubstitutionOption().String() != "ALLOW_LOOSE" || got.Build.Options.GetMachineType().String() != "E2_HIGHCPU_32" {
				t.Errorf("options = %v", got.Build.Options)
			}
			wantJob := "staging"
			if !tc.stage.IsStage() {
				wantJob = "releasing"
			}
			if got.Build.Steps[2].Id != wantJob {
				t.Errorf("config used: step 2 is %q, want %q", got.Build.Steps[2].Id, wantJob)
			}
		})
	}
}

func TestStatusFindCancel(t *testing.T) {
	client, fake := setup(t)
	ctx := context.Background()
	c := cutAt(t, "v1.31.3", cutbot.MockStage)
	req, _ := cutbot.KrelBuild(c, cutbot.MockStage, cutbot.DefaultKrelOptions())
	ref, err := client.Submit(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := client.Status(ctx, ref.ID)
	if st.State != cutbot.BuildQueued {
		t.Errorf("new build: %+v", st)
	}
	fake.Step(ref.ID, 1)
	st, _ = client.Status(ctx, ref.ID)
	if st.State != cutbot.BuildWorking || st.Step != "compiling" || st.StartTime.IsZero() {
		t.Errorf("working build: %+v", st)
	}
	found, ok, err := client.FindByTag(ctx, req.Tag)
	if err != nil || !ok || found.ID != ref.ID {
		t.Errorf("FindByTag = %+v, %v, %v", found, ok, err)
	}
	if _, ok, _ := client.FindByTag(ctx, "cutbot-00000042-mock-stage-9"); ok {
		t.Error("found a build for an attempt never submitted")
	}
	fake.Fail(ref.ID, 2, `Build step 2 "staging" failed: exit status 1`)
	st, _ = client.Status(ctx, ref.ID)
	if st.State != cutbot.BuildFailed || st.FailedStep != "staging" || !strings.Contains(st.Detail, "exit status 1") || st.FinishTime.IsZero() {
		t.Errorf("failed build: %+v", st)
	}
	ref2, _ := client.Submit(ctx, req)
	if err := client.Cancel(ctx, ref2.ID); err != nil {
		t.Fatal(err)
	}
	if st, _ := client.Status(ctx, ref2.ID); st.State != cutbot.BuildCancelled {
		t.Errorf("cancelled build: %+v", st)
	}
	if _, err := client.Status(ctx, "nope"); cutbot.ErrorCode(err) != cutbot.ENOTFOUND {
		t.Errorf("missing build: %v", err)
	}
}

func TestErrorsSayWhatToDo(t *testing.T) {
	client, fake := setup(t)
	ctx := context.Background()
	c := cutAt(t, "v1.31.3", cutbot.MockStage)
	req, _ := cutbot.KrelBuild(c, cutbot.MockStage, cutbot.DefaultKrelOptions())
	for _, tc := range []struct {
		code codes.Code
		want string
		msg  string
	}{
		{codes.Unavailable, cutbot.EUNAVAILABLE, "cutbot will try again"},
		{codes.ResourceExhausted, cutbot.EUNAVAILABLE, "cutbot will try again"},
		{codes.PermissionDenied, cutbot.EUNAUTHORIZED, "roles/cloudbuild.builds.editor"},
		{codes.InvalidArgument, cutbot.EINVALID, "rejected"},
	} {
		fake.Fault("CreateBuild", tc.code)
		_, err := client.Submit(ctx, req)
		if cutbot.ErrorCode(err) != tc.want || !strings.Contains(cutbot.ErrorMessage(err), tc.msg) {
			t.Errorf("%s: %v (%s), want %s saying %q", tc.code, err, cutbot.ErrorCode(err), tc.want, tc.msg)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	stage, _, _ := cloudbuildfake.WriteConfigs(dir)
	b, err := cloudbuild.LoadConfig(stage)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Steps) != 4 || b.Timeout.AsDuration() != 4*time.Hour || !slices.Contains(b.Tags, "STAGE") {
		t.Errorf("config = %v", b)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("steps:\n- name: x\n  argz: [a]\n"), 0o644)
	if _, err := cloudbuild.LoadConfig(bad); err == nil || !strings.Contains(err.Error(), "argz") {
		t.Errorf("unknown field: %v", err)
	}
	if _, err := cloudbuild.LoadConfig(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("missing file accepted")
	}
}

func TestStepLabelWithoutIDs(t *testing.T) {
	b, _ := cloudbuild.LoadConfig(writeFile(t, "steps:\n- name: gcr.io/k8s-staging-releng/k8s-cloud-builder:v1\n  args: [\"./anago\", \"release-1.31\", \"--stage\", \"--prebuild\"]\n- name: gcr.io/cloud-builders/git\n  args: [clone, x]\n"))
	if got := cloudbuild.StepLabel(0, b.Steps[0]); got != "step 0: ./anago --stage" {
		t.Errorf("label = %q", got)
	}
	if got := cloudbuild.StepLabel(1, b.Steps[1]); got != "step 1: clone" {
		t.Errorf("label = %q", got)
	}
}

func writeFile(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(p, []byte(body), 0o644)
	return p
}

func TestIsLoopback(t *testing.T) {
	for ep, want := range map[string]bool{"127.0.0.1:8080": true, "localhost:1": true, "[::1]:9": true, "cloudbuild.googleapis.com:443": false, "10.0.0.1:443": false} {
		if cloudbuild.IsLoopback(ep) != want {
			t.Errorf("IsLoopback(%s) != %v", ep, want)
		}
	}
}
