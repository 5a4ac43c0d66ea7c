package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/patch-release.golden")

var normalize = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\((after )?(\d+h )?(\d+m )?\d+s\)`), "(${1}DURATION)"},
	{regexp.MustCompile(`http://127\.0\.0\.1:\d+`), "http://127.0.0.1:PORT"},
	// The sandbox's calendar is around today, and the histories say when things happened.
	{regexp.MustCompile(`\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun),? (\d{4}-\d{2}-\d{2})`), "DAY $2"},
	{regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}\b`), "YYYY-MM-DD"},
	{regexp.MustCompile(`\b\d{2}-\d{2} \d{2}:\d{2}\b`), "MM-DD hh:mm"},
	{regexp.MustCompile(`\b\d{2}:\d{2} UTC\b`), "hh:mm UTC"},
}

// TestWholeCutGolden plays examples/patch-release.txt in the sandbox (fake Slack, Cloud Build,
// GitHub, testgrid and prow) and compares the channel as it stands at the end, a whole patch
// cut from /release cut to "is live", with testdata/patch-release.golden. Durations and
// loopback ports are normalized; everything else is deterministic.
func TestWholeCutGolden(t *testing.T) {
	var out, logs syncBuffer
	m := &Main{Stdout: &out, Stderr: &logs, Getenv: env(nil)}
	script := filepath.Join("..", "..", "examples", "patch-release.txt")
	if err := m.Run(context.Background(), []string{"sandbox", "--script", script, "--build-step", "30ms", "--poll", "50ms"}); err != nil {
		t.Fatalf("sandbox: %v\n%s", err, logs.String())
	}
	all := out.String()
	start := strings.Index(all, "── the channel as it stands ──")
	end := strings.Index(all, "── https://github.com/kubernetes/sig-release/issues/")
	if start < 0 || end < start {
		t.Fatalf("no final transcript in the output:\n%s", all)
	}
	got := all[start:end]
	for _, n := range normalize {
		got = n.re.ReplaceAllString(got, n.with)
	}
	path := filepath.Join("testdata", "patch-release.golden")
	if *update {
		os.MkdirAll("testdata", 0o755)
		os.WriteFile(path, []byte(got), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./cmd/cutbot -run TestWholeCutGolden -update creates it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("final transcript (-want +got):\n%s", diff)
	}
	for _, w := range []string{":kubernetes: Kubernetes v1.31.3 is live!", "-> Image promotion is :white_check_mark:", ":white_check_mark: Done", "GH Issue <https://github.com/kubernetes/sig-release/issues/2991>"} {
		if !strings.Contains(got, w) {
			t.Errorf("the final transcript lacks %q", w)
		}
	}
}
