package slackfake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

type conn struct {
	id    int
	ws    *websocket.Conn
	wmu   sync.Mutex // gorilla allows one writer at a time
	done  chan struct{}
	once  sync.Once
	pings int
}

func (c *conn) write(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteJSON(v)
}

func (c *conn) close() {
	c.once.Do(func() {
		close(c.done)
		c.ws.Close()
	})
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	valid := s.tickets[ticket]
	delete(s.tickets, ticket) // a ticket opens one connection
	s.mu.Unlock()
	if !valid {
		http.Error(w, "invalid ticket", http.StatusUnauthorized)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.connSeq++
	c := &conn{id: s.connSeq, ws: ws, done: make(chan struct{})}
	s.conns[c.id] = c
	n := len(s.conns)
	s.mu.Unlock()

	// What real Slack sends first (shape of shared/data/slack/socket-mode/hello.*.json).
	c.write(map[string]any{
		"type": "hello", "num_connections": n,
		"debug_info":      map[string]any{"host": "applink-fake", "build_number": 1, "approximate_connection_time": 18060},
		"connection_info": map[string]any{"app_id": s.opts.AppID},
	})
	s.mu.Lock()
	s.notify()
	s.mu.Unlock()

	go s.pingLoop(c)
	s.readLoop(c)

	s.mu.Lock()
	delete(s.conns, c.id)
	s.notify()
	s.mu.Unlock()
	c.close()
}

func (s *Server) pingLoop(c *conn) {
	t := time.NewTicker(s.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			c.wmu.Lock()
			err := c.ws.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(5*time.Second))
			c.wmu.Unlock()
			if err != nil {
				return
			}
		}
	}
}

// readLoop records acknowledgements until the connection ends.
func (s *Server) readLoop(c *conn) {
	for {
		var msg struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if err := c.ws.ReadJSON(&msg); err != nil {
			return
		}
		now := time.Now()
		s.mu.Lock()
		if msg.EnvelopeID != "" {
			ack := Ack{EnvelopeID: msg.EnvelopeID, Payload: msg.Payload, Sent: s.sent[msg.EnvelopeID], At: now}
			s.acks[msg.EnvelopeID] = append(s.acks[msg.EnvelopeID], ack)
			s.ackPayload(msg.EnvelopeID, msg.Payload)
		}
		s.notify()
		s.mu.Unlock()
	}
}

// ackPayload shows a slash command's ack payload (a message) to the user, as Slack does.
// Call with s.mu held.
func (s *Server) ackPayload(envelopeID string, payload json.RawMessage) {
	if len(payload) == 0 || string(payload) == "null" || string(payload) == "{}" {
		return
	}
	var env struct {
		Type    string `json:"type"`
		Payload struct {
			UserID    string `json:"user_id"`
			ChannelID string `json:"channel_id"`
		} `json:"payload"`
	}
	if json.Unmarshal(s.envelopes[envelopeID], &env) != nil || env.Type != "slash_commands" {
		return
	}
	var msg struct {
		Text   string          `json:"text"`
		Blocks json.RawMessage `json:"blocks"`
	}
	if json.Unmarshal(payload, &msg) == nil && (msg.Text != "" || len(msg.Blocks) > 0) {
		s.addEphemeral(env.Payload.UserID, env.Payload.ChannelID, msg.Text, msg.Blocks)
	}
}

// Connections is the number of open Socket Mode connections.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Opened is the number of Socket Mode connections ever opened.
func (s *Server) Opened() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connSeq
}

// WaitConnected blocks until at least one Socket Mode connection is open.
func (s *Server) WaitConnected(ctx context.Context) error {
	return s.waitLocked(ctx, func() bool { return len(s.conns) > 0 })
}

// SlashCommand is a slash command as a user types it.
type SlashCommand struct {
	UserID    string
	ChannelID string
	Command   string // default "/release"
	Text      string
}

