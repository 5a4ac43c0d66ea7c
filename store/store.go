// Package store keeps cutbot's state in a bbolt file: every cut with its plan, stage
// attempts, Slack message references and audit trail, plus the Socket Mode envelopes already
// handled. It is the only package that imports bbolt.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"sigs.k8s.io/cutbot"
)

// SchemaVersion is the newest schema this binary writes. A database written with a newer
// schema is refused rather than misread.
const SchemaVersion = 4

var (
	bucketMeta      = []byte("meta")
	bucketCuts      = []byte("cuts")      // cut id → cutRecord JSON
	bucketActive    = []byte("active")    // version → id of its active cut
	bucketLatest    = []byte("latest")    // version → id of its most recently opened cut
	bucketEnvelopes = []byte("envelopes") // Socket Mode envelope id → time first handled
	bucketReminders = []byte("reminders") // reminder id → reminderRecord JSON
	bucketFreezes   = []byte("freezes")   // freeze id → freezeRecord JSON
	bucketEffects   = []byte("effects")   // id of a cut whose journal holds intents → ""
	bucketShown     = []byte("shown")     // "channel/ts" of a message → digest of what it shows

	keySchema = []byte("schema")
)

// migrations[i] takes a database from schema i to schema i+1. Append only: a migration
// that has shipped is never edited.
var migrations = []func(tx *bolt.Tx) error{
	func(tx *bolt.Tx) error { // 0 → 1: the initial buckets
		for _, b := range [][]byte{bucketCuts, bucketActive, bucketLatest, bucketEnvelopes} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	},
	func(tx *bolt.Tx) error { // 1 → 2: reminders and cherry-pick freezes
		for _, b := range [][]byte{bucketReminders, bucketFreezes} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	},
	func(tx *bolt.Tx) error { // 2 → 3: the journal of effects, its index, and what messages show
		for _, b := range [][]byte{bucketEffects, bucketShown} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		// Every cut is read once, its old intents turned into journal entries, and written
		// back: from now on the effects index says which cuts have work left.
		cuts := tx.Bucket(bucketCuts)
		var all []*cutbot.Cut
		if err := cuts.ForEach(func(k, _ []byte) error {
			c, err := getCut(cuts, string(k))
			if err != nil {
				return err
			}
			legacyIntents(c)
			all = append(all, c)
			return nil
		}); err != nil {
			return err
		}
		for _, c := range all {
			if err := putCut(tx, c); err != nil {
				return err
			}
		}
		return nil
	},
	func(tx *bolt.Tx) error { // 3 → 4: the patch-release board
		for _, b := range [][]byte{bucketBoards, bucketPickNotes, bucketDispositions, bucketPickChanges, bucketLooks, bucketKnown} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	},
}

