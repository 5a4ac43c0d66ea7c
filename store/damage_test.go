package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"sigs.k8s.io/cutbot"
)

// filled is a database with n cuts in it, closed, and its path.
func filled(t testing.TB, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cutbot.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range n {
		spec, _ := cutbot.NewCutSpec(cutbot.MustParseVersion(fmt.Sprintf("v1.%d.%d", 10+i/100, i%100)), "", "", false)
		c, _ := cutbot.NewCut(spec, "C0RELMGMT", "U0RM1", t0)
		if err := s.CreateCut(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	return path
}

// TestDamagedDatabases: each way a file can be damaged gives an error that names the file
// and says what to do, and never a panic.
func TestDamagedDatabases(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string)
		want   string
	}{
		{"97 bytes XORed from offset 8192", func(t *testing.T, path string) {
			raw, _ := os.ReadFile(path)
			for i := 8192; i < 8192+97 && i < len(raw); i++ {
				raw[i] ^= 0xFF
			}
			os.WriteFile(path, raw, 0o600)
		}, "is damaged"},
		{"cut to half its size", func(t *testing.T, path string) {
			// Half of what its pages fill (bbolt grows files ahead; cutting only that
			// unused tail loses nothing, and opening it is right).
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			var used int64
			db.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil })
			db.Close()
			os.Truncate(path, used/2)
		}, "is damaged"},
		{"garbage", func(t *testing.T, path string) {
			os.WriteFile(path, []byte(strings.Repeat("not a bbolt file ", 2000)), 0o600)
		}, "is damaged"},
		{"written by a newer cutbot", func(t *testing.T, path string) {
			s, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySchema, []byte("99")) })
			s.Close()
		}, "was written by a newer cutbot"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filled(t, 300)
			tc.damage(t, path)
			var s *Store
			var err error
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("Open panicked: %v", p)
					}
				}()
				s, err = Open(path, Options{LockTimeout: time.Second})
			}()
			if err == nil {
				s.Close()
				t.Fatal("a damaged database opened without a word")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %s and say %q", err, path, tc.want)
			}
			if tc.want == "is damaged" && (!errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "restore it from a backup, or move it aside")) {
				t.Errorf("error %q does not say what to do", err)
			}
		})
	}
}

// BenchmarkCheck times the consistency check at start on a database of 10,000 cuts.
// Run: go test ./store -run '^$' -bench Check -benchtime 5x
func BenchmarkCheck(b *testing.B) {
	path := filled(b, 10000)
	s, err := Open(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	st, _ := s.Stats()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Check(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(st.Bytes)/1e6, "MB")
}
