package slackfake

import (
	"math"
	"time"
)

// Tier is a rate limit as Slack publishes it: so many requests a minute per method, app and
// workspace, with some burst on top (https://api.slack.com/docs/rate-limits). The fake models
// it as a token bucket: Burst requests at once, refilled at PerMinute a minute.
type Tier struct {
	PerMinute float64
	Burst     float64
}

// Slack's published tiers, with the bursts the fake allows (Slack says only "occasional" or
// "sporadic" bursts; these are the fake's choice, kept small so a client that relies on a
// burst finds out).
var (
	Tier1 = Tier{PerMinute: 1, Burst: 2}
	Tier2 = Tier{PerMinute: 20, Burst: 5}
	Tier3 = Tier{PerMinute: 50, Burst: 10}
	Tier4 = Tier{PerMinute: 100, Burst: 20}
	// PostPerChannel is chat.postMessage's special limit: about one message a second in each
	// channel, with short bursts.
	PostPerChannel = Tier{PerMinute: 60, Burst: 3}
)

// RateLimits are the limits the fake enforces when asked to: each method's tier, and
// chat.postMessage's per-channel limit. A request over its limit gets HTTP 429 with error
// "ratelimited" and a Retry-After of the seconds until a token is back, as Slack answers.
type RateLimits struct {
	Methods map[string]Tier
	// PostPerChannel applies to chat.postMessage in each channel, on top of Methods.
	PostPerChannel Tier
}

// SlackRateLimits are the tiers Slack documents for the methods cutbot calls.
func SlackRateLimits() RateLimits {
	return RateLimits{
		Methods: map[string]Tier{
			"chat.update":           Tier3,
			"chat.postEphemeral":    Tier4,
			"chat.getPermalink":     Tier4,
			"conversations.history": Tier3,
			"conversations.replies": Tier3,
			"conversations.info":    Tier3,
			"usergroups.list":       Tier2,
			"usergroups.users.list": Tier2,
			"users.info":            Tier4,
			"views.publish":         Tier4,
			"views.open":            Tier4,
			"views.push":            Tier4,
			"views.update":          Tier4,
			"auth.test":             Tier4,
		},
		PostPerChannel: PostPerChannel,
	}
}

type bucket struct {
	tokens float64
	at     time.Time
}

// take spends a token of tier from the bucket at now, or says how long until one is back.
func (b *bucket) take(t Tier, now time.Time) (ok bool, wait time.Duration) {
	rate := t.PerMinute / 60 // tokens a second
	if b.at.IsZero() {
		b.tokens, b.at = t.Burst, now
	}
	b.tokens = math.Min(t.Burst, b.tokens+now.Sub(b.at).Seconds()*rate)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / rate * float64(time.Second))
}

// EnforceRateLimits makes the fake refuse requests over limits, as Slack does; until it is
// called the fake answers every request (tests that are not about rate limits stay fast).
// The zero RateLimits turns enforcement off again.
func (s *Server) EnforceRateLimits(l RateLimits) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = l
	s.buckets = map[string]*bucket{}
}

// overLimit reports whether a call of method (in channel) is over its limit now, and the
// Retry-After to answer. Call with s.mu held.
func (s *Server) overLimit(method, channel string, now time.Time) (bool, time.Duration) {
	check := func(key string, t Tier) (bool, time.Duration) {
		if t.PerMinute <= 0 {
			return false, 0
		}
		b := s.buckets[key]
		if b == nil {
			b = &bucket{}
			s.buckets[key] = b
		}
		ok, wait := b.take(t, now)
		return !ok, wait
	}
	if method == "chat.postMessage" && channel != "" {
		if over, wait := check(method+"/"+channel, s.limits.PostPerChannel); over {
			return true, wait
		}
	}
	return check(method, s.limits.Methods[method])
}
