package bot

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"sigs.k8s.io/cutbot"
)

// Observer is told what the bot does, for its metrics: what happens to cuts (cutbot.Observer)
// and what happens with Slack. Its methods are called from many goroutines and must not block.
type Observer interface {
	cutbot.Observer
	// EnvelopeAcked: an envelope of kind ("slash_commands", "interactive", "events_api") was
	// acknowledged, took after it was read from the socket.
	EnvelopeAcked(kind string, took time.Duration)
	// CommandDone: a command ("cut", "next", ..., or "button" for a button) was answered with
	// outcome "ok", "refused" (not a release manager), "invalid" (bad input) or "failed";
	// took runs from the envelope to the reply's decision (it is called just before the
	// reply is sent).
	CommandDone(command, outcome string, took time.Duration)
	// SlackCall: one Web API call was answered: outcome is "ok", Slack's error code
	// ("channel_not_found", ...), "rate_limited" (a 429), "http_NNN" or "unreachable".
	// waited is how long it waited for its method's budget first.
	SlackCall(method, outcome string, waited time.Duration)
	// Polled: one poll of the cuts with something in flight took this long.
	Polled(took time.Duration)
	// Connected: the Socket Mode connection is up, or not.
	Connected(up bool)
}

type nopObserver struct{ cutbot.NopObserver }

func (nopObserver) EnvelopeAcked(string, time.Duration)       {}
func (nopObserver) CommandDone(string, string, time.Duration) {}
func (nopObserver) SlackCall(string, string, time.Duration)   {}
func (nopObserver) Polled(time.Duration)                      {}
func (nopObserver) Connected(bool)                            {}

// Health is where the bot stands, for health checks.
type Health struct {
	// Connected: the Socket Mode connection is up, so commands reach cutbot.
	Connected bool
	// Started: every cut with work left was handed its lane after the start.
	Started bool
	// Since is when Connected last changed (zero before the first connection).
	Since time.Time
}

// health is the bot's connection state, kept from Socket Mode's events.
type health struct {
	connected atomic.Bool
	since     atomic.Pointer[time.Time]
}

func (h *health) set(up bool, now time.Time) bool {
	if h.connected.Swap(up) == up {
		return false
	}
	h.since.Store(&now)
	return true
}

// Health says whether the bot is connected to Slack and has started its cuts' work.
func (b *Bot) Health() Health {
	out := Health{Connected: b.health.connected.Load()}
	if t := b.health.since.Load(); t != nil {
		out.Since = *t
	}
	select {
	case <-b.started:
		out.Started = true
	default:
	}
	return out
}

// slackOutcome reads the outcome of a Web API call from its answer: Slack answers errors
// with 200 and {"ok":false,"error":"..."}.
func slackOutcome(status int, body []byte) string {
	switch {
	case status == 429:
		return "rate_limited"
	case status < 200 || status > 299:
		return "http_" + strconv.Itoa(status)
	}
	var r struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &r) != nil {
		return "unreadable"
	}
	if r.OK {
		return "ok"
	}
	return errorLabel(r.Error)
}

// errorLabel keeps a Slack error code fit for a metric label: a-z, 0-9 and _, at most 40.
func errorLabel(code string) string {
	var b strings.Builder
	for _, r := range code {
		if b.Len() == 40 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "error"
	}
	return b.String()
}

// setConnected records the connection's state; it reports whether it changed.
func (b *Bot) setConnected(up bool) bool {
	if !b.health.set(up, b.cfg.Clock.Now()) {
		return false
	}
	b.obs.Connected(up)
	return true
}
