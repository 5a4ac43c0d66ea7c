package cutbot_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps=false", "-json", "./...").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// sdks are the outside systems' libraries; each may be imported only by its home packages.
var sdks = map[string][]string{
	"github.com/slack-go/slack":              {"sigs.k8s.io/cutbot/bot", "sigs.k8s.io/cutbot/cmd/", "sigs.k8s.io/cutbot/integrations/slack"},
	"go.etcd.io/bbolt":                       {"sigs.k8s.io/cutbot/store"},
	"github.com/google/go-github":            {"sigs.k8s.io/cutbot/integrations/github"},
	"cloud.google.com/go/cloudbuild":         {"sigs.k8s.io/cutbot/integrations/cloudbuild"},
	"github.com/robfig/cron":                 {"sigs.k8s.io/cutbot/bot"},
	"github.com/google/go-containerregistry": {"sigs.k8s.io/cutbot/integrations/promotion"},
}

// TestBoundaries holds the layout of STYLE.md: the domain and handlers import no SDK (not
// even indirectly), and each SDK is imported only where it lives.
func TestBoundaries(t *testing.T) {
	for _, p := range listPackages(t) {
		for _, imp := range p.Imports {
			for sdk, homes := range sdks {
				if !strings.HasPrefix(imp, sdk) {
					continue
				}
				ok := false
				for _, h := range homes {
					ok = ok || strings.HasPrefix(p.ImportPath, h)
				}
				if !ok {
					t.Errorf("%s imports %s; only %v may", p.ImportPath, imp, homes)
				}
			}
		}
		pure := p.ImportPath == "sigs.k8s.io/cutbot" || p.ImportPath == "sigs.k8s.io/cutbot/handlers"
		if !pure {
			continue
		}
		for _, d := range p.Deps {
			for sdk := range sdks {
				if strings.HasPrefix(d, sdk) {
					t.Errorf("%s depends on %s; the domain and the use cases must not", p.ImportPath, d)
				}
			}
			if p.ImportPath == "sigs.k8s.io/cutbot" && strings.HasPrefix(d, "sigs.k8s.io/cutbot/") {
				t.Errorf("the domain depends on %s; it must depend on nothing of cutbot's", d)
			}
		}
	}
}
