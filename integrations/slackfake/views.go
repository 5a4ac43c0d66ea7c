package slackfake

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// View is a Home tab or a modal as the fake holds it.
type View struct {
	ID              string
	User            string
	Type            string // home or modal
	CallbackID      string
	PrivateMetadata string
	Title           string
	Blocks          json.RawMessage
	// Errors are what the app's last view_submission answer said about the modal's inputs
	// (response_action "errors"), by block id.
	Errors map[string]string
}

// triggerTTL is how long a trigger_id may open a modal: Slack's three seconds.
const triggerTTL = 3 * time.Second

type trigger struct {
	user string
	at   time.Time
	used bool
}

// issueTrigger records a trigger_id handed to the app with an interaction. Call with s.mu held.
func (s *Server) issueTrigger(user string) string {
	id := fmt.Sprintf("%d.%d.fake", s.envSeq, s.opts.Epoch)
	s.triggers[id] = &trigger{user: user, at: s.opts.Now()}
	return id
}

type viewPayload struct {
	Type            string            `json:"type"`
	CallbackID      string            `json:"callback_id"`
	PrivateMetadata string            `json:"private_metadata"`
	Title           *textObj          `json:"title"`
	Submit          *textObj          `json:"submit"`
	Blocks          []json.RawMessage `json:"blocks"`
}

type textObj struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// checkView reads a view as views.publish and views.open take it, and says what Slack would
// refuse.
func checkView(raw string, want string) (viewPayload, result) {
	var v viewPayload
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return v, result{"ok": false, "error": "invalid_arguments"}
	}
	if v.Type != want {
		return v, result{"ok": false, "error": "invalid_arguments", "response_metadata": result{"messages": []string{fmt.Sprintf("[ERROR] view type must be %s [json-pointer:/view/type]", want)}}}
	}
	var list []map[string]any
	for _, b := range v.Blocks {
		var m map[string]any
		if json.Unmarshal(b, &m) != nil {
			return v, result{"ok": false, "error": "invalid_arguments"}
		}
		list = append(list, m)
	}
	problems := CheckBlocks(list, MaxViewBlocks)
	if want == "modal" {
		switch {
		case v.Title == nil || v.Title.Text == "":
			problems = append(problems, "missing required field: title [json-pointer:/view/title]")
		case utf8.RuneCountInString(v.Title.Text) > 24:
			problems = append(problems, "must be less than 25 characters [json-pointer:/view/title/text]")
		}
		if v.Submit != nil && utf8.RuneCountInString(v.Submit.Text) > 24 {
			problems = append(problems, "must be less than 25 characters [json-pointer:/view/submit/text]")
		}
	}
	if len(v.PrivateMetadata) > 3000 {
		problems = append(problems, "must be less than 3001 characters [json-pointer:/view/private_metadata]")
	}
	if len(problems) > 0 {
		return v, result{"ok": false, "error": "invalid_blocks", "errors": problems}
	}
	return v, nil
}

func (s *Server) storeView(user, id string, v viewPayload) *View {
	blocks, _ := json.Marshal(v.Blocks)
	view := &View{ID: id, User: user, Type: v.Type, CallbackID: v.CallbackID, PrivateMetadata: v.PrivateMetadata, Blocks: blocks}
	if v.Title != nil {
		view.Title = v.Title.Text
	}
	return view
}

// viewsAPI answers views.publish, views.open and views.update. Call with s.mu held.
func (s *Server) viewsAPI(method string, p url.Values) result {
	switch method {
	case "views.publish":
		user := p.Get("user_id")
		if s.users[user] == nil {
			return result{"ok": false, "error": "user_not_found"}
		}
		v, bad := checkView(p.Get("view"), "home")
		if bad != nil {
			return bad
		}
		id := "VHOME" + user
		s.homes[user] = s.storeView(user, id, v)
		return result{"ok": true, "view": result{"id": id, "type": "home"}}
	case "views.open", "views.push":
		t := s.triggers[p.Get("trigger_id")]
		switch {
		case t == nil:
			return result{"ok": false, "error": "invalid_trigger_id"}
		case t.used || s.opts.Now().Sub(t.at) > triggerTTL:
			return result{"ok": false, "error": "expired_trigger_id"}
		}
		v, bad := checkView(p.Get("view"), "modal")
		if bad != nil {
			return bad
		}
		t.used = true
		s.viewSeq++
		id := fmt.Sprintf("VMODAL%04d", s.viewSeq)
		s.modals[t.user] = append(s.modals[t.user], s.storeView(t.user, id, v))
		return result{"ok": true, "view": result{"id": id, "type": "modal"}}
	case "views.update":
		id := p.Get("view_id")
		for user, stack := range s.modals {
			for i, m := range stack {
				if m.ID == id {
					v, bad := checkView(p.Get("view"), "modal")
					if bad != nil {
						return bad
					}
					s.modals[user][i] = s.storeView(user, id, v)
					return result{"ok": true, "view": result{"id": id, "type": "modal"}}
				}
			}
		}
		return result{"ok": false, "error": "not_found"}
	}
	return result{"ok": false, "error": "unknown_method"}
}

