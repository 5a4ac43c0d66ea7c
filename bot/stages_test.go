package bot

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/integrations/slackfake"
)

// stageLines are the thread replies that are lines of stage title, oldest first.
func stageLines(fake *slackfake.Server, title string) []slackfake.Message {
	var out []slackfake.Message
	for _, m := range fake.Messages(channelID) {
		if m.ThreadTS != "" && strings.HasPrefix(m.Text, ":hourglass_flowing_sand: "+title+" ") || m.Text == ":hourglass_flowing_sand: "+title+"\nSubmitting to Cloud Build…" {
			out = append(out, m)
		}
	}
	return out
}

func lastLine(t *testing.T, fake *slackfake.Server, title string) slackfake.Message {
	t.Helper()
	lines := stageLines(fake, title)
	if len(lines) == 0 {
		t.Fatalf("no %s line in the thread:\n%s", title, fake.Transcript(channelID))
	}
	return lines[len(lines)-1]
}

// click presses the newest button labelled label as user and waits for the bot.
func (r *running) click(user, label string) {
	r.t.Helper()
	b, ok := r.fake.FindButton(channelID, label)
	if !ok {
		r.t.Fatalf("no %q button:\n%s", label, r.fake.Transcript(channelID))
	}
	ctx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	id, err := r.fake.Click(ctx, user, channelID, b)
	if err != nil {
		r.t.Fatal(err)
	}
	r.waitHandled(id)
}

func parent(t *testing.T, fake *slackfake.Server) slackfake.Message {
	t.Helper()
	return topLevel(fake.Messages(channelID))[0]
}