// Options tune Open.
type Options struct {
	// LockTimeout is how long Open waits for another process to release the file (bbolt
	// allows one process at a time). Default 2s.
	LockTimeout time.Duration
	// EnvelopeRetention is how long handled envelope ids are remembered. Default 7 days.
	EnvelopeRetention time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Store is cutbot's bbolt database. It is safe for concurrent use.
type Store struct {
	db   *bolt.DB
	path string
	opts Options
}

var _ cutbot.CutStore = (*Store)(nil)

// Open opens (creating if needed) the database at path, checks that it is whole, and brings
// its schema up to date. A damaged file is reported as such (ErrDamaged), never as a panic.
func Open(path string, opts Options) (s *Store, err error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = 2 * time.Second
	}
	if opts.EnvelopeRetention <= 0 {
		opts.EnvelopeRetention = 7 * 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var db *bolt.DB
	// bbolt panics on some damaged files (a bad page in a bucket it walks); that is a
	// damaged database to report, not a crash.
	defer func() {
		if p := recover(); p != nil {
			if db != nil {
				db.Close()
			}
			s, err = nil, damaged(path, fmt.Errorf("%v", p))
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("open database %s: it is in use by another process (another cutbot?); gave up after waiting %s for its lock", path, opts.LockTimeout)
	}
	if err != nil {
		if errors.Is(err, bolt.ErrInvalid) || errors.Is(err, bolt.ErrChecksum) || errors.Is(err, bolt.ErrVersionMismatch) || strings.Contains(err.Error(), "file size too small") {
			return nil, damaged(path, err)
		}
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	s = &Store{db: db, path: path, opts: opts}
	if err := s.Check(); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.migrate(); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.pruneEnvelopes(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// ErrDamaged is the error of a database file that is not whole (errors.Is).
var ErrDamaged = errors.New("the database is damaged")

type damagedError struct {
	path string
	what error
}

func (e damagedError) Error() string {
	return fmt.Sprintf("%s is damaged (%v): restore it from a backup, or move it aside (cutbot then starts an empty one)", e.path, e.what)
}

func (e damagedError) Is(target error) bool { return target == ErrDamaged }

func damaged(path string, what error) error { return damagedError{path, what} }

// maxCheckErrors is how many problems Check reports before it stops reading.
const maxCheckErrors = 10

// Check walks every page of the database (bbolt's consistency check) and reports what is
// wrong, if anything. It reads the whole file: about 5 ms for 10,000 cuts (15.7 MB, the file
// in the page cache; BenchmarkCheck).
func (s *Store) Check() (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = damaged(s.path, fmt.Errorf("%v", p))
		}
	}()
	var problems []string
	err = s.db.View(func(tx *bolt.Tx) error {
		// A file cut short still opens: its meta page claims pages the file no longer has.
		if st, err := os.Stat(s.path); err == nil && st.Size() < tx.Size() {
			problems = append(problems, fmt.Sprintf("the file has %d bytes but its pages need %d: it was cut short", st.Size(), tx.Size()))
			return nil
		}
		for e := range tx.Check() {
			if len(problems) < maxCheckErrors {
				problems = append(problems, e.Error())
			}
		}
		return nil
	})
	if err != nil {
		return damaged(s.path, err)
	}
	if len(problems) > 0 {
		return damaged(s.path, errors.New(strings.Join(problems, "; ")))
	}
	return nil
}

// Stats counts what the database holds.
type Stats struct {
	Cuts, Active, WithEffects, Freezes, Reminders int
	Bytes                                         int64
}

// Stats counts the database's cuts, freezes and reminders.
func (s *Store) Stats() (Stats, error) {
	var st Stats
	err := s.db.View(func(tx *bolt.Tx) error {
		st.Bytes = tx.Size()
		st.Cuts = tx.Bucket(bucketCuts).Stats().KeyN
		st.Active = tx.Bucket(bucketActive).Stats().KeyN
		st.WithEffects = tx.Bucket(bucketEffects).Stats().KeyN
		st.Freezes = tx.Bucket(bucketFreezes).Stats().KeyN
		st.Reminders = tx.Bucket(bucketReminders).Stats().KeyN
		return nil
	})
	return st, err
}

// Ping reports whether the database is open and can be read (a health check).
func (s *Store) Ping() (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = damaged(s.path, fmt.Errorf("%v", p))
		}
	}()
	return s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketCuts) == nil {
			return damaged(s.path, errors.New("it has no cuts bucket"))
		}
		return nil
	})
}

// Close closes the database, releasing its lock.
func (s *Store) Close() error { return s.db.Close() }

// Path is the database file.
func (s *Store) Path() string { return s.path }

func (s *Store) migrate() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		have := 0
		if raw := meta.Get(keySchema); raw != nil {
			if have, err = strconv.Atoi(string(raw)); err != nil {
				return fmt.Errorf("database %s: unreadable schema version %q", s.path, raw)
			}
		}
		if have > SchemaVersion {
			return fmt.Errorf("database %s was written by a newer cutbot (schema %d; this cutbot knows up to %d): run a newer cutbot, or point CUTBOT_DB at another file", s.path, have, SchemaVersion)
		}
		for v := have; v < SchemaVersion; v++ {
			if err := migrations[v](tx); err != nil {
				return fmt.Errorf("database %s: migrate schema %d to %d: %w", s.path, v, v+1, err)
			}
		}
		return meta.Put(keySchema, []byte(strconv.Itoa(SchemaVersion)))
	})
}

