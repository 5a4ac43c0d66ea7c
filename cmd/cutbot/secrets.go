package main

import (
	"context"
	"log/slog"
	"slices"
	"strings"
)

// Secret is a token. It never prints, formats or logs as itself.
type Secret string

func (s Secret) String() string { return s.redacted() }

// GoString keeps %#v from printing the token.
func (s Secret) GoString() string { return s.redacted() }

// LogValue keeps slog from printing the token.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.redacted()) }

// tokenKinds are the prefixes that say what kind of token a secret is; they are all a
// redacted secret shows of itself.
var tokenKinds = []string{"xapp-", "xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxe-", "github_pat_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_"}

func (s Secret) redacted() string {
	if s == "" {
		return "(unset)"
	}
	for _, k := range tokenKinds {
		if strings.HasPrefix(string(s), k) && len(s) > len(k) {
			return k + "…(redacted)"
		}
	}
	return "…(redacted)"
}

// Reveal returns the token itself, to hand to the client that needs it.
func (s Secret) Reveal() string { return string(s) }

// Secrets returns every secret of the configuration: the one place that knows them all. A
// setting marked Secret in the settings table is one.
func (c *Config) Secrets() []Secret {
	var out []Secret
	for _, s := range settings {
		if !s.Secret {
			continue
		}
		if v := *s.field(c).(*Secret); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// redactor replaces every known secret in a text with its redacted form.
type redactor struct {
	secrets []Secret
	r       *strings.Replacer
}

func newRedactor(secrets []Secret) *redactor {
	var pairs []string
	// Longest first, so that a token that contains another is replaced whole.
	slices.SortFunc(secrets, func(a, b Secret) int { return len(b) - len(a) })
	for _, s := range secrets {
		if len(s) >= 4 {
			pairs = append(pairs, string(s), s.redacted())
		}
	}
	return &redactor{secrets: secrets, r: strings.NewReplacer(pairs...)}
}

func (r *redactor) redact(s string) string {
	if r == nil || len(r.secrets) == 0 {
		return s
	}
	return r.r.Replace(s)
}

// redactingHandler is a slog.Handler that never lets a secret through: whatever a log line
// holds (its message, any attribute, however deep in a group, whatever a LogValuer or an
// error's text says) passes through the redactor first. Secret's own LogValue is the first
// guard; this is the one that does not depend on every caller remembering.
type redactingHandler struct {
	next slog.Handler
	r    *redactor
}

func (h redactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h redactingHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.redact(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h redactingHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.r.redact(v.String()))
	case slog.KindGroup:
		attrs := v.Group()
		clean := make([]any, len(attrs))
		for i, g := range attrs {
			clean[i] = h.attr(g)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindAny:
		return slog.String(a.Key, h.r.redact(v.String()))
	}
	return slog.Attr{Key: a.Key, Value: v}
}

func (h redactingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = h.attr(a)
	}
	return redactingHandler{next: h.next.WithAttrs(clean), r: h.r}
}

func (h redactingHandler) WithGroup(name string) slog.Handler {
	return redactingHandler{next: h.next.WithGroup(name), r: h.r}
}
