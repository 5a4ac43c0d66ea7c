package handlers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/cutbot"
)

// The narrow in-memory fakes of the ports below test the use cases without the wire: a
// store, a messenger, a builder, a directory and CI versions. Each keeps state, records what
// it was asked, and can be held at a chosen moment (a hook) to open a race on purpose.

type memStore struct {
	mu   sync.Mutex
	cuts map[string]*cutbot.Cut
	seq  int
}

var _ cutbot.CutStore = (*memStore)(nil)

func newMemStore() *memStore { return &memStore{cuts: map[string]*cutbot.Cut{}} }

func (s *memStore) CreateCut(_ context.Context, c *cutbot.Cut) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.cuts {
		if o.Status == cutbot.CutActive && o.Version() == c.Version() {
			return cutbot.Errorf(cutbot.ECONFLICT, "%s already has an active cut", c.Version())
		}
	}
	s.seq++
	c.ID = fmt.Sprintf("%08d", s.seq)
	s.cuts[c.ID] = c.Clone()
	return nil
}

func (s *memStore) UpdateCut(_ context.Context, id string, fn func(*cutbot.Cut) error) (*cutbot.Cut, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cuts[id]
	if !ok {
		return nil, cutbot.Errorf(cutbot.ENOTFOUND, "no cut %s", id)
	}
	c = c.Clone()
	if err := fn(c); err != nil {
		return nil, err
	}
	s.cuts[id] = c.Clone()
	return c, nil
}

func (s *memStore) Cut(_ context.Context, id string) (*cutbot.Cut, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.cuts[id]; ok {
		return c.Clone(), nil
	}
	return nil, cutbot.Errorf(cutbot.ENOTFOUND, "no cut %s", id)
}

func (s *memStore) find(v cutbot.Version, active bool) (*cutbot.Cut, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out *cutbot.Cut
	for _, c := range s.cuts {
		if c.Version() == v && (!active || c.Status == cutbot.CutActive) && (out == nil || c.ID > out.ID) {
			out = c
		}
	}
	if out == nil {
		return nil, cutbot.Errorf(cutbot.ENOTFOUND, "no cut of %s", v)
	}
	return out.Clone(), nil
}

func (s *memStore) ActiveCut(_ context.Context, v cutbot.Version) (*cutbot.Cut, error) {
	return s.find(v, true)
}
func (s *memStore) LatestCut(_ context.Context, v cutbot.Version) (*cutbot.Cut, error) {
	return s.find(v, false)
}

