package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/handlers"
)

const reminderMetadata = "cutbot_reminder"

var _ cutbot.Announcer = (*messenger)(nil)

// PostReminder posts a reminder in the release channel, with metadata naming it so that a
// post interrupted by a crash is found again.
func (m *messenger) PostReminder(ctx context.Context, d cutbot.Due) (cutbot.MessageRef, error) {
	text := m.view().Reminder(d)
	return m.postInChannel(ctx, newContent(text, m.view().ReminderBlocks(d, text)), reminderMetadata, map[string]any{"id": d.ID})
}

// postInChannel posts a message of the release channel's own (not a cut's), with metadata of
// kind and payload, so that a post interrupted by a crash is found again in the history.
func (m *messenger) postInChannel(ctx context.Context, c content, kind string, payload map[string]any) (cutbot.MessageRef, error) {
	ch, ts, err := m.poster.post(ctx, PriorityProgress, m.channel, c,
		slack.MsgOptionMetadata(slack.SlackMetadata{EventType: kind, EventPayload: payload}),
		slack.MsgOptionDisableLinkUnfurl())
	if err != nil {
		return cutbot.MessageRef{}, fmt.Errorf("chat.postMessage: %w", err)
	}
	ref := cutbot.MessageRef{Channel: ch, TS: ts}
	ref.Permalink = m.permalink(ctx, ref, "")
	return ref, nil
}

// FindReminder looks in the channel's history since since for the reminder id.
func (m *messenger) FindReminder(ctx context.Context, id string, since time.Time) (cutbot.MessageRef, bool, error) {
	return m.findInHistory(ctx, m.channel, since, func(msg slack.Message) bool {
		return msg.Metadata.EventType == reminderMetadata && fmt.Sprint(msg.Metadata.EventPayload["id"]) == id
	})
}

func dayName(d cutbot.Day) string { return d.Weekday().String()[:3] + ", " + d.String() }

// when says when a reminded day is: "today (Fri, 2024-10-11)", "in 3 days (Fri, 2024-10-11)".
func when(d cutbot.Reminder) string {
	switch d.Lead {
	case 0:
		return "today (" + dayName(d.Day) + ")"
	case 1:
		return "tomorrow (" + dayName(d.Day) + ")"
	}
	return fmt.Sprintf("in %d days (%s)", d.Lead, dayName(d.Day))
}

// Reminder is the text of a reminder.
func (v view) Reminder(d cutbot.Due) string {
	items := joinAnd(d.Items)
	var text string
	switch d.Kind {
	case cutbot.CherryPickDeadline:
		text = fmt.Sprintf(":cherries: The cherry-pick deadline for %s is %s. Cherry-picks need `cherry-pick-approved` by then.", items, when(d.Reminder))
	case cutbot.PatchTarget:
		verb := "is"
		if len(d.Items) > 1 {
			verb = "are"
		}
		text = fmt.Sprintf(":kubernetes: %s %s due today (%s).", items, verb, dayName(d.Day))
		if d.Lead == 1 {
			text = fmt.Sprintf(":kubernetes: %s %s due tomorrow (%s). The playbook runs the mock build the day before: a release manager's button opens the cut, and its mock run starts.", items, verb, dayName(d.Day))
		}
	case cutbot.MaintenanceMode:
		text = fmt.Sprintf(":wrench: %s enters maintenance mode today (%s).", items, dayName(d.Day))
	case cutbot.EndOfLife:
		text = fmt.Sprintf(":headstone: %s reaches end of life today (%s).", items, dayName(d.Day))
	case cutbot.PatchGap:
		text = ":hourglass: " + escape(d.Detail)
	default:
		what := items
		if d.Cycle != "" {
			what += " (" + d.Cycle + ")"
		}
		text = fmt.Sprintf(":calendar: %s is %s", what, when(d.Reminder))
		if !d.Event.IsZero() {
			text += " at " + d.Event.In(v.loc()).Format("15:04 MST")
		}
		text += "."
	}
	if d.Late {
		text += fmt.Sprintf("\n_Posted late: cutbot was not running at %s._", d.At.In(v.loc()).Format("Mon 2006-01-02 15:04 MST"))
	}
	return text
}

