package slackfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

type result map[string]any

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	params, err := readParams(r)
	if err != nil {
		writeJSON(w, http.StatusOK, result{"ok": false, "error": "invalid_form_data"})
		return
	}
	token, via := params.Get("token"), "form"
	params.Del("token")
	if token == "" {
		if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
			token, via = strings.TrimPrefix(h, "Bearer "), "header"
		} else {
			via = ""
		}
	}

	if method == "apps.connections.open" {
		s.mu.Lock()
		held := s.held
		s.mu.Unlock()
		if held != nil {
			select { // a connection waits until the test lets it through
			case <-held:
			case <-r.Context().Done():
				return
			}
		}
	}
	s.mu.Lock()
	now := s.opts.Now()
	call := Call{Method: method, Params: params, TokenVia: via, At: now}
	var f *fault
	if q := s.faults[method]; len(q) > 0 {
		f, s.faults[method] = &q[0], q[1:]
	} else if over, wait := s.overLimit(method, params.Get("channel"), now); over {
		f = &fault{err: "ratelimited", retryAfter: wait}
	}
	status, res := http.StatusOK, result(nil)
	switch {
	case f != nil && f.retryAfter > 0:
		status = http.StatusTooManyRequests
		w.Header().Set("Retry-After", strconv.Itoa(int((f.retryAfter+time.Second-1)/time.Second)))
		res = result{"ok": false, "error": "ratelimited"}
	case f != nil:
		res = result{"ok": false, "error": f.err}
	default:
		res = s.dispatch(method, token, params, r)
	}
	if e, _ := res["error"].(string); e != "" {
		call.Error = e
	}
	s.calls = append(s.calls, call)
	s.notify()
	s.mu.Unlock()
	writeJSON(w, status, res)
}

