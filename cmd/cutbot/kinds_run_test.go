package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestEmbargoFromDocumentedSettings runs the built binary configured only by the documented
// settings (CUTBOT_PRIVATE_CHANNEL, CUTBOT_PRIVATE_ISSUE_REPO, CUTBOT_MIN_PATCH_GAP): the
// timing guard refuses a patch three days after the branch's last GitHub release without
// --force; the forced, embargoed cut lives in the private channel with its issue in the
// private repository, builds from the security fork, and the release channel hears nothing
// of it (the calendar's own reminder aside) until /release lift. A public channel given as
// the private one stops the binary at start.
func TestEmbargoFromDocumentedSettings(t *testing.T) {
	w := newRunWorld(t, scheduleAround(time.Now()))
	w.slack.AddPrivateChannel("G0PRIVATE", "release-managers-private", w.slack.Options().BotUserID, "U0ALICE")
	w.slack.AddChannel("C0RANDOM", "random", w.slack.Options().BotUserID, "U0ALICE")
	w.gh.AddReleaseAt("kubernetes/kubernetes", "v1.31.3", time.Now().Add(-3*24*time.Hour))
	w.gh.SetFile("kubernetes-security/issues", "README.md", "private")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	w.vars["CUTBOT_PRIVATE_CHANNEL"] = "C0RANDOM"
	bad := startBinary(t, w.vars, "run")
	select {
	case err := <-bad.done:
		if err == nil || !strings.Contains(bad.logs.String(), "CUTBOT_PRIVATE_CHANNEL C0RANDOM (#random) is public") {
			t.Fatalf("a public private channel: %v\n%s", err, bad.logs.String())
		}
	case <-ctx.Done():
		t.Fatal("cutbot started with a public channel as its private one")
	}

	w.vars["CUTBOT_PRIVATE_CHANNEL"] = "G0PRIVATE"
	w.vars["CUTBOT_PRIVATE_ISSUE_REPO"] = "kubernetes-security/issues"
	w.vars["CUTBOT_MIN_PATCH_GAP"] = "336h"
	p := startBinary(t, w.vars, "run")
	p.waitLog(ctx, "connected to slack over socket mode")

	reply := w.command(ctx, t, `cut v1.31.4 --embargo "CVE-2026-1234" --k8s-org kubernetes-security`)
	mustContain(t, "timing", reply, "v1.31.4 would come 3 days after v1.31.3", "from its GitHub release", `--force "reason"`)
	reply = w.command(ctx, t, `cut v1.31.4 --embargo "CVE-2026-1234" --k8s-org kubernetes-security --force "security fix, SRC's date"`)
	mustContain(t, "cut", reply, "Opened the cut")
	if err := w.slack.WaitFor(ctx, func() bool {
		return strings.Contains(w.slack.Transcript("G0PRIVATE"), "Release Cut :lock: v1.31.4, embargoed security release")
	}); err != nil {
		t.Fatalf("no thread in the private channel:\n%s", w.slack.Transcript("G0PRIVATE"))
	}
	if err := w.slack.WaitFor(ctx, func() bool { _, _, _, _, ok := w.gh.Issue("kubernetes-security/issues", 1); return ok }); err != nil {
		t.Fatal("no issue in the private repository")
	}
	if n := len(w.gh.Requests("POST /repos/kubernetes/sig-release/issues")); n != 0 {
		t.Errorf("%d issues opened in the public repository", n)
	}
	reply = w.command(ctx, t, "next v1.31.4")
	mustContain(t, "next", reply, "Mock Stage")
	builds := w.cb.Builds()
	if len(builds) != 1 || builds[0].GetSubstitutions()["_K8S_ORG"] != "kubernetes-security" {
		t.Fatalf("builds %v", builds)
	}
	for _, m := range w.slack.Messages("C0RELMGMT") {
		if text := w.slack.Text(m); (strings.Contains(text, "v1.31.4") && !strings.Contains(text, ":cherries: The cherry-pick deadline for v1.31.4")) || strings.Contains(text, "CVE-2026-1234") {
			t.Errorf("the release channel heard of the embargoed cut: %s", text)
		}
	}
	reply = w.command(ctx, t, "lift v1.31.4")
	mustContain(t, "lift", reply, "Lifted the embargo")
	if err := w.slack.WaitFor(ctx, func() bool {
		return strings.Contains(w.slack.Transcript("C0RELMGMT"), "Release Cut v1.31.4, security release (CVE-2026-1234)")
	}); err != nil {
		t.Fatalf("no public thread after the lift:\n%s", w.slack.Transcript("C0RELMGMT"))
	}
	p.stop(30 * time.Second)
}