func TestStagesOnCloudBuild(t *testing.T) {
	fake := workspace(t)
	bl := newBuilds(t)
	r := startBotWith(t, fake, "", bl)
	r.run(alice, "cut v1.31.3")
	if _, ok := fake.FindButton(channelID, "Next stage"); !ok {
		t.Fatalf("the thread has no Start button:\n%s", fake.Transcript(channelID))
	}

	// Out of order: refused with the reason, nothing submitted.
	r.run(alice, "next v1.31.3 mock-release")
	mustContain(t, "out of order", r.lastReply(alice), "Mock Release needs Mock Stage (pending) to succeed first; --force")
	r.run(alice, "next v1.31.3 image-promotion")
	mustContain(t, "watched stage out of order", r.lastReply(alice), "Image Promotion needs Mock Stage (pending), Mock Release (pending), No-mock Stage (pending) to succeed first")
	if bl.created() != 0 {
		t.Fatalf("%d builds created by refused requests", bl.created())
	}

	// Mock stage: the build carries krel's substitutions, and the line follows it.
	r.run(alice, "next v1.31.3")
	mustContain(t, "next reply", r.lastReply(alice), "Started Mock Stage (attempt 1).")
	req := bl.cb.Requests("CreateBuild")[0]
	if req.Parent != "projects/k8s-release/locations/us-central1" || req.Build.Substitutions["_BUILDVERSION"] != "v1.31.3-rc.0.12+8f0c0a4d" ||
		req.Build.Substitutions["_TYPE"] != "official" || req.Build.Substitutions["_NOMOCK"] != "" {
		t.Errorf("mock stage request: parent %s, substitutions %v", req.Parent, req.Build.Substitutions)
	}
	id := bl.lastBuild(t)
	line := lastLine(t, fake, "Mock Stage")
	mustContain(t, "new line", line.Text, ":hourglass_flowing_sand: Mock Stage (<https://console.cloud.google.com/cloud-build/builds;region=us-central1/"+id+"?project=k8s-release|logs>)")

	bl.poll(t)
	mustContain(t, "queued line", lastLine(t, fake, "Mock Stage").Text, "Current status: queued")
	bl.cb.Step(id, 1)
	bl.poll(t)
	line = lastLine(t, fake, "Mock Stage")
	mustContain(t, "working line", line.Text, "Current status: compiling")
	edits := line.Edits()
	bl.poll(t) // nothing changed: nothing is written
	if got := lastLine(t, fake, "Mock Stage").Edits(); got != edits {
		t.Errorf("a poll with no change edited the line (%d → %d edits)", edits, got)
	}
	bl.clock.Add(112 * time.Minute)
	bl.cb.Succeed(id)
	bl.poll(t)
	line = lastLine(t, fake, "Mock Stage")
	if !strings.HasSuffix(line.Text, "-> :white_check_mark: (1h 52m)") {
		t.Errorf("succeeded line = %q", line.Text)
	}
	if len(stageLines(fake, "Mock Stage")) != 1 {
		t.Errorf("the stage has %d lines; its line should be edited in place", len(stageLines(fake, "Mock Stage")))
	}
	mustContain(t, "parent", fake.Text(parent(t, fake)), "Next: Mock Release", "[Next stage]")

	// Mock release, from the button: it builds from the mock stage's build version.
	r.click(alice, "Next stage")
	mustContain(t, "button reply", r.lastReply(alice), "Started Mock Release (attempt 1).")
	req = bl.cb.Requests("CreateBuild")[1]
	if req.Build.Substitutions["_BUILDVERSION"] != "v1.31.3-rc.0.12+8f0c0a4d" || !slices.Contains(req.Build.Tags, "RELEASE") {
		t.Errorf("mock release: %v %v", req.Build.Substitutions, req.Build.Tags)
	}
	bl.cb.Succeed(bl.lastBuild(t))
	bl.poll(t)

	// No-mock stage: a confirmation first; nothing is submitted before the requester confirms.
	bl.mu.Lock()
	bl.ciLatest["/ci/latest-1.31.txt"] = "v1.31.3-rc.0.14+9e1d1b5e" // CI moved on since the mock stage
	bl.mu.Unlock()
	r.run(alice, "next v1.31.3")
	mustContain(t, "confirmation reply", r.lastReply(alice), "No-mock Stage creates real artifacts: press Confirm in the thread")
	if bl.created() != 2 {
		t.Fatalf("the no-mock stage was submitted before its confirmation")
	}
	confirmMsg := fake.Messages(channelID)[len(fake.Messages(channelID))-1]
	mustContain(t, "confirmation", fake.Text(confirmMsg), "Confirm No-mock Stage of v1.31.3", "krel stage --type official --branch release-1.31 --nomock",
		"*Branch* `release-1.31`", "*Type* official", "*Build version* `v1.31.3-rc.0.14+9e1d1b5e`", "*Project* k8s-release (us-central1)", "Only @alice can confirm")
	r.click(bob, "Confirm No-mock Stage")
	mustContain(t, "someone else's confirm", r.lastReply(bob), "only @alice, who asked for No-mock Stage, can confirm it")
	if bl.created() != 2 {
		t.Fatal("a confirmation pressed by someone else submitted a build")
	}
	// A double click: two presses arrive; one build.
	b, _ := fake.FindButton(channelID, "Confirm No-mock Stage")
	ctx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	e1, _ := fake.Click(ctx, alice, channelID, b)
	e2, _ := fake.Click(ctx, alice, channelID, b)
	r.waitHandled(e1)
	r.waitHandled(e2)
	if bl.created() != 3 {
		t.Fatalf("a double click created %d builds, want 1", bl.created()-2)
	}
	replies := fake.Ephemerals(alice)
	mustContain(t, "second click", fake.Text(replies[len(replies)-1])+fake.Text(replies[len(replies)-2]), "already confirmed")
	req = bl.cb.Requests("CreateBuild")[2]
	if req.Build.Substitutions["_NOMOCK"] != "--nomock" || req.Build.Substitutions["_BUILDVERSION"] != "v1.31.3-rc.0.14+9e1d1b5e" || !slices.Contains(req.Build.Tags, "nomock") {
		t.Errorf("no-mock stage: %v %v", req.Build.Substitutions, req.Build.Tags)
	}
	mustContain(t, "confirmed message", fake.Text(fake.Messages(channelID)[indexOf(fake.Messages(channelID), confirmMsg.TS)]), "confirmed by @alice")
	bl.cb.Succeed(bl.lastBuild(t))
	bl.poll(t)

	// Image promotion: cutbot starts watching for the PR; once promoted, the no-mock release
	// builds from the no-mock stage's version.
	mustContain(t, "kpromo note", fake.Transcript(channelID), "kpromo pr --fork=<your GitHub user> --tag=\"v1.31.3\"")
	mustContain(t, "parent while promoting", fake.Text(parent(t, fake)), "Next: Image Promotion", ":white_check_mark: No-mock Stage → :white_circle: Image Promotion")
	mustContain(t, "promotion line before the PR", fake.Transcript(channelID), ":hourglass_flowing_sand: Image promotion of v1.31.3: run")
	pr := bl.gh.AddPR("kubernetes/k8s.io", "releng: Image promotion for kubernetes v1.31.3", "kubernetes-v1.31.3-image-promotion", "alice", "do-not-merge/hold")
	bl.poll(t)
	bl.gh.SetLabels("kubernetes/k8s.io", pr, "approved", "lgtm")
	sha := bl.gh.Merge("kubernetes/k8s.io", pr)
	bl.gh.SetStatus("kubernetes/k8s.io", sha, "post-k8sio-image-promo", "success", "https://prow.k8s.io/view/gs/kubernetes-ci-logs/logs/post-k8sio-image-promo/42")
	bl.poll(t)
	mustContain(t, "promotion", fake.Transcript(channelID), "-> Image promotion is :white_check_mark:")
	r.click(alice, "Next stage")
	r.click(alice, "Confirm No-mock Release")
	req = bl.cb.Requests("CreateBuild")[3]
	if req.Build.Substitutions["_BUILDVERSION"] != "v1.31.3-rc.0.14+9e1d1b5e" || req.Build.Substitutions["_KUBERNETES_GCS_BUCKET"] != "gs://kubernetes-release/stage/v1.31.3-rc.0.14+9e1d1b5e/v1.31.3/gcs-stage/v1.31.3" {
		t.Errorf("no-mock release substitutions: %v", req.Build.Substitutions)
	}
}

