// Package testgrid reads testgrid dashboard summaries, as krel testgridshot does: the
// release-blocking dashboard of a branch must have no failing job before the no-mock stage.
package testgrid

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"sigs.k8s.io/cutbot"
)

// DefaultURL is testgrid.
const DefaultURL = "https://testgrid.k8s.io/"

// Client is a cutbot.TestGrid over HTTP.
type Client struct {
	BaseURL string
	HTTP    *http.Client
}

var _ cutbot.TestGrid = (*Client)(nil)

// Dashboard is the release-blocking dashboard of a branch: sig-release-1.31-blocking, or
// sig-release-master-blocking.
func Dashboard(branch string) string {
	return "sig-release-" + strings.TrimPrefix(branch, "release-") + "-blocking"
}

func (c *Client) base() string {
	b := c.BaseURL
	if b == "" {
		b = DefaultURL
	}
	if !strings.HasSuffix(b, "/") {
		b += "/"
	}
	return b
}

// Summary returns the dashboard's page and its jobs (tabs) with their overall status.
func (c *Client) Summary(ctx context.Context, dashboard string) (string, []cutbot.TestGridJob, error) {
	page := c.base() + dashboard
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, page+"/summary", nil)
	if err != nil {
		return "", nil, err
	}
	client := c.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return page, nil, cutbot.Errorf(cutbot.EUNAVAILABLE, "could not reach testgrid for %s: %v", dashboard, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return page, nil, cutbot.Errorf(cutbot.ENOTFOUND, "testgrid has no dashboard %s (%s)", dashboard, page)
	case resp.StatusCode != http.StatusOK:
		return page, nil, cutbot.Errorf(cutbot.EUNAVAILABLE, "testgrid answered %s for %s", resp.Status, dashboard)
	}
	var summary map[string]struct {
		OverallStatus string `json:"overall_status"`
	}
	if err := json.Unmarshal(raw, &summary); err != nil {
		return page, nil, fmt.Errorf("testgrid summary of %s is not JSON: %w", dashboard, err)
	}
	jobs := make([]cutbot.TestGridJob, 0, len(summary))
	for name, tab := range summary {
		jobs = append(jobs, cutbot.TestGridJob{Name: name, Status: tab.OverallStatus, URL: page + "#" + url.PathEscape(name)})
	}
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].Name < jobs[j].Name })
	return page, jobs, nil
}

// Failing reports whether a job's status blocks a release: FAILING or BROKEN (FLAKY does not).
func Failing(status string) bool { return status == "FAILING" || status == "BROKEN" }