// Home returns the Home tab cutbot published for user.
func (s *Server) Home(user string) (View, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.homes[user]; v != nil {
		return *v, true
	}
	return View{}, false
}

// Modal returns the modal open on top for user.
func (s *Server) Modal(user string) (View, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.modals[user]; len(st) > 0 {
		return *st[len(st)-1], true
	}
	return View{}, false
}

// OpenHome opens cutbot's Home tab as user: an app_home_opened event over Socket Mode, in
// the shape Slack sends. It returns the envelope id.
func (s *Server) OpenHome(ctx context.Context, user string) (string, error) {
	if err := s.WaitConnected(ctx); err != nil {
		return "", err
	}
	s.mu.Lock()
	s.envSeq++
	id := fmt.Sprintf("fake-envelope-%s-%04d", s.run, s.envSeq)
	event := map[string]any{"type": "app_home_opened", "user": user, "channel": "D0" + strings.TrimPrefix(user, "U"), "tab": "home",
		"event_ts": fmt.Sprintf("%d.%06d", s.opts.Epoch, s.envSeq)}
	if v := s.homes[user]; v != nil {
		event["view"] = map[string]any{"id": v.ID, "type": "home"}
	}
	payload := map[string]any{"token": "fake-verification-token", "team_id": s.opts.TeamID, "api_app_id": s.opts.AppID,
		"event": event, "type": "event_callback", "event_id": fmt.Sprintf("Ev%s%04d", s.run, s.envSeq), "event_time": s.opts.Epoch}
	return id, s.deliverLocked(id, map[string]any{"payload": payload, "type": "events_api", "accepts_response_payload": false, "retry_attempt": 0, "retry_reason": ""})
}

// ViewButtons are the buttons of a view: in actions blocks and as section accessories.
func ViewButtons(v View) []Button { return blockButtons(v.Blocks) }

// ClickInView presses a button of a view (the Home tab, a modal) as user: a block_actions
// envelope with a fresh trigger_id, as Slack sends it. It returns the envelope id.
func (s *Server) ClickInView(ctx context.Context, user string, v View, b Button) (string, error) {
	if err := s.WaitConnected(ctx); err != nil {
		return "", err
	}
	s.mu.Lock()
	s.envSeq++
	id := fmt.Sprintf("fake-envelope-%s-%04d", s.run, s.envSeq)
	payload := map[string]any{
		"type":       "block_actions",
		"user":       map[string]any{"id": user, "username": s.userName(user), "name": s.userName(user), "team_id": s.opts.TeamID},
		"api_app_id": s.opts.AppID, "token": "fake-verification-token",
		"container":  map[string]any{"type": "view", "view_id": v.ID},
		"trigger_id": s.issueTrigger(user),
		"team":       map[string]any{"id": s.opts.TeamID, "domain": s.opts.TeamDomain},
		"view":       map[string]any{"id": v.ID, "type": v.Type, "callback_id": v.CallbackID, "private_metadata": v.PrivateMetadata, "blocks": v.Blocks},
		"actions":    s.buttonAction(b),
	}
	return s.deliverInteractive(id, payload)
}