// TestForcePastPromotion: a release manager who promoted by hand stops cutbot's watch and
// forces the no-mock release; the reason shows in the thread and the audit trail.
func TestForcePastPromotion(t *testing.T) {
	fake := workspace(t)
	bl := newBuilds(t)
	r := startBotWith(t, fake, "", bl)
	r.run(alice, "cut v1.31.3 --no-mock-run")
	r.run(alice, "next v1.31.3")
	r.click(alice, "Confirm No-mock Stage")
	bl.cb.Succeed(bl.lastBuild(t))
	bl.poll(t)
	r.run(alice, "next v1.31.3 nomock-release")
	mustContain(t, "promotion running", r.lastReply(alice), "Image Promotion is submitting; wait for it or cancel it")
	r.run(alice, "cancel v1.31.3")
	mustContain(t, "cancel the watch", r.lastReply(alice), "Stopped following Image Promotion.")
	r.run(alice, `next v1.31.3 nomock-release --force "images promoted in kubernetes/k8s.io#9340"`)
	r.click(alice, "Confirm No-mock Release")
	mustContain(t, "forced line", fake.Text(lastLine(t, fake, "No-mock Release")), ":warning: forced by @alice: images promoted in kubernetes/k8s.io#9340")
	c := activeCut(t, r.store, "v1.31.3")
	var forced bool
	for _, e := range c.Audit {
		forced = forced || (e.Stage == cutbot.NoMockRelease && strings.Contains(e.Detail, `forced: "images promoted in kubernetes/k8s.io#9340" past Image Promotion (cancelled)`))
	}
	if !forced {
		t.Errorf("the force is not in the audit trail: %+v", c.Audit)
	}
}

