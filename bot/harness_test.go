package bot

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/integrations/slackfake"
	"sigs.k8s.io/cutbot/store"
)

const (
	channelID = "C0RELMGMT"
	groupID   = "S0RELMGRS"
	alice     = "U0ALICE" // release manager, in the group
	bob       = "U0BOB"   // release manager, in the group
	carol     = "U0CAROL" // release manager by configured user id
	guest     = "U0GUEST" // not a release manager
)

// testClock is a clock the test moves: tests never wait on real time.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *testClock { return &testClock{t: t} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var t0 = time.Date(2026, 11, 10, 17, 0, 0, 0, time.UTC)

// workspace is a fake Slack with the release channel, the release-managers group and a few
// people.
func workspace(t testing.TB) *slackfake.Server {
	t.Helper()
	fake := slackfake.New(slackfake.Options{Epoch: t0.Unix()})
	t.Cleanup(fake.Close)
	for _, u := range []slackfake.User{{ID: alice, Name: "alice"}, {ID: bob, Name: "bob"}, {ID: carol, Name: "carol"}, {ID: guest, Name: "guest"}} {
		fake.AddUser(u)
	}
	fake.AddChannel(channelID, "release-management", fake.Options().BotUserID, alice, bob, carol, guest)
	fake.AddUsergroup(slackfake.Usergroup{ID: groupID, Handle: "release-managers", Name: "Release Managers", Users: []string{alice, bob}})
	return fake
}

// running is a bot running against a fake workspace, on a real bbolt file.
type running struct {
	t       testing.TB
	fake    *slackfake.Server
	store   *store.Store
	dbPath  string
	handled chan string
	cancel  context.CancelFunc
	stopped chan error
	bot     *Bot
	builds  *builds
	seen    map[string]bool // envelopes handled while waiting for another
}

// startBot runs the bot until the test ends (or stop is called), using the database at
// dbPath ("" for a new one in a temp dir).
func startBot(t testing.TB, fake *slackfake.Server, dbPath string) *running {
	t.Helper()
	return startBotWith(t, fake, dbPath, nil)
}

// startBotConfigured is startBot with the configuration changed by edit.
func startBotConfigured(t testing.TB, fake *slackfake.Server, dbPath string, edit func(*Config)) *running {
	t.Helper()
	return startBotEdit(t, fake, dbPath, nil, edit)
}

// startBotWith is startBot with builds configured when bl is not nil.
func startBotWith(t testing.TB, fake *slackfake.Server, dbPath string, bl *builds) *running {
	t.Helper()
	return startBotEdit(t, fake, dbPath, bl, nil)
}

func startBotEdit(t testing.TB, fake *slackfake.Server, dbPath string, bl *builds, edit func(*Config)) *running {
	t.Helper()
	if dbPath == "" {
		dbPath = filepath.Join(t.TempDir(), "cutbot.db")
	}
	st, err := store.Open(dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := &running{t: t, fake: fake, store: st, dbPath: dbPath, handled: make(chan string, 1000), stopped: make(chan error, 1), builds: bl}
	opts := fake.Options()
	cfg := Config{
		AppToken: opts.AppToken, BotToken: opts.BotToken, APIURL: fake.APIURL(),
		Channel: channelID, ManagersGroup: groupID, Managers: []string{carol},
		Clock: newClock(t0), OnHandled: func(id string) { r.handled <- id },
		SlackLimits: unpaced(), // the fake does not limit unless a test asks it to
	}
	if bl != nil {
		bl.configure(&cfg)
	}
	if edit != nil {
		edit(&cfg)
	}
	b, err := New(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	r.bot = b
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.stopped <- b.Run(ctx) }()
	wait, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	if err := fake.WaitConnected(wait); err != nil {
		t.Fatalf("bot did not connect: %v", err)
	}
	if err := b.WaitStarted(wait); err != nil {
		t.Fatalf("bot did not finish starting: %v", err)
	}
	t.Cleanup(r.stop)
	if bl != nil {
		bl.waitPolled(t) // the poll the bot makes as it starts
	}
	return r
}

func (r *running) stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	select {
	case err := <-r.stopped:
		if err != nil {
			r.t.Errorf("bot stopped with error: %v", err)
		}
	case <-time.After(10 * time.Second):
		r.t.Error("bot did not stop")
	}
	r.cancel = nil
	r.store.Close()
	// Wait until the fake saw the socket close, so a restarted bot is the only connection.
	ctx, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	r.fake.WaitFor(ctx, func() bool { return r.fake.Connections() == 0 })
}

// run sends "/release text" as user and waits until the bot has handled it. It returns the
// envelope id.
func (r *running) run(user, text string) string {
	r.t.Helper()
	ctx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	id, err := r.fake.SendSlashCommand(ctx, slackfake.SlashCommand{UserID: user, ChannelID: channelID, Text: text})
	if err != nil {
		r.t.Fatal(err)
	}
	r.waitHandled(id)
	return id
}

func (r *running) waitHandled(id string) {
	r.t.Helper()
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	for {
		if r.seen[id] {
			delete(r.seen, id)
			return
		}
		select {
		case got := <-r.handled:
			if got == id {
				return
			}
			r.seen[got] = true
		case <-time.After(10 * time.Second):
			r.t.Fatalf("envelope %s was not handled", id)
		}
	}
}

// lastReply is the text of the last message only user saw.
func (r *running) lastReply(user string) string {
	r.t.Helper()
	eph := r.fake.Ephemerals(user)
	if len(eph) == 0 {
		r.t.Fatalf("no reply to %s", user)
	}
	return r.fake.Text(eph[len(eph)-1])
}

func mustContain(t testing.TB, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, got)
		}
	}
}

func topLevel(msgs []slackfake.Message) []slackfake.Message {
	var out []slackfake.Message
	for _, m := range msgs {
		if m.ThreadTS == "" {
			out = append(out, m)
		}
	}
	return out
}

func repliesTo(msgs []slackfake.Message, ts string) []slackfake.Message {
	var out []slackfake.Message
	for _, m := range msgs {
		if m.ThreadTS == ts {
			out = append(out, m)
		}
	}
	return out
}

func activeCut(t testing.TB, st *store.Store, version string) *cutbot.Cut {
	t.Helper()
	c, err := st.ActiveCut(context.Background(), cutbot.MustParseVersion(version))
	if err != nil {
		t.Fatalf("active cut of %s: %v", version, err)
	}
	return c
}

// unpaced is every method Slack limits, not paced: a 429 still pauses the method.
func unpaced() map[string]Limit {
	l := SlackLimits()
	for m := range l {
		l[m] = Unlimited
	}
	return l
}
