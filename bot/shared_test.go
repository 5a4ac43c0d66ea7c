package bot

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// readShared reads a file of the project's shared public data (../shared/data), found from
// this source file's location, or from CUTBOT_SHARED_DATA.
func readShared(t testing.TB, rel string) []byte {
	t.Helper()
	dir := os.Getenv("CUTBOT_SHARED_DATA")
	if dir == "" {
		_, file, _, _ := runtime.Caller(0)
		dir = filepath.Join(filepath.Dir(file), "..", "..", "shared", "data")
	}
	raw, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Skipf("shared data not available: %v", err)
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