func indexOf(msgs []slackfake.Message, ts string) int {
	for i, m := range msgs {
		if m.TS == ts {
			return i
		}
	}
	return -1
}

func TestFailureRetryAndCancel(t *testing.T) {
	fake := workspace(t)
	bl := newBuilds(t)
	r := startBotWith(t, fake, "", bl)
	r.run(alice, "cut v1.31.3")
	r.run(alice, "next v1.31.3")
	first := bl.lastBuild(t)
	bl.cb.Step(first, 2)
	bl.clock.Add(12 * time.Minute)
	bl.cb.Fail(first, 2, `Build step 2 "staging" failed: step exited with non-zero status: 1`)
	bl.poll(t)
	line := fake.Text(lastLine(t, fake, "Mock Stage"))
	mustContain(t, "failed line", line, `-> :x: failed at staging: Build step 2 "staging" failed`, "(after 12m 0s)", "[Retry Mock Stage]", first)
	mustContain(t, "parent", fake.Text(parent(t, fake)), "Mock Stage failed (attempt 1)", ":x: Mock Stage → ")
	r.run(alice, "next v1.31.3")
	mustContain(t, "next after failure", r.lastReply(alice), "Mock Stage failed; `/release retry v1.31.3` runs it again")

	r.click(bob, "Retry Mock Stage")
	mustContain(t, "retry reply", r.lastReply(bob), "Started Mock Stage (attempt 2).")
	lines := stageLines(fake, "Mock Stage")
	if len(lines) != 2 {
		t.Fatalf("lines = %d, want the old attempt's and the new one's", len(lines))
	}
	old := fake.Text(lines[0])
	mustContain(t, "old line", old, first, "-> :x:")
	if strings.Contains(old, "[Retry") {
		t.Errorf("the old attempt still offers Retry:\n%s", old)
	}

	second := bl.lastBuild(t)
	r.run(bob, "cancel v1.31.3")
	mustContain(t, "cancel reply", r.lastReply(bob), "Cancelled Mock Stage (attempt 2).")
	if got := bl.cb.Requests("CancelBuild"); len(got) != 1 || got[0].ID != second {
		t.Errorf("CancelBuild requests = %+v", got)
	}
	mustContain(t, "cancelled line", fake.Text(lastLine(t, fake, "Mock Stage")), "-> :no_entry_sign: cancelled by @bob")
	r.run(alice, "retry v1.31.3")
	mustContain(t, "retry after cancel", r.lastReply(alice), "Started Mock Stage (attempt 3).")
	r.run(alice, "cancel v1.29.11")
	mustContain(t, "cancel of no cut", r.lastReply(alice), "v1.29.11 has no active cut.")
}

// TestRestartWhileBuildRuns: the bot stops while a build runs; the build finishes; the
// restarted bot shows the success and creates no second build.
func TestRestartWhileBuildRuns(t *testing.T) {
	fake := workspace(t)
	bl := newBuilds(t)
	first := startBotWith(t, fake, "", bl)
	first.run(alice, "cut v1.31.3")
	first.run(alice, "next v1.31.3")
	first.stop()
	bl.cb.Succeed(bl.lastBuild(t))

	startBotWith(t, fake, first.dbPath, bl) // its first poll follows the build
	if !strings.Contains(lastLine(t, fake, "Mock Stage").Text, "-> :white_check_mark:") {
		t.Errorf("after restart the line is %q", lastLine(t, fake, "Mock Stage").Text)
	}
	if bl.created() != 1 {
		t.Errorf("builds created = %d, want 1", bl.created())
	}
}

