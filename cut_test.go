package cutbot

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC)

func newTestCut(t *testing.T, version string, noMock bool) *Cut {
	t.Helper()
	spec, err := NewCutSpec(MustParseVersion(version), "", "", noMock)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCut(spec, "C0RELMGMT", "U0RM1", t0)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mustApply applies events in order, failing the test on the first refusal.
func mustApply(t *testing.T, c *Cut, events ...Event) {
	t.Helper()
	for i, e := range events {
		if _, err := c.Apply(e, t0.Add(time.Duration(i+1)*time.Minute)); err != nil {
			t.Fatalf("apply %T: %v", e, err)
		}
	}
}

const bv = "v1.31.3-rc.0.12+8f0c0a4d"

var gatesOK = GatesChecked{Gates: Gates{By: "U0RM1", Checks: []GateCheck{
	{Name: "publishing-bot", OK: true, Detail: "kubernetes/kubernetes#56876 is closed", URL: "https://github.com/kubernetes/kubernetes/issues/56876"},
	{Name: "testgrid", OK: true, Detail: "sig-release-1.31-blocking: 24 jobs passing", URL: "https://testgrid.k8s.io/sig-release-1.31-blocking"},
}}}

var gatesFailing = GatesChecked{Gates: Gates{By: "U0RM1", Checks: []GateCheck{
	{Name: "publishing-bot", OK: false, Detail: "kubernetes/kubernetes#56876 is open", URL: "https://github.com/kubernetes/kubernetes/issues/56876"},
	{Name: "testgrid", OK: false, Detail: "sig-release-1.31-blocking has failing jobs", Failing: []string{"ci-kubernetes-e2e-gci-gce <https://testgrid.k8s.io/x>"}},
}}}

// start starts a stage's next attempt as U0RM1 would: no-mock stages through a confirmation.
func start(k StageKind) []Event {
	if k == NoMockStage {
		return append([]Event{gatesOK}, RequestConfirmation{ID: "confirm-" + string(k), Stage: k, By: "U0RM1", BuildVersion: bv}, StartStage{Stage: k, By: "U0RM1", Confirmation: "confirm-" + string(k)})
	}
	if k.NeedsConfirmation() {
		id := "confirm-" + string(k)
		return []Event{RequestConfirmation{ID: id, Stage: k, By: "U0RM1", BuildVersion: bv}, StartStage{Stage: k, By: "U0RM1", Confirmation: id}}
	}
	return []Event{StartStage{Stage: k, By: "U0RM1", BuildVersion: bv}}
}

// pass runs a stage's first attempt through to success.
func pass(k StageKind) []Event {
	return append(start(k),
		BuildSubmitted{Stage: k, Attempt: 1, BuildID: "b-" + string(k), LogURL: "https://console.cloud.google.com/cloud-build/builds/b-" + string(k)},
		StageSucceeded{Stage: k, Attempt: 1},
	)
}

func TestCutStateMachine(t *testing.T) {
	type setup func(t *testing.T) *Cut
	fresh := func(t *testing.T) *Cut { return newTestCut(t, "v1.31.3", false) }
	freshNoMock := func(t *testing.T) *Cut { return newTestCut(t, "v1.31.3", true) }
	with := func(base setup, events ...Event) setup {
		return func(t *testing.T) *Cut {
			c := base(t)
			mustApply(t, c, events...)
			return c
		}
	}
	mockStageSubmitting := with(fresh, StartStage{Stage: MockStage, By: "U0RM1", BuildVersion: bv})
	mockStageRunning := with(mockStageSubmitting, BuildSubmitted{Stage: MockStage, Attempt: 1, BuildID: "b1", LogURL: "https://log/b1"})
	mockStagePassed := with(fresh, pass(MockStage)...)
	mockStageFailed := with(mockStageRunning, StageFailed{Stage: MockStage, Attempt: 1, Reason: "step 4 failed"})
	mockStageCancelled := with(mockStageRunning, StageCancelled{Stage: MockStage, Attempt: 1, By: "U0RM2"})
	aborted := with(fresh, Abort{By: "U0RM1", Reason: "wrong day"})
	mocksPassed := with(fresh, append(append(pass(MockStage), pass(MockRelease)...), gatesOK)...)
	mocksPassedNoGates := with(fresh, append(pass(MockStage), pass(MockRelease)...)...)
	noMockRequested := with(mocksPassed, RequestConfirmation{ID: "c1", Stage: NoMockStage, By: "U0RM1", BuildVersion: bv})
	promoting := with(fresh, append(append(append(pass(MockStage), pass(MockRelease)...), pass(NoMockStage)...), StartStage{Stage: ImagePromotion})...)
	var all []Event
	for _, k := range StageKinds {
		all = append(all, pass(k)...)
	}
	done := with(fresh, all...)

	for _, tc := range []struct {
		name     string
		setup    setup
		event    Event
		wantCode string // "" means legal
		wantMsg  string
		check    func(t *testing.T, c *Cut)
		// effects are the keys of the effects the event must return, when not nil.
		effects []string
	}{
		// Starting stages.
		{name: "start first stage", setup: fresh, event: StartStage{Stage: MockStage, By: "U0RM1", BuildVersion: bv},
			effects: []string{"build:mock-stage:1", "post:stage:mock-stage:1"},
			check: func(t *testing.T, c *Cut) {
				want := Attempt{N: 1, Status: StatusSubmitting, StartedBy: "U0RM1", StartedAt: t0, BuildVersion: bv}
				if diff := cmp.Diff(want, *c.Stage(MockStage).Current()); diff != "" {
					t.Errorf("attempt (-want +got):\n%s", diff)
				}
			}},
		{name: "start out of order", setup: fresh, event: StartStage{Stage: MockRelease, By: "U0RM1", BuildVersion: bv}, wantCode: EINVALID,
			wantMsg: "Mock Release needs Mock Stage (pending) to succeed first; --force"},
		{name: "start out of order forced", setup: fresh, event: StartStage{Stage: MockRelease, By: "U0RM1", BuildVersion: bv, Force: "mock stage ran by hand"},
			check: func(t *testing.T, c *Cut) {
				last := c.Audit[len(c.Audit)-1]
				if last.Action != "stage.started" || !strings.Contains(last.Detail, `forced: "mock stage ran by hand" past Mock Stage (pending)`) {
					t.Errorf("audit entry = %+v", last)
				}
				if c.Stage(MockRelease).Current().Force != "mock stage ran by hand" {
					t.Errorf("force reason not kept on the attempt")
				}
			}},
		{name: "whitespace force is no force", setup: fresh, event: StartStage{Stage: MockRelease, By: "U0RM1", BuildVersion: bv, Force: "  "}, wantCode: EINVALID},
		{name: "build stage without build version", setup: fresh, event: StartStage{Stage: MockStage, By: "U0RM1"}, wantCode: EINVALID, wantMsg: "needs a build version"},
		{name: "start second after first passed", setup: mockStagePassed, event: StartStage{Stage: MockRelease, By: "U0RM1", BuildVersion: bv}},
		{name: "start skipped stage", setup: freshNoMock, event: StartStage{Stage: MockStage, By: "U0RM1", BuildVersion: bv}, wantCode: EINVALID, wantMsg: "--no-mock-run"},

		// Confirmations: no-mock stages start only when their requester confirms.
		{name: "no-mock stage without confirmation", setup: mocksPassed, event: StartStage{Stage: NoMockStage, By: "U0RM1", BuildVersion: bv}, wantCode: EINVALID, wantMsg: "starts only after its requester confirms"},
		{name: "request confirmation", setup: mocksPassed, event: RequestConfirmation{ID: "c1", Stage: NoMockStage, By: "U0RM1", BuildVersion: bv},
			check: func(t *testing.T, c *Cut) {
				if c.Pending == nil || c.Pending.ID != "c1" || c.Pending.BuildVersion != bv || c.Stage(NoMockStage).Status() != StatusPending {
					t.Errorf("pending = %+v, stage %s", c.Pending, c.Stage(NoMockStage).Status())
				}
			}},
		{name: "request confirmation with mocks skipped", setup: with(freshNoMock, gatesOK), event: RequestConfirmation{ID: "c1", Stage: NoMockStage, By: "U0RM1", BuildVersion: bv}},

		// Gates: the no-mock stage needs them checked and passing, or a force.
		{name: "no-mock stage with gates unchecked", setup: mocksPassedNoGates, event: RequestConfirmation{ID: "c1", Stage: NoMockStage, By: "U0RM1", BuildVersion: bv}, wantCode: EINVALID, wantMsg: "No-mock Stage is blocked: the gates have not been checked (`/release gates v1.31.3`)"},
		{name: "no-mock stage with a failing gate", setup: with(mocksPassedNoGates, gatesFailing), event: RequestConfirmation{ID: "c1", Stage: NoMockStage, By: "U0RM1", BuildVersion: bv}, wantCode: EINVALID,
			wantMsg: "a gate failed: kubernetes/kubernetes#56876 is open; sig-release-1.31-blocking has failing jobs: ci-kubernetes-e2e-gci-gce"},
		{name: "no-mock stage forced past a failing gate", setup: with(mocksPassedNoGates, gatesFailing), event: RequestConfirmation{ID: "c1", Stage: NoMockStage, By: "U0RM1", BuildVersion: bv, Force: "flake, tracked in #128001"},
			check: func(t *testing.T, c *Cut) {
				last := c.Audit[len(c.Audit)-1]
				if !strings.Contains(last.Detail, `forced: "flake, tracked in #128001" past gates (a gate failed: kubernetes/kubernetes#56876 is open`) {
					t.Errorf("audit = %+v", last)
				}
			}},
		{name: "gates recorded as a fact", setup: fresh, event: gatesFailing,
			check: func(t *testing.T, c *Cut) {
				last := c.Audit[len(c.Audit)-1]
				if last.Action != "gates.checked" || !strings.Contains(last.Detail, "publishing-bot FAILED (kubernetes/kubernetes#56876 is open)") || c.Gates.OK() || c.Gates.At != t0 {
					t.Errorf("audit %+v, gates %+v", last, c.Gates)
				}
			}},
		{name: "gates without checks", setup: fresh, event: GatesChecked{}, wantCode: EINVALID},

		// The issue.
		{name: "issue intent", setup: fresh, event: IssueIntent{Repo: "kubernetes/sig-release"}, effects: []string{"issue"}},
		{name: "issue opened", setup: with(fresh, IssueIntent{Repo: "kubernetes/sig-release"}), event: IssueLinked{Ref: IssueRef{Repo: "kubernetes/sig-release", Number: 2995, URL: "https://github.com/kubernetes/sig-release/issues/2995", Created: true}},
			effects: []string{},
			check: func(t *testing.T, c *Cut) {
				if c.Issue.Number != 2995 || c.Audit[len(c.Audit)-1].Action != "issue.opened" || c.Intends("issue") {
					t.Errorf("issue %+v", c.Issue)
				}
			}},
		{name: "second issue", setup: with(fresh, IssueLinked{Ref: IssueRef{Repo: "r/r", Number: 1, URL: "u"}}), event: IssueLinked{Ref: IssueRef{Repo: "r/r", Number: 2, URL: "u2"}}, wantCode: ECONFLICT},
		{name: "issue intent after the issue is known", setup: with(fresh, IssueLinked{Ref: IssueRef{Repo: "r/r", Number: 1, URL: "u"}}), event: IssueIntent{Repo: "r/r"}, wantCode: ECONFLICT},
		{name: "issue without number", setup: fresh, event: IssueLinked{Ref: IssueRef{Repo: "r/r", URL: "u"}}, wantCode: EINVALID},

		// Image promotion: a stage cutbot follows on GitHub and prow.
		{name: "promotion PR found", setup: promoting, event: PromotionPRFound{Attempt: 1, Ref: "kubernetes/k8s.io#9340", URL: "https://github.com/kubernetes/k8s.io/pull/9340", Title: "releng: Image promotion for kubernetes v1.31.3"},
			effects: []string{"comment:kubernetes/k8s.io#9340"},
			check: func(t *testing.T, c *Cut) {
				a := c.Stage(ImagePromotion).Current()
				if a.Status != StatusRunning || a.BuildID != "kubernetes/k8s.io#9340" || c.Audit[len(c.Audit)-1].Action != "fact.promotion_pr" {
					t.Errorf("attempt %+v", a)
				}
			}},
		{name: "promotion PR before the stage", setup: mocksPassed, event: PromotionPRFound{Attempt: 1, Ref: "x#1", URL: "u"}, wantCode: EINVALID},
		{name: "promotion commented", setup: with(promoting, PromotionPRFound{Attempt: 1, Ref: "k#1", URL: "u"}), event: PromotionCommented{Attempt: 1, PR: "k#1"},
			check: func(t *testing.T, c *Cut) {
				if c.Intends("comment:k#1") || c.Stage(ImagePromotion).Current().Outputs[OutputPRComment] != "k#1" {
					t.Errorf("journal %v, outputs %v", c.Journal, c.Stage(ImagePromotion).Current().Outputs)
				}
			}},
		{name: "promotion approved before its PR", setup: promoting, event: PromotionApproved{Attempt: 1}, wantCode: EINVALID, wantMsg: "has no PR yet"},
		{name: "promotion approved twice", setup: with(promoting, PromotionPRFound{Attempt: 1, Ref: "k#1", URL: "u"}, PromotionApproved{Attempt: 1}), event: PromotionApproved{Attempt: 1}, wantCode: ECONFLICT},
		{name: "promotion merged", setup: with(promoting, PromotionPRFound{Attempt: 1, Ref: "kubernetes/k8s.io#9340", URL: "u"}), event: PromotionMerged{Attempt: 1, SHA: "1a2b3c"},
			check: func(t *testing.T, c *Cut) {
				a := c.Stage(ImagePromotion).Current()
				last := c.Audit[len(c.Audit)-1]
				if a.Outputs[OutputMergeSHA] != "1a2b3c" || last.Action != "fact.merge_sha" || last.At != t0 {
					t.Errorf("attempt %+v, audit %+v", a, last)
				}
			}},
		{name: "promotion job failed is a note, once", setup: with(promoting, PromotionPRFound{Attempt: 1, Ref: "k#1", URL: "u"}, PromotionMerged{Attempt: 1, SHA: "1a2b"}),
			event: PromotionJobFailed{Attempt: 1, Job: "post-k8sio-image-promo", URL: "https://prow/1"}, effects: []string{"post:audit:16"}},
		{name: "promotion job failure recorded twice", setup: with(promoting, PromotionPRFound{Attempt: 1, Ref: "k#1", URL: "u"}, PromotionJobFailed{Attempt: 1, URL: "https://prow/1"}),
			event: PromotionJobFailed{Attempt: 1, URL: "https://prow/1"}, wantCode: ECONFLICT},
		{name: "promotion job passed", setup: with(promoting, PromotionPRFound{Attempt: 1, Ref: "k#1", URL: "u"}, PromotionMerged{Attempt: 1, SHA: "1a2b"}),
			event: PromotionJobPassed{Attempt: 1, Job: "post-k8sio-image-promo", URL: "https://prow/2"},
			check: func(t *testing.T, c *Cut) {
				if s := c.Stage(ImagePromotion); s.Status() != StatusSucceeded || s.Current().Outputs[OutputJobURL] != "https://prow/2" {
					t.Errorf("stage %+v", s.Current())
				}
			}},
		{name: "announcement link", setup: fresh, event: AnnouncementLinked{URL: "https://groups.google.com/a/kubernetes.io/g/dev/c/E14i6e2ndNc", By: "U0RM2"}},
		{name: "announcement not a link", setup: fresh, event: AnnouncementLinked{URL: "soon"}, wantCode: EINVALID},
		{name: "request confirmation out of order", setup: fresh, event: RequestConfirmation{ID: "c1", Stage: NoMockStage, By: "U0RM1", BuildVersion: bv}, wantCode: EINVALID, wantMsg: "needs Mock Stage (pending), Mock Release (pending)"},
		{name: "request confirmation forced", setup: fresh, event: RequestConfirmation{ID: "c1", Stage: NoMockStage, By: "U0RM1", BuildVersion: bv, Force: "mocks ran by hand"},
			check: func(t *testing.T, c *Cut) {
				if c.Pending.Force != "mocks ran by hand" {
					t.Errorf("pending = %+v", c.Pending)
				}
			}},
		{name: "request confirmation for a mock stage", setup: fresh, event: RequestConfirmation{ID: "c1", Stage: MockStage, By: "U0RM1", BuildVersion: bv}, wantCode: EINVALID, wantMsg: "needs no confirmation"},
		{name: "confirm", setup: noMockRequested, event: StartStage{Stage: NoMockStage, By: "U0RM1", Confirmation: "c1"},
			check: func(t *testing.T, c *Cut) {
				a := c.Stage(NoMockStage).Current()
				if c.Pending != nil || a.Status != StatusSubmitting || a.BuildVersion != bv || c.ConfirmationOutcomes["c1"] != "confirmed" {
					t.Errorf("pending %+v, attempt %+v, outcomes %v", c.Pending, a, c.ConfirmationOutcomes)
				}
			}},
		{name: "confirm by someone else", setup: noMockRequested, event: StartStage{Stage: NoMockStage, By: "U0RM2", Confirmation: "c1"}, wantCode: EUNAUTHORIZED, wantMsg: "only <@U0RM1>, who asked for No-mock Stage, can confirm it"},
		{name: "confirm twice (double click)", setup: with(noMockRequested, StartStage{Stage: NoMockStage, By: "U0RM1", Confirmation: "c1"}), event: StartStage{Stage: NoMockStage, By: "U0RM1", Confirmation: "c1"}, wantCode: ECONFLICT, wantMsg: "already confirmed"},
		{name: "confirm after decline", setup: with(noMockRequested, DeclineConfirmation{ID: "c1", By: "U0RM2"}), event: StartStage{Stage: NoMockStage, By: "U0RM1", Confirmation: "c1"}, wantCode: ECONFLICT, wantMsg: "already declined"},
		{name: "confirm a superseded request", setup: with(noMockRequested, RequestConfirmation{ID: "c2", Stage: NoMockStage, By: "U0RM2", BuildVersion: bv}), event: StartStage{Stage: NoMockStage, By: "U0RM1", Confirmation: "c1"}, wantCode: ECONFLICT, wantMsg: "already superseded"},
		{name: "confirm the wrong stage", setup: noMockRequested, event: StartStage{Stage: NoMockRelease, By: "U0RM1", Confirmation: "c1"}, wantCode: EINVALID, wantMsg: "is for No-mock Stage"},
		{name: "decline", setup: noMockRequested, event: DeclineConfirmation{ID: "c1", By: "U0RM2"},
			check: func(t *testing.T, c *Cut) {
				if c.Pending != nil || c.ConfirmationOutcomes["c1"] != "declined" {
					t.Errorf("pending %+v, outcomes %v", c.Pending, c.ConfirmationOutcomes)
				}
			}},
		{name: "decline unknown", setup: mocksPassed, event: DeclineConfirmation{ID: "nope", By: "U0RM1"}, wantCode: EINVALID},
		{name: "reuse a confirmation id", setup: with(noMockRequested, DeclineConfirmation{ID: "c1", By: "U0RM1"}), event: RequestConfirmation{ID: "c1", Stage: NoMockStage, By: "U0RM1", BuildVersion: bv}, wantCode: ECONFLICT},
		{name: "abort declines the pending confirmation", setup: noMockRequested, event: Abort{By: "U0RM1", Reason: "stop"},
			check: func(t *testing.T, c *Cut) {
				if c.Pending != nil || c.ConfirmationOutcomes["c1"] != "declined" {
					t.Errorf("pending %+v", c.Pending)
				}
			}},

		// Warnings.
		{name: "warn", setup: mockStageRunning, event: StageWarned{Stage: MockStage, Attempt: 1, Kind: "running", Detail: "running 3h"}},
		{name: "warn twice", setup: with(mockStageRunning, StageWarned{Stage: MockStage, Attempt: 1, Kind: "running"}), event: StageWarned{Stage: MockStage, Attempt: 1, Kind: "running"}, wantCode: ECONFLICT},
		{name: "warn after success", setup: mockStagePassed, event: StageWarned{Stage: MockStage, Attempt: 1, Kind: "running"}, wantCode: ECONFLICT},
		{name: "start succeeded stage", setup: mockStagePassed, event: StartStage{Stage: MockStage, By: "U0RM1", BuildVersion: bv}, wantCode: ECONFLICT, wantMsg: "already succeeded"},
		{name: "start running stage", setup: mockStageRunning, event: StartStage{Stage: MockStage, By: "U0RM1", BuildVersion: bv}, wantCode: ECONFLICT, wantMsg: "already running (attempt 1)"},
		{name: "start submitting stage", setup: mockStageSubmitting, event: StartStage{Stage: MockStage, By: "U0RM1", BuildVersion: bv}, wantCode: ECONFLICT, wantMsg: "already submitting"},
		{name: "force while another stage runs", setup: mockStageRunning, event: StartStage{Stage: MockRelease, By: "U0RM1", BuildVersion: bv, Force: "x"}, wantCode: ECONFLICT, wantMsg: "Mock Stage is running; wait for it or cancel it"},
		{name: "retry failed stage", setup: mockStageFailed, event: StartStage{Stage: MockStage, By: "U0RM2", BuildVersion: bv},
			check: func(t *testing.T, c *Cut) {
				s := c.Stage(MockStage)
				if len(s.Attempts) != 2 || s.Attempts[0].Status != StatusFailed || s.Current().N != 2 || s.Status() != StatusSubmitting {
					t.Errorf("attempts = %+v", s.Attempts)
				}
				if c.Audit[len(c.Audit)-1].Action != "stage.retried" {
					t.Errorf("last audit = %+v", c.Audit[len(c.Audit)-1])
				}
			}},
		{name: "retry cancelled stage", setup: mockStageCancelled, event: StartStage{Stage: MockStage, By: "U0RM2", BuildVersion: bv}},
		{name: "start unknown stage", setup: fresh, event: StartStage{Stage: "deploy", By: "U0RM1"}, wantCode: EINVALID, wantMsg: `no stage "deploy"`},
		{name: "start in aborted cut", setup: aborted, event: StartStage{Stage: MockStage, By: "U0RM1", BuildVersion: bv}, wantCode: EINVALID, wantMsg: "aborted (wrong day)"},
		{name: "start in done cut", setup: done, event: StartStage{Stage: MockStage, By: "U0RM1", BuildVersion: bv}, wantCode: EINVALID, wantMsg: "the cut is done"},

		// Submission.
		{name: "submitted", setup: mockStageSubmitting, event: BuildSubmitted{Stage: MockStage, Attempt: 1, BuildID: "b1", LogURL: "https://log/b1"},
			check: func(t *testing.T, c *Cut) {
				a := c.Stage(MockStage).Current()
				if a.Status != StatusRunning || a.BuildID != "b1" || a.LogURL != "https://log/b1" {
					t.Errorf("attempt = %+v", a)
				}
			}},
		{name: "submitted again with same id is harmless", setup: mockStageRunning, event: BuildSubmitted{Stage: MockStage, Attempt: 1, BuildID: "b1"}},
		{name: "submitted again with another id", setup: mockStageRunning, event: BuildSubmitted{Stage: MockStage, Attempt: 1, BuildID: "b2"}, wantCode: ECONFLICT, wantMsg: "already runs as build b1"},
		{name: "submitted without id", setup: mockStageSubmitting, event: BuildSubmitted{Stage: MockStage, Attempt: 1}, wantCode: EINVALID},
		{name: "submitted for stale attempt", setup: with(mockStageFailed, StartStage{Stage: MockStage, By: "U0RM1", BuildVersion: bv}), event: BuildSubmitted{Stage: MockStage, Attempt: 1, BuildID: "b9"}, wantCode: ECONFLICT, wantMsg: "attempt 1 is not the current attempt (2 is)"},
		{name: "submitted for unstarted stage", setup: fresh, event: BuildSubmitted{Stage: MockStage, Attempt: 1, BuildID: "b1"}, wantCode: EINVALID, wantMsg: "has not started"},

		// Progress.
		{name: "progress", setup: mockStageRunning, event: StageProgressed{Stage: MockStage, Attempt: 1, Step: "compiling"},
			check: func(t *testing.T, c *Cut) {
				if got := c.Stage(MockStage).Current().Step; got != "compiling" {
					t.Errorf("step = %q", got)
				}
			}},
		{name: "progress before submission", setup: mockStageSubmitting, event: StageProgressed{Stage: MockStage, Attempt: 1, Step: "x"}, wantCode: EINVALID},
		{name: "progress after success", setup: mockStagePassed, event: StageProgressed{Stage: MockStage, Attempt: 1, Step: "x"}, wantCode: ECONFLICT, wantMsg: "already succeeded"},

		// Outcomes.
		{name: "success records the build version", setup: mockStageRunning, event: StageSucceeded{Stage: MockStage, Attempt: 1},
			check: func(t *testing.T, c *Cut) {
				a := c.Stage(MockStage).Current()
				if a.Status != StatusSucceeded || a.Outputs[OutputBuildVersion] != bv || a.FinishedAt.IsZero() {
					t.Errorf("attempt = %+v", a)
				}
			}},
		{name: "success twice", setup: mockStagePassed, event: StageSucceeded{Stage: MockStage, Attempt: 1}, wantCode: ECONFLICT},
		{name: "failure", setup: mockStageRunning, event: StageFailed{Stage: MockStage, Attempt: 1, Reason: "Step #4 failed"}},
		{name: "failure while submitting", setup: mockStageSubmitting, event: StageFailed{Stage: MockStage, Attempt: 1, Reason: "permission denied"}},
		{name: "failure after success", setup: mockStagePassed, event: StageFailed{Stage: MockStage, Attempt: 1}, wantCode: ECONFLICT},
		{name: "cancel running", setup: mockStageRunning, event: StageCancelled{Stage: MockStage, Attempt: 1, By: "U0RM2"}},
		{name: "cancel failed", setup: mockStageFailed, event: StageCancelled{Stage: MockStage, Attempt: 1, By: "U0RM2"}, wantCode: ECONFLICT, wantMsg: "already failed"},
		{name: "last stage completes the cut", setup: with(fresh, all[:len(all)-1]...), event: StageSucceeded{Stage: Announcement, Attempt: 1},
			check: func(t *testing.T, c *Cut) {
				if c.Status != CutDone || c.EndedAt.IsZero() || c.Standing() != "done" {
					t.Errorf("status = %s, ended %v, standing %q", c.Status, c.EndedAt, c.Standing())
				}
			}},

		// Abort.
		{name: "abort", setup: fresh, event: Abort{By: "U0RM1", Reason: "CVE fix landing"},
			check: func(t *testing.T, c *Cut) {
				if c.Status != CutAborted || c.AbortReason != "CVE fix landing" || c.Standing() != "aborted" {
					t.Errorf("cut = %+v", c)
				}
			}},
		{name: "abort without reason", setup: fresh, event: Abort{By: "U0RM1", Reason: " "}, wantCode: EINVALID, wantMsg: "needs a reason"},
		{name: "abort twice", setup: aborted, event: Abort{By: "U0RM1", Reason: "again"}, wantCode: EINVALID, wantMsg: "aborted"},
		{name: "abort done cut", setup: done, event: Abort{By: "U0RM1", Reason: "x"}, wantCode: EINVALID, wantMsg: "done"},
		{name: "abort with a build running", setup: mockStageRunning, event: Abort{By: "U0RM1", Reason: "x"}, wantCode: ECONFLICT, wantMsg: "cancel it before aborting"},

		// Messages, and the effects that carry the cut out.
		{name: "a new cut intends its thread and plan", setup: fresh, event: Noted{Action: "x"}, effects: []string{"post:audit:2"},
			check: func(t *testing.T, c *Cut) {
				var keys []string
				for _, e := range c.Journal {
					keys = append(keys, e.Key())
				}
				if diff := cmp.Diff([]string{"post:thread", "post:plan", "post:audit:2"}, keys); diff != "" {
					t.Errorf("journal (-want +got):\n%s", diff)
				}
			}},
		{name: "message posted", setup: fresh, event: MessagePosted{Key: MessageThread, Ref: MessageRef{Channel: "C1", TS: "1.2"}}, effects: []string{},
			check: func(t *testing.T, c *Cut) {
				if c.Intends("post:thread") || !c.Messages[MessageThread].Posted() {
					t.Errorf("journal %v, messages %v", c.Journal, c.Messages)
				}
			}},
		{name: "message posted twice with other ts", setup: with(fresh, MessagePosted{Key: MessageThread, Ref: MessageRef{Channel: "C1", TS: "1.2"}}), event: MessagePosted{Key: MessageThread, Ref: MessageRef{Channel: "C1", TS: "3.4"}}, wantCode: ECONFLICT},
		{name: "message posted without ts", setup: fresh, event: MessagePosted{Key: MessageThread, Ref: MessageRef{Channel: "C1"}}, wantCode: EINVALID},
		{name: "messages allowed after abort", setup: aborted, event: MessagePosted{Key: AuditMessageKey(2), Ref: MessageRef{Channel: "C1", TS: "5.6"}}},
		{name: "abort posts its note", setup: fresh, event: Abort{By: "U0RM1", Reason: "x"}, effects: []string{"post:audit:2"}},
		{name: "a build submitted is no longer intended", setup: mockStageSubmitting, event: BuildSubmitted{Stage: MockStage, Attempt: 1, BuildID: "b1"}, effects: []string{},
			check: func(t *testing.T, c *Cut) {
				if c.Intends("build:mock-stage:1") || !c.Intends("post:stage:mock-stage:1") {
					t.Errorf("journal %v", c.Journal)
				}
			}},
		{name: "a confirmed stage shows in its confirmation", setup: noMockRequested, event: StartStage{Stage: NoMockStage, By: "U0RM1", Confirmation: "c1"},
			effects: []string{"build:nomock-stage:1"},
			check: func(t *testing.T, c *Cut) {
				if got := c.LineKey(NoMockStage, 1); got != "confirm:c1" {
					t.Errorf("line key %q", got)
				}
			}},
		{name: "a request posts its confirmation", setup: mocksPassed, event: RequestConfirmation{ID: "c9", Stage: NoMockStage, By: "U0RM1", BuildVersion: bv}, effects: []string{"post:confirm:c9"}},
		{name: "cancel by a person cancels the build", setup: mockStageRunning, event: StageCancelled{Stage: MockStage, Attempt: 1, By: "U0RM2"}, effects: []string{"cancel:mock-stage:1"}},
		{name: "cancel of a submission cancels what it may have made", setup: mockStageSubmitting, event: StageCancelled{Stage: MockStage, Attempt: 1, By: "U0RM2"}, effects: []string{"cancel:mock-stage:1"},
			check: func(t *testing.T, c *Cut) {
				if c.Intends("build:mock-stage:1") {
					t.Errorf("a cancelled attempt is still to be submitted: %v", c.Journal)
				}
			}},
		{name: "cancelled in Cloud Build needs nothing", setup: mockStageRunning, event: StageCancelled{Stage: MockStage, Attempt: 1}, effects: []string{}},
		{name: "effect done", setup: with(mockStageRunning, StageCancelled{Stage: MockStage, Attempt: 1, By: "U0RM2"}), event: EffectDone{Key: "cancel:mock-stage:1"}, effects: []string{}},
		{name: "effect done twice", setup: mockStageRunning, event: EffectDone{Key: "cancel:mock-stage:1"}, wantCode: ECONFLICT},
		{name: "attention", setup: fresh, event: NeedsAttention{Detail: "panic: boom"}, effects: []string{"post:audit:2"},
			check: func(t *testing.T, c *Cut) {
				if c.Attention != "panic: boom" {
					t.Errorf("attention %q", c.Attention)
				}
				c.Apply(AnnouncementLinked{URL: "https://x", By: "U0RM1"}, t0)
				if c.Attention != "" {
					t.Errorf("a person acted and the attention stays: %q", c.Attention)
				}
			}},
		{name: "release published posts is live", setup: with(fresh, all[:len(all)-2]...), event: ReleasePublished{Attempt: 1, URL: "https://github.com/kubernetes/kubernetes/releases/tag/v1.31.3"},
			effects: []string{"post:live"},
			check: func(t *testing.T, c *Cut) {
				if c.Status != CutDone {
					t.Errorf("status %s", c.Status)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.setup(t)
			before := c.Clone()
			effects, err := c.Apply(tc.event, t0)
			if tc.wantCode == "" {
				if err != nil {
					t.Fatalf("Apply(%#v) = %v, want legal", tc.event, err)
				}
				if tc.effects != nil {
					got := []string{}
					for _, e := range effects {
						got = append(got, e.Key())
					}
					if diff := cmp.Diff(tc.effects, got); diff != "" {
						t.Errorf("effects (-want +got):\n%s", diff)
					}
				}
				if tc.check != nil {
					tc.check(t, c)
				}
				return
			}
			if err == nil {
				t.Fatalf("Apply(%#v) succeeded, want %s", tc.event, tc.wantCode)
			}
			if ErrorCode(err) != tc.wantCode || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("Apply(%#v) = %q (%s), want %s containing %q", tc.event, err, ErrorCode(err), tc.wantCode, tc.wantMsg)
			}
			if !strings.HasPrefix(err.Error(), "v1.31.3: ") {
				t.Errorf("error %q does not name the cut", err)
			}
			if diff := cmp.Diff(before, c); diff != "" {
				t.Errorf("a refused event changed the cut (-before +after):\n%s", diff)
			}
		})
	}
}

func TestStanding(t *testing.T) {
	c := newTestCut(t, "v1.31.3", false)
	if got := c.Standing(); got != "planned, next: Mock Stage" {
		t.Errorf("fresh standing = %q", got)
	}
	mustApply(t, c, StartStage{Stage: MockStage, By: "U1", BuildVersion: bv})
	// The parent shows where the cut stands, not what a stage is doing: submitting and
	// running read the same, so the parent is not edited between them.
	if got := c.Standing(); got != "Mock Stage running (attempt 1)" {
		t.Errorf("standing = %q", got)
	}
	mustApply(t, c, BuildSubmitted{Stage: MockStage, Attempt: 1, BuildID: "b"}, StageSucceeded{Stage: MockStage, Attempt: 1})
	if got := c.Standing(); got != "next: Mock Release" {
		t.Errorf("standing = %q", got)
	}
	var actions []string
	for i, e := range c.Audit {
		if e.Seq != i+1 {
			t.Errorf("audit seq %d at %d", e.Seq, i)
		}
		actions = append(actions, e.Action)
	}
	if diff := cmp.Diff([]string{"cut.opened", "stage.started", "stage.submitted", "stage.succeeded"}, actions); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
}
