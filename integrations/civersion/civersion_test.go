package civersion_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/integrations/civersion"
)

func TestCIVersion(t *testing.T) {
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.URL.Path)
		switch r.URL.Path {
		case "/ci/latest-1.31.txt":
			w.Write([]byte("v1.31.3-rc.0.12+8f0c0a4d\n"))
		case "/ci/latest.txt":
			w.Write([]byte("v1.33.0-alpha.1.250+0123456789abcd"))
		case "/ci/latest-1.29.txt":
			w.Write([]byte("<html>oops</html>"))
		case "/ci/latest-1.28.txt":
			http.Error(w, "busy", http.StatusServiceUnavailable)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	s := &civersion.Source{BaseURL: srv.URL + "/ci"}
	ctx := context.Background()
	for branch, want := range map[string]string{"release-1.31": "v1.31.3-rc.0.12+8f0c0a4d", "master": "v1.33.0-alpha.1.250+0123456789abcd"} {
		if got, err := s.CIVersion(ctx, branch); err != nil || got != want {
			t.Errorf("CIVersion(%s) = %q, %v; want %q", branch, got, err, want)
		}
	}
	for branch, code := range map[string]string{"release-1.30": cutbot.ENOTFOUND, "release-1.28": cutbot.EUNAVAILABLE, "feature-x": cutbot.EINVALID, "release-1.29": cutbot.EINTERNAL} {
		if _, err := s.CIVersion(ctx, branch); cutbot.ErrorCode(err) != code {
			t.Errorf("CIVersion(%s) = %v (%s), want %s", branch, err, cutbot.ErrorCode(err), code)
		}
	}
	if u, _ := (&civersion.Source{}).URL("release-1.31"); u != "https://dl.k8s.io/ci/latest-1.31.txt" {
		t.Errorf("default URL = %s", u)
	}
}
