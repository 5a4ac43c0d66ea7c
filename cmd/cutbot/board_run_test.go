package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/integrations/githubfake"
)

// TestBoardFromDocumentedSettings runs the built binary configured only by the documented
// settings (CUTBOT_BOARD_BRANCHES, CUTBOT_KNOWN_ISSUES_QUERY, CUTBOT_APPROVABLE_NOTICE=now)
// and checks the board: the reply to /release picks, the Home tab, and the notice of an
// approvable cherry-pick in the release channel, once.
func TestBoardFromDocumentedSettings(t *testing.T) {
	w := newRunWorld(t, scheduleAround(time.Now()))
	w.gh.AddPullRequest("kubernetes/kubernetes", githubfake.PR{Number: 128101, Title: "Automated cherry pick of #128000: kubelet: fix probe race", Base: "release-1.31",
		HeadRef: "automated-cherry-pick-of-#128000-upstream-release-1.31", HeadSHA: "abc128101", Author: "dev",
		Labels: []string{"lgtm", "approved", "cncf-cla: yes", cutbot.NotApprovedLabel, "kind/bug", "sig/node", "release-note"}, CreatedAt: time.Now().Add(-time.Hour)})
	w.gh.SetStatus("kubernetes/kubernetes", "abc128101", "pull-kubernetes-unit", "success", "https://prow.k8s.io/view/1")
	w.gh.AddIssue("kubernetes/kubernetes", 128200, "kubelet restarts pods", "open", "someone")
	w.gh.EditBody("kubernetes/kubernetes", 128200, "```release\nintroduced-in=v1.31.1\n```")
	w.vars["CUTBOT_BOARD_BRANCHES"] = "release-1.31"
	w.vars["CUTBOT_APPROVABLE_NOTICE"] = "now"
	w.vars["CUTBOT_KNOWN_ISSUES_QUERY"] = `repo:kubernetes/kubernetes is:issue "introduced-in"`
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := startBinary(t, w.vars, "run")
	p.waitLog(ctx, "connected to slack over socket mode")
	p.waitLog(ctx, "approvable cherry-picks noticed")

	reply := w.command(ctx, t, "picks release-1.31")
	mustContain(t, "picks", reply, "RELEASE-1.31 CHERRY-PICKS", "#128101", "picks #128000", ":white_check_mark: approvable", "kubernetes/kubernetes#128200", "open")

	id, err := w.slack.OpenHome(ctx, "U0ALICE")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.slack.WaitAck(ctx, id, 1); err != nil {
		t.Fatal(err)
	}
	if err := w.slack.WaitFor(ctx, func() bool { _, ok := w.slack.Home("U0ALICE"); return ok }); err != nil {
		t.Fatalf("no Home tab published: %v", err)
	}
	home, _ := w.slack.Home("U0ALICE")
	mustContain(t, "home", string(home.Blocks), "release-1.31", "1 approvable", "Show all", "#128101")

	var notices []string
	for _, m := range w.slack.Messages("C0RELMGMT") {
		if text := w.slack.Text(m); strings.Contains(text, "approving review") {
			notices = append(notices, text)
		}
	}
	if len(notices) != 1 || !strings.Contains(notices[0], "#128101") {
		t.Errorf("notices in the channel: %q", notices)
	}
	p.stop(30 * time.Second)
}
