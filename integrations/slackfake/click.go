package slackfake

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// Button is a button shown on a message.
type Button struct {
	MessageTS string
	ActionID  string
	BlockID   string
	Label     string
	Value     string
}

// Buttons returns the buttons on a channel's messages as they show now, oldest message first.
func (s *Server) Buttons(channelID string) []Button {
	var out []Button
	for _, m := range s.Messages(channelID) {
		out = append(out, buttonsOf(m)...)
	}
	return out
}

func buttonsOf(m Message) []Button {
	out := blockButtons(m.Blocks)
	for i := range out {
		out[i].MessageTS = m.TS
	}
	return out
}

// blockButtons are the buttons of Block Kit blocks: in actions blocks and as section
// accessories, in order.
func blockButtons(raw json.RawMessage) []Button {
	type element struct {
		Type     string `json:"type"`
		ActionID string `json:"action_id"`
		Value    string `json:"value"`
		Text     struct {
			Text string `json:"text"`
		} `json:"text"`
	}
	var blocks []struct {
		Type      string    `json:"type"`
		BlockID   string    `json:"block_id"`
		Accessory *element  `json:"accessory"`
		Elements  []element `json:"elements"`
	}
	json.Unmarshal(raw, &blocks)
	var out []Button
	for _, b := range blocks {
		if a := b.Accessory; a != nil && a.Type == "button" {
			out = append(out, Button{ActionID: a.ActionID, BlockID: b.BlockID, Label: a.Text.Text, Value: a.Value})
		}
		if b.Type != "actions" {
			continue
		}
		for _, e := range b.Elements {
			if e.Type == "button" {
				out = append(out, Button{ActionID: e.ActionID, BlockID: b.BlockID, Label: e.Text.Text, Value: e.Value})
			}
		}
	}
	return out
}

// FindEphemeralButton returns the newest button whose label starts with label on a message
// only userID sees.
func (s *Server) FindEphemeralButton(userID, label string) (Button, bool) {
	var found Button
	ok := false
	for _, m := range s.Ephemerals(userID) {
		for _, b := range buttonsOf(m) {
			if strings.HasPrefix(b.Label, label) {
				found, ok = b, true
			}
		}
	}
	return found, ok
}

// FindButton returns the newest button whose label starts with label.
func (s *Server) FindButton(channelID, label string) (Button, bool) {
	buttons := s.Buttons(channelID)
	for i := len(buttons) - 1; i >= 0; i-- {
		if strings.HasPrefix(buttons[i].Label, label) {
			return buttons[i], true
		}
	}
	return Button{}, false
}

// Click presses a button as userID, delivering a block_actions envelope over Socket Mode in
// the shape Slack sends (shared/data/slack/socket-mode/interactive-block_actions-message.*),
// and returns the envelope id.
func (s *Server) Click(ctx context.Context, userID, channelID string, b Button) (string, error) {
	if err := s.WaitConnected(ctx); err != nil {
		return "", err
	}
	s.mu.Lock()
	s.envSeq++
	id := fmt.Sprintf("fake-envelope-%s-%04d", s.run, s.envSeq)
	respPath := fmt.Sprintf("/actions/%s/%d/fake-response-secret", s.opts.TeamID, s.envSeq)
	s.responses["/commands"+respPath] = responseTarget{user: userID, channel: channelID, envelope: id}
	var blocks json.RawMessage
	if m := s.find(channelID, b.MessageTS); m != nil {
		blocks = m.Blocks
	}
	chName := channelID
	if ch := s.channels[channelID]; ch != nil {
		chName = ch.Name
	}
	payload := map[string]any{
		"type":       "block_actions",
		"user":       map[string]any{"id": userID, "username": s.userName(userID), "name": s.userName(userID), "team_id": s.opts.TeamID},
		"api_app_id": s.opts.AppID, "token": "fake-verification-token",
		"container":    map[string]any{"type": "message", "message_ts": b.MessageTS, "channel_id": channelID, "is_ephemeral": false},
		"trigger_id":   s.issueTrigger(userID),
		"team":         map[string]any{"id": s.opts.TeamID, "domain": s.opts.TeamDomain},
		"channel":      map[string]any{"id": channelID, "name": chName},
		"message":      map[string]any{"bot_id": s.opts.BotID, "type": "message", "user": s.opts.BotUserID, "ts": b.MessageTS, "team": s.opts.TeamID, "blocks": blocks},
		"response_url": s.http.URL + "/commands" + respPath,
		"actions":      s.buttonAction(b),
	}
	return s.deliverInteractive(id, payload)
}

// buttonAction is the actions list of a block_actions payload for a press of b.
func (s *Server) buttonAction(b Button) []any {
	return []any{map[string]any{
		"action_id": b.ActionID, "block_id": b.BlockID, "value": b.Value, "type": "button",
		"text":      map[string]any{"type": "plain_text", "text": b.Label, "emoji": true},
		"action_ts": fmt.Sprintf("%d.%06d", s.opts.Epoch, s.envSeq),
	}}
}

// deliverInteractive sends an interactive envelope with payload over the socket. It is called
// with s.mu held, and releases it.
func (s *Server) deliverInteractive(id string, payload map[string]any) (string, error) {
	return id, s.deliverLocked(id, map[string]any{"payload": payload, "type": "interactive", "accepts_response_payload": false})
}

// deliverLocked keeps the envelope id (its fields, plus envelope_id) for redelivery and sends
// it over the socket. It is called with s.mu held, and releases it.
func (s *Server) deliverLocked(id string, envelope map[string]any) error {
	envelope["envelope_id"] = id
	env, _ := json.Marshal(envelope)
	s.envelopes[id] = env
	s.mu.Unlock()
	return s.send(id, env)
}
