package bot

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"sigs.k8s.io/cutbot"
)

// metadataType marks every message cutbot posts, with the cut and message key in its payload,
// so that an interrupted post can be found again instead of posted twice.
const metadataType = "cutbot_message"

// messenger shows cuts in Slack. It implements cutbot.Messenger.
type messenger struct {
	channel string // the release channel, where reminders go
	api     *slack.Client
	poster  *poster
	log     *slog.Logger
	clock   cutbot.Clock
	base    view // what every rendering shares

	mu      sync.Mutex
	teamURL string // e.g. https://kubernetes.slack.com/, from auth.test: permalinks are made from it
	// latest is the newest state of each cut with posts waiting, so that a post shows the cut
	// as it stands when it goes out, not as it stood when it was asked for.
	latest   map[string]*cutbot.Cut
	queued   map[string][]queuedPost // cut id → its posts waiting, in order
	draining map[string]bool         // cut id → its posts are going out
	posts    pending
}

func (m *messenger) view() view {
	v := m.base
	v.Now = m.clock.Now()
	return v
}

var _ cutbot.Messenger = (*messenger)(nil)

// priority is how urgent a change of the cut's message key is: where the cut stands (its
// parent, a stage's line when the stage starts or ends, a confirmation, "is live") before
// what a running build is doing and notes.
func priority(c *cutbot.Cut, key string) Priority {
	switch {
	case key == cutbot.MessageThread && !c.Messages[key].Posted():
		return PriorityReply // the reply to /release cut links it
	case key == cutbot.MessageThread || key == cutbot.MessageLive:
		return PriorityProgress
	case strings.HasPrefix(key, "audit:"):
		if seq, err := strconv.Atoi(strings.TrimPrefix(key, "audit:")); err == nil && seq <= len(c.Audit) && c.Audit[seq-1].Action == "gates.checked" {
			return PriorityProgress // what the no-mock stage is allowed on
		}
		return PriorityDecoration
	case strings.HasPrefix(key, "stage:"), strings.HasPrefix(key, "confirm:"):
		for i := range c.Stages {
			s := &c.Stages[i]
			for j, a := range s.Attempts {
				if c.LineKey(s.Kind, j+1) != key {
					continue
				}
				switch {
				case a.Status == cutbot.StatusRunning && s.Kind.IsBuild():
					return PriorityDecoration // a build's steps
				case !a.Status.InFlight():
					return PriorityOutcome // ✅, ❌: what everyone waits for
				}
			}
		}
		return PriorityProgress
	}
	return PriorityDecoration
}

func (m *messenger) Post(ctx context.Context, c *cutbot.Cut, key string) (cutbot.MessageRef, error) {
	text, blocks, err := m.view().CutMessage(c, key)
	if err != nil {
		return cutbot.MessageRef{}, err
	}
	opts := []slack.MsgOption{
		slack.MsgOptionMetadata(slack.SlackMetadata{EventType: metadataType, EventPayload: map[string]any{
			"cut_id": c.ID, "key": key, "version": c.Version().String(),
		}}),
		slack.MsgOptionDisableLinkUnfurl(),
	}
	parentTS := ""
	channel, parentKey := where(c, key, m.channel)
	if parentKey != "" {
		parent := c.Messages[parentKey]
		if !parent.Posted() {
			return cutbot.MessageRef{}, fmt.Errorf("post %s of cut %s: its thread is not posted yet", key, c.ID)
		}
		parentTS = parent.TS
		opts = append(opts, slack.MsgOptionTS(parent.TS))
		if key == cutbot.MessageLive {
			opts = append(opts, slack.MsgOptionBroadcast()) // in the thread and in the channel
		}
	}
	channel, ts, err := m.poster.post(ctx, priority(c, key), channel, newContent(text, blocks), opts...)
	if err != nil {
		return cutbot.MessageRef{}, fmt.Errorf("chat.postMessage: %w", err)
	}
	ref := cutbot.MessageRef{Channel: channel, TS: ts}
	ref.Permalink = m.permalink(ctx, ref, parentTS)
	return ref, nil
}

