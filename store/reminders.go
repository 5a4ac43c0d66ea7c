package store

import (
	"context"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"

	"sigs.k8s.io/cutbot"
)

var _ cutbot.ReminderStore = (*Store)(nil)

type reminderRecord struct {
	ID    string        `json:"id"`
	State string        `json:"state"`
	At    time.Time     `json:"at"`
	By    string        `json:"by,omitempty"`
	Ref   messageRecord `json:"ref,omitzero"`
	Late  bool          `json:"late,omitempty"`
}

func fromReminder(r cutbot.ReminderRecord) reminderRecord {
	return reminderRecord{ID: r.ID, State: string(r.State), At: r.At, By: r.By, Late: r.Late,
		Ref: messageRecord{Channel: r.Ref.Channel, TS: r.Ref.TS, Permalink: r.Ref.Permalink}}
}

func (r reminderRecord) toReminder() cutbot.ReminderRecord {
	return cutbot.ReminderRecord{ID: r.ID, State: cutbot.ReminderState(r.State), At: r.At, By: r.By, Late: r.Late,
		Ref: cutbot.MessageRef{Channel: r.Ref.Channel, TS: r.Ref.TS, Permalink: r.Ref.Permalink}}
}

// ReminderRecords returns every reminder record by id.
func (s *Store) ReminderRecords(ctx context.Context) (map[string]cutbot.ReminderRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := map[string]cutbot.ReminderRecord{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketReminders).ForEach(func(_, v []byte) error {
			var r reminderRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			out[r.ID] = r.toReminder()
			return nil
		})
	})
	return out, err
}

// SetReminder stores a reminder's record.
func (s *Store) SetReminder(ctx context.Context, r cutbot.ReminderRecord) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	raw, err := json.Marshal(fromReminder(r))
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketReminders).Put([]byte(r.ID), raw) })
}

// ClaimReminder records the intent to post id unless it has a record.
func (s *Store) ClaimReminder(ctx context.Context, id string, at time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	claimed := false
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketReminders)
		if b.Get([]byte(id)) != nil {
			return nil
		}
		raw, err := json.Marshal(reminderRecord{ID: id, State: string(cutbot.ReminderPosting), At: at})
		if err != nil {
			return err
		}
		claimed = true
		return b.Put([]byte(id), raw)
	})
	return claimed, err
}

// DeleteReminder forgets a reminder's record (an unmute).
func (s *Store) DeleteReminder(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketReminders).Delete([]byte(id)) })
}
