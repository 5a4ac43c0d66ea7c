// Package metrics is cutbot's Prometheus side: it observes the bot (bot.Observer), the
// requests cutbot makes to outside services, and serves /metrics. It is the only package that
// imports the Prometheus client.
package metrics

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"sigs.k8s.io/cutbot"
)

// Cuts is what the metrics read from the store when scraped.
type Cuts interface {
	ActiveCuts(ctx context.Context) ([]*cutbot.Cut, error)
}

// Metrics holds cutbot's metrics in a registry of its own.
type Metrics struct {
	reg *prometheus.Registry

	connected      prometheus.Gauge
	ackSeconds     *prometheus.HistogramVec
	commands       *prometheus.CounterVec
	commandSeconds *prometheus.HistogramVec
	slackWrites    *prometheus.CounterVec
	slackReads     *prometheus.CounterVec
	slackWait      *prometheus.HistogramVec
	events         *prometheus.CounterVec
	builds         *prometheus.CounterVec
	effects        *prometheus.CounterVec
	panics         *prometheus.CounterVec
	pollSeconds    prometheus.Histogram
	github         *prometheus.CounterVec
	requests       *prometheus.CounterVec
	requestSeconds *prometheus.HistogramVec
	grpcCalls      *prometheus.CounterVec
}

// New returns cutbot's metrics. version is the build's version (cutbot_build_info); cuts,
// if not nil, is read at each scrape for the gauges of active cuts.
func New(version string, cuts Cuts) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	info := prometheus.NewGauge(prometheus.GaugeOpts{Name: "cutbot_build_info", Help: "cutbot's version; always 1.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": goVersion}})
	info.Set(1)
	f(info)
	m.connected = prometheus.NewGauge(prometheus.GaugeOpts{Name: "cutbot_slack_connected", Help: "1 while the Socket Mode connection to Slack is up."})
	m.ackSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cutbot_envelope_ack_seconds", Help: "Time from reading a Socket Mode envelope to acknowledging it (Slack wants it within 3 s).",
		Buckets: []float64{.0001, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 3}}, []string{"kind"})
	m.commands = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cutbot_commands_total", Help: "Commands and button presses answered, by command and outcome (ok, refused, invalid, failed)."}, []string{"command", "outcome"})
	m.commandSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cutbot_command_duration_seconds", Help: "Time from a command's envelope to its reply.",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}}, []string{"command"})
	m.slackWrites = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cutbot_slack_writes_total", Help: "Slack Web API calls that post or change something (chat.*, views.*), by method and outcome (ok, Slack's error code, rate_limited for a 429, http_NNN, unreachable)."}, []string{"method", "outcome"})
	m.slackReads = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cutbot_slack_reads_total", Help: "The other Slack Web API calls (auth.test, conversations.*, usergroups.*, ...), by method and outcome."}, []string{"method", "outcome"})
	m.slackWait = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cutbot_slack_wait_seconds", Help: "Time a Slack call waited for its method's budget before it was sent.",
		Buckets: []float64{0, .1, .5, 1, 2, 5, 10, 30, 60}}, []string{"method"})
	m.events = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cutbot_cut_events_total", Help: "Changes recorded on cuts, by event."}, []string{"event"})
	m.builds = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cutbot_builds_total", Help: "Builds of the stages that run on Cloud Build (mock-stage, mock-release, nomock-stage, nomock-release) that ended, by stage and result (success, failure, cancelled)."}, []string{"stage", "result"})
	m.effects = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cutbot_effects_total", Help: "Side effects tried (posts, builds, issues, comments), by effect and result (done, failed)."}, []string{"effect", "result"})
	m.panics = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cutbot_recovered_panics_total", Help: "Panics caught and survived, by where they happened; the cut involved is marked for attention."}, []string{"where"})
	m.pollSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cutbot_poll_duration_seconds", Help: "Time one poll of the cuts with something in flight took.",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}})
	m.github = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cutbot_github_requests_total", Help: "Requests to GitHub's API, by route (names and numbers left out) and status code."}, []string{"route", "code"})
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cutbot_outside_requests_total", Help: "HTTP requests to the other outside services (testgrid, prow, dl), by service, route and status code."}, []string{"service", "route", "code"})
	m.requestSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cutbot_outside_request_duration_seconds", Help: "Time HTTP requests to outside services (github included) took, by service.",
		Buckets: prometheus.DefBuckets}, []string{"service"})
	m.grpcCalls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cutbot_cloudbuild_calls_total", Help: "Cloud Build calls, by method and gRPC code."}, []string{"method", "code"})
	for _, c := range []prometheus.Collector{m.connected, m.ackSeconds, m.commands, m.commandSeconds, m.slackWrites, m.slackReads, m.slackWait, m.events, m.builds, m.effects, m.panics, m.pollSeconds, m.github, m.requests, m.requestSeconds, m.grpcCalls} {
		f(c)
	}
	if cuts != nil {
		f(&cutsCollector{cuts: cuts})
	}
	return m
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: nil, Registry: m.reg})
}