// TestRestartBetweenSubmittingAndBuildID: the bot recorded "submitting" and died before it
// stored the build id. With the build created, the restarted bot finds it by its tag; without
// it, the bot submits it, once.
func TestRestartBetweenSubmittingAndBuildID(t *testing.T) {
	fake := workspace(t)
	bl := newBuilds(t)
	first := startBotWith(t, fake, "", bl)
	first.run(alice, "cut v1.31.3")
	first.run(alice, "next v1.31.3")
	id := bl.lastBuild(t)
	c := activeCut(t, first.store, "v1.31.3")
	first.store.UpdateCut(context.Background(), c.ID, func(c *cutbot.Cut) error {
		a := c.Stage(cutbot.MockStage).Current()
		a.Status, a.BuildID, a.LogURL = cutbot.StatusSubmitting, "", "" // as if CreateBuild returned and cutbot died
		c.Journal = append(c.Journal, cutbot.SubmitBuild{Stage: cutbot.MockStage, Attempt: 1})
		return nil
	})
	first.stop()

	second := startBotWith(t, fake, first.dbPath, bl)
	got := activeCut(t, second.store, "v1.31.3").Stage(cutbot.MockStage).Current()
	if got.BuildID != id || got.Status != cutbot.StatusRunning || bl.created() != 1 {
		t.Errorf("after restart: attempt %+v, builds %d; want build %s adopted and no new build", got, bl.created(), id)
	}
	if len(bl.cb.Requests("ListBuilds")) == 0 {
		t.Error("the build was not looked up by its tag")
	}

	// Cloud Build unavailable when submitting: the attempt stays "submitting"; the next poll
	// finds no build by the tag and submits it, once.
	bl.cb.Succeed(id)
	bl.poll(t)
	bl.cb.Fault("CreateBuild", codes.Unavailable)
	before := bl.created()
	second.run(alice, "next v1.31.3")
	mustContain(t, "uncertain submission", second.lastReply(alice), "Cloud Build did not answer yet, and cutbot keeps trying without submitting it twice")
	if bl.created() != before {
		t.Fatalf("a failed CreateBuild created a build")
	}
	bl.poll(t) // too early: Cloud Build gets a moment
	if bl.created() != before {
		t.Fatalf("cutbot tried CreateBuild again at once")
	}
	bl.clock.Add(16 * time.Second)
	bl.poll(t)
	bl.poll(t)
	if bl.created() != before+1 {
		t.Errorf("builds created after reconciling = %d, want exactly 1", bl.created()-before)
	}
	if a := activeCut(t, second.store, "v1.31.3").Stage(cutbot.MockRelease).Current(); a.N != 1 || a.Status != cutbot.StatusRunning || a.BuildID != bl.lastBuild(t) {
		t.Errorf("mock release attempt %+v", a)
	}
}

func TestRateLimitedEditsEndRight(t *testing.T) {
	fake := workspace(t)
	bl := newBuilds(t)
	r := startBotWith(t, fake, "", bl)
	r.run(alice, "cut v1.31.3")
	r.run(alice, "next v1.31.3")
	id := bl.lastBuild(t)
	fake.RateLimit("chat.update", 4, 3*time.Second)
	for step := 0; step < 4; step++ {
		bl.cb.Step(id, step)
		bl.poll(t)
	}
	bl.cb.Succeed(id)
	bl.poll(t)
	if !strings.HasSuffix(lastLine(t, fake, "Mock Stage").Text, "-> :white_check_mark: (0s)") {
		t.Errorf("final line = %q", lastLine(t, fake, "Mock Stage").Text)
	}
	mustContain(t, "parent", fake.Text(parent(t, fake)), "Next: Mock Release")
	bl.mu.Lock()
	defer bl.mu.Unlock()
	if len(bl.sleeps) == 0 || bl.sleeps[0] != 3*time.Second {
		t.Errorf("sleeps = %v, want waits of the Retry-After", bl.sleeps)
	}
	limited := 0
	for _, c := range fake.Calls("chat.update") {
		if c.Error == "ratelimited" {
			limited++
		}
	}
	if limited != 4 {
		t.Errorf("rate-limited edits = %d", limited)
	}
}

