package bot

import (
	"context"
	"errors"
	"fmt"

	"github.com/slack-go/slack"
)

// Workspace is what the workspace says of cutbot's configuration.
type Workspace struct {
	Team, BotUser string
	Channel       string // "#release-management (private)"
	Private       bool
	Usergroup     string // "@release-managers", or "" when none is configured
	// PrivateChannel is where embargoed cuts live ("#release-managers-private"), or "".
	PrivateChannel string
}

// CheckWorkspace asks Slack whether the configuration can work: the bot token (auth.test),
// the channel (it exists, is not archived, and the bot is in it, so it can post there), and
// the release managers' usergroup, and the private channel of embargoed cuts (it must be
// private, and the bot in it). It returns what it found, or an error saying what to fix.
func CheckWorkspace(ctx context.Context, api *slack.Client, channel, private, group string) (Workspace, error) {
	var w Workspace
	auth, err := api.AuthTestContext(ctx)
	if err != nil {
		return w, fmt.Errorf("Slack refused SLACK_BOT_TOKEN (auth.test: %w): check the bot token (OAuth & Permissions → Bot User OAuth Token)", err)
	}
	w.Team, w.BotUser = auth.Team, auth.User
	var errs []error
	ch, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: channel})
	var se slack.SlackErrorResponse
	switch {
	case errors.As(err, &se) && se.Err == "channel_not_found" || err != nil && err.Error() == "channel_not_found":
		errs = append(errs, fmt.Errorf("CUTBOT_CHANNEL %s: no such channel in %s, or it is private and the bot is not in it: check the id (the channel's details, at the bottom) and /invite @%s there", channel, auth.Team, auth.User))
	case err != nil:
		errs = append(errs, fmt.Errorf("CUTBOT_CHANNEL %s: conversations.info: %w (the app needs the channels:read or groups:read scope)", channel, err))
	case ch.IsArchived:
		errs = append(errs, fmt.Errorf("CUTBOT_CHANNEL %s (#%s) is archived: nothing can be posted there; unarchive it or give another channel", channel, ch.Name))
	case !ch.IsMember:
		errs = append(errs, fmt.Errorf("CUTBOT_CHANNEL %s (#%s): the bot is not in it, so it cannot post there: /invite @%s in #%s", channel, ch.Name, auth.User, ch.Name))
	default:
		w.Private = ch.IsPrivate
		w.Channel = "#" + ch.Name
		if ch.IsPrivate {
			w.Channel += " (private)"
		}
	}
	if private != "" {
		ch, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: private})
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("CUTBOT_PRIVATE_CHANNEL %s: conversations.info: %w: give the id of a private channel and /invite @%s there (the app needs the groups:read scope)", private, err, auth.User))
		case private == channel:
			errs = append(errs, fmt.Errorf("CUTBOT_PRIVATE_CHANNEL %s is the release channel: embargoed cuts need a channel of their own", private))
		case !ch.IsPrivate:
			errs = append(errs, fmt.Errorf("CUTBOT_PRIVATE_CHANNEL %s (#%s) is public: embargoed cuts must not be seen there; give a private channel (e.g. #release-managers-private)", private, ch.Name))
		case ch.IsArchived:
			errs = append(errs, fmt.Errorf("CUTBOT_PRIVATE_CHANNEL %s (#%s) is archived", private, ch.Name))
		case !ch.IsMember:
			errs = append(errs, fmt.Errorf("CUTBOT_PRIVATE_CHANNEL %s (#%s): the bot is not in it: /invite @%s in #%s", private, ch.Name, auth.User, ch.Name))
		default:
			w.PrivateChannel = "#" + ch.Name + " (private)"
		}
	}
	if group != "" {
		groups, err := api.GetUserGroupsContext(ctx)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("CUTBOT_MANAGERS_GROUP %s: usergroups.list: %w (the app needs the usergroups:read scope)", group, err))
		default:
			for _, g := range groups {
				if g.ID == group {
					w.Usergroup = "@" + g.Handle
				}
			}
			if w.Usergroup == "" {
				errs = append(errs, fmt.Errorf("CUTBOT_MANAGERS_GROUP %s: no such usergroup in %s: give the id (S…) of the release managers' group, from usergroups.list or the group's page", group, auth.Team))
			}
		}
	}
	return w, errors.Join(errs...)
}
