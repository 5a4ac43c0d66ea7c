package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"time"

	bolt "go.etcd.io/bbolt"

	"sigs.k8s.io/cutbot"
)

// The patch-release board (schema 4).
var (
	bucketBoards       = []byte("boards")        // branch → boardRecord JSON
	bucketPickNotes    = []byte("pick-notes")    // cluster (owner/repo#N) → noteRecord JSON
	bucketDispositions = []byte("pick-disposed") // PR (owner/repo#N) → dispositionRecord JSON
	bucketPickChanges  = []byte("pick-changes")  // big-endian sequence → changeRecord JSON
	bucketLooks        = []byte("pick-looks")    // Slack user id → RFC 3339 time of their last look
	bucketKnown        = []byte("known-issues")  // "all" → knownRecord JSON
)

// maxPickChanges is how many changes are kept; older ones are dropped as new ones come.
const maxPickChanges = 5000

var _ cutbot.BoardStore = (*Store)(nil)

type pickRecord struct {
	Repo        string    `json:"repo"`
	Number      int       `json:"number"`
	URL         string    `json:"url,omitempty"`
	Title       string    `json:"title"`
	Branch      string    `json:"branch"`
	HeadRef     string    `json:"head_ref,omitempty"`
	Author      string    `json:"author,omitempty"`
	Body        string    `json:"body,omitempty"`
	Labels      []string  `json:"labels,omitempty"`
	State       string    `json:"state"`
	CreatedAt   time.Time `json:"created_at,omitzero"`
	ClosedAt    time.Time `json:"closed_at,omitzero"`
	StatusState string    `json:"status_state,omitempty"`
	Failing     []string  `json:"failing,omitempty"`
}

type boardRecord struct {
	Repo    string       `json:"repo"`
	Branch  string       `json:"branch"`
	ReadAt  time.Time    `json:"read_at"`
	Picks   []pickRecord `json:"picks"`
	Error   string       `json:"error,omitempty"`
	ErrorAt time.Time    `json:"error_at,omitzero"`
}

func fromBoard(b *cutbot.BranchBoard) boardRecord {
	r := boardRecord{Repo: b.Repo, Branch: b.Branch, ReadAt: b.ReadAt, Error: b.Error, ErrorAt: b.ErrorAt, Picks: []pickRecord{}}
	for _, p := range b.Picks {
		r.Picks = append(r.Picks, pickRecord(p))
	}
	return r
}

func (r boardRecord) toBoard() *cutbot.BranchBoard {
	b := &cutbot.BranchBoard{Repo: r.Repo, Branch: r.Branch, ReadAt: r.ReadAt, Error: r.Error, ErrorAt: r.ErrorAt}
	for _, p := range r.Picks {
		b.Picks = append(b.Picks, cutbot.CherryPick(p))
	}
	return b
}

type todoRecord struct {
	Text string    `json:"text"`
	By   string    `json:"by,omitempty"`
	At   time.Time `json:"at,omitzero"`
}

type noteRecord struct {
	Cluster string       `json:"cluster"`
	Summary string       `json:"summary,omitempty"`
	TODO    []todoRecord `json:"todo,omitempty"`
	CVE     bool         `json:"cve,omitempty"`
	By      string       `json:"by"`
	At      time.Time    `json:"at"`
	Rev     int          `json:"rev"`
}

func fromNote(n cutbot.PickNote) noteRecord {
	r := noteRecord{Cluster: n.Cluster, Summary: n.Summary, CVE: n.CVE, By: n.By, At: n.At, Rev: n.Rev}
	for _, t := range n.TODO {
		r.TODO = append(r.TODO, todoRecord(t))
	}
	return r
}

func (r noteRecord) toNote() cutbot.PickNote {
	n := cutbot.PickNote{Cluster: r.Cluster, Summary: r.Summary, CVE: r.CVE, By: r.By, At: r.At, Rev: r.Rev}
	for _, t := range r.TODO {
		n.TODO = append(n.TODO, cutbot.TODOLine(t))
	}
	return n
}

type dispositionRecord struct {
	PR    string    `json:"pr"`
	Value string    `json:"value"`
	By    string    `json:"by"`
	At    time.Time `json:"at"`
	Rev   int       `json:"rev"`
}

