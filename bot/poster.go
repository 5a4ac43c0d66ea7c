package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// ShownStore remembers what each message was last set to show (a digest of its text and
// blocks), so that after a restart only the messages that changed while cutbot was down are
// edited.
type ShownStore interface {
	Shown(channel, ts string) (digest string, ok bool)
	SetShown(channel, ts, digest string) error
}

// poster is the one way cutbot writes to Slack, for the whole workspace. Posts wait for
// Slack's answer (the caller needs the timestamp). Edits are asked for and sent by the poster
// on its own, one at a time, the most urgent first: while an edit of a message waits, a newer
// one replaces it (only the latest text matters), and an edit that would not change what the
// message shows is not sent. Nobody waits for edits: not a command's reply, not a poll. The
// Slack client's transport (pacer) spends each method's budget; a 429 that still gets
// through makes the poster wait out Retry-After and send the latest text again.
type poster struct {
	api   *slack.Client
	pace  *pacer
	log   *slog.Logger
	sleep func(context.Context, time.Duration) error
	shown ShownStore // may be nil
	ctx   context.Context

	mu      sync.Mutex
	pending map[msgRef]edit
	sent    map[msgRef]string // digest of what each message shows, as far as this process knows
	seq     uint64
	running bool
	idle    chan struct{} // closed while no edit is pending or in flight
	stats   posterStats
}

type msgRef struct{ channel, ts string }

type content struct {
	text   string
	blocks []slack.Block
	digest string // of text and blocks as sent
}

type edit struct {
	content
	prio Priority
	seq  uint64
}

// posterStats count what the poster did.
type posterStats struct {
	Edits, Skipped, Coalesced, RateLimited, Posts int
}

func newPoster(api *slack.Client, pace *pacer, log *slog.Logger, sleep func(context.Context, time.Duration) error, shown ShownStore) *poster {
	if sleep == nil {
		sleep = realSleep
	}
	idle := make(chan struct{})
	close(idle)
	return &poster{api: api, pace: pace, log: log, sleep: sleep, shown: shown, ctx: context.Background(), idle: idle,
		pending: map[msgRef]edit{}, sent: map[msgRef]string{}}
}

func realSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func newContent(text string, blocks []slack.Block) content {
	raw, _ := json.Marshal(blocks)
	sum := sha256.Sum256([]byte(text + "\x00" + string(raw)))
	return content{text: text, blocks: blocks, digest: hex.EncodeToString(sum[:16])}
}

// showing is the digest of what ref shows, as far as known. Call with p.mu held.
func (p *poster) showing(ref msgRef) string {
	d, ok := p.sent[ref]
	if !ok && p.shown != nil {
		d, _ = p.shown.Shown(ref.channel, ref.ts)
		p.sent[ref] = d
	}
	return d
}

// remember records what ref shows now, in memory and on disk.
func (p *poster) remember(ref msgRef, digest string) {
	p.mu.Lock()
	p.sent[ref] = digest
	p.mu.Unlock()
	if p.shown != nil {
		if err := p.shown.SetShown(ref.channel, ref.ts, digest); err != nil {
			p.log.Warn("remember what a message shows", "channel", ref.channel, "ts", ref.ts, "err", err)
		}
	}
}

// post posts a message at priority prio and waits for Slack's answer.
func (p *poster) post(ctx context.Context, prio Priority, channel string, c content, opts ...slack.MsgOption) (string, string, error) {
	opts = append([]slack.MsgOption{slack.MsgOptionText(c.text, false), slack.MsgOptionBlocks(c.blocks...)}, opts...)
	for try := 0; ; try++ {
		ch, ts, err := p.api.PostMessageContext(withPriority(ctx, prio), channel, opts...)
		var rl *slack.RateLimitedError
		if errors.As(err, &rl) && try < 3 {
			p.count(func(s *posterStats) { s.RateLimited++ })
			if err := p.sleep(ctx, rl.RetryAfter); err != nil {
				return "", "", err
			}
			continue
		}
		if err != nil {
			return "", "", err
		}
		p.remember(msgRef{ch, ts}, c.digest)
		p.count(func(s *posterStats) { s.Posts++ })
		return ch, ts, nil
	}
}

