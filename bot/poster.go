package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// poster is the one way cutbot writes to Slack. Posts are synchronous (the caller needs the
// timestamp). Edits are asynchronous and coalesced: while an edit of a message is on its way,
// newer edits of the same message replace each other, so only the latest text is sent next,
// and an edit identical to what the message already shows is not sent at all. A 429 with
// Retry-After pauses every write for that long; the edit it refused is sent again afterwards,
// unless a newer one took its place. Nothing but the latest text of a message matters, so
// nothing is lost.
type poster struct {
	api   *slack.Client
	log   *slog.Logger
	sleep func(context.Context, time.Duration) error
	ctx   context.Context // edits outlive the request that asked for them

	gate  sync.Mutex    // held while waiting out a rate limit, so writers queue behind it
	pause time.Duration // how long the next writer must wait first

	mu      sync.Mutex
	idle    chan struct{} // closed when no edit is pending or in flight
	pending map[msgRef]content
	sent    map[msgRef]string
	running map[msgRef]bool
	stats   posterStats
}

type msgRef struct{ channel, ts string }

type content struct {
	text   string
	blocks []slack.Block
	key    string // text and blocks as sent, to compare
}

// posterStats count what the poster did.
type posterStats struct {
	Edits, Skipped, Coalesced, RateLimited, Posts int
}

func newPoster(api *slack.Client, log *slog.Logger, sleep func(context.Context, time.Duration) error) *poster {
	if sleep == nil {
		sleep = realSleep
	}
	idle := make(chan struct{})
	close(idle)
	return &poster{api: api, log: log, sleep: sleep, ctx: context.Background(), idle: idle,
		pending: map[msgRef]content{}, sent: map[msgRef]string{}, running: map[msgRef]bool{}}
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
	return content{text: text, blocks: blocks, key: text + "\x00" + string(raw)}
}

// waitTurn waits out a rate limit if one is in force.
func (p *poster) waitTurn(ctx context.Context) error {
	p.gate.Lock()
	defer p.gate.Unlock()
	if p.pause <= 0 {
		return nil
	}
	d := p.pause
	p.pause = 0
	return p.sleep(ctx, d)
}

func (p *poster) limited(err error) bool {
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) {
		return false
	}
	p.gate.Lock()
	p.pause = max(p.pause, rl.RetryAfter)
	p.gate.Unlock()
	p.mu.Lock()
	p.stats.RateLimited++
	p.mu.Unlock()
	p.log.Warn("slack rate limit; waiting", "retry_after", rl.RetryAfter)
	return true
}

// post posts a message, waiting out rate limits (up to 5 times).
func (p *poster) post(ctx context.Context, channel string, c content, opts ...slack.MsgOption) (string, string, error) {
	opts = append([]slack.MsgOption{slack.MsgOptionText(c.text, false), slack.MsgOptionBlocks(c.blocks...)}, opts...)
	for try := 0; ; try++ {
		if err := p.waitTurn(ctx); err != nil {
			return "", "", err
		}
		ch, ts, err := p.api.PostMessageContext(ctx, channel, opts...)
		if err != nil && try < 5 && p.limited(err) {
			continue
		}
		if err != nil {
			return "", "", err
		}
		p.mu.Lock()
		p.sent[msgRef{ch, ts}] = c.key
		p.stats.Posts++
		p.mu.Unlock()
		return ch, ts, nil
	}
}

// update asks for a message to show c. It returns at once.
func (p *poster) update(ref msgRef, c content) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.running[ref] && p.sent[ref] == c.key {
		p.stats.Skipped++
		return
	}
	if _, waiting := p.pending[ref]; waiting {
		p.stats.Coalesced++
	}
	p.pending[ref] = c
	if !p.running[ref] {
		if len(p.running) == 0 {
			p.idle = make(chan struct{})
		}
		p.running[ref] = true
		go p.drain(ref)
	}
}

func (p *poster) drain(ref msgRef) {
	failures := 0
	for {
		p.mu.Lock()
		c, ok := p.pending[ref]
		if !ok {
			delete(p.running, ref)
			if len(p.running) == 0 {
				close(p.idle)
			}
			p.mu.Unlock()
			return
		}
		delete(p.pending, ref)
		same := p.sent[ref] == c.key
		if same {
			p.stats.Skipped++
		}
		p.mu.Unlock()
		if same {
			continue
		}
		if err := p.waitTurn(p.ctx); err != nil {
			return
		}
		_, _, _, err := p.api.UpdateMessageContext(p.ctx, ref.channel, ref.ts, slack.MsgOptionText(c.text, false), slack.MsgOptionBlocks(c.blocks...))
		switch {
		case err == nil:
			failures = 0
			p.mu.Lock()
			p.sent[ref] = c.key
			p.stats.Edits++
			p.mu.Unlock()
		case p.limited(err):
			p.requeue(ref, c)
		default:
			failures++
			p.log.Error("chat.update failed", "channel", ref.channel, "ts", ref.ts, "attempt", failures, "err", err)
			if failures < 3 {
				p.gate.Lock()
				p.pause = max(p.pause, time.Duration(failures)*time.Second)
				p.gate.Unlock()
				p.requeue(ref, c)
			}
		}
	}
}

// requeue puts c back unless a newer edit of the message arrived meanwhile.
func (p *poster) requeue(ref msgRef, c content) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, newer := p.pending[ref]; !newer {
		p.pending[ref] = c
	}
}

// flush waits until every edit asked for so far has been sent (or given up on).
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

func (p *poster) statsNow() posterStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}