type changeRecord struct {
	At     time.Time `json:"at"`
	Branch string    `json:"branch,omitempty"`
	PR     string    `json:"pr"`
	Number int       `json:"number"`
	What   string    `json:"what"`
	Detail string    `json:"detail,omitempty"`
	By     string    `json:"by,omitempty"`
}

type knownIssueRecord struct {
	Repo       string   `json:"repo"`
	Number     int      `json:"number"`
	Title      string   `json:"title"`
	URL        string   `json:"url"`
	State      string   `json:"state"`
	Labels     []string `json:"labels,omitempty"`
	Introduced []string `json:"introduced,omitempty"`
	Resolved   []string `json:"resolved,omitempty"`
	Problems   []string `json:"problems,omitempty"`
}

type knownRecord struct {
	At     time.Time          `json:"at"`
	Issues []knownIssueRecord `json:"issues"`
}

func getJSON[T any](b *bolt.Bucket, key string) (T, bool, error) {
	var v T
	raw := b.Get([]byte(key))
	if raw == nil {
		return v, false, nil
	}
	return v, true, json.Unmarshal(raw, &v)
}

func putJSON(b *bolt.Bucket, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put([]byte(key), raw)
}

// Board returns a branch's board as last read.
func (s *Store) Board(ctx context.Context, branch string) (*cutbot.BranchBoard, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out *cutbot.BranchBoard
	err := s.db.View(func(tx *bolt.Tx) error {
		r, ok, err := getJSON[boardRecord](tx.Bucket(bucketBoards), branch)
		if err != nil {
			return err
		}
		if !ok {
			return cutbot.Errorf(cutbot.ENOTFOUND, "the board of %s has not been read yet", branch)
		}
		out = r.toBoard()
		return nil
	})
	return out, err
}

// SaveBoard stores a branch's board and appends what changed.
func (s *Store) SaveBoard(ctx context.Context, b *cutbot.BranchBoard, changes []cutbot.PickChange) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := putJSON(tx.Bucket(bucketBoards), b.Branch, fromBoard(b)); err != nil {
			return err
		}
		return appendChanges(tx, changes...)
	})
}

func appendChanges(tx *bolt.Tx, changes ...cutbot.PickChange) error {
	bk := tx.Bucket(bucketPickChanges)
	for _, c := range changes {
		seq, err := bk.NextSequence()
		if err != nil {
			return err
		}
		var key [8]byte
		binary.BigEndian.PutUint64(key[:], seq)
		raw, err := json.Marshal(changeRecord(c))
		if err != nil {
			return err
		}
		if err := bk.Put(key[:], raw); err != nil {
			return err
		}
	}
	// Keep the newest maxPickChanges: keys are consecutive sequences, dropped from the front.
	c := bk.Cursor()
	first, _ := c.First()
	last, _ := c.Last()
	if first == nil {
		return nil
	}
	for n := int(binary.BigEndian.Uint64(last)-binary.BigEndian.Uint64(first)) + 1 - maxPickChanges; n > 0; n-- {
		k, _ := c.First()
		if err := c.Delete(); err != nil || k == nil {
			return err
		}
	}
	return nil
}

// PickNotes returns every note by cluster and every disposition by PR.
func (s *Store) PickNotes(ctx context.Context) (map[string]cutbot.PickNote, map[string]cutbot.PickDisposition, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	notes, disp := map[string]cutbot.PickNote{}, map[string]cutbot.PickDisposition{}
	err := s.db.View(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketPickNotes).ForEach(func(k, v []byte) error {
			var r noteRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			notes[string(k)] = r.toNote()
			return nil
		}); err != nil {
			return err
		}
		return tx.Bucket(bucketDispositions).ForEach(func(k, v []byte) error {
			var r dispositionRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			disp[string(k)] = cutbot.PickDisposition(r)
			return nil
		})
	})
	return notes, disp, err
}

