package prow

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// Fake is a fake prow serving prowjobs.js with the runs a test adds.
type Fake struct {
	srv *httptest.Server

	mu    sync.Mutex
	items []map[string]any
	asked int
}

// NewFake starts a fake prow.
func NewFake() *Fake {
	f := &Fake{}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// URL is the base URL, for CUTBOT_PROW_URL.
func (f *Fake) URL() string { return f.srv.URL + "/" }

// Close stops the server.
func (f *Fake) Close() { f.srv.Close() }

// Add records a run of job on baseSHA in state (triggered, pending, success, failure).
func (f *Fake) Add(job, baseSHA, state, url string, start time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.items = append(f.items, map[string]any{
		"spec":   map[string]any{"job": job, "type": "postsubmit", "refs": map[string]any{"org": "kubernetes", "repo": "k8s.io", "base_ref": "main", "base_sha": baseSHA}},
		"status": map[string]any{"state": state, "url": url, "startTime": start.Format(time.RFC3339)},
	})
}

// Asked is how many times the job list was read.
func (f *Fake) Asked() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.asked
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/prowjobs.js" {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	f.asked++
	items := append([]map[string]any(nil), f.items...)
	f.mu.Unlock()
	json.NewEncoder(w).Encode(map[string]any{"items": items})
}
