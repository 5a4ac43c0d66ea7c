package testgrid

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// Fake is a fake testgrid serving dashboard summaries the test sets. It records the
// dashboards asked for.
type Fake struct {
	srv *httptest.Server

	mu         sync.Mutex
	dashboards map[string]map[string]string // dashboard → job → overall_status
	asked      []string
}

// NewFake starts a fake testgrid.
func NewFake() *Fake {
	f := &Fake{dashboards: map[string]map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// URL is the base URL, for CUTBOT_TESTGRID_URL.
func (f *Fake) URL() string { return f.srv.URL + "/" }

// Close stops the server.
func (f *Fake) Close() { f.srv.Close() }

// Set sets a dashboard's jobs and their overall status (PASSING, FAILING, FLAKY, ...).
func (f *Fake) Set(dashboard string, jobs map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cp := map[string]string{}
	for k, v := range jobs {
		cp[k] = v
	}
	f.dashboards[dashboard] = cp
}

// Asked lists the dashboards whose summary was read.
func (f *Fake) Asked() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.asked...)
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutSuffix(strings.Trim(r.URL.Path, "/"), "/summary")
	f.mu.Lock()
	jobs, known := f.dashboards[name]
	f.asked = append(f.asked, name)
	f.mu.Unlock()
	if !ok || !known {
		http.NotFound(w, r)
		return
	}
	out := map[string]any{}
	for job, st := range jobs {
		out[job] = map[string]any{"overall_status": st, "dashboard_name": name, "alert": "", "status": st + " status"}
	}
	json.NewEncoder(w).Encode(out)
}
