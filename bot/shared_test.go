package bot

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// readRecorded reads a real Socket Mode envelope recorded from a Slack SDK's tests, copied
// unchanged from the project's shared data into testdata/slack (see PROVENANCE.json there).
func readRecorded(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "slack", name))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func envelopeID(t testing.TB, raw []byte) string {
	t.Helper()
	var env struct {
		EnvelopeID string `json:"envelope_id"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	return env.EnvelopeID
}
