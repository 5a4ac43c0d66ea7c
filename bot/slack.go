package bot

import (
	"context"
	"fmt"
	"log/slog"
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
}

func (m *messenger) view() view {
	v := m.base
	v.Now = m.clock.Now()
	return v
}

var _ cutbot.Messenger = (*messenger)(nil)

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
	if key != cutbot.MessageThread {
		parent := c.Messages[cutbot.MessageThread]
		if !parent.Posted() {
			return cutbot.MessageRef{}, fmt.Errorf("post %s of cut %s: its thread is not posted yet", key, c.ID)
		}
		opts = append(opts, slack.MsgOptionTS(parent.TS))
		if key == cutbot.MessageLive {
			opts = append(opts, slack.MsgOptionBroadcast()) // in the thread and in the channel
		}
	}
	channel, ts, err := m.poster.post(ctx, c.Channel, newContent(text, blocks), opts...)
	if err != nil {
		return cutbot.MessageRef{}, fmt.Errorf("chat.postMessage: %w", err)
	}
	ref := cutbot.MessageRef{Channel: channel, TS: ts}
	ref.Permalink = m.permalink(ctx, ref)
	return ref, nil
}

// permalink asks Slack for a message's link; a failure only costs the link.
func (m *messenger) permalink(ctx context.Context, ref cutbot.MessageRef) string {
	link, err := m.api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: ref.Channel, Ts: ref.TS})
	if err != nil {
		m.log.Warn("chat.getPermalink failed", "channel", ref.Channel, "ts", ref.TS, "err", err)
		return ""
	}
	return link
}

func (m *messenger) Update(ctx context.Context, c *cutbot.Cut, key string) error {
	ref := c.Messages[key]
	if !ref.Posted() {
		return fmt.Errorf("update %s of cut %s: not posted", key, c.ID)
	}
	text, blocks, err := m.view().CutMessage(c, key)
	if err != nil {
		return err
	}
	m.poster.update(msgRef{ref.Channel, ref.TS}, newContent(text, blocks))
	return nil
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
	channel := c.Channel
	if key == cutbot.MessageThread {
		ref, found, err := m.findInHistory(ctx, channel, c.OpenedAt.Add(-time.Minute), match)
		if found {
			ref.Permalink = m.permalink(ctx, ref)
		}
		return ref, found, err
	}
	parent := c.Messages[cutbot.MessageThread]
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
				ref.Permalink = m.permalink(ctx, ref)
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

	mu     sync.Mutex
	handle string // "@release-managers", looked up once
}

var _ cutbot.Directory = (*directory)(nil)

func (d *directory) IsReleaseManager(ctx context.Context, userID string) (bool, error) {
	if slices.Contains(d.managers, userID) {
		return true, nil
	}
	if d.group == "" {
		return false, nil
	}
	// Asked every time: membership changes, and commands that change things are rare.
	members, err := d.api.GetUserGroupMembersContext(ctx, d.group)
	if err != nil {
		return false, fmt.Errorf("usergroups.users.list %s: %w", d.group, err)
	}
	return slices.Contains(members, userID), nil
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
