package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"

	"sigs.k8s.io/cutbot"
)

var t0 = time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cutbot.db")
	s, err := Open(path, Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func newCut(t *testing.T, version string) *cutbot.Cut {
	t.Helper()
	spec, err := cutbot.NewCutSpec(cutbot.MustParseVersion(version), "", "", false)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cutbot.NewCut(spec, "C0RELMGMT", "U0RM1", t0)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// busyCut is a cut with something in every field: attempts, outputs, messages, audit.
func busyCut(t *testing.T, s *Store) *cutbot.Cut {
	t.Helper()
	ctx := context.Background()
	c := newCut(t, "v1.31.3")
	if err := s.CreateCut(ctx, c); err != nil {
		t.Fatal(err)
	}
	events := []cutbot.Event{
		cutbot.MessagePosted{Key: cutbot.MessageThread, Ref: cutbot.MessageRef{Channel: "C0RELMGMT", TS: "1731229200.000100", Permalink: "https://example.slack.com/archives/C0RELMGMT/p1731229200000100"}},
		cutbot.StartStage{Stage: cutbot.MockStage, By: "U0RM1", BuildVersion: "v1.31.3-rc.0.12+8f0c0a4d"},
		cutbot.BuildSubmitted{Stage: cutbot.MockStage, Attempt: 1, BuildID: "b-1", LogURL: "https://log/b-1"},
		cutbot.StageFailed{Stage: cutbot.MockStage, Attempt: 1, Reason: "Step #4: osc checkout failed"},
		cutbot.StartStage{Stage: cutbot.MockStage, By: "U0RM2", BuildVersion: "v1.31.3-rc.0.12+8f0c0a4d"},
		cutbot.BuildSubmitted{Stage: cutbot.MockStage, Attempt: 2, BuildID: "b-2", LogURL: "https://log/b-2"},
		cutbot.StageProgressed{Stage: cutbot.MockStage, Attempt: 2, Step: "compiling"},
		cutbot.StageWarned{Stage: cutbot.MockStage, Attempt: 2, Kind: "running", Detail: "running 3h"},
		cutbot.StageSucceeded{Stage: cutbot.MockStage, Attempt: 2},
		cutbot.IssueIntent{Repo: "kubernetes/sig-release"},
		cutbot.IssueLinked{Ref: cutbot.IssueRef{Repo: "kubernetes/sig-release", Number: 2995, URL: "https://github.com/kubernetes/sig-release/issues/2995", Created: true}},
		cutbot.GatesChecked{Gates: cutbot.Gates{By: "U0RM1", Checks: []cutbot.GateCheck{{Name: "testgrid", OK: false, Detail: "failing", URL: "https://testgrid.k8s.io/sig-release-1.31-blocking", Failing: []string{"job-a", "job-b"}}}}},
		cutbot.AnnouncementLinked{URL: "https://groups.google.com/a/kubernetes.io/g/dev/c/x", By: "U0RM2"},
		cutbot.RequestConfirmation{ID: "c-1", Stage: cutbot.NoMockStage, By: "U0RM2", BuildVersion: "v1.31.3-rc.0.13+9e1d1b5e", Force: "mock release ran by hand"},
		cutbot.DeclineConfirmation{ID: "c-1", By: "U0RM1"},
		cutbot.RequestConfirmation{ID: "c-2", Stage: cutbot.NoMockStage, By: "U0RM1", BuildVersion: "v1.31.3-rc.0.13+9e1d1b5e", Force: "mock release ran by hand"},
	}
	got, err := s.UpdateCut(ctx, c.ID, func(c *cutbot.Cut) error {
		for i, e := range events {
			if _, err := c.Apply(e, t0.Add(time.Duration(i)*time.Minute)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestWriteCloseReopenRead(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	want := busyCut(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got, err := s2.Cut(ctx, want.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cut read back differs (-wrote +read):\n%s", diff)
	}
	active, err := s2.ActiveCut(ctx, cutbot.MustParseVersion("v1.31.3"))
	if err != nil || active.ID != want.ID {
		t.Errorf("ActiveCut = %v, %v; want %s", active, err, want.ID)
	}
	if v, err := s2.SchemaVersion(); err != nil || v != SchemaVersion {
		t.Errorf("SchemaVersion = %d, %v", v, err)
	}
}

func TestOneActiveCutPerVersion(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	first := newCut(t, "v1.31.3")
	if err := s.CreateCut(ctx, first); err != nil {
		t.Fatal(err)
	}
	err := s.CreateCut(ctx, newCut(t, "v1.31.3"))
	if cutbot.ErrorCode(err) != cutbot.ECONFLICT {
		t.Fatalf("second active cut: %v, want ECONFLICT", err)
	}
	// Other versions are independent: three patch releases on one day.
	for _, v := range []string{"v1.30.7", "v1.29.11"} {
		if err := s.CreateCut(ctx, newCut(t, v)); err != nil {
			t.Fatalf("cut %s: %v", v, err)
		}
	}
	active, err := s.ActiveCuts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var versions []string
	for _, c := range active {
		versions = append(versions, c.Version().String())
	}
	if diff := cmp.Diff([]string{"v1.31.3", "v1.30.7", "v1.29.11"}, versions); diff != "" {
		t.Errorf("ActiveCuts oldest first (-want +got):\n%s", diff)
	}

	// Aborting frees the version for a new cut; the aborted one stays in the record.
	if _, err := s.UpdateCut(ctx, first.ID, func(c *cutbot.Cut) error {
		_, err := c.Apply(cutbot.Abort{By: "U0RM1", Reason: "regression found"}, t0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ActiveCut(ctx, first.Version()); cutbot.ErrorCode(err) != cutbot.ENOTFOUND {
		t.Errorf("ActiveCut after abort: %v, want ENOTFOUND", err)
	}
	second := newCut(t, "v1.31.3")
	if err := s.CreateCut(ctx, second); err != nil {
		t.Fatalf("cut after abort: %v", err)
	}
	latest, err := s.LatestCut(ctx, first.Version())
	if err != nil || latest.ID != second.ID {
		t.Errorf("LatestCut = %v, %v; want %s", latest, err, second.ID)
	}
	old, err := s.Cut(ctx, first.ID)
	if err != nil || old.Status != cutbot.CutAborted || old.AbortReason != "regression found" {
		t.Errorf("aborted cut = %+v, %v", old, err)
	}
}

func TestUpdateCutErrorStoresNothing(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	c := newCut(t, "v1.31.3")
	if err := s.CreateCut(ctx, c); err != nil {
		t.Fatal(err)
	}
	_, err := s.UpdateCut(ctx, c.ID, func(c *cutbot.Cut) error {
		if _, err := c.Apply(cutbot.StartStage{Stage: cutbot.MockStage, By: "U1", BuildVersion: "v1"}, t0); err != nil {
			return err
		}
		_, err := c.Apply(cutbot.StartStage{Stage: cutbot.MockStage, By: "U1", BuildVersion: "v1"}, t0) // refused
		return err
	})
	if cutbot.ErrorCode(err) != cutbot.ECONFLICT {
		t.Fatalf("err = %v", err)
	}
	got, _ := s.Cut(ctx, c.ID)
	if st := got.Stage(cutbot.MockStage).Status(); st != cutbot.StatusPending {
		t.Errorf("a failed update stored half its changes: mock stage %s", st)
	}
	if _, err := s.UpdateCut(ctx, "99999999", func(*cutbot.Cut) error { return nil }); cutbot.ErrorCode(err) != cutbot.ENOTFOUND {
		t.Errorf("update of a missing cut: %v", err)
	}
}

func TestMarkEnvelopeSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	for i, want := range []bool{true, false} {
		first, err := s.MarkEnvelope(ctx, "1d3c79ab-0ffb-41f3-a080-d19e85f53649")
		if err != nil || first != want {
			t.Fatalf("mark %d = %v, %v; want %v", i, first, err, want)
		}
	}
	s.Close()
	s2, err := Open(path, Options{Now: func() time.Time { return t0.Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	if first, _ := s2.MarkEnvelope(ctx, "1d3c79ab-0ffb-41f3-a080-d19e85f53649"); first {
		t.Error("envelope forgotten across a restart")
	}
	s2.Close()
	// Past the retention the id is pruned.
	s3, err := Open(path, Options{Now: func() time.Time { return t0.Add(8 * 24 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	if first, _ := s3.MarkEnvelope(ctx, "1d3c79ab-0ffb-41f3-a080-d19e85f53649"); !first {
		t.Error("envelope not pruned after its retention")
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	s, path := openTemp(t)
	s.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySchema, []byte("7")) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = Open(path, Options{})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("written by a newer cutbot (schema 7; this cutbot knows up to %d)", SchemaVersion)) {
		t.Fatalf("Open of a newer database = %v", err)
	}
}

// TestHoldDatabase is not a test: it is the second process of TestSecondProcessGetsClearError.
func TestHoldDatabase(t *testing.T) {
	path := os.Getenv("CUTBOT_TEST_HOLD_DB")
	if path == "" {
		t.Skip("helper process only")
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	os.Stdout.WriteString("holding\n")
	bufio.NewReader(os.Stdin).ReadString('\n') // until the parent closes stdin
}

func TestSecondProcessGetsClearError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cutbot.db")
	holder := exec.Command(os.Args[0], "-test.run=^TestHoldDatabase$")
	holder.Env = append(os.Environ(), "CUTBOT_TEST_HOLD_DB="+path)
	stdin, _ := holder.StdinPipe()
	stdout, _ := holder.StdoutPipe()
	holder.Stderr = os.Stderr
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); holder.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "holding\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}

	done := make(chan error, 1)
	go func() {
		s, err := Open(path, Options{LockTimeout: 100 * time.Millisecond})
		if err == nil {
			s.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "in use by another process") {
			t.Fatalf("Open while another process holds the file = %v, want 'in use by another process'", err)
		}
	case <-time.After(30 * time.Second): // a guard against a hang, not a timing assertion
		t.Fatal("Open hung while another process held the database")
	}
}

// TestMigrateFromSchema1 opens a database as the first cutbot wrote it (schema 1, its buckets
// only), with a cut in the shape schema 1 and 2 kept it: intents in the cut's own fields (a
// message without a timestamp, an attempt submitting without a build id, an issue without a
// number). It finds it migrated: the cut intact, its intents now in its journal, and the cut
// in the index of cuts with work left.
func TestMigrateFromSchema1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cutbot.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	legacy := `{"id":"00000001","version":"v1.31.3","type":"official","branch":"release-1.31","status":"active",
		"stages":[{"kind":"mock-stage","attempts":[{"n":1,"status":"submitting","started_by":"U0RM1","started_at":"2026-11-10T09:00:00Z","build_version":"v1.31.3-rc.0.12+8f0c0a4d"}]},
			{"kind":"mock-release"},{"kind":"nomock-stage"},{"kind":"image-promotion"},{"kind":"nomock-release"},{"kind":"announcement"}],
		"channel":"C0RELMGMT","opened_by":"U0RM1","opened_at":"2026-11-10T09:00:00Z",
		"messages":{"thread":{"channel":"C0RELMGMT","ts":"1.1","permalink":"https://x/p11"},"plan":{"channel":"C0RELMGMT"}},
		"issue":{"repo":"kubernetes/sig-release"},
		"audit":[{"seq":1,"at":"2026-11-10T09:00:00Z","actor":"U0RM1","action":"cut.opened"}]}`
	db.Update(func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucket(bucketMeta)
		meta.Put(keySchema, []byte("1"))
		if err := migrations[0](tx); err != nil {
			return err
		}
		if err := tx.Bucket(bucketCuts).Put([]byte("00000001"), []byte(legacy)); err != nil {
			return err
		}
		return tx.Bucket(bucketActive).Put([]byte("v1.31.3"), []byte("00000001"))
	})
	db.Close()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if v, _ := s.SchemaVersion(); v != SchemaVersion {
		t.Errorf("schema = %d", v)
	}
	got, err := s.ActiveCut(ctx, cutbot.MustParseVersion("v1.31.3"))
	if err != nil || got.ID != "00000001" {
		t.Fatalf("cut after migration: %v %v", got, err)
	}
	var keys []string
	for _, e := range got.Journal {
		keys = append(keys, e.Key())
	}
	if diff := cmp.Diff([]string{"post:plan", "build:mock-stage:1", "issue"}, keys); diff != "" {
		t.Errorf("journal after migration (-want +got):\n%s", diff)
	}
	if _, ok := got.Messages[cutbot.MessagePlan]; ok || got.Issue != nil || !got.Messages[cutbot.MessageThread].Posted() {
		t.Errorf("intents left in the cut's fields: messages %v, issue %v", got.Messages, got.Issue)
	}
	pending, err := s.CutsWithEffects(ctx)
	if err != nil || len(pending) != 1 || pending[0].ID != "00000001" {
		t.Errorf("cuts with work left: %v %v", pending, err)
	}
	if recs, err := s.ReminderRecords(ctx); err != nil || len(recs) != 0 {
		t.Errorf("reminders after migration: %v %v", recs, err)
	}
}

// TestEffectsIndexAndShown: the index of cuts with work left follows their journals, and what
// a message shows survives a restart.
func TestEffectsIndexAndShown(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	c := newCut(t, "v1.31.3") // intends its thread and plan
	if err := s.CreateCut(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.CutsWithEffects(ctx); len(got) != 1 {
		t.Fatalf("a new cut is not listed with work left: %v", got)
	}
	if _, err := s.UpdateCut(ctx, c.ID, func(c *cutbot.Cut) error {
		for _, key := range []string{cutbot.MessageThread, cutbot.MessagePlan} {
			if _, err := c.Apply(cutbot.MessagePosted{Key: key, Ref: cutbot.MessageRef{Channel: "C1", TS: "1." + key}}, t0); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.CutsWithEffects(ctx); len(got) != 0 {
		t.Errorf("a cut with nothing left to do is still listed: %v", got)
	}
	if err := s.SetShown("C1", "1.2", "abc"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if d, ok := s2.Shown("C1", "1.2"); !ok || d != "abc" {
		t.Errorf("shown after reopening = %q %v", d, ok)
	}
	if _, ok := s2.Shown("C1", "9.9"); ok {
		t.Error("an unknown message has a digest")
	}
}

func TestReminderRecords(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	if ok, _ := s.ClaimReminder(ctx, "cpd-20241011-3d", t0); !ok {
		t.Fatal("first claim refused")
	}
	if ok, _ := s.ClaimReminder(ctx, "cpd-20241011-3d", t0); ok {
		t.Fatal("second claim granted")
	}
	s.SetReminder(ctx, cutbot.ReminderRecord{ID: "cpd-20241011-3d", State: cutbot.ReminderSent, At: t0, Ref: cutbot.MessageRef{Channel: "C1", TS: "1.1"}, Late: true})
	s.SetReminder(ctx, cutbot.ReminderRecord{ID: "patch-20241015-0d", State: cutbot.ReminderMuted, By: "U1", At: t0})
	s.Close()
	s2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	recs, _ := s2.ReminderRecords(ctx)
	if r := recs["cpd-20241011-3d"]; r.State != cutbot.ReminderSent || r.Ref.TS != "1.1" || !r.Late {
		t.Errorf("sent record = %+v", r)
	}
	if r := recs["patch-20241015-0d"]; r.State != cutbot.ReminderMuted || r.By != "U1" {
		t.Errorf("muted record = %+v", r)
	}
	s2.DeleteReminder(ctx, "patch-20241015-0d")
	if recs, _ := s2.ReminderRecords(ctx); len(recs) != 1 {
		t.Errorf("after delete: %v", recs)
	}
}

// TestEveryEffectRoundTrips: every kind of effect a cut's journal holds is stored and read
// back as it was.
func TestEveryEffectRoundTrips(t *testing.T) {
	effects := []cutbot.Effect{
		cutbot.PostMessage{Message: cutbot.MessageThread},
		cutbot.SubmitBuild{Stage: cutbot.MockStage, Attempt: 2},
		cutbot.CancelBuild{Stage: cutbot.NoMockStage, Attempt: 1, BuildID: "b-1"},
		cutbot.OpenIssue{Repo: "kubernetes/sig-release"},
		cutbot.CommentBuilds{Attempt: 1, PR: "kubernetes/k8s.io#9340"},
		cutbot.CloseIssue{Repo: "kubernetes/sig-release", Number: 2991, Reason: "regression", Close: true},
	}
	for _, e := range effects {
		got, err := fromEffect(e).toEffect()
		if err != nil {
			t.Errorf("%T: %v", e, err)
			continue
		}
		if got != e {
			t.Errorf("%T round-tripped to %#v, want %#v", e, got, e)
		}
	}
}
