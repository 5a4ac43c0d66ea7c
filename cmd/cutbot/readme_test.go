package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/cutbot/handlers"
)

func readme(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// TestReadmeMatchesTheCode keeps README.md's configuration table and command reference in
// step with the settings and the command table, and .ci/run with the README's test command.
func TestReadmeMatchesTheCode(t *testing.T) {
	doc := strings.ReplaceAll(readme(t), `\|`, "|") // a | in a table cell is written \|
	for _, s := range settings {
		row := "| `" + s.Env + "` |"
		if !strings.Contains(doc, row) {
			t.Errorf("README's configuration table has no row for %s", s.Env)
		}
		if s.Flag != "" && !strings.Contains(doc, "`--"+s.Flag+"`") {
			t.Errorf("README does not give %s's flag --%s", s.Env, s.Flag)
		}
		if s.Default != "" && !strings.Contains(doc, "`"+s.Default+"`") {
			t.Errorf("README does not give %s's default %s", s.Env, s.Default)
		}
	}
	for _, c := range handlers.Commands {
		if !strings.Contains(doc, "| `/release "+c.Usage()+"` |") {
			t.Errorf("README's command reference lacks `/release %s`", c.Usage())
		}
		if !strings.Contains(doc, c.Summary) {
			t.Errorf("README's command reference lacks %s's summary %q", c.Name, c.Summary)
		}
	}
	ci, err := os.ReadFile(filepath.Join("..", "..", ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"go test ./...", "go run ./cmd/cutbot sandbox --script examples/patch-release.txt"} {
		if !strings.Contains(doc, cmd) {
			t.Errorf("README lacks %q", cmd)
		}
	}
	if !strings.Contains(string(ci), "\ngo test ./...\n") || !strings.Contains(string(ci), "go vet ./...") {
		t.Error(".ci/run does not run the README's test command and go vet")
	}
}
