package slackfake

import (
	"fmt"
	"unicode/utf8"
)

// Block Kit's limits, as Slack enforces them (https://api.slack.com/reference/block-kit).
const (
	MaxMessageBlocks = 50
	MaxViewBlocks    = 100
	MaxMessageText   = 40000
	maxSectionText   = 3000
	maxSectionFields = 10
	maxFieldText     = 2000
	maxContextItems  = 10
	maxHeaderText    = 150
	maxActions       = 25
	maxButtonText    = 75
	maxButtonValue   = 2000
	maxIDLength      = 255
	maxInputLabel    = 2000
	maxInputValue    = 3000
)

// CheckBlocks says what Slack would refuse in blocks (a message's, or a view's with
// MaxViewBlocks), in the words of its invalid_blocks errors, with a JSON pointer to each.
func CheckBlocks(blocks []map[string]any, max int) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if len(blocks) > max {
		bad("must provide no more than %d items [json-pointer:/blocks]", max)
	}
	text := func(v any) (string, bool) {
		m, ok := v.(map[string]any)
		if !ok {
			return "", false
		}
		s, ok := m["text"].(string)
		return s, ok
	}
	long := func(s string, n int, at string) {
		if utf8.RuneCountInString(s) > n {
			bad("must be less than %d characters [json-pointer:%s]", n+1, at)
		}
	}
	for i, b := range blocks {
		at := fmt.Sprintf("/blocks/%d", i)
		kind, ok := b["type"].(string)
		if !ok {
			bad("missing required field: type [json-pointer:%s]", at)
			continue
		}
		if id, _ := b["block_id"].(string); len(id) > maxIDLength {
			bad("must be less than %d characters [json-pointer:%s/block_id]", maxIDLength+1, at)
		}
		switch kind {
		case "section":
			t, hasText := text(b["text"])
			fields, _ := b["fields"].([]any)
			if !hasText && len(fields) == 0 {
				bad("must provide text or fields [json-pointer:%s]", at)
			}
			long(t, maxSectionText, at+"/text/text")
			if len(fields) > maxSectionFields {
				bad("must provide no more than %d items [json-pointer:%s/fields]", maxSectionFields, at)
			}
			for j, f := range fields {
				ft, _ := text(f)
				long(ft, maxFieldText, fmt.Sprintf("%s/fields/%d/text", at, j))
			}
			if acc, ok := b["accessory"].(map[string]any); ok && acc["type"] == "button" {
				lt, _ := text(acc["text"])
				long(lt, maxButtonText, at+"/accessory/text/text")
				v, _ := acc["value"].(string)
				long(v, maxButtonValue, at+"/accessory/value")
			}
		case "input":
			lt, _ := text(b["label"])
			long(lt, maxInputLabel, at+"/label/text")
			el, _ := b["element"].(map[string]any)
			if el == nil {
				bad("missing required field: element [json-pointer:%s]", at)
			}
			if iv, _ := el["initial_value"].(string); el["type"] == "plain_text_input" {
				if ml, ok := el["max_length"].(float64); ok && utf8.RuneCountInString(iv) > int(ml) {
					bad("initial_value is longer than max_length [json-pointer:%s/element/initial_value]", at)
				}
				long(iv, maxInputValue, at+"/element/initial_value")
			}
		case "header":
			t, _ := text(b["text"])
			long(t, maxHeaderText, at+"/text/text")
		case "context":
			els, _ := b["elements"].([]any)
			if len(els) > maxContextItems {
				bad("must provide no more than %d items [json-pointer:%s/elements]", maxContextItems, at)
			}
			for j, e := range els {
				t, _ := text(e)
				long(t, maxSectionText, fmt.Sprintf("%s/elements/%d/text", at, j))
			}
		case "actions":
			els, _ := b["elements"].([]any)
			if len(els) > maxActions {
				bad("must provide no more than %d items [json-pointer:%s/elements]", maxActions, at)
			}
			for j, e := range els {
				m, _ := e.(map[string]any)
				if m["type"] != "button" {
					continue
				}
				lt, _ := text(m["text"])
				long(lt, maxButtonText, fmt.Sprintf("%s/elements/%d/text/text", at, j))
				v, _ := m["value"].(string)
				long(v, maxButtonValue, fmt.Sprintf("%s/elements/%d/value", at, j))
				id, _ := m["action_id"].(string)
				long(id, maxIDLength, fmt.Sprintf("%s/elements/%d/action_id", at, j))
			}
		}
	}
	return out
}
