package bot

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limit is the pace cutbot keeps for one Slack Web API method: so many calls a minute, with a
// burst. Slack's published tiers are per method, app and workspace, chat.postMessage's about
// one message a second in each channel.
type Limit struct {
	PerMinute float64
	Burst     int
}

// Unlimited does not pace at all: for a Slack emulator that has no limits.
var Unlimited = Limit{PerMinute: -1}

// SlackLimits is the pace cutbot keeps by default: a little under Slack's published tiers
// (https://api.slack.com/docs/rate-limits), so that it spends its budget rather than
// running into 429s. "chat.postMessage" is per channel; methods not listed are not paced.
func SlackLimits() map[string]Limit {
	tier2 := Limit{PerMinute: 18, Burst: 3}
	tier3 := Limit{PerMinute: 45, Burst: 8}
	tier4 := Limit{PerMinute: 90, Burst: 15}
	return map[string]Limit{
		"chat.postMessage":      {PerMinute: 60, Burst: 2}, // in each channel
		"chat.update":           tier3,
		"chat.postEphemeral":    tier4,
		"chat.getPermalink":     tier4,
		"conversations.history": tier3,
		"conversations.replies": tier3,
		"conversations.info":    tier3,
		"usergroups.list":       tier2,
		"usergroups.users.list": tier2,
		"users.info":            tier4,
		"views.publish":         tier4,
		"views.open":            tier4,
		"views.push":            tier4,
		"views.update":          tier4,
		"auth.test":             tier4,
	}
}

// Priority orders the calls waiting for one method's budget.
type Priority int

// The priorities, most urgent first.
const (
	// PriorityReply is what answers the person who just acted.
	PriorityReply Priority = iota
	// PriorityOutcome is a stage's outcome on its line: ✅, ❌, cancelled.
	PriorityOutcome
	// PriorityProgress is where a cut stands: its thread's parent, a stage's line when the
	// stage starts, a confirmation, a gate's result.
	PriorityProgress
	// PriorityDecoration is the rest: a build's step, notes, the plan.
	PriorityDecoration
	priorities
)

type priorityKey struct{}

type prepaidKey struct{}

// prepaid marks a call whose caller already took the method's turn from its budget.
func prepaid(ctx context.Context) context.Context { return context.WithValue(ctx, prepaidKey{}, true) }

