package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sigs.k8s.io/cutbot"
)

func TestBoardSurvivesReopen(t *testing.T) {
	s, path := openTemp(t)
	ctx := context.Background()
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	if _, err := s.Board(ctx, "release-1.31"); cutbot.ErrorCode(err) != cutbot.ENOTFOUND {
		t.Fatalf("unread board: %v", err)
	}
	b := &cutbot.BranchBoard{Repo: "kubernetes/kubernetes", Branch: "release-1.31", ReadAt: t0, Picks: []cutbot.CherryPick{
		{Repo: "kubernetes/kubernetes", Number: 128001, Title: "Automated cherry pick of #127000: x", Branch: "release-1.31", HeadRef: "automated-cherry-pick-of-#127000-upstream-release-1.31",
			Labels: []string{"lgtm", "kind/bug"}, State: cutbot.PickOpen, CreatedAt: t0, StatusState: "failure", Failing: []string{"pull-kubernetes-e2e-gce"}},
	}}
	change := cutbot.PickChange{At: t0, Branch: "release-1.31", PR: "kubernetes/kubernetes#128001", Number: 128001, What: "new"}
	if err := s.SaveBoard(ctx, b, []cutbot.PickChange{change}); err != nil {
		t.Fatal(err)
	}
	note := cutbot.PickNote{Cluster: "kubernetes/kubernetes#127000", Summary: "race in the ECR credentials provider → kubelet panic",
		TODO: []cutbot.TODOLine{{Text: "needs lgtm", By: "U0ALICE", At: t0}}, By: "U0ALICE", At: t0}
	saved, err := s.SavePickNote(ctx, note, 0, cutbot.PickChange{At: t0.Add(time.Minute), PR: "kubernetes/kubernetes#128001", What: "note", By: "U0ALICE"})
	if err != nil || saved.Rev != 1 {
		t.Fatalf("first note: %v rev %d", err, saved.Rev)
	}
	// Bob opened the note before Alice saved: his edit is refused, with hers shown.
	stale := note
	stale.Summary, stale.By = "kubelet panic", "U0BOB"
	_, err = s.SavePickNote(ctx, stale, 0, cutbot.PickChange{})
	var conflict *cutbot.ConflictError[cutbot.PickNote]
	if !errors.As(err, &conflict) || conflict.Stored.Summary != note.Summary || cutbot.ErrorCode(err) != cutbot.ECONFLICT {
		t.Fatalf("stale note: %v", err)
	}
	if _, err := s.SaveDisposition(ctx, cutbot.PickDisposition{PR: "kubernetes/kubernetes#128001", Value: "to close?", By: "U0BOB", At: t0}, 0, cutbot.PickChange{At: t0.Add(2 * time.Minute), What: "disposition", By: "U0BOB"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLastLook(ctx, "U0ALICE", t0.Add(90*time.Second)); err != nil {
		t.Fatal(err)
	}
	v := cutbot.MustParseVersion
	known := []cutbot.KnownIssue{{Repo: "kubernetes/kubernetes", Number: 120326, Title: "json-patch", URL: "https://github.com/kubernetes/kubernetes/issues/120326", State: "open",
		Introduced: []cutbot.Version{v("v1.31.1")}, Resolved: []cutbot.Version{v("v1.31.3")}}}
	if err := s.SaveKnownIssues(ctx, known, t0); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Board(ctx, "release-1.31")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(b, got); diff != "" {
		t.Errorf("board after reopen (-want +got):\n%s", diff)
	}
	notes, disp, err := s.PickNotes(ctx)
	if err != nil || notes["kubernetes/kubernetes#127000"].Summary != note.Summary || disp["kubernetes/kubernetes#128001"].Value != "to close?" {
		t.Errorf("notes %v disp %v err %v", notes, disp, err)
	}
	look, _ := s.LastLook(ctx, "U0ALICE")
	since, err := s.PickChanges(ctx, look)
	if err != nil || len(since) != 1 || since[0].What != "disposition" || since[0].By != "U0BOB" {
		t.Errorf("changes since alice's look: %+v %v", since, err)
	}
	all, _ := s.PickChanges(ctx, time.Time{})
	var whats []string
	for _, c := range all {
		whats = append(whats, c.What)
	}
	if !slices.Equal(whats, []string{"new", "note", "disposition"}) {
		t.Errorf("all changes: %v", whats)
	}
	k, at, err := s.KnownIssues(ctx)
	if err != nil || !at.Equal(t0) || cmp.Diff(known, k) != "" {
		t.Errorf("known issues: %v %v %v", k, at, err)
	}
}

func TestPickChangesAreBounded(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	var batch []cutbot.PickChange
	for i := range maxPickChanges + 10 {
		batch = append(batch, cutbot.PickChange{At: t0.Add(time.Duration(i) * time.Second), Number: i, What: "labels"})
	}
	if err := s.SaveBoard(ctx, &cutbot.BranchBoard{Branch: "release-1.31"}, batch); err != nil {
		t.Fatal(err)
	}
	all, err := s.PickChanges(ctx, time.Time{})
	if err != nil || len(all) != maxPickChanges || all[0].Number != 10 {
		t.Errorf("%d changes kept, first #%d: %v", len(all), all[0].Number, err)
	}
}
