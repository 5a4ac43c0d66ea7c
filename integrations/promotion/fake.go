package promotion

import (
	"io"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// FakeRegistry is go-containerregistry's in-memory registry on loopback, standing in for the
// staging registry in tests and the sandbox: the no-mock stage's push is Push.
type FakeRegistry struct{ srv *httptest.Server }

// NewFakeRegistry starts one; Close stops it.
func NewFakeRegistry() *FakeRegistry {
	return &FakeRegistry{srv: httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))}
}

func (r *FakeRegistry) Close() { r.srv.Close() }

// Host is the registry's host:port.
func (r *FakeRegistry) Host() string { return strings.TrimPrefix(r.srv.URL, "http://") }

// Push pushes a small random image as repo:tag (repo under the host, e.g.
// k8s-staging-kubernetes/kube-proxy) and returns its digest.
func (r *FakeRegistry) Push(repo, tag string) (string, error) {
	img, err := random.Image(64, 1)
	if err != nil {
		return "", err
	}
	ref, err := name.NewTag(r.Host()+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		return "", err
	}
	if err := remote.Write(ref, img); err != nil {
		return "", err
	}
	d, err := img.Digest()
	return d.String(), err
}