// ReminderBlocks are a reminder's blocks: its text, and the buttons that start what it
// reminds of: "Open the cut of v1.31.4" the day before a patch's target date, "Freeze
// release-1.31" at its cherry-pick deadline (the freeze's preview, then its confirmation).
func (v view) ReminderBlocks(d cutbot.Due, text string) []slack.Block {
	blocks := []slack.Block{section(text)}
	var buttons []slack.BlockElement
	for _, item := range d.Items {
		ver, err := cutbot.ParseVersion(item)
		if err != nil || len(buttons) >= 5 {
			continue
		}
		switch {
		case d.Kind == cutbot.PatchTarget && d.Lead == 1:
			buttons = append(buttons, button(handlers.ActionOpenCut, ver.String()+"|-|", "Open the cut of "+ver.String()))
		case d.Kind == cutbot.CherryPickDeadline && d.Lead == 0:
			buttons = append(buttons, button(handlers.ActionFreezeBranch, ver.ReleaseBranch()+"|-|"+ver.String(), "Freeze "+ver.ReleaseBranch()))
		}
	}
	if len(buttons) > 0 {
		blocks = append(blocks, slack.NewActionBlock("reminder", buttons...), contextBlock("Release managers only; each button does what its command would, with the same checks."))
	}
	return blocks
}

func (v view) loc() *time.Location {
	if v.Location == nil {
		return time.UTC
	}
	return v.Location
}

func kindLabel(k cutbot.MilestoneKind) string {
	switch k {
	case cutbot.CherryPickDeadline:
		return ":cherries: cherry-pick deadline"
	case cutbot.PatchTarget:
		return ":kubernetes: target date"
	case cutbot.MaintenanceMode:
		return ":wrench: maintenance mode"
	case cutbot.EndOfLife:
		return ":headstone: end of life"
	}
	return ":calendar:"
}

func scheduleReply(r handlers.ScheduleReply) (string, []slack.Block) {
	text := fmt.Sprintf("Release calendar, %s to %s:", r.From, r.To.AddDays(-1))
	blocks := []slack.Block{section("*" + text + "*")}
	if len(r.Milestones) == 0 {
		blocks = append(blocks, section("Nothing is scheduled."))
		return text, blocks
	}
	var lines []string
	var cur cutbot.Day
	for _, m := range r.Milestones {
		if m.Day != cur {
			cur = m.Day
			lines = append(lines, "*"+dayName(m.Day)+"*")
		}
		what := m.What
		if m.Kind == cutbot.CycleMilestone && m.Cycle != "" {
			what = m.Cycle + ": " + what
		}
		if !m.At.IsZero() {
			what += " at " + m.At.In(r.Location).Format("15:04 MST")
		}
		lines = append(lines, fmt.Sprintf("• %s %s", kindLabel(m.Kind), escape(what)))
	}
	blocks = append(blocks, sections(lines)...) // a long calendar takes several sections
	if !r.Loaded.IsZero() {
		blocks = append(blocks, contextBlock("Calendar read "+r.Loaded.In(r.Location).Format("Mon 15:04 MST")+"."))
	}
	return text, blocks
}

func remindersReply(r handlers.RemindersReply) (string, []slack.Block) {
	text := "Reminders to come:"
	if r.Headline != "" {
		text = r.Headline + " " + text
	}
	blocks := []slack.Block{section("*" + escape(text) + "*")}
	var lines []string
	v := view{Location: r.Location}
	for _, rem := range r.Next {
		lines = append(lines, fmt.Sprintf("• `%s` %s — %s", rem.ID, rem.At.In(v.loc()).Format("Mon 2006-01-02 15:04 MST"), v.Reminder(cutbot.Due{Reminder: rem})))
	}
	if len(lines) == 0 {
		lines = append(lines, "None.")
	}
	blocks = append(blocks, sections(lines)...)
	if len(r.Muted) > 0 {
		var muted []string
		for _, rem := range r.Muted {
			muted = append(muted, "`"+rem.ID+"`")
		}
		blocks = append(blocks, contextBlock("Muted: "+strings.Join(muted, ", ")+". `/release reminders unmute ID` brings one back."))
	}
	return text, blocks
}
