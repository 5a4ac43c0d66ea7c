package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"sigs.k8s.io/cutbot"
)

var _ cutbot.FreezeStore = (*Store)(nil)

type sideEffectRecord struct {
	Intent bool      `json:"intent,omitempty"`
	Done   time.Time `json:"done,omitzero"`
}

type freezePRRecord struct {
	Number  int              `json:"number"`
	Title   string           `json:"title"`
	URL     string           `json:"url"`
	Reasons []string         `json:"reasons,omitempty"`
	Unlabel sideEffectRecord `json:"unlabel,omitzero"`
	Notice  sideEffectRecord `json:"notice,omitzero"`
	Skipped string           `json:"skipped,omitempty"`
	Outcome string           `json:"outcome,omitempty"`
	Relabel sideEffectRecord `json:"relabel,omitzero"`
	Thawed  sideEffectRecord `json:"thawed,omitzero"`
}

type freezeRecord struct {
	ID     string           `json:"id"`
	Repo   string           `json:"repo"`
	Branch string           `json:"branch"`
	Label  string           `json:"label"`
	Reason string           `json:"reason"`
	By     string           `json:"by"`
	At     time.Time        `json:"at"`
	State  string           `json:"state"`
	PRs    []freezePRRecord `json:"prs"`
	ThawBy string           `json:"thaw_by,omitempty"`
	ThawAt time.Time        `json:"thaw_at,omitzero"`
	CutID  string           `json:"cut_id,omitempty"`
	Auto   bool             `json:"auto_thaw,omitempty"`
}

func se(s cutbot.SideEffect) sideEffectRecord {
	return sideEffectRecord{Intent: s.Intent, Done: s.Done}
}
func (r sideEffectRecord) domain() cutbot.SideEffect {
	return cutbot.SideEffect{Intent: r.Intent, Done: r.Done}
}

func fromFreeze(f *cutbot.Freeze) freezeRecord {
	r := freezeRecord{ID: f.ID, Repo: f.Repo, Branch: f.Branch, Label: f.Label, Reason: f.Reason, By: f.By, At: f.At,
		State: string(f.State), ThawBy: f.ThawBy, ThawAt: f.ThawAt, CutID: f.CutID, Auto: f.AutoThaw}
	for _, p := range f.PRs {
		r.PRs = append(r.PRs, freezePRRecord{Number: p.Number, Title: p.Title, URL: p.URL, Reasons: p.Reasons, Unlabel: se(p.Unlabel),
			Notice: se(p.Notice), Skipped: p.Skipped, Outcome: p.Outcome, Relabel: se(p.Relabel), Thawed: se(p.Thawed)})
	}
	return r
}

func (r freezeRecord) toFreeze() *cutbot.Freeze {
	f := &cutbot.Freeze{ID: r.ID, Repo: r.Repo, Branch: r.Branch, Label: r.Label, Reason: r.Reason, By: r.By, At: r.At,
		State: cutbot.FreezeState(r.State), ThawBy: r.ThawBy, ThawAt: r.ThawAt, CutID: r.CutID, AutoThaw: r.Auto}
	for _, p := range r.PRs {
		f.PRs = append(f.PRs, cutbot.FreezePR{Number: p.Number, Title: p.Title, URL: p.URL, Reasons: p.Reasons, Unlabel: p.Unlabel.domain(),
			Notice: p.Notice.domain(), Skipped: p.Skipped, Outcome: p.Outcome, Relabel: p.Relabel.domain(), Thawed: p.Thawed.domain()})
	}
	return f
}

func getFreeze(b *bolt.Bucket, id string) (*cutbot.Freeze, error) {
	raw := b.Get([]byte(id))
	if raw == nil {
		return nil, cutbot.Errorf(cutbot.ENOTFOUND, "no freeze %s", id)
	}
	var r freezeRecord
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("decode freeze %s: %w", id, err)
	}
	return r.toFreeze(), nil
}

func putFreeze(b *bolt.Bucket, f *cutbot.Freeze) error {
	raw, err := json.Marshal(fromFreeze(f))
	if err != nil {
		return err
	}
	return b.Put([]byte(f.ID), raw)
}

// CreateFreeze stores a new freeze and assigns its id.
func (s *Store) CreateFreeze(ctx context.Context, f *cutbot.Freeze) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFreezes)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		f.ID = "f" + formatID(seq)
		return putFreeze(b, f)
	})
}

// UpdateFreeze runs fn on the stored freeze and stores the result in one transaction.
func (s *Store) UpdateFreeze(ctx context.Context, id string, fn func(*cutbot.Freeze) error) (*cutbot.Freeze, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out *cutbot.Freeze
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFreezes)
		f, err := getFreeze(b, id)
		if err != nil {
			return err
		}
		if err := fn(f); err != nil {
			return err
		}
		out = f
		return putFreeze(b, f)
	})
	return out, err
}

// Freeze returns the freeze with this id.
func (s *Store) Freeze(ctx context.Context, id string) (*cutbot.Freeze, error) {
	var f *cutbot.Freeze
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		f, err = getFreeze(tx.Bucket(bucketFreezes), id)
		return err
	})
	return f, err
}

// Freezes lists every freeze, oldest first.
func (s *Store) Freezes(ctx context.Context) ([]*cutbot.Freeze, error) {
	var out []*cutbot.Freeze
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFreezes)
		return b.ForEach(func(k, _ []byte) error {
			f, err := getFreeze(b, string(k))
			if err != nil {
				return err
			}
			out = append(out, f)
			return nil
		})
	})
	return out, err
}

// ActiveFreezes lists the freezes that hold their branch, oldest first. Only their state is
// decoded for the others, so the poller's look at every freeze stays cheap as they pile up.
func (s *Store) ActiveFreezes(ctx context.Context) ([]*cutbot.Freeze, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []*cutbot.Freeze
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketFreezes).ForEach(func(k, v []byte) error {
			var head struct {
				State string `json:"state"`
			}
			if err := json.Unmarshal(v, &head); err != nil {
				return fmt.Errorf("decode freeze %s: %w", k, err)
			}
			if !cutbot.FreezeState(head.State).Active() {
				return nil
			}
			var r freezeRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode freeze %s: %w", k, err)
			}
			out = append(out, r.toFreeze())
			return nil
		})
	})
	return out, err
}
