package metrics

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"sigs.k8s.io/cutbot"
)

func TestRoute(t *testing.T) {
	for _, c := range []struct{ method, path, want string }{
		{"GET", "/repos/kubernetes/kubernetes/branches/release-1.31", "GET /repos/{}/{}/branches/{}"},
		{"GET", "/api/v3/repos/kubernetes/sig-release/issues/2991", "GET /api/v3/repos/{}/{}/issues/{}"},
		{"POST", "/repos/kubernetes/k8s.io/issues/9340/comments", "POST /repos/{}/{}/issues/{}/comments"},
		{"GET", "/repos/kubernetes/kubernetes/git/matching-refs/tags/v1.31.", "GET /repos/{}/{}/git/matching-refs/tags/{}"},
		{"GET", "/sig-release-1.31-blocking/summary", "GET /{}/summary"},
		{"GET", "/ci/latest-1.31.txt", "GET /ci/{}"},
		{"GET", "/a/b/c/d/e/f/g/h/i/j", "GET /{}/{}/{}/{}/{}/{}/{}/{}/…"},
	} {
		if got := Route(c.method, c.path); got != c.want {
			t.Errorf("Route(%s %s) = %q, want %q", c.method, c.path, got, c.want)
		}
	}
}

type cuts []*cutbot.Cut

func (c cuts) ActiveCuts(context.Context) ([]*cutbot.Cut, error) { return c, nil }

func TestObservations(t *testing.T) {
	attention := &cutbot.Cut{Attention: "panic"}
	m := New("v0.1.0", cuts{{}, attention})
	m.CutChanged(&cutbot.Cut{}, []cutbot.Event{cutbot.StageSucceeded{Stage: cutbot.MockStage}, cutbot.StageFailed{Stage: cutbot.NoMockStage}, cutbot.StageSucceeded{Stage: cutbot.Announcement}})
	m.SlackCall("conversations.info", "channel_not_found", 0)
	m.EffectCarried(&cutbot.Cut{}, cutbot.SubmitBuild{}, nil)
	m.EffectCarried(&cutbot.Cut{}, cutbot.OpenIssue{}, errors.New("502"))
	m.CommandDone("next", "refused", time.Second)
	m.SlackCall("chat.update", "rate_limited", 2*time.Second)
	m.Recovered("lane")
	m.Connected(true)
	gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) }))
	defer gh.Close()
	if _, err := m.Client("github", time.Second).Get(gh.URL + "/repos/o/r/branches/x"); err != nil {
		t.Fatal(err)
	}
	got, err := m.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{
		`cutbot_build_info{goversion="` + goVersion + `",version="v0.1.0"}`:                 1,
		`cutbot_builds_total{result="success",stage="mock-stage"}`:                          1,
		`cutbot_builds_total{result="failure",stage="nomock-stage"}`:                        1,
		`cutbot_cut_events_total{event="StageSucceeded"}`:                                   2,
		`cutbot_effects_total{effect="SubmitBuild",result="done"}`:                          1,
		`cutbot_effects_total{effect="OpenIssue",result="failed"}`:                          1,
		`cutbot_commands_total{command="next",outcome="refused"}`:                           1,
		`cutbot_slack_writes_total{method="chat.update",outcome="rate_limited"}`:            1,
		`cutbot_slack_reads_total{method="conversations.info",outcome="channel_not_found"}`: 1,
		`cutbot_builds_total{result="success",stage="announcement"}`:                        0,
		`cutbot_recovered_panics_total{where="lane"}`:                                       1,
		`cutbot_slack_connected`:                                                            1,
		`cutbot_active_cuts`:                                                                2,
		`cutbot_cuts_needing_attention`:                                                     1,
		`cutbot_github_requests_total{code="404",route="GET /repos/{}/{}/branches/{}"}`:     1,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
}