// where is the channel of the message key of c and the key of its thread's parent ("" for a
// parent). An embargoed cut lives in its own (private) channel; once lifted, its public
// thread and its "is live" go to the release channel.
func where(c *cutbot.Cut, key, release string) (channel, parent string) {
	switch {
	case key == cutbot.MessageThread:
		return c.Channel, ""
	case key == cutbot.MessagePublic:
		return release, ""
	case key == cutbot.MessageLive && c.Spec.Embargo != "":
		return release, cutbot.MessagePublic
	}
	return c.Channel, cutbot.MessageThread
}

// PostLater queues the message key of c. Each cut's posts go out one at a time, the most
// urgent first and otherwise in the order they were asked for (a thread reads top to
// bottom: a stage's line does not wait behind the plan, but "is live" comes before the
// reminder to thaw); the cuts' posts take the channel's turns by priority. Each renders the
// cut as it stands when it goes out.
func (m *messenger) PostLater(c *cutbot.Cut, key string, done func(cutbot.MessageRef, error)) {
	m.mu.Lock()
	if m.latest == nil {
		m.latest, m.queued = map[string]*cutbot.Cut{}, map[string][]queuedPost{}
	}
	m.latest[c.ID] = c
	m.queued[c.ID] = append(m.queued[c.ID], queuedPost{key: key, done: done})
	m.posts.add()
	if !m.draining[c.ID] {
		if m.draining == nil {
			m.draining = map[string]bool{}
		}
		m.draining[c.ID] = true
		go m.drainPosts(c.ID)
	}
	m.mu.Unlock()
}

type queuedPost struct {
	key  string
	done func(cutbot.MessageRef, error)
}

// drainPosts posts a cut's queued posts, most urgent first, until there are none.
func (m *messenger) drainPosts(cutID string) {
	for {
		m.mu.Lock()
		q := m.queued[cutID]
		if len(q) == 0 {
			delete(m.queued, cutID)
			delete(m.latest, cutID)
			delete(m.draining, cutID)
			m.mu.Unlock()
			return
		}
		first, latest, _ := m.nextPostLocked(cutID)
		channel, _ := where(latest, q[first].key, m.channel)
		m.mu.Unlock()
		// Take the channel's turn at the priority of this cut's most urgent post, asked again
		// while waiting (a stage's line queued behind the plan moves the cut up), then post
		// whatever is most urgent by then, as the cut stands by then.
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		if b := m.poster.pace.budget("chat.postMessage", channel); b != nil {
			if _, err := b.waitFor(ctx, func() Priority { _, _, p := m.nextPost(cutID); return p }); err == nil {
				ctx = prepaid(ctx)
			}
		}
		m.mu.Lock()
		i, c, _ := m.nextPostLocked(cutID)
		q = m.queued[cutID]
		p := q[i]
		m.queued[cutID] = append(q[:i:i], q[i+1:]...)
		m.mu.Unlock()
		ref, err := m.postQueued(ctx, c, p.key)
		cancel()
		m.answer(p, ref, err)
		m.posts.done()
	}
}

// answer hands a post's outcome to whoever asked; a panic there is logged, not fatal.
func (m *messenger) answer(p queuedPost, ref cutbot.MessageRef, err error) {
	defer func() {
		if r := recover(); r != nil {
			m.log.Error("handling a post's answer panicked", "message", p.key, "panic", r, "stack", string(debug.Stack()))
		}
	}()
	p.done(ref, err)
}

// nextPost is the index of the cut's most urgent queued post, the cut as it stands, and the
// post's priority.
func (m *messenger) nextPost(cutID string) (int, *cutbot.Cut, Priority) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.nextPostLocked(cutID)
}

func (m *messenger) nextPostLocked(cutID string) (int, *cutbot.Cut, Priority) {
	c, q := m.latest[cutID], m.queued[cutID]
	best, bestPrio := 0, PriorityDecoration+1
	for i, p := range q {
		if pr := priority(c, p.key); pr < bestPrio {
			best, bestPrio = i, pr
		}
	}
	return best, c, bestPrio
}

