package metrics

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// Transport counts the HTTP requests of one outside service by route and status code:
// "github" in cutbot_github_requests_total, the others ("testgrid", "prow", "dl") in
// cutbot_outside_requests_total. next nil is http.DefaultTransport.
func (m *Metrics) Transport(service string, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		start := time.Now()
		resp, err := next.RoundTrip(req)
		code := "error"
		if err == nil {
			code = strconv.Itoa(resp.StatusCode)
		}
		if service == "github" {
			m.github.WithLabelValues(Route(req.Method, req.URL.Path), code).Inc()
		} else {
			m.requests.WithLabelValues(service, Route(req.Method, req.URL.Path), code).Inc()
		}
		m.requestSeconds.WithLabelValues(service).Observe(time.Since(start).Seconds())
		return resp, err
	})
}

// Client returns an HTTP client for service whose requests are counted.
func (m *Metrics) Client(service string, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: m.Transport(service, nil)}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// words are the path segments kept as they are in a route; every other segment (an owner, a
// repository, a number, a branch, a file) becomes {}, so that routes are few.
var words = map[string]bool{
	"repos": true, "issues": true, "pulls": true, "comments": true, "labels": true, "branches": true,
	"git": true, "matching-refs": true, "refs": true, "tags": true, "releases": true, "contents": true,
	"commits": true, "status": true, "statuses": true, "reviews": true, "user": true, "search": true,
	"orgs": true, "teams": true, "members": true, "rate_limit": true, "merge": true, "files": true,
	"api": true, "v3": true, "summary": true, "ci": true, "prowjobs.js": true, "release": true,
}

// Route is a request's method and path with its names and numbers left out:
// "GET /repos/{}/{}/issues/{}".
func Route(method, path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, s := range segs {
		if !words[s] {
			segs[i] = "{}"
		}
	}
	// A path that goes on past what cutbot asks is cut short, so routes stay few.
	if len(segs) > 8 {
		segs = append(segs[:8], "…")
	}
	return method + " /" + strings.Join(segs, "/")
}

// UnaryInterceptor counts Cloud Build's gRPC calls by method and code.
func (m *Metrics) UnaryInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		m.grpcCalls.WithLabelValues(method[strings.LastIndex(method, "/")+1:], status.Code(err).String()).Inc()
		return err
	}
}
