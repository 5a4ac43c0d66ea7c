// Package prow reads prow job runs (prowjobs.js), the fallback to commit statuses for
// knowing whether post-k8sio-image-promo ran on the image-promotion PR's merge.
package prow

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"sigs.k8s.io/cutbot"
)

// DefaultURL is prow.k8s.io.
const DefaultURL = "https://prow.k8s.io/"

// Client is a cutbot.Prow over HTTP.
type Client struct {
	BaseURL string
	HTTP    *http.Client
}

var _ cutbot.Prow = (*Client)(nil)

type prowJobs struct {
	Items []struct {
		Spec struct {
			Job  string `json:"job"`
			Refs struct {
				BaseSHA string `json:"base_sha"`
			} `json:"refs"`
		} `json:"spec"`
		Status struct {
			State     string    `json:"state"`
			URL       string    `json:"url"`
			StartTime time.Time `json:"startTime"`
		} `json:"status"`
	} `json:"items"`
}

// Jobs returns the runs of job prow knows, newest first.
func (c *Client) Jobs(ctx context.Context, job string) ([]cutbot.ProwJob, error) {
	base := c.BaseURL
	if base == "" {
		base = DefaultURL
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	u := base + "prowjobs.js?omit=annotations,labels,decoration_config,pod_spec"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	client := c.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, cutbot.Errorf(cutbot.EUNAVAILABLE, "could not reach prow: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, cutbot.Errorf(cutbot.EUNAVAILABLE, "prow answered %s", resp.Status)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, cutbot.Errorf(cutbot.EUNAVAILABLE, "could not read prow's job list: %v", err)
	}
	// Older prows wrap the list: var allBuilds = {...};
	raw = bytes.TrimSpace(raw)
	if i := bytes.IndexByte(raw, '{'); i > 0 {
		raw = bytes.TrimSuffix(raw[i:], []byte(";"))
	}
	var pj prowJobs
	if err := json.Unmarshal(raw, &pj); err != nil {
		return nil, fmt.Errorf("prow's job list is not JSON: %w", err)
	}
	var out []cutbot.ProwJob
	for _, it := range pj.Items {
		if it.Spec.Job == job {
			out = append(out, cutbot.ProwJob{Job: job, State: it.Status.State, BaseSHA: it.Spec.Refs.BaseSHA, URL: it.Status.URL, Start: it.Status.StartTime})
		}
	}
	for i := 1; i < len(out); i++ { // newest first
		for j := i; j > 0 && out[j].Start.After(out[j-1].Start); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}