func (s *memStore) list(keep func(*cutbot.Cut) bool) []*cutbot.Cut {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*cutbot.Cut
	for _, c := range s.cuts {
		if keep(c) {
			out = append(out, c.Clone())
		}
	}
	slices.SortFunc(out, func(a, b *cutbot.Cut) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func (s *memStore) ActiveCuts(context.Context) ([]*cutbot.Cut, error) {
	return s.list(func(c *cutbot.Cut) bool { return c.Status == cutbot.CutActive }), nil
}

func (s *memStore) CutsWithEffects(context.Context) ([]*cutbot.Cut, error) {
	return s.list(func(c *cutbot.Cut) bool { return len(c.Journal) > 0 }), nil
}

// memMessenger posts into a list; PostLater answers at once (the answer still comes back to
// the cut's lane as a job of its own).
type memMessenger struct {
	mu    sync.Mutex
	posts []string // cut id/key, in the order posted
	ts    int
	shown int
}

func (m *memMessenger) Post(_ context.Context, c *cutbot.Cut, key string) (cutbot.MessageRef, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.posts = append(m.posts, c.ID+"/"+key)
	m.ts++
	return cutbot.MessageRef{Channel: c.Channel, TS: fmt.Sprintf("1.%06d", m.ts)}, nil
}

func (m *memMessenger) PostLater(c *cutbot.Cut, key string, done func(cutbot.MessageRef, error)) {
	done(m.Post(context.Background(), c, key))
}

func (m *memMessenger) Find(context.Context, *cutbot.Cut, string) (cutbot.MessageRef, bool, error) {
	return cutbot.MessageRef{}, false, nil
}

func (m *memMessenger) Show(*cutbot.Cut) {
	m.mu.Lock()
	m.shown++
	m.mu.Unlock()
}

// memBuilder is Cloud Build: builds by id and tag. beforeSubmit, if set, runs inside
// Submit before the build exists (a test holds a submission there).
type memBuilder struct {
	mu           sync.Mutex
	builds       map[string]cutbot.BuildRequest
	tags         map[string]string // tag → build id
	submits      int
	finds        int
	beforeSubmit func(cutbot.BuildRequest)
	beforeFind   func()
}

func newMemBuilder() *memBuilder {
	return &memBuilder{builds: map[string]cutbot.BuildRequest{}, tags: map[string]string{}}
}

func (b *memBuilder) Submit(_ context.Context, req cutbot.BuildRequest) (cutbot.BuildRef, error) {
	if b.beforeSubmit != nil {
		b.beforeSubmit(req)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.submits++
	id := fmt.Sprintf("build-%d", b.submits)
	b.builds[id] = req
	b.tags[req.Tag] = id
	return cutbot.BuildRef{ID: id, LogURL: "https://log/" + id}, nil
}

func (b *memBuilder) Status(_ context.Context, id string) (cutbot.BuildStatus, error) {
	return cutbot.BuildStatus{Ref: cutbot.BuildRef{ID: id}, State: cutbot.BuildWorking, Step: "compiling"}, nil
}

func (b *memBuilder) Cancel(context.Context, string) error { return nil }

func (b *memBuilder) FindByTag(_ context.Context, tag string) (cutbot.BuildRef, bool, error) {
	if b.beforeFind != nil {
		b.beforeFind()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.finds++
	id, ok := b.tags[tag]
	return cutbot.BuildRef{ID: id}, ok, nil
}

func (b *memBuilder) counts() (submits, finds int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.submits, b.finds
}

type everyoneManages struct{}

func (everyoneManages) IsReleaseManager(context.Context, string) (bool, error) { return true, nil }
func (everyoneManages) ReleaseManagers(context.Context) string                 { return "@release-managers" }

type fixedVersions string

func (v fixedVersions) CIVersion(context.Context, string) (string, error) { return string(v), nil }

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// world is handlers on in-memory fakes.
type world struct {
	h       *Handlers
	store   *memStore
	msg     *memMessenger
	builder *memBuilder
}

func newWorld(t testing.TB, store *memStore) *world {
	t.Helper()
	if store == nil {
		store = newMemStore()
	}
	w := &world{store: store, msg: &memMessenger{}, builder: newMemBuilder()}
	ids := 0
	var mu sync.Mutex
	w.h = New(Deps{Store: store, Messenger: w.msg, Directory: everyoneManages{}, Channel: "C0RELMGMT",
		Clock: fixedClock{time.Date(2026, 11, 10, 17, 0, 0, 0, time.UTC)}, Builder: w.builder, Versions: fixedVersions("v1.31.3-rc.0.12+8f0c0a4d"),
		NewID: func() string { mu.Lock(); defer mu.Unlock(); ids++; return fmt.Sprintf("c%d", ids) }})
	return w
}

// run runs a command as U0RM1 and waits until its lane is quiet.
func (w *world) run(t testing.TB, text string) Reply {
	t.Helper()
	r := w.h.Handle(context.Background(), Request{UserID: "U0RM1", ChannelID: "C0RELMGMT", Text: text})
	w.settle(t)
	return r
}

func (w *world) settle(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.h.Settled(ctx, ""); err != nil {
		t.Fatal(err)
	}
}

func (w *world) cut(t testing.TB, version string) *cutbot.Cut {
	t.Helper()
	c, err := w.store.LatestCut(context.Background(), cutbot.MustParseVersion(version))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func headline(r Reply) string {
	switch r := r.(type) {
	case CutReply:
		return r.Headline
	case ErrorReply:
		return r.Message
	}
	return fmt.Sprintf("%#v", r)
}

func slicesContains(s []string, v string) bool { return slices.Contains(s, v) }

func itoa(n int) string { return fmt.Sprint(n) }