// Gather returns the metrics as they stand (tests and check commands read them).
func (m *Metrics) Gather() (map[string]float64, error) {
	families, err := m.reg.Gather()
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, fam := range families {
		for _, metric := range fam.GetMetric() {
			var labels []string
			for _, l := range metric.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			name := fam.GetName()
			if len(labels) > 0 {
				name += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case metric.Counter != nil:
				out[name] = metric.Counter.GetValue()
			case metric.Gauge != nil:
				out[name] = metric.Gauge.GetValue()
			case metric.Histogram != nil:
				out[name+"_count"] = float64(metric.Histogram.GetSampleCount())
			}
		}
	}
	return out, nil
}

// The bot's observations (bot.Observer).

func (m *Metrics) Connected(up bool) {
	if up {
		m.connected.Set(1)
	} else {
		m.connected.Set(0)
	}
}

func (m *Metrics) EnvelopeAcked(kind string, took time.Duration) {
	m.ackSeconds.WithLabelValues(kind).Observe(took.Seconds())
}

func (m *Metrics) CommandDone(command, outcome string, took time.Duration) {
	m.commands.WithLabelValues(command, outcome).Inc()
	m.commandSeconds.WithLabelValues(command).Observe(took.Seconds())
}

func (m *Metrics) SlackCall(method, outcome string, waited time.Duration) {
	if strings.HasPrefix(method, "chat.") || strings.HasPrefix(method, "views.") {
		m.slackWrites.WithLabelValues(method, outcome).Inc()
	} else {
		m.slackReads.WithLabelValues(method, outcome).Inc()
	}
	m.slackWait.WithLabelValues(method).Observe(waited.Seconds())
}

func (m *Metrics) Polled(took time.Duration) { m.pollSeconds.Observe(took.Seconds()) }

func (m *Metrics) Recovered(where string) { m.panics.WithLabelValues(where).Inc() }

func (m *Metrics) CutChanged(_ *cutbot.Cut, events []cutbot.Event) {
	for _, e := range events {
		m.events.WithLabelValues(typeName(e)).Inc()
		build := func(stage cutbot.StageKind, result string) {
			if stage.IsBuild() {
				m.builds.WithLabelValues(string(stage), result).Inc()
			}
		}
		switch e := e.(type) {
		case cutbot.StageSucceeded:
			build(e.Stage, "success")
		case cutbot.StageFailed:
			build(e.Stage, "failure")
		case cutbot.StageCancelled:
			build(e.Stage, "cancelled")
		}
	}
}

func (m *Metrics) EffectCarried(_ *cutbot.Cut, e cutbot.Effect, err error) {
	result := "done"
	if err != nil {
		result = "failed"
	}
	m.effects.WithLabelValues(typeName(e), result).Inc()
}

// typeName is a value's type without its package: StageSucceeded, SubmitBuild.
func typeName(v any) string {
	s := fmt.Sprintf("%T", v)
	return s[strings.LastIndex(s, ".")+1:]
}

// cutsCollector reads the active cuts at each scrape.
type cutsCollector struct{ cuts Cuts }

var (
	activeDesc    = prometheus.NewDesc("cutbot_active_cuts", "Cuts in progress.", nil, nil)
	attentionDesc = prometheus.NewDesc("cutbot_cuts_needing_attention", "Cuts in progress that cutbot stopped on and a person must look at (an internal error).", nil, nil)
	pendingDesc   = prometheus.NewDesc("cutbot_pending_effects", "Side effects that cuts in progress intend and cutbot has not done yet.", nil, nil)
)

func (c *cutsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- activeDesc
	ch <- attentionDesc
	ch <- pendingDesc
}

func (c *cutsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cuts, err := c.cuts.ActiveCuts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(activeDesc, err)
		return
	}
	attention, pending := 0, 0
	for _, cut := range cuts {
		if cut.Attention != "" {
			attention++
		}
		for _, e := range cut.Journal {
			if cut.Intends(e.Key()) {
				pending++
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(activeDesc, prometheus.GaugeValue, float64(len(cuts)))
	ch <- prometheus.MustNewConstMetric(attentionDesc, prometheus.GaugeValue, float64(attention))
	ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(pending))
}

var goVersion = runtime.Version()