func TestWarningsAndPermissionErrors(t *testing.T) {
	fake := workspace(t)
	bl := newBuilds(t)
	r := startBotWith(t, fake, "", bl)
	r.run(alice, "cut v1.31.3")
	r.run(alice, "next v1.31.3")
	bl.clock.Add(25 * time.Minute)
	bl.poll(t)
	bl.poll(t) // once only
	warnings := 0
	for _, m := range fake.Messages(channelID) {
		if strings.HasPrefix(m.Text, ":warning: Mock Stage (attempt 1) has been queued for 25m0s. Started by <@U0ALICE>.") {
			warnings++
		}
	}
	if warnings != 1 {
		t.Errorf("queued warnings = %d, want 1:\n%s", warnings, fake.Transcript(channelID))
	}
	id := bl.lastBuild(t)
	bl.cb.Step(id, 1)
	bl.clock.Add(3*time.Hour + time.Minute)
	bl.poll(t)
	mustContain(t, "running warning", fake.Transcript(channelID), ":warning: Mock Stage (attempt 1) has been running for 3h1m0s. Started by @alice.")

	bl.cb.Fault("GetBuild", codes.PermissionDenied)
	bl.clock.Add(time.Minute)
	bl.poll(t)
	mustContain(t, "permission", fake.Transcript(channelID), "roles/cloudbuild.builds.editor")
}

func TestBuildsNotConfigured(t *testing.T) {
	fake := workspace(t)
	r := startBot(t, fake, "")
	r.run(alice, "cut v1.31.3")
	r.run(alice, "next v1.31.3")
	mustContain(t, "reply", r.lastReply(alice), "not set up to run builds here: set CUTBOT_GCP_PROJECT")
	if _, ok := fake.FindButton(channelID, "Start"); ok {
		t.Error("a Start button is shown although builds are not configured")
	}
}

// panicky is a Builder that panics submitting the builds of one cut.
type panicky struct {
	cutbot.Builder
	cutID string
}

func (p panicky) Submit(ctx context.Context, req cutbot.BuildRequest) (cutbot.BuildRef, error) {
	if req.CutID == p.cutID {
		panic("injected: the builder blew up")
	}
	return p.Builder.Submit(ctx, req)
}

// TestPanicInOneCut: a panic in one cut's effect, through the real bot. The process lives, the
// thread of that cut says it needs a person, and the other cut's build goes on.
func TestPanicInOneCut(t *testing.T) {
	fake := workspace(t)
	bl := newBuilds(t)
	r := startBotEdit(t, fake, "", bl, func(c *Config) { c.Builder = panicky{Builder: c.Builder, cutID: "00000002"} })
	r.run(alice, "cut v1.31.3")
	r.run(alice, "cut v1.30.7")
	r.run(alice, "next v1.30.7")
	mustContain(t, "reply", r.lastReply(alice), "Internal error")
	mustContain(t, "thread", fake.Transcript(channelID), ":rotating_light: @release-managers: cutbot hit an internal error while working on this cut (injected: the builder blew up)")
	mustContain(t, "parent", fake.Text(topLevel(fake.Messages(channelID))[1]), "Needs a person")
	r.run(bob, "next v1.31.3")
	mustContain(t, "other cut", r.lastReply(bob), "Started Mock Stage (attempt 1).")
	bl.cb.Succeed(bl.lastBuild(t))
	bl.poll(t)
	if !strings.Contains(lastLine(t, fake, "Mock Stage").Text, "-> :white_check_mark:") {
		t.Errorf("the other cut's build did not go on: %s", lastLine(t, fake, "Mock Stage").Text)
	}
	r.run(guest, "status")
	mustContain(t, "status", r.lastReply(guest), "needs a person: cutbot hit an internal error")
}
