// Package civersion resolves the build version a stage builds from, as krel does: the latest
// CI build of a branch, published at <base>latest-<major.minor>.txt (or latest.txt for
// master) under https://dl.k8s.io/ci/.
package civersion

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	"sigs.k8s.io/cutbot"
)

// DefaultBaseURL is where Kubernetes CI publishes its latest build versions.
const DefaultBaseURL = "https://dl.k8s.io/ci/"

// Source is a cutbot.VersionSource over HTTP.
type Source struct {
	BaseURL string // ends in "/"
	HTTP    *http.Client
}

var _ cutbot.VersionSource = (*Source)(nil)

var reBuildVersion = regexp.MustCompile(`^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// URL is where the branch's latest CI version is published.
func (s *Source) URL(branch string) (string, error) {
	base := s.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	switch {
	case branch == cutbot.MasterBranch:
		return base + "latest.txt", nil
	case strings.HasPrefix(branch, "release-"):
		return base + "latest-" + strings.TrimPrefix(branch, "release-") + ".txt", nil
	}
	return "", cutbot.Errorf(cutbot.EINVALID, "%s is neither master nor a release branch", branch)
}

// CIVersion fetches the latest CI build version of branch, e.g. v1.31.3-rc.0.12+8f0c0a4d.
func (s *Source) CIVersion(ctx context.Context, branch string) (string, error) {
	url, err := s.URL(branch)
	if err != nil {
		return "", err
	}
	client := s.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", cutbot.Errorf(cutbot.EUNAVAILABLE, "could not fetch the CI build version from %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if err != nil {
		return "", cutbot.Errorf(cutbot.EUNAVAILABLE, "could not read the CI build version from %s: %v", url, err)
	}
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return "", cutbot.Errorf(cutbot.EUNAVAILABLE, "%s answered %s; try again shortly", url, resp.Status)
	case resp.StatusCode != http.StatusOK:
		return "", cutbot.Errorf(cutbot.ENOTFOUND, "no CI build version for %s at %s (%s)", branch, url, resp.Status)
	}
	v := strings.TrimSpace(string(body))
	if !reBuildVersion.MatchString(v) {
		return "", fmt.Errorf("%s does not hold a build version: %q", url, v)
	}
	return v, nil
}
