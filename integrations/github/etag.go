package github

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
)

// etagCache is a transport that asks GitHub again with If-None-Match for what it read before:
// an answer that did not change comes back as 304 Not Modified, which GitHub does not count
// against the rate limit, and the cached body is handed to go-github as a 200. The board reads
// every open cherry-pick's status on each refresh; most have not changed.
type etagCache struct {
	next http.RoundTripper
	max  int

	mu      sync.Mutex
	entries map[string]*cached
	order   []string // oldest first, for eviction
	hits    int
	misses  int
}

type cached struct {
	etag   string
	header http.Header
	body   []byte
}

func newETagCache(next http.RoundTripper, max int) *etagCache {
	if next == nil {
		next = http.DefaultTransport
	}
	return &etagCache{next: next, max: max, entries: map[string]*cached{}}
}

func (c *etagCache) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || req.Header.Get("Range") != "" {
		return c.next.RoundTrip(req)
	}
	// The token is part of the key: what one token may read is not another's.
	key := req.URL.String() + "\x00" + req.Header.Get("Authorization")
	c.mu.Lock()
	e := c.entries[key]
	c.mu.Unlock()
	if e != nil {
		req = req.Clone(req.Context())
		req.Header.Set("If-None-Match", e.etag)
	}
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	switch {
	case resp.StatusCode == http.StatusNotModified && e != nil:
		resp.Body.Close()
		h := e.header.Clone()
		for k, v := range resp.Header { // the rate-limit headers of now, not of then
			if strings.HasPrefix(k, "X-Ratelimit") || k == "Date" {
				h[k] = v
			}
		}
		h.Set("X-From-Cache", "1")
		c.count(true)
		return &http.Response{Status: "200 OK", StatusCode: http.StatusOK, Proto: resp.Proto, ProtoMajor: resp.ProtoMajor, ProtoMinor: resp.ProtoMinor,
			Header: h, Body: io.NopCloser(bytes.NewReader(e.body)), ContentLength: int64(len(e.body)), Request: resp.Request}, nil
	case resp.StatusCode == http.StatusOK && resp.Header.Get("ETag") != "":
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		c.store(key, &cached{etag: resp.Header.Get("ETag"), header: resp.Header.Clone(), body: body})
	}
	c.count(false)
	return resp, nil
}

func (c *etagCache) count(hit bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if hit {
		c.hits++
	} else {
		c.misses++
	}
}

func (c *etagCache) store(key string, e *cached) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok {
		c.order = append(c.order, key)
	}
	c.entries[key] = e
	for len(c.order) > c.max {
		delete(c.entries, c.order[0])
		c.order = c.order[1:]
	}
}

// CacheStats says how many GETs were answered 304 Not Modified from the cache, and how many
// were not.
func (c *Client) CacheStats() (notModified, read int) {
	c.cache.mu.Lock()
	defer c.cache.mu.Unlock()
	return c.cache.hits, c.cache.misses
}
