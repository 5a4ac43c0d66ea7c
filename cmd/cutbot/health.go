package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"sigs.k8s.io/cutbot/bot"
	"sigs.k8s.io/cutbot/integrations/metrics"
)

// healthSources are what the health checks ask.
type healthSources struct {
	bot     interface{ Health() bot.Health }
	store   interface{ Ping() error }
	metrics *metrics.Metrics
	version string
}

// healthReport is what /healthz answers, as JSON.
type healthReport struct {
	Ready   bool   `json:"ready"`
	Version string `json:"version"`
	Slack   struct {
		Connected bool      `json:"connected"`
		Since     time.Time `json:"since,omitzero"`
	} `json:"slack"`
	// Started: the cuts' unfinished work was handed out after the start.
	Started bool     `json:"started"`
	Store   string   `json:"store"` // "ok", or what is wrong
	Reasons []string `json:"reasons,omitempty"`
}

func (h healthSources) report() healthReport {
	var r healthReport
	r.Version = h.version
	bh := h.bot.Health()
	r.Slack.Connected, r.Slack.Since, r.Started = bh.Connected, bh.Since, bh.Started
	r.Store = "ok"
	if err := h.store.Ping(); err != nil {
		r.Store = err.Error()
		r.Reasons = append(r.Reasons, "the database cannot be read: "+err.Error())
	}
	if !bh.Connected {
		r.Reasons = append(r.Reasons, "not connected to Slack over Socket Mode: commands do not reach cutbot")
	}
	r.Ready = len(r.Reasons) == 0
	return r
}

// handler serves the health checks and the metrics:
//
//	/livez   200 while the process answers (restart it when this fails)
//	/readyz  200 when connected to Slack with the database readable, else 503 and why
//	/healthz the same as JSON, with the version and since when
//	/metrics Prometheus metrics
func (h healthSources) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		r := h.report()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !r.Ready {
			w.WriteHeader(http.StatusServiceUnavailable)
			for _, why := range r.Reasons {
				fmt.Fprintln(w, "not ready:", why)
			}
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		r := h.report()
		w.Header().Set("Content-Type", "application/json")
		if !r.Ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(r)
	})
	mux.Handle("GET /metrics", h.metrics.Handler())
	return mux
}

// serveHTTP listens on addr (so that a port in use stops the start, with the address named)
// and serves the health checks and metrics until ctx ends. The address it listens on is
// logged (addr may end in :0).
func serveHTTP(ctx context.Context, addr string, h healthSources, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("CUTBOT_HTTP_ADDR %s: cannot serve health checks and metrics there: %w", addr, err)
	}
	srv := &http.Server{Handler: h.handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context { return ctx }}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				log.Error("the health and metrics server panicked; it is off until the next start", "panic", p, "stack", string(debug.Stack()))
			}
		}()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("the health and metrics server stopped", "err", err)
		}
	}()
	log.Info("serving health checks and metrics", "addr", ln.Addr().String(), "paths", "/livez /readyz /healthz /metrics")
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		<-done
	}, nil
}
