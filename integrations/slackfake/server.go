// Package slackfake is a fake Slack workspace for tests and the sandbox: the Web API methods
// cutbot calls and a Socket Mode websocket, on loopback, with state (channels, messages and
// their edits, usergroups, users) and a record of every call. The real slack-go client talks
// to it unchanged; only the API URL differs.
//
// It honours what the real Slack does on the wire, as checked against slack-go and the
// recorded envelopes in shared/data/slack: apps.connections.open takes the app-level token
// as a Bearer header and returns a websocket URL; other methods take the bot token as a
// "token" form field (or a Bearer header, as GET methods send it); slash-command payloads
// carry is_enterprise_install as a string; a redelivered envelope carries retry_attempt and
// retry_reason; the server pings, and a client that hears no ping reconnects.
package slackfake

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/cutbot/integrations/fakekit"
)

// Options describe the workspace. Zero values get the defaults below.
type Options struct {
	TeamID, TeamDomain string
	AppID, BotID       string
	BotUserID, BotName string
	AppToken, BotToken string
	// PingInterval is how often the server pings each websocket (slack-go gives up after 30s
	// without one). Default 5s.
	PingInterval time.Duration
	// Epoch is the Unix second message timestamps start at. Default: the time of New.
	Epoch int64
	// Now tells the time of rate limits and of message versions. Default time.Now.
	Now func() time.Time
}

// User is a workspace member.
type User struct {
	ID, Name, RealName string
}

// Usergroup is a Slack user group (a "subteam"), such as @release-managers.
type Usergroup struct {
	ID, Handle, Name string
	Users            []string
}

// Metadata is Slack message metadata.
type Metadata struct {
	EventType    string         `json:"event_type"`
	EventPayload map[string]any `json:"event_payload"`
}

// Message is a message as the workspace holds it now; Versions keeps every text it had.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string // the parent's ts for a reply; "" for a top-level message
	// Broadcast is a thread reply also sent to the channel (reply_broadcast).
	Broadcast bool
	User      string
	BotID     string
	Text      string
	Blocks    json.RawMessage
	Metadata  *Metadata
	Versions  []Version // Versions[0] is as posted; each chat.update appends one
	// Ephemeral messages are seen only by To; they come from response_url posts, acks with
	// a payload, and chat.postEphemeral.
	Ephemeral bool
	To        string
}

// Version is one state of a message's content.
type Version struct {
	Text   string
	Blocks json.RawMessage
	At     time.Time // when it was posted or edited to this
}

// Edits is how many times the message was updated in place.
func (m Message) Edits() int { return len(m.Versions) - 1 }

// Call is one Web API request the fake answered.
type Call struct {
	Method   string
	Params   url.Values // the token field removed
	TokenVia string     // "form", "header", or "" when none was sent
	Error    string     // the Slack error returned, if any
	At       time.Time
}

// Ack is an envelope acknowledgement received over a websocket.
type Ack struct {
	EnvelopeID string
	Payload    json.RawMessage
	Sent       time.Time // when the fake wrote the envelope
	At         time.Time // when the ack arrived
}

// Change is one visible change, in the order they happened: a message posted or edited.
type Change struct {
	Seq     int
	Edited  bool
	Message Message // a copy as of the change
	Before  Version // for an edit, what the message showed before
}

type channel struct {
	ID, Name string
	Private  bool
	Archived bool
	Members  []string
	Messages []*Message
}

// Server is a running fake workspace.
type Server struct {
	opts Options
	http *httptest.Server

	mu         sync.Mutex
	changed    fakekit.Changes
	users      map[string]*User
	channels   map[string]*channel
	groups     map[string]*Usergroup
	calls      []Call
	changes    []Change
	ephemerals []*Message
	tsSeq      int64
	conns      map[int]*conn
	connSeq    int
	tickets    map[string]bool
	envelopes  map[string]json.RawMessage // envelope id → the envelope as first sent
	sent       map[string]time.Time
	acks       map[string][]Ack
	responses  map[string]responseTarget // response_url path → who it answers
	envSeq     int
	run        string // this server's envelope ids begin with it: unique across runs, as Slack's are
	faults     map[string][]fault
	limits     RateLimits
	buckets    map[string]*bucket
	replied    map[string]time.Time // envelope id → when its first reply came through response_url
	held       chan struct{}        // while not nil, apps.connections.open waits for it to close
	homes      map[string]*View     // user → the Home tab published for them
	modals     map[string][]*View   // user → their open modals, the top one last
	triggers   map[string]*trigger  // trigger_id → who it was issued to, and when
	viewSeq    int
}

type responseTarget struct{ user, channel, envelope string }

type fault struct {
	err        string
	retryAfter time.Duration // > 0: answer HTTP 429
}

// New starts a fake workspace on loopback. Close it when done.
func New(opts Options) *Server {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&opts.TeamID, "T0CUTBOT")
	def(&opts.TeamDomain, "cutbot-sandbox")
	def(&opts.AppID, "A0CUTBOT")
	def(&opts.BotID, "B0CUTBOT")
	def(&opts.BotUserID, "U0CUTBOT")
	def(&opts.BotName, "cutbot")
	def(&opts.AppToken, "xapp-1-A0CUTBOT-fake-app-token")
	def(&opts.BotToken, "xoxb-fake-bot-token")
	if opts.PingInterval <= 0 {
		opts.PingInterval = 5 * time.Second
	}
	if opts.Epoch == 0 {
		opts.Epoch = time.Now().Unix()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:      opts,
		users:     map[string]*User{},
		channels:  map[string]*channel{},
		groups:    map[string]*Usergroup{},
		conns:     map[int]*conn{},
		tickets:   map[string]bool{},
		envelopes: map[string]json.RawMessage{},
		sent:      map[string]time.Time{},
		acks:      map[string][]Ack{},
		responses: map[string]responseTarget{},
		faults:    map[string][]fault{},
		replied:   map[string]time.Time{},
		run:       fmt.Sprintf("%08x", rand.Uint32()),
		homes:     map[string]*View{},
		modals:    map[string][]*View{},
		triggers:  map[string]*trigger{},
	}
	s.users[opts.BotUserID] = &User{ID: opts.BotUserID, Name: opts.BotName, RealName: opts.BotName}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.serveAPI)
	mux.HandleFunc("/link/", s.serveSocket)
	mux.HandleFunc("/commands/", s.serveResponseURL)
	s.http = httptest.NewServer(mux)
	return s
}

