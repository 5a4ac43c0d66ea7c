package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/cutbot/bot"
	"sigs.k8s.io/cutbot/integrations/metrics"
	"sigs.k8s.io/cutbot/store"
)

// healthAddr is where the process serves its health checks, read from its log.
func (p *process) healthAddr(ctx context.Context) string {
	p.t.Helper()
	p.waitLog(ctx, "serving health checks and metrics")
	m := regexp.MustCompile(`serving health checks and metrics.*addr=(\S+)`).FindStringSubmatch(p.logs.String())
	if m == nil {
		p.t.Fatalf("no address in the log:\n%s", p.logs.String())
	}
	return "http://" + m[1]
}

// waitLogCount waits until the process has logged s at least n times.
func (p *process) waitLogCount(ctx context.Context, s string, n int) {
	p.t.Helper()
	for strings.Count(p.logs.String(), s) < n {
		select {
		case err := <-p.done:
			p.t.Fatalf("cutbot exited (%v) before logging %q %d times:\n%s", err, s, n, p.logs.String())
		case <-ctx.Done():
			p.t.Fatalf("cutbot did not log %q %d times:\n%s", s, n, p.logs.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// waitMetrics reads /metrics until it shows every want (some are counted just after what the
// test can see happen, such as an issue's effect after the issue), and returns it.
func waitMetrics(ctx context.Context, t *testing.T, base string, wants []string) string {
	t.Helper()
	for {
		_, metrics := get(t, base+"/metrics")
		var missing []string
		for _, w := range wants {
			if !strings.Contains(metrics, w) {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			return metrics
		}
		select {
		case <-ctx.Done():
			t.Fatalf("/metrics has no\n%s\n%s", strings.Join(missing, "\n"), metrics)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestHealthAndMetricsFromRun runs the built binary configured by its documented settings
// and asks its health checks and metrics: not ready while it cannot connect to Slack, ready
// once it can, not ready again when the connection drops; the metrics count what it did.
func TestHealthAndMetricsFromRun(t *testing.T) {
	w := newRunWorld(t, scheduleAround(time.Now()))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	release := w.slack.HoldConnections()
	p := startBinary(t, w.vars, "run")
	base := p.healthAddr(ctx)
	p.waitLog(ctx, "slack workspace ok")

	if code, body := get(t, base+"/livez"); code != 200 || body != "ok\n" {
		t.Errorf("/livez = %d %q", code, body)
	}
	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := get(t, base+"/readyz"); code != 503 || body != "[-]slack failed: not connected to Slack over Socket Mode: commands do not reach cutbot\nreadyz check failed\n" {
		t.Errorf("/readyz before connecting = %d %q, want 503 and why", code, body)
	}
	if code, body := get(t, base+"/readyz?verbose"); code != 503 || !strings.Contains(body, "[-]slack failed") || !strings.Contains(body, "[+]store ok") {
		t.Errorf("/readyz?verbose before connecting = %d %q", code, body)
	}

	release()
	p.waitLog(ctx, "connected to slack over socket mode")
	if code, body := get(t, base+"/readyz"); code != 200 || body != "ok\n" {
		t.Errorf("/readyz once connected = %d %q", code, body)
	}

	mustContain(t, "cut", w.command(ctx, t, "cut v1.31.4"), "v1.31.4")
	mustContain(t, "bad input", w.command(ctx, t, "cut banana"), "banana")
	mustContain(t, "skipped patch", w.command(ctx, t, "cut v1.31.9"), "is not the official krel builds next")
	w.command(ctx, t, "next v1.31.4")
	metrics := waitMetrics(ctx, t, base, []string{
		`cutbot_build_info{goversion="go`,
		`cutbot_slack_connected 1`,
		`cutbot_active_cuts 1`,
		`cutbot_cuts_needing_attention 0`,
		`cutbot_commands_total{command="cut",outcome="ok"} 1`,
		`cutbot_commands_total{command="cut",outcome="invalid"} 2`,
		`cutbot_command_duration_seconds_count{command="cut"} 3`,
		`cutbot_envelope_ack_seconds_count{kind="slash_commands"} 4`,
		`cutbot_slack_reads_total{method="auth.test",outcome="ok"}`,
		`cutbot_slack_writes_total{method="chat.postMessage",outcome="ok"}`,
		`cutbot_cut_events_total{event="MessagePosted"}`,
		`cutbot_effects_total{effect="OpenIssue",result="done"} 1`,
		`cutbot_github_requests_total{code="200",route="GET /repos/{}/{}/branches/{}"}`,
		`cutbot_github_requests_total{code="201",route="POST /repos/{}/{}/issues"}`,
		`cutbot_commands_total{command="next",outcome="ok"} 1`,
		`cutbot_cloudbuild_calls_total{code="OK",method="CreateBuild"} 1`,
		`cutbot_effects_total{effect="SubmitBuild",result="done"} 1`,
		`go_goroutines`,
	})
	for _, secret := range []string{w.vars["SLACK_APP_TOKEN"], w.vars["SLACK_BOT_TOKEN"], runGitHubToken} {
		if strings.Contains(metrics, secret) {
			t.Errorf("/metrics shows a token")
		}
	}

	// The connection drops and cannot come back yet: not ready; then it comes back.
	release = w.slack.HoldConnections()
	w.slack.Disconnect("refresh_requested")
	p.waitLog(ctx, "the connection to slack dropped; reconnecting")
	if code, _ := get(t, base+"/readyz"); code != 503 {
		t.Errorf("/readyz while reconnecting = %d, want 503", code)
	}
	if _, metrics := get(t, base+"/metrics"); !strings.Contains(metrics, "cutbot_slack_connected 0") {
		t.Errorf("/metrics while reconnecting has no cutbot_slack_connected 0")
	}
	release()
	p.waitLogCount(ctx, "connected to slack over socket mode", 2)
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Errorf("/readyz after reconnecting = %d", code)
	}
	p.stop(30 * time.Second)
}

func mustContain(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s: %q does not contain %q", what, got, w)
		}
	}
}

// TestHealthPortInUse: a port cutbot cannot listen on stops the start, naming the setting.
func TestHealthPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	w := newRunWorld(t, scheduleAround(time.Now()))
	w.vars["CUTBOT_HTTP_ADDR"] = ln.Addr().String()
	var out, errOut bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errOut, Getenv: env(w.vars)}
	err = m.Run(context.Background(), []string{"run"})
	if err == nil || !strings.Contains(err.Error(), "CUTBOT_HTTP_ADDR "+ln.Addr().String()+": cannot serve health checks and metrics there") {
		t.Errorf("run = %v, want it to refuse the port in use", err)
	}
	if n := len(w.slack.Calls("apps.connections.open")); n != 0 {
		t.Errorf("it connected to Slack %d times before giving up", n)
	}
}

type connected bool

func (c connected) Health() bot.Health { return bot.Health{Connected: bool(c)} }

// TestReadyNeedsTheStore: a closed database makes cutbot not ready, whatever Slack says.
func TestReadyNeedsTheStore(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "cutbot.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(healthSources{bot: connected(true), store: st, metrics: metrics.New("test", st), version: "test"}.handler())
	defer srv.Close()
	if code, body := get(t, srv.URL+"/readyz?verbose"); code != 200 || body != "[+]slack ok\n[+]store ok\nversion test\nok\n" {
		t.Errorf("/readyz?verbose = %d %q", code, body)
	}
	st.Close()
	if code, body := get(t, srv.URL+"/readyz"); code != 503 || !strings.Contains(body, "[-]store failed: the database cannot be read: database not open") {
		t.Errorf("/readyz with the store closed = %d %q", code, body)
	}
	if code, _ := get(t, srv.URL+"/livez"); code != 200 {
		t.Errorf("/livez with the store closed = %d", code)
	}
}