// SubmitModal fills the inputs of user's open modal and presses its submit button: values
// by block id (a text input's text; a select's option value; a checkbox group's selected
// values, comma-separated; a block not named keeps its initial value). It waits for cutbot's
// ack and does what its response_action says, as Slack does: "errors" keeps the modal open
// with the errors shown; otherwise the modal closes. It returns the ack.
func (s *Server) SubmitModal(ctx context.Context, user string, values map[string]string) (Ack, error) {
	if err := s.WaitConnected(ctx); err != nil {
		return Ack{}, err
	}
	s.mu.Lock()
	stack := s.modals[user]
	if len(stack) == 0 {
		s.mu.Unlock()
		return Ack{}, fmt.Errorf("submit: @%s has no modal open", s.userName(user))
	}
	v := stack[len(stack)-1]
	state, err := inputState(v.Blocks, values)
	if err != nil {
		s.mu.Unlock()
		return Ack{}, err
	}
	s.envSeq++
	id := fmt.Sprintf("fake-envelope-%s-%04d", s.run, s.envSeq)
	payload := map[string]any{
		"type":       "view_submission",
		"user":       map[string]any{"id": user, "username": s.userName(user), "name": s.userName(user), "team_id": s.opts.TeamID},
		"api_app_id": s.opts.AppID, "token": "fake-verification-token", "trigger_id": s.issueTrigger(user),
		"team": map[string]any{"id": s.opts.TeamID, "domain": s.opts.TeamDomain},
		"view": map[string]any{"id": v.ID, "type": "modal", "callback_id": v.CallbackID, "private_metadata": v.PrivateMetadata, "blocks": v.Blocks,
			"state": map[string]any{"values": state}},
	}
	if err := s.deliverLocked(id, map[string]any{"payload": payload, "type": "interactive", "accepts_response_payload": true}); err != nil {
		return Ack{}, err
	}
	acks, err := s.WaitAck(ctx, id, 1)
	if err != nil {
		return Ack{}, err
	}
	ack := acks[0]
	var answer struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
		View           json.RawMessage   `json:"view"`
	}
	json.Unmarshal(ack.Payload, &answer)
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.modals[user]
	if len(st) > 0 && st[len(st)-1].ID == v.ID {
		switch answer.ResponseAction {
		case "errors":
			st[len(st)-1].Errors = answer.Errors
		case "update":
			nv, bad := checkView(string(answer.View), "modal")
			if bad != nil {
				return ack, fmt.Errorf("submit: the app answered with a view Slack refuses: %v", bad)
			}
			st[len(st)-1] = s.storeView(user, v.ID, nv)
		default:
			s.modals[user] = st[:len(st)-1]
		}
	}
	s.notify()
	return ack, nil
}

// inputState is a modal's state.values as Slack sends them on submit.
func inputState(raw json.RawMessage, values map[string]string) (map[string]any, error) {
	var blocks []struct {
		Type     string `json:"type"`
		BlockID  string `json:"block_id"`
		Optional bool   `json:"optional"`
		Element  struct {
			Type          string `json:"type"`
			ActionID      string `json:"action_id"`
			InitialValue  string `json:"initial_value"`
			InitialOption *struct {
				Value string `json:"value"`
			} `json:"initial_option"`
			InitialOptions []struct {
				Value string `json:"value"`
			} `json:"initial_options"`
			Options []struct {
				Value string  `json:"value"`
				Text  textObj `json:"text"`
			} `json:"options"`
		} `json:"element"`
	}
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return nil, err
	}
	out := map[string]any{}
	for _, b := range blocks {
		if b.Type != "input" {
			continue
		}
		e := b.Element
		v, given := values[b.BlockID]
		var state map[string]any
		switch e.Type {
		case "plain_text_input":
			if !given {
				v = e.InitialValue
			}
			state = map[string]any{"type": e.Type, "value": v}
		case "static_select":
			if !given && e.InitialOption != nil {
				v = e.InitialOption.Value
			}
			state = map[string]any{"type": e.Type, "selected_option": nil}
			for _, o := range e.Options {
				if o.Value == v {
					state["selected_option"] = map[string]any{"text": o.Text, "value": o.Value}
				}
			}
			if v != "" && state["selected_option"] == nil {
				return nil, fmt.Errorf("submit: %s has no option %q", b.BlockID, v)
			}
		case "checkboxes":
			var chosen []string
			if given {
				if v != "" {
					chosen = strings.Split(v, ",")
				}
			} else {
				for _, o := range e.InitialOptions {
					chosen = append(chosen, o.Value)
				}
			}
			selected := []any{}
			for _, c := range chosen {
				for _, o := range e.Options {
					if o.Value == c {
						selected = append(selected, map[string]any{"text": o.Text, "value": o.Value})
					}
				}
			}
			state = map[string]any{"type": e.Type, "selected_options": selected}
		default:
			continue
		}
		out[b.BlockID] = map[string]any{e.ActionID: state}
	}
	return out, nil
}