// SchemaVersion returns the schema version recorded in the database.
func (s *Store) SchemaVersion() (int, error) {
	var v int
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		v, err = strconv.Atoi(string(tx.Bucket(bucketMeta).Get(keySchema)))
		return err
	})
	return v, err
}

// CreateCut stores a new cut, assigning its ID. It fails with ECONFLICT if the version
// already has an active cut.
func (s *Store) CreateCut(ctx context.Context, c *cutbot.Cut) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	version := []byte(c.Version().String())
	return s.db.Update(func(tx *bolt.Tx) error {
		if id := tx.Bucket(bucketActive).Get(version); id != nil {
			return cutbot.Errorf(cutbot.ECONFLICT, "%s already has an active cut", version)
		}
		cuts := tx.Bucket(bucketCuts)
		seq, err := cuts.NextSequence()
		if err != nil {
			return err
		}
		id := formatID(seq)
		c.ID = id
		if err := putCut(tx, c); err != nil {
			return err
		}
		if c.Status == cutbot.CutActive {
			if err := tx.Bucket(bucketActive).Put(version, []byte(id)); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketLatest).Put(version, []byte(id))
	})
}

// formatID makes ids that sort in the order cuts were opened.
func formatID(seq uint64) string { return fmt.Sprintf("%08d", seq) }

// UpdateCut runs fn on the stored cut and stores the result in one transaction. fn runs
// while the database is locked for writing: it must only compute (cutbot.Cut.Apply), never
// wait on the network.
func (s *Store) UpdateCut(ctx context.Context, id string, fn func(*cutbot.Cut) error) (*cutbot.Cut, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out *cutbot.Cut
	err := s.db.Update(func(tx *bolt.Tx) error {
		cuts := tx.Bucket(bucketCuts)
		c, err := getCut(cuts, id)
		if err != nil {
			return err
		}
		if err := fn(c); err != nil {
			return err
		}
		if c.ID != id {
			return fmt.Errorf("update cut %s: the update changed its id to %q", id, c.ID)
		}
		if err := putCut(tx, c); err != nil {
			return err
		}
		if c.Status != cutbot.CutActive {
			active := tx.Bucket(bucketActive)
			v := []byte(c.Version().String())
			if string(active.Get(v)) == id {
				if err := active.Delete(v); err != nil {
					return err
				}
			}
		}
		out = c
		return nil
	})
	return out, err
}

// Cut returns the cut with this id.
func (s *Store) Cut(ctx context.Context, id string) (*cutbot.Cut, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var c *cutbot.Cut
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		c, err = getCut(tx.Bucket(bucketCuts), id)
		return err
	})
	return c, err
}

// ActiveCut returns the active cut of v.
func (s *Store) ActiveCut(ctx context.Context, v cutbot.Version) (*cutbot.Cut, error) {
	return s.cutByIndex(ctx, bucketActive, v, "no active cut of %s")
}

// LatestCut returns the most recently opened cut of v, whatever its status.
func (s *Store) LatestCut(ctx context.Context, v cutbot.Version) (*cutbot.Cut, error) {
	return s.cutByIndex(ctx, bucketLatest, v, "no cut of %s has been opened")
}

func (s *Store) cutByIndex(ctx context.Context, index []byte, v cutbot.Version, notFound string) (*cutbot.Cut, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var c *cutbot.Cut
	err := s.db.View(func(tx *bolt.Tx) error {
		id := tx.Bucket(index).Get([]byte(v.String()))
		if id == nil {
			return cutbot.Errorf(cutbot.ENOTFOUND, notFound, v)
		}
		var err error
		c, err = getCut(tx.Bucket(bucketCuts), string(id))
		return err
	})
	return c, err
}

