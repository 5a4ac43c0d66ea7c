package main

import (
	"context"
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

// check is one readiness check: its name and, if it fails, why.
type check struct {
	name string
	err  error
}

// checks are what /readyz asks: the Socket Mode connection and the database.
func (h healthSources) checks() []check {
	bh := h.bot.Health()
	var slack error
	if !bh.Connected {
		slack = errors.New("not connected to Slack over Socket Mode: commands do not reach cutbot")
	}
	var db error
	if err := h.store.Ping(); err != nil {
		db = fmt.Errorf("the database cannot be read: %w", err)
	}
	return []check{{"slack", slack}, {"store", db}}
}

// handler serves the health checks and the metrics, in Kubernetes' conventions:
//
//	/livez   200 while the process answers (restart it when this fails); /healthz is an alias
//	/readyz  200 when connected to Slack with the database readable, else 503 and why;
//	         ?verbose lists every check, as the Kubernetes API server's does
//	/metrics Prometheus metrics
func (h healthSources) handler() http.Handler {
	mux := http.NewServeMux()
	live := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	}
	mux.HandleFunc("GET /livez", live)
	mux.HandleFunc("GET /healthz", live)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		checks := h.checks()
		ready := true
		for _, c := range checks {
			ready = ready && c.err == nil
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_, verbose := r.URL.Query()["verbose"]
		for _, c := range checks {
			switch {
			case c.err != nil:
				fmt.Fprintf(w, "[-]%s failed: %v\n", c.name, c.err)
			case verbose:
				fmt.Fprintf(w, "[+]%s ok\n", c.name)
			}
		}
		if verbose {
			fmt.Fprintf(w, "version %s\n", h.version)
		}
		if ready {
			fmt.Fprintln(w, "ok")
		} else {
			fmt.Fprintln(w, "readyz check failed")
		}
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