func (m *messenger) postQueued(ctx context.Context, c *cutbot.Cut, key string) (ref cutbot.MessageRef, err error) {
	defer func() {
		if p := recover(); p != nil {
			m.log.Error("posting panicked", "cut", c.ID, "message", key, "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("post %s of cut %s: internal error", key, c.ID)
		}
	}()
	return m.Post(ctx, c, key)
}

// waitPosts waits until no post is waiting (tests and shutdown).
func (m *messenger) waitPosts(ctx context.Context) error { return m.posts.wait(ctx) }

// pending counts work under way and lets one wait until there is none; unlike a WaitGroup,
// work may start while someone waits.
type pending struct {
	mu   sync.Mutex
	n    int
	none chan struct{} // closed while n is 0
}

func (p *pending) add() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == 0 {
		p.none = make(chan struct{})
	}
	p.n++
}

func (p *pending) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n--; p.n == 0 {
		close(p.none)
	}
}

func (p *pending) wait(ctx context.Context) error {
	for {
		p.mu.Lock()
		if p.n == 0 {
			p.mu.Unlock()
			return nil
		}
		none := p.none
		p.mu.Unlock()
		select {
		case <-none:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (m *messenger) postsWaiting() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.draining) > 0
}

// Show edits every posted message of the cut whose text its state changed; the poster skips
// the others and sends the rest when Slack's budget allows, the most urgent first. A post
// still waiting will show this state too.
func (m *messenger) Show(c *cutbot.Cut) {
	m.mu.Lock()
	if _, waiting := m.latest[c.ID]; waiting {
		m.latest[c.ID] = c
	}
	m.mu.Unlock()
	v := m.view()
	for key, ref := range c.Messages {
		if !ref.Posted() || strings.HasPrefix(key, "audit:") { // a note says what happened then, for good
			continue
		}
		text, blocks, err := v.CutMessage(c, key)
		if err != nil {
			m.log.Error("render message", "cut", c.ID, "message", key, "err", err)
			continue
		}
		m.poster.update(msgRef{ref.Channel, ref.TS}, newContent(text, blocks), priority(c, key))
	}
}

// setTeamURL keeps the workspace's URL that auth.test gave, to make permalinks from.
func (m *messenger) setTeamURL(u string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.teamURL = u
}

// permalink is a message's link: made the way Slack makes them, from the workspace's URL,
// without a call; asked of Slack (chat.getPermalink) only when the URL is not known. A
// failure only costs the link.
func (m *messenger) permalink(ctx context.Context, ref cutbot.MessageRef, threadTS string) string {
	m.mu.Lock()
	team := m.teamURL
	m.mu.Unlock()
	if team != "" {
		link := strings.TrimSuffix(team, "/") + "/archives/" + ref.Channel + "/p" + strings.Replace(ref.TS, ".", "", 1)
		if threadTS != "" {
			link += "?thread_ts=" + threadTS + "&cid=" + ref.Channel
		}
		return link
	}
	link, err := m.api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: ref.Channel, Ts: ref.TS})
	if err != nil {
		m.log.Warn("chat.getPermalink failed", "channel", ref.Channel, "ts", ref.TS, "err", err)
		return ""
	}
	return link
}

// findInHistory looks through the channel's history since since, page by page, for the
// first message match accepts.
func (m *messenger) findInHistory(ctx context.Context, channel string, since time.Time, match func(slack.Message) bool) (cutbot.MessageRef, bool, error) {
	params := &slack.GetConversationHistoryParameters{ChannelID: channel, Oldest: strconv.FormatInt(since.Unix(), 10), Limit: 200, IncludeAllMetadata: true}
	for {
		resp, err := m.api.GetConversationHistoryContext(ctx, params)
		if err != nil {
			return cutbot.MessageRef{}, false, fmt.Errorf("conversations.history: %w", err)
		}
		for _, msg := range resp.Messages {
			if match(msg) {
				return cutbot.MessageRef{Channel: channel, TS: msg.Timestamp}, true, nil
			}
		}
		if !resp.HasMore || resp.ResponseMetaData.NextCursor == "" {
			return cutbot.MessageRef{}, false, nil
		}
		params.Cursor = resp.ResponseMetaData.NextCursor
	}
}