// ActiveCuts returns every active cut, oldest first.
func (s *Store) ActiveCuts(ctx context.Context) ([]*cutbot.Cut, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []*cutbot.Cut
	err := s.db.View(func(tx *bolt.Tx) error {
		cuts := tx.Bucket(bucketCuts)
		var ids []string
		if err := tx.Bucket(bucketActive).ForEach(func(_, id []byte) error {
			ids = append(ids, string(id))
			return nil
		}); err != nil {
			return err
		}
		slices.Sort(ids) // ids sort in opening order
		for _, id := range ids {
			c, err := getCut(cuts, id)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

// CutsWithEffects returns the cuts, of any status, whose journal holds intents not yet
// recorded done, oldest first. It reads them through an index, not every cut ever stored.
func (s *Store) CutsWithEffects(ctx context.Context) ([]*cutbot.Cut, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []*cutbot.Cut
	err := s.db.View(func(tx *bolt.Tx) error {
		cuts := tx.Bucket(bucketCuts)
		return tx.Bucket(bucketEffects).ForEach(func(id, _ []byte) error {
			c, err := getCut(cuts, string(id))
			if err != nil {
				return err
			}
			out = append(out, c)
			return nil
		})
	})
	return out, err
}

// Shown returns the digest of what the message at channel/ts was last set to show, if known.
func (s *Store) Shown(channel, ts string) (string, bool) {
	var d string
	s.db.View(func(tx *bolt.Tx) error {
		d = string(tx.Bucket(bucketShown).Get([]byte(channel + "/" + ts)))
		return nil
	})
	return d, d != ""
}

// SetShown records the digest of what the message at channel/ts shows now.
func (s *Store) SetShown(channel, ts, digest string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketShown).Put([]byte(channel+"/"+ts), []byte(digest))
	})
}

// MarkEnvelope records that the Socket Mode envelope id is being handled and reports whether
// this is the first time it was seen. Slack redelivers an envelope it thinks was not
// acknowledged; the second delivery must not act again, even after a restart.
func (s *Store) MarkEnvelope(ctx context.Context, id string) (first bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if id == "" {
		return true, nil
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEnvelopes)
		if b.Get([]byte(id)) != nil {
			return nil
		}
		first = true
		return b.Put([]byte(id), []byte(s.opts.Now().UTC().Format(time.RFC3339Nano)))
	})
	return first, err
}

func (s *Store) pruneEnvelopes() error {
	cutoff := s.opts.Now().Add(-s.opts.EnvelopeRetention)
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEnvelopes)
		var old [][]byte
		if err := b.ForEach(func(k, v []byte) error {
			if t, err := time.Parse(time.RFC3339Nano, string(v)); err != nil || t.Before(cutoff) {
				old = append(old, append([]byte(nil), k...))
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

func getCut(b *bolt.Bucket, id string) (*cutbot.Cut, error) {
	raw := b.Get([]byte(id))
	if raw == nil {
		return nil, cutbot.Errorf(cutbot.ENOTFOUND, "no cut with id %s", id)
	}
	var r cutRecord
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("decode cut %s: %w", id, err)
	}
	c, err := r.toCut()
	if err != nil {
		return nil, fmt.Errorf("decode cut %s: %w", id, err)
	}
	return c, nil
}

// putCut writes the cut and keeps the index of cuts with outstanding effects in step.
func putCut(tx *bolt.Tx, c *cutbot.Cut) error {
	raw, err := json.Marshal(fromCut(c))
	if err != nil {
		return fmt.Errorf("encode cut %s: %w", c.ID, err)
	}
	if err := tx.Bucket(bucketCuts).Put([]byte(c.ID), raw); err != nil {
		return err
	}
	if len(c.Journal) > 0 {
		return tx.Bucket(bucketEffects).Put([]byte(c.ID), []byte{})
	}
	return tx.Bucket(bucketEffects).Delete([]byte(c.ID))
}