// SendSlashCommand delivers a slash command over Socket Mode, like Slack does when a user
// runs it, and returns the envelope id. It waits for a connection if there is none yet.
func (s *Server) SendSlashCommand(ctx context.Context, cmd SlashCommand) (string, error) {
	if cmd.Command == "" {
		cmd.Command = "/release"
	}
	if err := s.WaitConnected(ctx); err != nil {
		return "", fmt.Errorf("send %s: no Socket Mode connection: %w", cmd.Command, err)
	}
	s.mu.Lock()
	s.envSeq++
	id := fmt.Sprintf("fake-envelope-%s-%04d", s.run, s.envSeq)
	respPath := fmt.Sprintf("/commands/%s/%d/fake-response-secret", s.opts.TeamID, s.envSeq)
	s.responses[respPath] = responseTarget{user: cmd.UserID, channel: cmd.ChannelID, envelope: id}
	chName := cmd.ChannelID
	if ch := s.channels[cmd.ChannelID]; ch != nil {
		chName = ch.Name
	}
	// The payload's shape follows shared/data/slack/socket-mode/slash_commands.*.json; real
	// Slack sends is_enterprise_install as a string.
	payload := map[string]any{
		"token": "fake-verification-token", "team_id": s.opts.TeamID, "team_domain": s.opts.TeamDomain,
		"channel_id": cmd.ChannelID, "channel_name": chName, "user_id": cmd.UserID, "user_name": s.userName(cmd.UserID),
		"command": cmd.Command, "text": cmd.Text, "api_app_id": s.opts.AppID, "is_enterprise_install": "false",
		"response_url": s.http.URL + respPath, "trigger_id": s.issueTrigger(cmd.UserID),
	}
	return id, s.deliverLocked(id, map[string]any{"payload": payload, "type": "slash_commands", "accepts_response_payload": true})
}

// Redeliver sends an envelope again, as Slack does when it thinks the first delivery was not
// acknowledged: the same envelope id, with retry_attempt and retry_reason.
func (s *Server) Redeliver(ctx context.Context, envelopeID string) error {
	s.mu.Lock()
	raw, ok := s.envelopes[envelopeID]
	attempts := len(s.acks[envelopeID])
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("redeliver: unknown envelope %s", envelopeID)
	}
	var env map[string]any
	json.Unmarshal(raw, &env)
	env["retry_attempt"] = max(attempts, 1)
	env["retry_reason"] = "timeout"
	again, _ := json.Marshal(env)
	return s.send(envelopeID, again)
}

// SendRaw writes any JSON message to the Socket Mode connection, e.g. a recorded envelope.
// A slash command's response_url is replaced by one of the fake's, as Slack issues its own
// for every command.
func (s *Server) SendRaw(ctx context.Context, envelopeID string, raw json.RawMessage) error {
	if err := s.WaitConnected(ctx); err != nil {
		return err
	}
	var env map[string]any
	if json.Unmarshal(raw, &env) == nil && env["type"] == "slash_commands" {
		if p, ok := env["payload"].(map[string]any); ok {
			s.mu.Lock()
			s.envSeq++
			path := fmt.Sprintf("/commands/%s/%d/fake-response-secret", s.opts.TeamID, s.envSeq)
			user, _ := p["user_id"].(string)
			ch, _ := p["channel_id"].(string)
			s.responses[path] = responseTarget{user: user, channel: ch, envelope: envelopeID}
			p["response_url"] = s.http.URL + path
			s.mu.Unlock()
			raw, _ = json.Marshal(env)
		}
	}
	if envelopeID != "" {
		s.mu.Lock()
		s.envelopes[envelopeID] = raw
		s.mu.Unlock()
	}
	return s.send(envelopeID, raw)
}

// Disconnect asks every connected client to reconnect, as Slack does before it rotates a
// connection (shared/data/slack/socket-mode/disconnect-*.json).
func (s *Server) Disconnect(reason string) {
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.write(map[string]any{"type": "disconnect", "reason": reason, "debug_info": map[string]any{"host": "applink-fake"}})
	}
}

func (s *Server) send(envelopeID string, raw json.RawMessage) error {
	s.mu.Lock()
	var c *conn
	for _, x := range s.conns { // the newest connection, as Slack favours a fresh one
		if c == nil || x.id > c.id {
			c = x
		}
	}
	if envelopeID != "" {
		s.sent[envelopeID] = time.Now()
	}
	s.mu.Unlock()
	if c == nil {
		return errors.New("no Socket Mode connection")
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, raw)
}

// WaitAck blocks until the envelope has been acknowledged n times in all (n ≥ 1), and returns
// the acks.
func (s *Server) WaitAck(ctx context.Context, envelopeID string, n int) ([]Ack, error) {
	var acks []Ack
	err := s.waitLocked(ctx, func() bool {
		acks = append([]Ack(nil), s.acks[envelopeID]...)
		return len(acks) >= n
	})
	return acks, err
}

// Acks returns the acknowledgements of an envelope so far.
func (s *Server) Acks(envelopeID string) []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Ack(nil), s.acks[envelopeID]...)
}
