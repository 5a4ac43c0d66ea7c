package handlers

import (
	"context"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/cutbot"
)

// hold makes a hook that signals when it is reached and waits until released.
func hold() (hook func(), reached <-chan struct{}, release func()) {
	r, go_ := make(chan struct{}), make(chan struct{})
	var once sync.Once
	return func() {
			once.Do(func() { close(r) })
			<-go_
		}, r, sync.OnceFunc(func() {
			close(go_)
		})
}

// TestPollDuringSubmissionSubmitsOnce holds a submission between storing its attempt and
// CreateBuild, sends a poll tick meanwhile, and finds exactly one CreateBuild: the poll is a
// job on the cut's lane and waits behind the submission; there is no second writer. Run 200
// times (under -race in CI).
func TestPollDuringSubmissionSubmitsOnce(t *testing.T) {
	for i := 0; i < 200; i++ {
		w := newWorld(t, nil)
		w.run(t, "cut v1.31.3")
		hook, reached, release := hold()
		w.builder.beforeSubmit = func(cutbot.BuildRequest) { hook() }
		replied := make(chan Reply, 1)
		go func() { replied <- w.h.Handle(context.Background(), Request{UserID: "U0RM1", Text: "next v1.31.3"}) }()
		<-reached // the attempt is stored as submitting, CreateBuild not yet called
		if err := w.h.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
		release()
		if got := headline(<-replied); !strings.Contains(got, "Started Mock Stage (attempt 1)") {
			t.Fatalf("reply: %s", got)
		}
		w.settle(t)
		w.h.Poll(context.Background()) // and once more, with the build id recorded
		w.settle(t)
		if submits, finds := w.builder.counts(); submits != 1 || finds != 0 {
			t.Fatalf("run %d: %d CreateBuild and %d lookups by tag, want 1 and 0", i, submits, finds)
		}
		if a := w.cut(t, "v1.31.3").Stage(cutbot.MockStage).Current(); a.BuildID != "build-1" || a.Status != cutbot.StatusRunning {
			t.Fatalf("attempt %+v", a)
		}
	}
}

// TestDoublePressSubmitsOnce presses Confirm twice at the same moment, 200 times: one build.
func TestDoublePressSubmitsOnce(t *testing.T) {
	for i := 0; i < 200; i++ {
		w := newWorld(t, nil)
		w.run(t, "cut v1.31.3 --no-mock-run")
		if _, err := w.store.UpdateCut(context.Background(), w.cut(t, "v1.31.3").ID, func(c *cutbot.Cut) error {
			_, err := c.Apply(cutbot.GatesChecked{Gates: cutbot.Gates{Checks: []cutbot.GateCheck{{Name: "testgrid", OK: true}}, At: fixedClock{}.Now()}}, w.h.clock.Now())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		w.run(t, "next v1.31.3")
		c := w.cut(t, "v1.31.3")
		if c.Pending == nil {
			t.Fatalf("no confirmation pending: %s", c.Standing())
		}
		press := ActionRequest{UserID: "U0RM1", ActionID: ActionConfirm, Value: ActionValue(c, c.Pending.ID)}
		var wg sync.WaitGroup
		replies := make([]Reply, 2)
		for j := range replies {
			wg.Add(1)
			go func() { defer wg.Done(); replies[j] = w.h.HandleAction(context.Background(), press) }()
		}
		wg.Wait()
		w.settle(t)
		if submits, _ := w.builder.counts(); submits != 1 {
			t.Fatalf("run %d: a double press made %d builds", i, submits)
		}
		both := headline(replies[0]) + " | " + headline(replies[1])
		if !strings.Contains(both, "Started No-mock Stage (attempt 1)") || !strings.Contains(both, "already confirmed") {
			t.Fatalf("replies: %s", both)
		}
	}
}

// TestCommandDuringResumeSubmitsOnce: a cut stored with a submission whose outcome is unknown
// (cutbot died after storing the attempt) is resumed; while resume looks for the build by its
// tag, a person runs /release next. The command waits on the cut's lane; resume submits the
// build once; the command then finds the stage running. 200 times.
func TestCommandDuringResumeSubmitsOnce(t *testing.T) {
	for i := 0; i < 200; i++ {
		before := newWorld(t, nil)
		before.run(t, "cut v1.31.3")
		if _, err := before.store.UpdateCut(context.Background(), before.cut(t, "v1.31.3").ID, func(c *cutbot.Cut) error {
			_, err := c.Apply(cutbot.StartStage{Stage: cutbot.MockStage, By: "U0RM1", BuildVersion: "v1.31.3-rc.0.12+8f0c0a4d"}, before.h.clock.Now())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		after := newWorld(t, before.store) // a new process on the same store
		hook, reached, release := hold()
		after.builder.beforeFind = hook
		if err := after.h.Resume(context.Background()); err != nil {
			t.Fatal(err)
		}
		<-reached
		replied := make(chan Reply, 1)
		go func() {
			replied <- after.h.Handle(context.Background(), Request{UserID: "U0RM1", Text: "next v1.31.3"})
		}()
		release()
		if got := headline(<-replied); !strings.Contains(got, "Mock Stage is running") {
			t.Fatalf("the command did not wait for resume: %s", got)
		}
		after.settle(t)
		if submits, finds := after.builder.counts(); submits != 1 || finds != 1 {
			t.Fatalf("run %d: %d CreateBuild, %d lookups; want the build looked up once and submitted once", i, submits, finds)
		}
	}
}

// TestPanicInOneCutMarksItForAPerson: an effect of one cut panics. The lane lives on, the
// cut is marked for a person with a note in its thread, cutbot does nothing more on it by
// itself, and another cut goes on.
func TestPanicInOneCutMarksItForAPerson(t *testing.T) {
	w := newWorld(t, nil)
	w.run(t, "cut v1.31.3")
	w.run(t, "cut v1.30.7")
	w.builder.beforeSubmit = func(req cutbot.BuildRequest) {
		if req.CutID == "00000002" {
			panic("boom in the builder")
		}
	}
	if got := headline(w.run(t, "next v1.30.7")); !strings.Contains(got, "Internal error") {
		t.Errorf("reply to the panicking command: %s", got)
	}
	c := w.cut(t, "v1.30.7")
	if !strings.Contains(c.Attention, "boom in the builder") {
		t.Fatalf("attention %q", c.Attention)
	}
	last := c.Audit[len(c.Audit)-1]
	if last.Action != "cut.attention" || !slicesContains(w.msg.posts, c.ID+"/audit:"+itoa(last.Seq)) {
		t.Errorf("no attention note posted: audit %+v, posts %v", last, w.msg.posts)
	}
	w.h.Poll(context.Background())
	w.settle(t)
	if submits, _ := w.builder.counts(); submits != 0 {
		t.Errorf("cutbot went on by itself with a cut that waits for a person: %d builds", submits)
	}
	if got := headline(w.run(t, "next v1.31.3")); !strings.Contains(got, "Started Mock Stage") {
		t.Errorf("the other cut: %s", got)
	}
}