// Close stops the server and drops every websocket.
func (s *Server) Close() {
	s.mu.Lock()
	for _, c := range s.conns {
		c.close()
	}
	s.mu.Unlock()
	s.http.Close()
}

// APIURL is the Web API base URL, with the trailing slash slack-go needs.
func (s *Server) APIURL() string { return s.http.URL + "/api/" }

// Options returns the workspace's options, defaults filled in.
func (s *Server) Options() Options { return s.opts }

// AddUser adds a member.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = &u
}

// AddChannel adds a public channel with these members (add the bot's user id for the bot
// to be able to post).
func (s *Server) AddChannel(id, name string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channels[id] = &channel{ID: id, Name: name, Members: members}
}

// AddPrivateChannel adds a private channel with these members.
func (s *Server) AddPrivateChannel(id, name string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channels[id] = &channel{ID: id, Name: name, Private: true, Members: members}
}

// ArchiveChannel archives a channel: nothing can be posted in it.
func (s *Server) ArchiveChannel(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch := s.channels[id]; ch != nil {
		ch.Archived = true
	}
}

// AddUsergroup adds a user group.
func (s *Server) AddUsergroup(g Usergroup) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[g.ID] = &g
}

// SetUsergroupMembers replaces a group's members.
func (s *Server) SetUsergroupMembers(id string, users ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.groups[id]; g != nil {
		g.Users = users
	}
}

// HoldConnections makes every apps.connections.open wait, unanswered, until the returned
// function is called: a test sees the bot while it cannot connect.
func (s *Server) HoldConnections() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	held := make(chan struct{})
	s.held = held
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.held == held {
				s.held = nil
			}
			s.mu.Unlock()
			close(held)
		})
	}
}

// Fail makes the next call of method answer with the Slack error err (e.g. "not_in_channel").
func (s *Server) Fail(method, err string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[method] = append(s.faults[method], fault{err: err})
}

// RateLimit makes the next n calls of method answer HTTP 429 with this Retry-After.
func (s *Server) RateLimit(method string, n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[method] = append(s.faults[method], fault{err: "ratelimited", retryAfter: retryAfter})
	}
}

// RepliedAt says when the first reply to the command sent as envelopeID came through its
// response_url.
func (s *Server) RepliedAt(envelopeID string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.replied[envelopeID]
	return t, ok
}

// Calls returns the Web API calls so far, optionally only those of some methods.
func (s *Server) Calls(methods ...string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if len(methods) == 0 || slices.Contains(methods, c.Method) {
			out = append(out, c)
		}
	}
	return out
}

// Messages returns copies of the channel's messages, top-level and replies, oldest first.
func (s *Server) Messages(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[channelID]
	if ch == nil {
		return nil
	}
	out := make([]Message, len(ch.Messages))
	for i, m := range ch.Messages {
		out[i] = *m
	}
	return out
}

// Ephemerals returns the messages only userID saw, oldest first.
func (s *Server) Ephemerals(userID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.ephemerals {
		if m.To == userID {
			out = append(out, *m)
		}
	}
	return out
}

// Changes returns the visible changes numbered from seq on (0 for all).
func (s *Server) Changes(from int) []Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	if from >= len(s.changes) {
		return nil
	}
	return slices.Clone(s.changes[from:])
}

// notify wakes everything waiting for a change.
func (s *Server) notify() { s.changed.Notify() }

// WaitFor blocks until cond holds or ctx ends. cond is checked after every change to the
// workspace; it may call the Server's methods.
func (s *Server) WaitFor(ctx context.Context, cond func() bool) error {
	return s.changed.Wait(ctx, cond)
}

// waitLocked is WaitFor for conditions that read the server's fields: cond runs locked.
func (s *Server) waitLocked(ctx context.Context, cond func() bool) error {
	return s.changed.Wait(ctx, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return cond()
	})
}

// nextTS returns a new, unique, increasing message timestamp. Call with s.mu held.
func (s *Server) nextTS() string {
	s.tsSeq++
	return fmt.Sprintf("%d.%06d", s.opts.Epoch+s.tsSeq/1_000_000, s.tsSeq%1_000_000)
}

func (s *Server) permalink(m *Message) string {
	link := fmt.Sprintf("https://%s.slack.com/archives/%s/p%s", s.opts.TeamDomain, m.Channel, strings.Replace(m.TS, ".", "", 1))
	if m.ThreadTS != "" {
		link += fmt.Sprintf("?thread_ts=%s&cid=%s", m.ThreadTS, m.Channel)
	}
	return link
}

// ChannelName returns a channel's name, or its id if unknown.
func (s *Server) ChannelName(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch := s.channels[id]; ch != nil {
		return ch.Name
	}
	return id
}

// UserName returns a user's name, or the id if unknown.
func (s *Server) UserName(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.userName(id)
}

func (s *Server) userName(id string) string {
	if u := s.users[id]; u != nil {
		return u.Name
	}
	return id
}

func (s *Server) groupHandle(id string) string {
	if g := s.groups[id]; g != nil {
		return g.Handle
	}
	return id
}