// update asks for the message ref to show c. It returns at once.
func (p *poster) update(ref msgRef, c content, prio Priority) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, waiting := p.pending[ref]; waiting {
		p.stats.Coalesced++
		prio = min(prio, old.prio) // an urgent change stays urgent when a newer text replaces it
	} else if p.showing(ref) == c.digest {
		p.stats.Skipped++
		return
	}
	p.seq++
	p.pending[ref] = edit{content: c, prio: prio, seq: p.seq}
	if !p.running {
		p.running = true
		p.idle = make(chan struct{})
		go p.edits()
	}
}

// next takes the most urgent pending edit, oldest first. Call with p.mu held.
func (p *poster) next() (msgRef, edit, bool) {
	var best msgRef
	var e edit
	found := false
	for ref, c := range p.pending {
		if !found || c.prio < e.prio || c.prio == e.prio && c.seq < e.seq {
			best, e, found = ref, c, true
		}
	}
	return best, e, found
}

func (p *poster) urgent() (Priority, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, e, ok := p.next()
	return e.prio, ok
}

// edits sends pending edits until there are none, one at a time.
func (p *poster) edits() {
	defer func() {
		if r := recover(); r != nil {
			p.log.Error("the Slack edit loop panicked; edits go on", "panic", r, "stack", string(debug.Stack()))
			p.mu.Lock()
			p.running = false
			go p.restart()
			p.mu.Unlock()
		}
	}()
	failures := map[msgRef]int{}
	for {
		prio, ok := p.urgent()
		ctx := p.ctx
		if ok && p.pace != nil {
			// Take chat.update's next turn first, then give it to whatever is most urgent
			// by then: a ✅ that arrives while a step's edit waits goes first.
			if b := p.pace.budget("chat.update", ""); b != nil {
				if _, err := b.wait(ctx, prio); err != nil {
					return
				}
				ctx = prepaid(ctx)
			}
		}
		p.mu.Lock()
		ref, e, ok := p.next()
		if !ok {
			p.running = false
			close(p.idle)
			p.mu.Unlock()
			return
		}
		delete(p.pending, ref)
		same := p.showing(ref) == e.digest
		if same {
			p.stats.Skipped++
		}
		p.mu.Unlock()
		if same {
			continue
		}
		_, _, _, err := p.api.UpdateMessageContext(withPriority(ctx, e.prio), ref.channel, ref.ts, slack.MsgOptionText(e.text, false), slack.MsgOptionBlocks(e.blocks...))
		var rl *slack.RateLimitedError
		switch {
		case err == nil:
			delete(failures, ref)
			p.remember(ref, e.digest)
			p.count(func(s *posterStats) { s.Edits++ })
		case errors.As(err, &rl):
			p.count(func(s *posterStats) { s.RateLimited++ })
			p.requeue(ref, e)
			p.sleep(p.ctx, rl.RetryAfter)
		default:
			failures[ref]++
			p.log.Error("chat.update failed", "channel", ref.channel, "ts", ref.ts, "attempt", failures[ref], "err", err)
			if failures[ref] < 3 {
				p.requeue(ref, e)
				p.sleep(p.ctx, time.Duration(failures[ref])*time.Second)
			}
		}
	}
}

// restart starts the edit loop again after a panic, if edits wait.
func (p *poster) restart() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.pending) > 0 && !p.running {
		p.running = true
		go p.edits()
		return
	}
	if !p.running {
		select {
		case <-p.idle:
		default:
			close(p.idle)
		}
	}
}

// requeue puts e back unless a newer edit of the message arrived meanwhile.
func (p *poster) requeue(ref msgRef, e edit) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, newer := p.pending[ref]; !newer {
		p.pending[ref] = e
	}
}

// flush waits until every edit asked for so far has been sent (or given up on). Only tests,
// the sandbox and shutdown wait for edits.
func (p *poster) flush(ctx context.Context) error {
	p.mu.Lock()
	idle := p.idle
	p.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("slack edits still pending: %w", ctx.Err())
	}
}

// quiet reports whether no edit is pending or in flight.
func (p *poster) quiet() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.running && len(p.pending) == 0
}

func (p *poster) count(f func(*posterStats)) {
	p.mu.Lock()
	f(&p.stats)
	p.mu.Unlock()
}

func (p *poster) statsNow() posterStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}