// readParams reads form fields from the query and a form or JSON body.
func readParams(r *http.Request) (url.Values, error) {
	params := r.URL.Query()
	if r.Body == nil {
		return params, nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	if len(body) == 0 {
		return params, nil
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, err
		}
		for k, v := range m {
			switch v := v.(type) {
			case string:
				params.Set(k, v)
			default:
				raw, _ := json.Marshal(v)
				params.Set(k, string(raw))
			}
		}
		return params, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, err
	}
	for k, v := range form {
		params[k] = v
	}
	return params, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// dispatch answers one method. Call with s.mu held.
func (s *Server) dispatch(method, token string, p url.Values, r *http.Request) result {
	if method == "apps.connections.open" {
		// Only the app-level token, only as a Bearer header, only by POST.
		switch {
		case r.Method != http.MethodPost:
			return result{"ok": false, "error": "method_not_allowed"}
		case r.Header.Get("Authorization") == "":
			return result{"ok": false, "error": "not_authed"}
		case token == s.opts.BotToken:
			return result{"ok": false, "error": "not_allowed_token_type"}
		case token != s.opts.AppToken:
			return result{"ok": false, "error": "invalid_auth"}
		}
		ticket := fmt.Sprintf("ticket-%d", len(s.tickets)+1)
		s.tickets[ticket] = true
		u := strings.Replace(s.http.URL, "http://", "ws://", 1) + "/link/?ticket=" + ticket
		return result{"ok": true, "url": u}
	}
	switch {
	case token == "":
		return result{"ok": false, "error": "not_authed"}
	case token == s.opts.AppToken:
		return result{"ok": false, "error": "not_allowed_token_type"}
	case token != s.opts.BotToken:
		return result{"ok": false, "error": "invalid_auth"}
	}
	switch method {
	case "auth.test":
		return result{"ok": true, "url": fmt.Sprintf("https://%s.slack.com/", s.opts.TeamDomain), "team": s.opts.TeamDomain,
			"user": s.opts.BotName, "team_id": s.opts.TeamID, "user_id": s.opts.BotUserID, "bot_id": s.opts.BotID,
			"app_id": s.opts.AppID, "is_enterprise_install": false}
	case "chat.postMessage":
		return s.postMessage(p)
	case "chat.update":
		return s.updateMessage(p)
	case "chat.postEphemeral":
		return s.postEphemeral(p)
	case "chat.getPermalink":
		m := s.find(p.Get("channel"), p.Get("message_ts"))
		if m == nil {
			return result{"ok": false, "error": "message_not_found"}
		}
		return result{"ok": true, "channel": m.Channel, "permalink": s.permalink(m)}
	case "conversations.info":
		ch := s.channels[p.Get("channel")]
		if ch == nil || ch.Private && !slices.Contains(ch.Members, s.opts.BotUserID) {
			return result{"ok": false, "error": "channel_not_found"} // Slack hides private channels the bot is not in
		}
		return result{"ok": true, "channel": result{"id": ch.ID, "name": ch.Name, "is_channel": !ch.Private, "is_group": ch.Private,
			"is_private": ch.Private, "is_archived": ch.Archived, "is_member": slices.Contains(ch.Members, s.opts.BotUserID)}}
	case "conversations.history":
		return s.history(p)
	case "conversations.replies":
		return s.replies(p)
	case "usergroups.list":
		var groups []result
		for _, g := range s.groups {
			groups = append(groups, result{"id": g.ID, "team_id": s.opts.TeamID, "handle": g.Handle, "name": g.Name, "user_count": len(g.Users)})
		}
		slices.SortFunc(groups, func(a, b result) int { return strings.Compare(a["id"].(string), b["id"].(string)) })
		return result{"ok": true, "usergroups": groups}
	case "usergroups.users.list":
		g := s.groups[p.Get("usergroup")]
		if g == nil {
			return result{"ok": false, "error": "no_such_subteam"}
		}
		return result{"ok": true, "users": slices.Clone(g.Users)}
	case "views.publish", "views.open", "views.push", "views.update":
		return s.viewsAPI(method, p)
	case "users.info":
		u := s.users[p.Get("user")]
		if u == nil {
			return result{"ok": false, "error": "user_not_found"}
		}
		return result{"ok": true, "user": result{"id": u.ID, "team_id": s.opts.TeamID, "name": u.Name, "real_name": u.RealName,
			"profile": result{"real_name": u.RealName, "display_name": u.Name}}}
	}
	return result{"ok": false, "error": "unknown_method"}
}

func (s *Server) channelFor(p url.Values) (*channel, result) {
	ch := s.channels[p.Get("channel")]
	if ch == nil {
		return nil, result{"ok": false, "error": "channel_not_found"}
	}
	return ch, nil
}

func (s *Server) postMessage(p url.Values) result {
	ch, bad := s.channelFor(p)
	if bad != nil {
		return bad
	}
	if !slices.Contains(ch.Members, s.opts.BotUserID) {
		return result{"ok": false, "error": "not_in_channel"}
	}
	if ch.Archived {
		return result{"ok": false, "error": "is_archived"}
	}
	text, blocks, bad := content(p)
	if bad != nil {
		return bad
	}
	threadTS := p.Get("thread_ts")
	if threadTS != "" && s.find(ch.ID, threadTS) == nil {
		return result{"ok": false, "error": "thread_not_found"}
	}
	m := &Message{Channel: ch.ID, TS: s.nextTS(), ThreadTS: threadTS, User: s.opts.BotUserID, BotID: s.opts.BotID, Text: text, Blocks: blocks,
		Broadcast: threadTS != "" && p.Get("reply_broadcast") == "true"}
	if raw := p.Get("metadata"); raw != "" {
		var md Metadata
		if err := json.Unmarshal([]byte(raw), &md); err != nil || md.EventType == "" {
			return result{"ok": false, "error": "invalid_metadata_format"}
		}
		m.Metadata = &md
	}
	m.Versions = []Version{{Text: text, Blocks: blocks, At: s.opts.Now()}}
	ch.Messages = append(ch.Messages, m)
	s.changes = append(s.changes, Change{Seq: len(s.changes), Message: *m})
	return result{"ok": true, "channel": ch.ID, "ts": m.TS, "message": s.wire(m, true)}
}

// content reads text and blocks and checks them the way Slack does.
func content(p url.Values) (string, json.RawMessage, result) {
	text := p.Get("text")
	var blocks json.RawMessage
	if raw := p.Get("blocks"); raw != "" && raw != "null" {
		var list []map[string]any
		if err := json.Unmarshal([]byte(raw), &list); err != nil {
			return "", nil, result{"ok": false, "error": "invalid_blocks_format"}
		}
		if problems := CheckBlocks(list, MaxMessageBlocks); len(problems) > 0 {
			return "", nil, result{"ok": false, "error": "invalid_blocks", "errors": problems}
		}
		blocks = json.RawMessage(raw)
	}
	if text == "" && blocks == nil {
		return "", nil, result{"ok": false, "error": "no_text"}
	}
	if utf8.RuneCountInString(text) > MaxMessageText {
		return "", nil, result{"ok": false, "error": "msg_too_long"}
	}
	return text, blocks, nil
}

func (s *Server) updateMessage(p url.Values) result {
	if _, bad := s.channelFor(p); bad != nil {
		return bad
	}
	m := s.find(p.Get("channel"), p.Get("ts"))
	if m == nil || m.Ephemeral {
		return result{"ok": false, "error": "message_not_found"}
	}
	if m.User != s.opts.BotUserID {
		return result{"ok": false, "error": "cant_update_message"}
	}
	text, blocks, bad := content(p)
	if bad != nil {
		return bad
	}
	before := Version{Text: m.Text, Blocks: m.Blocks}
	m.Text, m.Blocks = text, blocks
	m.Versions = append(m.Versions, Version{Text: text, Blocks: blocks, At: s.opts.Now()})
	s.changes = append(s.changes, Change{Seq: len(s.changes), Edited: true, Message: *m, Before: before})
	return result{"ok": true, "channel": m.Channel, "ts": m.TS, "text": text}
}

func (s *Server) postEphemeral(p url.Values) result {
	ch, bad := s.channelFor(p)
	if bad != nil {
		return bad
	}
	if !slices.Contains(ch.Members, s.opts.BotUserID) {
		return result{"ok": false, "error": "not_in_channel"}
	}
	if s.users[p.Get("user")] == nil {
		return result{"ok": false, "error": "user_not_found"}
	}
	text, blocks, bad := content(p)
	if bad != nil {
		return bad
	}
	m := s.addEphemeral(p.Get("user"), ch.ID, text, blocks)
	return result{"ok": true, "message_ts": m.TS}
}

// addEphemeral records a message only one user sees. Call with s.mu held.
func (s *Server) addEphemeral(user, channelID, text string, blocks json.RawMessage) *Message {
	m := &Message{Channel: channelID, TS: s.nextTS(), User: s.opts.BotUserID, Text: text, Blocks: blocks, Ephemeral: true, To: user}
	m.Versions = []Version{{Text: text, Blocks: blocks}}
	s.ephemerals = append(s.ephemerals, m)
	s.changes = append(s.changes, Change{Seq: len(s.changes), Message: *m})
	return m
}

func (s *Server) find(channelID, ts string) *Message {
	ch := s.channels[channelID]
	if ch == nil || ts == "" {
		return nil
	}
	for _, m := range ch.Messages {
		if m.TS == ts {
			return m
		}
	}
	return nil
}

// wire renders a message the way Web API responses carry it.
func (s *Server) wire(m *Message, withMetadata bool) result {
	w := result{"type": "message", "user": m.User, "text": m.Text, "ts": m.TS}
	if m.BotID != "" {
		w["bot_id"] = m.BotID
	}
	if m.ThreadTS != "" {
		w["thread_ts"] = m.ThreadTS
	}
	if m.Broadcast {
		w["subtype"] = "thread_broadcast"
	}
	if m.Blocks != nil {
		w["blocks"] = m.Blocks
	}
	if m.Edits() > 0 {
		w["edited"] = result{"user": m.User, "ts": m.TS}
	}
	if withMetadata && m.Metadata != nil {
		w["metadata"] = m.Metadata
	}
	return w
}

func pageParams(p url.Values) (limit, offset int) {
	limit, _ = strconv.Atoi(p.Get("limit"))
	if limit <= 0 || limit > 999 {
		limit = 100
	}
	offset, _ = strconv.Atoi(p.Get("cursor"))
	return limit, max(offset, 0)
}

func page(all []result, limit, offset int) result {
	end := min(offset+limit, len(all))
	if offset > len(all) {
		offset = len(all)
	}
	res := result{"ok": true, "messages": all[offset:end], "has_more": end < len(all)}
	next := ""
	if end < len(all) {
		next = strconv.Itoa(end)
	}
	res["response_metadata"] = result{"next_cursor": next}
	return res
}

func wantMetadata(p url.Values) bool {
	v := p.Get("include_all_metadata")
	return v == "1" || v == "true"
}

// history lists a channel's top-level messages, newest first, as Slack does.
func (s *Server) history(p url.Values) result {
	ch, bad := s.channelFor(p)
	if bad != nil {
		return bad
	}
	var all []result
	oldest, latest := p.Get("oldest"), p.Get("latest")
	for i := len(ch.Messages) - 1; i >= 0; i-- {
		m := ch.Messages[i]
		if (oldest != "" && tsLess(m.TS, oldest)) || (latest != "" && tsLess(latest, m.TS)) {
			continue
		}
		if m.ThreadTS == "" || m.Broadcast {
			w := s.wire(m, wantMetadata(p))
			if n := s.replyCount(ch, m.TS); n > 0 {
				w["thread_ts"], w["reply_count"] = m.TS, n
			}
			all = append(all, w)
		}
	}
	limit, offset := pageParams(p)
	return page(all, limit, offset)
}

// tsLess compares Slack timestamps ("1731229200.000100", or whole seconds) numerically.
func tsLess(a, b string) bool {
	fa, _ := strconv.ParseFloat(a, 64)
	fb, _ := strconv.ParseFloat(b, 64)
	return fa < fb
}

func (s *Server) replyCount(ch *channel, ts string) int {
	n := 0
	for _, m := range ch.Messages {
		if m.ThreadTS == ts {
			n++
		}
	}
	return n
}

// replies lists a thread, parent first, oldest first.
func (s *Server) replies(p url.Values) result {
	ch, bad := s.channelFor(p)
	if bad != nil {
		return bad
	}
	parent := s.find(ch.ID, p.Get("ts"))
	if parent == nil {
		return result{"ok": false, "error": "thread_not_found"}
	}
	all := []result{s.wire(parent, wantMetadata(p))}
	for _, m := range ch.Messages {
		if m.ThreadTS == parent.TS {
			all = append(all, s.wire(m, wantMetadata(p)))
		}
	}
	limit, offset := pageParams(p)
	return page(all, limit, offset)
}

// serveResponseURL takes what a command's response_url receives: by default a message only
// the user who ran the command sees.
func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	target, ok := s.responses[r.URL.Path]
	if !ok || r.Method != http.MethodPost {
		http.Error(w, "no such response_url", http.StatusNotFound)
		return
	}
	var msg struct {
		Text         string          `json:"text"`
		Blocks       json.RawMessage `json:"blocks"`
		ResponseType string          `json:"response_type"`
	}
	if err := json.NewDecoder(r.Body).Decode(&msg); err != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	if string(msg.Blocks) == "null" {
		msg.Blocks = nil
	}
	s.calls = append(s.calls, Call{Method: "response_url", Params: url.Values{"text": {msg.Text}, "response_type": {msg.ResponseType}}, At: time.Now()})
	if msg.Text == "" && msg.Blocks == nil {
		s.notify()
		http.Error(w, "no_text", http.StatusBadRequest)
		return
	}
	if _, ok := s.replied[target.envelope]; !ok && target.envelope != "" {
		s.replied[target.envelope] = s.opts.Now()
	}
	if msg.ResponseType == "in_channel" {
		ch := s.channels[target.channel]
		if ch != nil {
			m := &Message{Channel: ch.ID, TS: s.nextTS(), User: s.opts.BotUserID, BotID: s.opts.BotID, Text: msg.Text, Blocks: msg.Blocks}
			m.Versions = []Version{{Text: msg.Text, Blocks: msg.Blocks}}
			ch.Messages = append(ch.Messages, m)
			s.changes = append(s.changes, Change{Seq: len(s.changes), Message: *m})
		}
	} else {
		s.addEphemeral(target.user, target.channel, msg.Text, msg.Blocks)
	}
	s.notify()
	w.Write([]byte("ok"))
}
