package slackfake

import (
	"encoding/json"
	"fmt"
	"html"
	"regexp"
	"strings"
)

// Text returns a message's content as a person reads it in Slack: the blocks when it has
// them (Slack shows blocks instead of the text), each block on its own lines, with mentions,
// channels and links resolved.
func (s *Server) Text(m Message) string {
	if len(m.Blocks) == 0 {
		return s.mrkdwn(m.Text)
	}
	var blocks []map[string]any
	if err := json.Unmarshal(m.Blocks, &blocks); err != nil {
		return s.mrkdwn(m.Text)
	}
	var lines []string
	for _, b := range blocks {
		switch b["type"] {
		case "header":
			lines = append(lines, strings.ToUpper(textOf(b["text"])))
		case "section":
			if t := textOf(b["text"]); t != "" {
				lines = append(lines, s.mrkdwn(t))
			}
			if fields, ok := b["fields"].([]any); ok {
				for _, f := range fields {
					lines = append(lines, "  "+s.mrkdwn(textOf(f)))
				}
			}
			if acc, ok := b["accessory"].(map[string]any); ok && acc["type"] == "button" {
				lines = append(lines, "  ["+textOf(acc["text"])+"]")
			}
		case "context":
			var parts []string
			if els, ok := b["elements"].([]any); ok {
				for _, e := range els {
					parts = append(parts, s.mrkdwn(textOf(e)))
				}
			}
			lines = append(lines, strings.Join(parts, "  "))
		case "divider":
			lines = append(lines, "────────")
		case "input":
			el, _ := b["element"].(map[string]any)
			val, _ := el["initial_value"].(string)
			if o, ok := el["initial_option"].(map[string]any); ok {
				val = textOf(o["text"])
			}
			if os, ok := el["initial_options"].([]any); ok && len(os) > 0 {
				val = "☑ " + textOf(os[0].(map[string]any)["text"])
			}
			lines = append(lines, fmt.Sprintf("%s: [%s]", textOf(b["label"]), val))
		case "actions":
			var buttons []string
			if els, ok := b["elements"].([]any); ok {
				for _, e := range els {
					buttons = append(buttons, "["+textOf(e.(map[string]any)["text"])+"]")
				}
			}
			lines = append(lines, strings.Join(buttons, " "))
		default:
			lines = append(lines, fmt.Sprintf("(%v block)", b["type"]))
		}
	}
	return strings.Join(lines, "\n")
}

func textOf(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	t, _ := m["text"].(string)
	return t
}

var (
	reUser    = regexp.MustCompile(`<@([UW][A-Z0-9]+)(\|[^>]*)?>`)
	reGroup   = regexp.MustCompile(`<!subteam\^([A-Z0-9]+)(\|([^>]*))?>`)
	reChannel = regexp.MustCompile(`<#([CG][A-Z0-9]+)(\|([^>]*))?>`)
	reLink    = regexp.MustCompile(`<((?:https?|mailto):[^|>]+)(\|([^>]*))?>`)
)

// mrkdwn resolves Slack's markup into plain text: <@U1> → @name, <!subteam^S1> → @handle,
// <#C1> → #name, <url|label> → label <url>.
func (s *Server) mrkdwn(t string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t = reUser.ReplaceAllStringFunc(t, func(m string) string { return "@" + s.userName(reUser.FindStringSubmatch(m)[1]) })
	t = reGroup.ReplaceAllStringFunc(t, func(m string) string {
		sub := reGroup.FindStringSubmatch(m)
		if sub[3] != "" {
			return sub[3]
		}
		return "@" + s.groupHandle(sub[1])
	})
	t = reChannel.ReplaceAllStringFunc(t, func(m string) string {
		sub := reChannel.FindStringSubmatch(m)
		if sub[3] != "" {
			return "#" + sub[3]
		}
		if ch := s.channels[sub[1]]; ch != nil {
			return "#" + ch.Name
		}
		return "#" + sub[1]
	})
	t = reLink.ReplaceAllStringFunc(t, func(m string) string {
		sub := reLink.FindStringSubmatch(m)
		if sub[3] != "" {
			return sub[3] + " <" + sub[1] + ">"
		}
		return sub[1]
	})
	return html.UnescapeString(t)
}

func indent(text, prefix string) string {
	lines := strings.Split(text, "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return strings.Join(lines, "\n")
}

// Transcript renders a channel as a person reads it: each top-level message with its thread
// under it.
func (s *Server) Transcript(channelID string) string {
	msgs := s.Messages(channelID)
	var b strings.Builder
	fmt.Fprintf(&b, "#%s\n", s.ChannelName(channelID))
	for _, m := range msgs {
		if m.ThreadTS != "" {
			if m.Broadcast {
				fmt.Fprintf(&b, "%s%s (replied to a thread, also sent to the channel)\n", s.author(m), edited(m))
				b.WriteString(indent(s.Text(m), "  ") + "\n")
			}
			continue
		}
		fmt.Fprintf(&b, "%s%s\n", s.author(m), edited(m))
		b.WriteString(indent(s.Text(m), "  ") + "\n")
		for _, r := range msgs {
			if r.ThreadTS == m.TS {
				fmt.Fprintf(&b, "  │ %s%s\n", s.author(r), edited(r))
				b.WriteString(indent(s.Text(r), "  │   ") + "\n")
			}
		}
	}
	return b.String()
}

func (s *Server) author(m Message) string {
	return s.UserName(m.User)
}

func edited(m Message) string {
	if m.Edits() > 0 {
		return " (edited)"
	}
	return ""
}

// Describe renders one change for a running log: a new message, a reply, an edit, or an
// ephemeral message, with where it happened.
func (s *Server) Describe(c Change) string {
	m := c.Message
	where := "#" + s.ChannelName(m.Channel)
	var head string
	switch {
	case m.Ephemeral:
		head = fmt.Sprintf("only visible to @%s, in %s:", s.UserName(m.To), where)
	case c.Edited && m.ThreadTS != "":
		head = fmt.Sprintf("%s edited a reply in the thread in %s:", s.author(m), where)
	case c.Edited:
		head = fmt.Sprintf("%s edited a message in %s:", s.author(m), where)
	case m.Broadcast:
		head = fmt.Sprintf("%s replied in the thread and to %s:", s.author(m), where)
	case m.ThreadTS != "":
		head = fmt.Sprintf("%s replied in the thread in %s:", s.author(m), where)
	default:
		head = fmt.Sprintf("%s posted in %s:", s.author(m), where)
	}
	if c.Edited {
		return head + "\n" + s.editDiff(c)
	}
	return head + "\n" + indent(s.Text(m), "    ")
}

// editDiff shows an edit as a person notices it: the message's first line, for context, then
// the lines that appeared (+) and went away (-).
func (s *Server) editDiff(c Change) string {
	now := strings.Split(s.Text(c.Message), "\n")
	old := c.Message
	old.Text, old.Blocks = c.Before.Text, c.Before.Blocks
	was := strings.Split(s.Text(old), "\n")
	in := func(list []string, x string) bool {
		for _, y := range list {
			if y == x {
				return true
			}
		}
		return false
	}
	out := []string{"    " + now[0]}
	for _, l := range was[1:] {
		if !in(now, l) {
			out = append(out, "  - "+l)
		}
	}
	for _, l := range now[1:] {
		if !in(was, l) {
			out = append(out, "  + "+l)
		}
	}
	if !in(was, now[0]) && len(was) > 0 {
		out[0] = "  + " + now[0]
		out = append([]string{"  - " + was[0]}, out...)
	}
	return strings.Join(out, "\n")
}