// SavePickNote stores a note written on top of revision base.
func (s *Store) SavePickNote(ctx context.Context, n cutbot.PickNote, base int, change cutbot.PickChange) (cutbot.PickNote, error) {
	if err := ctx.Err(); err != nil {
		return n, err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketPickNotes)
		stored, ok, err := getJSON[noteRecord](bk, n.Cluster)
		if err != nil {
			return err
		}
		if cur := stored.Rev; ok && cur != base || !ok && base != 0 {
			return &cutbot.ConflictError[cutbot.PickNote]{Stored: stored.toNote()}
		}
		n.Rev = base + 1
		if err := putJSON(bk, n.Cluster, fromNote(n)); err != nil {
			return err
		}
		return appendChanges(tx, change)
	})
	return n, err
}

// SaveDisposition stores a disposition set on top of revision base.
func (s *Store) SaveDisposition(ctx context.Context, d cutbot.PickDisposition, base int, change cutbot.PickChange) (cutbot.PickDisposition, error) {
	if err := ctx.Err(); err != nil {
		return d, err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketDispositions)
		stored, ok, err := getJSON[dispositionRecord](bk, d.PR)
		if err != nil {
			return err
		}
		if cur := stored.Rev; ok && cur != base || !ok && base != 0 {
			return &cutbot.ConflictError[cutbot.PickDisposition]{Stored: cutbot.PickDisposition(stored)}
		}
		d.Rev = base + 1
		if err := putJSON(bk, d.PR, dispositionRecord(d)); err != nil {
			return err
		}
		return appendChanges(tx, change)
	})
	return d, err
}

// PickChanges lists what changed after since, oldest first.
func (s *Store) PickChanges(ctx context.Context, since time.Time) ([]cutbot.PickChange, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []cutbot.PickChange
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketPickChanges).Cursor()
		// Newest last: walk back from the end while the changes are newer than since.
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var r changeRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			if !r.At.After(since) {
				break
			}
			out = append(out, cutbot.PickChange(r))
		}
		return nil
	})
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, err
}

// LastLook is when user last looked at the board.
func (s *Store) LastLook(ctx context.Context, user string) (time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, err
	}
	var t time.Time
	err := s.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketLooks).Get([]byte(user))
		if raw == nil {
			return nil
		}
		return t.UnmarshalText(raw)
	})
	return t, err
}

// SetLastLook records that user looked at the board at at.
func (s *Store) SetLastLook(ctx context.Context, user string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	raw, err := at.UTC().MarshalText()
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketLooks).Put([]byte(user), raw) })
}

// KnownIssues returns the known issues as last read.
func (s *Store) KnownIssues(ctx context.Context) ([]cutbot.KnownIssue, time.Time, error) {
	if err := ctx.Err(); err != nil {
		return nil, time.Time{}, err
	}
	var rec knownRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		r, _, err := getJSON[knownRecord](tx.Bucket(bucketKnown), "all")
		rec = r
		return err
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	var out []cutbot.KnownIssue
	var errs []error
	for _, r := range rec.Issues {
		k := cutbot.KnownIssue{Repo: r.Repo, Number: r.Number, Title: r.Title, URL: r.URL, State: r.State, Labels: r.Labels, Problems: r.Problems}
		for _, v := range r.Introduced {
			pv, err := cutbot.ParseVersion(v)
			errs = append(errs, err)
			k.Introduced = append(k.Introduced, pv)
		}
		for _, v := range r.Resolved {
			pv, err := cutbot.ParseVersion(v)
			errs = append(errs, err)
			k.Resolved = append(k.Resolved, pv)
		}
		out = append(out, k)
	}
	return out, rec.At, errors.Join(errs...)
}

// SaveKnownIssues stores the known issues as read at at.
func (s *Store) SaveKnownIssues(ctx context.Context, issues []cutbot.KnownIssue, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rec := knownRecord{At: at, Issues: []knownIssueRecord{}}
	for _, k := range issues {
		r := knownIssueRecord{Repo: k.Repo, Number: k.Number, Title: k.Title, URL: k.URL, State: k.State, Labels: k.Labels, Problems: k.Problems}
		for _, v := range k.Introduced {
			r.Introduced = append(r.Introduced, v.String())
		}
		for _, v := range k.Resolved {
			r.Resolved = append(r.Resolved, v.String())
		}
		rec.Issues = append(rec.Issues, r)
	}
	return s.db.Update(func(tx *bolt.Tx) error { return putJSON(tx.Bucket(bucketKnown), "all", rec) })
}