// withPriority marks the Slack calls made with ctx.
func withPriority(ctx context.Context, p Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

func priorityOf(ctx context.Context) Priority {
	if p, ok := ctx.Value(priorityKey{}).(Priority); ok {
		return p
	}
	return PriorityProgress
}

// pacer is the Slack client's transport: every Web API call, whoever makes it, waits for its
// method's budget (a token bucket from golang.org/x/time/rate), the most urgent caller first.
// A 429 still pauses that method for Retry-After and sends the call again, up to three
// times, so callers rarely see one. Calls outside the Web API (response_url replies) pass.
type pacer struct {
	next   http.RoundTripper
	api    string // the Web API base URL's path, e.g. /api/
	limits map[string]Limit
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error
	log    *slog.Logger
	obs    Observer

	mu      sync.Mutex
	budgets map[string]*budget
	stats   pacerStats
}

type pacerStats struct {
	Calls, RateLimited, Retried int
	Waited                      time.Duration
}

func newPacer(next http.RoundTripper, apiURL string, limits map[string]Limit, now func() time.Time, sleep func(context.Context, time.Duration) error, log *slog.Logger, obs Observer) *pacer {
	if next == nil {
		next = http.DefaultTransport
	}
	path := "/api/"
	if u, err := url.Parse(apiURL); err == nil {
		path = u.Path
	}
	if obs == nil {
		obs = nopObserver{}
	}
	return &pacer{next: next, api: path, limits: limits, now: now, sleep: sleep, log: log, obs: obs, budgets: map[string]*budget{}}
}

// budget returns the budget of a method (in a channel, for chat.postMessage), or nil.
func (p *pacer) budget(method, channel string) *budget {
	l, ok := p.limits[method]
	if !ok {
		return nil
	}
	key := method
	if method == "chat.postMessage" {
		key += "/" + channel
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.budgets[key]
	if b == nil {
		every := rate.Limit(l.PerMinute / 60)
		if l.PerMinute < 0 {
			every = rate.Inf // no pace, but a 429 still pauses the method
		}
		b = &budget{lim: rate.NewLimiter(every, max(l.Burst, 1)), now: p.now, sleep: p.sleep}
		p.budgets[key] = b
	}
	return b
}

func (p *pacer) RoundTrip(req *http.Request) (*http.Response, error) {
	method, ok := strings.CutPrefix(req.URL.Path, p.api)
	if !ok || method == "" {
		return p.next.RoundTrip(req)
	}
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	b := p.budget(method, channelOf(req, body))
	ctx := req.Context()
	paid := ctx.Value(prepaidKey{}) != nil
	for try := 0; ; try++ {
		var waited time.Duration
		if b != nil && !(paid && try == 0) {
			var err error
			if waited, err = b.wait(ctx, priorityOf(ctx)); err != nil {
				return nil, err
			}
			p.count(func(s *pacerStats) { s.Waited += waited })
		}
		r := req.Clone(ctx)
		if body != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		}
		resp, err := p.next.RoundTrip(r)
		p.count(func(s *pacerStats) { s.Calls++ })
		if err != nil {
			p.obs.SlackCall(method, "unreachable", waited)
			return resp, err
		}
		if resp.StatusCode != http.StatusTooManyRequests {
			// The answer is read here to tell Slack's errors, which come with 200; Web API
			// answers are small.
			answer, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			resp.Body = io.NopCloser(bytes.NewReader(answer))
			if rerr != nil {
				p.obs.SlackCall(method, "unreachable", waited)
				return nil, rerr
			}
			p.obs.SlackCall(method, slackOutcome(resp.StatusCode, answer), waited)
			return resp, nil
		}
		p.obs.SlackCall(method, "rate_limited", waited)
		wait := retryAfter(resp)
		p.count(func(s *pacerStats) { s.RateLimited++ })
		p.log.Warn("slack rate limit; waiting", "method", method, "retry_after", wait)
		if try == 3 || b == nil {
			return resp, nil // slack-go turns it into a RateLimitedError
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		b.pause(wait)
		p.count(func(s *pacerStats) { s.Retried++ })
	}
}

func (p *pacer) count(f func(*pacerStats)) {
	p.mu.Lock()
	f(&p.stats)
	p.mu.Unlock()
}

func (p *pacer) statsNow() pacerStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// channelOf reads the channel a call is about from its form body or query.
func channelOf(req *http.Request, body []byte) string {
	if ch := req.URL.Query().Get("channel"); ch != "" {
		return ch
	}
	if strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if form, err := url.ParseQuery(string(body)); err == nil {
			return form.Get("channel")
		}
	}
	return ""
}

func retryAfter(resp *http.Response) time.Duration {
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return time.Second
}

// budget hands out one method's tokens, the most urgent waiter first, in arrival order
// within a priority. A waiter's priority is asked again each time a token is handed out, so
// a waiter whose work became more urgent while it waited moves up.
type budget struct {
	lim   *rate.Limiter
	now   func() time.Time
	sleep func(context.Context, time.Duration) error

	mu      sync.Mutex
	waiters []*waiter
	seq     uint64
	serving bool
	until   time.Time // paused by a 429 until then
}

type waiter struct {
	prio  func() Priority
	seq   uint64
	ready chan struct{}
}

// wait blocks until the caller may make one call at priority p, and says how long it waited.
func (b *budget) wait(ctx context.Context, p Priority) (time.Duration, error) {
	return b.waitFor(ctx, func() Priority { return p })
}

// waitFor is wait with a priority that may change while the caller waits.
func (b *budget) waitFor(ctx context.Context, prio func() Priority) (time.Duration, error) {
	start := b.now()
	b.mu.Lock()
	b.seq++
	w := &waiter{prio: prio, seq: b.seq, ready: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	if !b.serving {
		b.serving = true
		go b.serve()
	}
	b.mu.Unlock()
	select {
	case <-w.ready:
		return b.now().Sub(start), nil
	case <-ctx.Done():
		b.mu.Lock()
		defer b.mu.Unlock()
		for i, o := range b.waiters {
			if o == w {
				b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
				return 0, fmt.Errorf("waiting for Slack's rate limit: %w", ctx.Err())
			}
		}
		return b.now().Sub(start), nil // served just as ctx ended: the call may go
	}
}

// serve grants tokens while anyone waits: it takes the next token when the limiter has one,
// and gives it to whoever is most urgent at that moment.
func (b *budget) serve() {
	defer func() {
		if p := recover(); p != nil { // never expected; a stuck budget would stall every call of the method
			b.mu.Lock()
			b.serving = false
			b.mu.Unlock()
			go b.serve()
		}
	}()
	for {
		b.mu.Lock()
		if len(b.waiters) == 0 {
			b.serving = false
			b.mu.Unlock()
			return
		}
		until := b.until
		pause := until.Sub(b.now())
		b.mu.Unlock()
		if pause > 0 {
			b.sleep(context.Background(), pause)
			b.mu.Lock()
			if b.until.Equal(until) {
				b.until = time.Time{} // waited out (unless another 429 came meanwhile)
			}
			b.mu.Unlock()
			continue
		}
		now := b.now()
		if d := b.lim.ReserveN(now, 1).DelayFrom(now); d > 0 {
			b.sleep(context.Background(), d)
		}
		b.mu.Lock()
		if len(b.waiters) > 0 {
			best := 0
			bestPrio := b.waiters[0].prio()
			for i, w := range b.waiters[1:] {
				if p := w.prio(); p < bestPrio {
					best, bestPrio = i+1, p
				}
			}
			close(b.waiters[best].ready)
			b.waiters = append(b.waiters[:best], b.waiters[best+1:]...)
		}
		b.mu.Unlock()
	}
}

// pause holds every call of the method back for d (a 429's Retry-After).
func (b *budget) pause(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if until := b.now().Add(d); until.After(b.until) {
		b.until = until
	}
}
