package store

import (
	"context"
	"reflect"
	"testing"
	"time"

	"sigs.k8s.io/cutbot"
)

func TestFreezesSurviveReopening(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	first := &cutbot.Freeze{Repo: "kubernetes/kubernetes", Branch: "release-1.31", Label: "cherry-pick-approved", Reason: "v1.31.4 cut", By: "U0ALICE", At: at, State: cutbot.FreezePreviewed,
		PRs: []cutbot.FreezePR{{Number: 1, Title: "a", URL: "u1", Reasons: []string{"no lgtm"}}, {Number: 2, Title: "b", URL: "u2"}}}
	second := &cutbot.Freeze{Repo: "kubernetes/kubernetes", Branch: "release-1.30", Label: "cherry-pick-approved", By: "U0BOB", At: at, State: cutbot.FreezePreviewed}
	for _, f := range []*cutbot.Freeze{first, second} {
		if err := s.CreateFreeze(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	if first.ID == "" || first.ID == second.ID {
		t.Fatalf("ids %q %q", first.ID, second.ID)
	}
	want, err := s.UpdateFreeze(ctx, first.ID, func(f *cutbot.Freeze) error {
		if err := f.Move(cutbot.FreezeFreezing); err != nil {
			return err
		}
		f.PR(1).Unlabel = cutbot.SideEffect{Intent: true, Done: at.Add(time.Second)}
		f.PR(1).Notice = cutbot.SideEffect{Intent: true}
		f.CutID = "00000007"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// An illegal move changes nothing.
	if _, err := s.UpdateFreeze(ctx, first.ID, func(f *cutbot.Freeze) error { return f.Move(cutbot.FreezeThawed) }); cutbot.ErrorCode(err) != cutbot.ECONFLICT {
		t.Fatalf("freezing → thawed: %v", err)
	}
	s.Close()

	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Freeze(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after reopening:\n got %+v\nwant %+v", got, want)
	}
	if !got.PR(1).Notice.Pending() || got.PR(1).Unlabel.Pending() {
		t.Errorf("side effects: %+v", got.PR(1))
	}
	all, err := s.Freezes(ctx)
	if err != nil || len(all) != 2 || all[0].ID != first.ID || all[1].ID != second.ID {
		t.Fatalf("Freezes = %v, %v; want both, oldest first", all, err)
	}
	if active, err := s.ActiveFreezes(ctx); err != nil || len(active) != 1 || active[0].ID != first.ID {
		t.Fatalf("ActiveFreezes = %v, %v; want the freezing one only", active, err)
	}
	if _, err := s.Freeze(ctx, "f99"); cutbot.ErrorCode(err) != cutbot.ENOTFOUND {
		t.Errorf("unknown freeze: %v", err)
	}
}