// Find looks for a message of the cut that an interrupted Post may have left: the thread's
// parent in the channel's history since the cut opened, anything else among the thread's
// replies.
func (m *messenger) Find(ctx context.Context, c *cutbot.Cut, key string) (cutbot.MessageRef, bool, error) {
	match := func(msg slack.Message) bool {
		p := msg.Metadata.EventPayload
		return msg.Metadata.EventType == metadataType && fmt.Sprint(p["cut_id"]) == c.ID && fmt.Sprint(p["key"]) == key
	}
	channel, parentKey := where(c, key, m.channel)
	if parentKey == "" {
		since := c.OpenedAt
		if key == cutbot.MessagePublic {
			since = c.Lifted
		}
		ref, found, err := m.findInHistory(ctx, channel, since.Add(-time.Minute), match)
		if found {
			ref.Permalink = m.permalink(ctx, ref, "")
		}
		return ref, found, err
	}
	parent := c.Messages[parentKey]
	if !parent.Posted() {
		return cutbot.MessageRef{}, false, nil
	}
	params := &slack.GetConversationRepliesParameters{ChannelID: channel, Timestamp: parent.TS, Limit: 200, IncludeAllMetadata: true}
	for {
		msgs, hasMore, cursor, err := m.api.GetConversationRepliesContext(ctx, params)
		if err != nil {
			return cutbot.MessageRef{}, false, fmt.Errorf("conversations.replies: %w", err)
		}
		for _, msg := range msgs {
			if match(msg) {
				ref := cutbot.MessageRef{Channel: channel, TS: msg.Timestamp}
				ref.Permalink = m.permalink(ctx, ref, parent.TS)
				return ref, true, nil
			}
		}
		if !hasMore || cursor == "" {
			return cutbot.MessageRef{}, false, nil
		}
		params.Cursor = cursor
	}
}

// directory answers who is a release manager from the configured Slack usergroup and user
// ids. It implements cutbot.Directory.
type directory struct {
	api      *slack.Client
	group    string   // usergroup id, e.g. S0123
	managers []string // extra user ids
	log      *slog.Logger
	now      func() time.Time

	mu      sync.Mutex
	handle  string // "@release-managers", looked up once
	members []string
	fetched time.Time
}

// membersFor is how long the usergroup's members are trusted: a patch day's dozens of
// commands cost one usergroups.users.list a minute (Slack's Tier 2 allows 20), and someone
// added to the group may act within a minute.
const membersFor = time.Minute

var _ cutbot.Directory = (*directory)(nil)

func (d *directory) IsReleaseManager(ctx context.Context, userID string) (bool, error) {
	if slices.Contains(d.managers, userID) {
		return true, nil
	}
	if d.group == "" {
		return false, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	age := d.now().Sub(d.fetched)
	if d.fetched.IsZero() || age > membersFor || !slices.Contains(d.members, userID) && age > 5*time.Second {
		// Asked again when the list is old, or before refusing someone (who may just have
		// been added), at most every few seconds.
		members, err := d.api.GetUserGroupMembersContext(withPriority(ctx, PriorityReply), d.group)
		if err != nil {
			return false, fmt.Errorf("usergroups.users.list %s: %w", d.group, err)
		}
		d.members, d.fetched = members, d.now()
	}
	return slices.Contains(d.members, userID), nil
}

func (d *directory) ReleaseManagers(ctx context.Context) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.handle == "" && d.group != "" {
		groups, err := d.api.GetUserGroupsContext(ctx)
		if err != nil {
			d.log.Warn("usergroups.list failed", "err", err)
		}
		for _, g := range groups {
			if g.ID == d.group {
				d.handle = "@" + g.Handle
			}
		}
	}
	who := d.handle
	if who == "" && d.group != "" {
		who = "the user group " + d.group
	}
	var extra []string
	for _, u := range d.managers {
		extra = append(extra, user(u))
	}
	switch {
	case who == "" && len(extra) == 0:
		return "nobody is configured: set CUTBOT_MANAGERS_GROUP or CUTBOT_MANAGERS"
	case who == "":
		return joinAnd(extra)
	case len(extra) > 0:
		return who + " and " + joinAnd(extra)
	}
	return who
}

// joinAnd reads "a, b and c".
func joinAnd(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
