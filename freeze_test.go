package cutbot

import (
	"reflect"
	"testing"
)

func TestReadiness(t *testing.T) {
	ready := []string{"lgtm", "approved", "cherry-pick-approved", "cncf-cla: yes"}
	for _, tc := range []struct {
		name    string
		labels  []string
		state   string
		failing []string
		want    []string
	}{
		{"ready", ready, "success", nil, nil},
		{"ready, statuses still running", ready, "pending", nil, nil},
		{"no lgtm", []string{"approved", "cherry-pick-approved"}, "success", nil, []string{"needs lgtm"}},
		{"no approve", []string{"lgtm", "cherry-pick-approved"}, "success", nil, []string{"needs approve"}},
		{"neither", []string{"cherry-pick-approved"}, "", nil, []string{"needs lgtm/approve"}},
		{"hold", append(ready, "do-not-merge/hold"), "success", nil, []string{"on hold"}},
		{"release note", append(ready, "do-not-merge/release-note-label-needed"), "success", nil, []string{"needs a release note"}},
		{"the plugin's labels", append(ready, "do-not-merge/work-in-progress", "cncf-cla: no", "needs-ok-to-test", "do-not-merge/blocked-paths", "do-not-merge/invalid-owners-file", "do-not-merge/invalid-commit-message"), "success", nil,
			[]string{"work in progress", "CLA not signed", "needs ok-to-test", "touches blocked paths", "invalid OWNERS file", "invalid commit message"}},
		{"other do-not-merge: tide refuses it", append(ready, "do-not-merge/needs-kind"), "success", nil, []string{"do-not-merge/needs-kind"}},
		{"not yet approved is no reason", append(ready, NotApprovedLabel), "success", nil, nil},
		{"rebase", append(ready, "needs-rebase"), "success", nil, []string{"needs a rebase"}},
		{"failing", ready, "failure", []string{"pull-kubernetes-unit", "pull-kubernetes-e2e-gce"}, []string{"failing: pull-kubernetes-unit, pull-kubernetes-e2e-gce"}},
		{"error without contexts", ready, "error", nil, []string{"failing status"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Readiness(PullRequest{Labels: tc.labels}, tc.state, tc.failing); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Readiness = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFreezeMoves(t *testing.T) {
	path := []FreezeState{FreezeFreezing, FreezeFrozen, FreezeThawing, FreezeThawed}
	f := &Freeze{Branch: "release-1.31", State: FreezePreviewed}
	for _, to := range path {
		if err := f.Move(to); err != nil {
			t.Fatalf("move to %s: %v", to, err)
		}
	}
	for _, to := range append(path, FreezePreviewed, FreezeCancelled) {
		if err := f.Move(to); ErrorCode(err) != ECONFLICT || f.State != FreezeThawed {
			t.Errorf("thawed → %s: %v, state %s", to, err, f.State)
		}
	}
	g := &Freeze{State: FreezePreviewed}
	if err := g.Move(FreezeThawing); err == nil {
		t.Error("a preview moved straight to thawing")
	}
	if !FreezeThawing.Active() || FreezeThawed.Active() || FreezePreviewed.Active() {
		t.Error("Active")
	}
	if PRs(1) != "1 PR" || PRs(0) != "0 PRs" {
		t.Error("PRs")
	}
}
