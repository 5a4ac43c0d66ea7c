package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"

	"sigs.k8s.io/cutbot"
)

// embargo is the one place that keeps embargoed security releases private. Every write to
// Slack passes through it, whoever makes it (the Web API through the Slack client's
// transport, replies through response_url): a write whose content names an embargoed cut
// (its version or its CVE ids) is refused unless it goes to the private channel, or only to a
// release manager's eyes (an ephemeral reply, their App Home, a direct message). Callers need
// not remember anything; they hide embargoed cuts from non-managers anyway, so a refusal here
// means a caller forgot, and is logged.
type embargo struct {
	next      http.RoundTripper
	api       string // the Web API base URL's path
	private   string // the private channel's id
	isManager func(ctx context.Context, user string) (bool, error)
	log       *slog.Logger

	mu      sync.Mutex
	secrets map[string][]*regexp.Regexp // cut id → what must not be public
	words   map[string][]string         // cut id → the words its patterns match
	refused int
}

func newEmbargo(next http.RoundTripper, apiURL, private string, log *slog.Logger) *embargo {
	if next == nil {
		next = http.DefaultTransport
	}
	path := "/api/"
	if u, err := url.Parse(apiURL); err == nil {
		path = u.Path
	}
	return &embargo{next: next, api: path, private: private, log: log, secrets: map[string][]*regexp.Regexp{}, words: map[string][]string{}}
}

// observe learns whether cut c is embargoed, as it now stands.
func (e *embargo) observe(c *cutbot.Cut) { e.observeAs(c.ID, c) }

func (e *embargo) forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.secrets, key)
	delete(e.words, key)
}

func (e *embargo) observeAs(key string, c *cutbot.Cut) {
	words := c.Secrets()
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(words) == 0 {
		delete(e.secrets, key)
		delete(e.words, key)
		return
	}
	if slices.Equal(e.words[key], words) {
		return // known already
	}
	e.words[key] = words
	var res []*regexp.Regexp
	for _, w := range words {
		// A whole word: v1.31.5 is secret, v1.31.50 is not.
		res = append(res, regexp.MustCompile(`(?i)(^|[^\w.])`+regexp.QuoteMeta(w)+`($|[^\w]|\.[^\d])`))
	}
	e.secrets[key] = res
}

// reExample is a command example in code ("`/release cut v1.31.3`"), as help shows them: it
// names a version as an example, not a cut, and is not looked at.
var reExample = regexp.MustCompile("`/release [^`]*`")

// names reports whether text names an embargoed cut, and which.
func (e *embargo) names(text string) (string, bool) {
	text = reExample.ReplaceAllString(text, "")
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, res := range e.secrets {
		for _, re := range res {
			if re.MatchString(text) {
				return id, true
			}
		}
	}
	return "", false
}

// active reports whether any cut is embargoed: until one is, no write is looked at.
func (e *embargo) active() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.secrets) > 0
}

// refuse counts and logs a refused write (never its content: it may hold tokens).
func (e *embargo) refuse(msg string, args ...any) {
	e.mu.Lock()
	e.refused++
	e.mu.Unlock()
	e.log.Error(msg, args...)
}

// readBody reads a request's body and puts it back for sending.
func readBody(req *http.Request) ([]byte, error) {
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}

func (e *embargo) refusals() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.refused
}

type audienceKey struct{}

// toUser marks a write (a response_url reply) as seen by user only.
func toUser(ctx context.Context, user string) context.Context {
	return context.WithValue(ctx, audienceKey{}, user)
}

// showing are the Web API methods that show something to someone.
var showing = map[string]bool{
	"chat.postMessage": true, "chat.update": true, "chat.postEphemeral": true, "chat.scheduleMessage": true, "chat.meMessage": true,
	"views.publish": true, "views.open": true, "views.push": true, "views.update": true, "files.upload": true, "files.completeUploadExternal": true,
}

func (e *embargo) RoundTrip(req *http.Request) (*http.Response, error) {
	method, api := strings.CutPrefix(req.URL.Path, e.api)
	user, reply := req.Context().Value(audienceKey{}).(string)
	if api && !showing[method] || !api && !reply || req.Body == nil || !e.active() {
		return e.next.RoundTrip(req) // most writes, and every one while nothing is embargoed
	}
	body, err := readBody(req)
	if err != nil {
		return nil, err
	}
	text := string(body)
	fields := map[string]string{}
	if strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if form, err := url.ParseQuery(text); err == nil {
			var all []string
			for k, vs := range form {
				fields[k] = strings.Join(vs, "")
				all = append(all, vs...)
			}
			text = strings.Join(all, "\n")
		}
	} else {
		var obj map[string]any
		if json.Unmarshal(body, &obj) == nil {
			for k, v := range obj {
				if s, ok := v.(string); ok {
					fields[k] = s
				}
			}
		}
	}
	id, secret := e.names(text)
	if !secret || e.allowed(req.Context(), method, fields, user, reply) || calendarOnly(fields) {
		return e.next.RoundTrip(req)
	}
	e.refuse("refused a write that would make an embargoed cut public", "cut", id, "method", method, "channel", fields["channel"])
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Request: req,
		Body: io.NopCloser(strings.NewReader(`{"ok":false,"error":"cutbot_embargoed"}`))}, nil
}

// allowed says whether a write naming an embargoed cut goes only where it may: the private
// channel, or one release manager.
func (e *embargo) allowed(ctx context.Context, method string, f map[string]string, user string, reply bool) bool {
	manager := func(u string) bool {
		if u == "" || e.isManager == nil {
			return false
		}
		ok, err := e.isManager(ctx, u)
		return err == nil && ok
	}
	switch {
	case reply: // a response_url reply, ephemeral to the one who asked
		return manager(user)
	case e.private != "" && f["channel"] == e.private:
		return true
	case method == "chat.postEphemeral":
		return manager(f["user"])
	case method == "views.publish":
		return manager(f["user_id"])
	case method == "chat.postMessage" && strings.HasPrefix(f["channel"], "U"):
		return manager(f["channel"]) // a direct message
	}
	return false
}

// calendarOnly reports whether a write is a calendar reminder: made from the public release
// calendar alone ("v1.31.4 is due today"), so naming a version there tells nothing of an
// embargo, and holding it back would lose the reminder.
func calendarOnly(f map[string]string) bool {
	var m struct {
		EventType string `json:"event_type"`
	}
	return json.Unmarshal([]byte(f["metadata"]), &m) == nil && m.EventType == reminderMetadata
}

// embargoStore tells the embargo of every cut as it is stored or read, so that it knows an
// embargoed cut before anything about it can be written: whatever writes about a cut reads it
// first (a restart's resume, a command, the Home tab's list).
type embargoStore struct {
	cutbot.CutStore
	e *embargo
}

func (s embargoStore) CreateCut(ctx context.Context, c *cutbot.Cut) error {
	key := "new:" + c.Version().String()
	s.e.observeAs(key, c) // before it is visible to anyone
	defer s.e.forget(key)
	if err := s.CutStore.CreateCut(ctx, c); err != nil {
		return err
	}
	s.e.observe(c)
	return nil
}

func (s embargoStore) UpdateCut(ctx context.Context, id string, fn func(*cutbot.Cut) error) (*cutbot.Cut, error) {
	c, err := s.CutStore.UpdateCut(ctx, id, fn)
	if err == nil {
		s.e.observe(c)
	}
	return c, err
}

// GitHubGuard is the same guard for GitHub: wrapped around the GitHub client's transport, it
// refuses a write (any method but GET and HEAD) whose body names an embargoed cut, unless it
// goes to the private issue repository. The GitHub client is made before the bot, so the
// guard is bound to the bot's embargo when the bot is made (Config.GitHubGuard); until then,
// and with no embargoed cut, it lets everything through.
type GitHubGuard struct {
	mu      sync.Mutex
	e       *embargo
	private string // owner/repo
}

func (g *GitHubGuard) bind(e *embargo, privateRepo string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.e, g.private = e, strings.ToLower(privateRepo)
}

// Wrap returns next guarded.
func (g *GitHubGuard) Wrap(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return githubGuarded{g: g, next: next}
}

type githubGuarded struct {
	g    *GitHubGuard
	next http.RoundTripper
}

func (t githubGuarded) RoundTrip(req *http.Request) (*http.Response, error) {
	t.g.mu.Lock()
	e, private := t.g.e, t.g.private
	t.g.mu.Unlock()
	if e == nil || req.Method == http.MethodGet || req.Method == http.MethodHead || req.Body == nil || !e.active() {
		return t.next.RoundTrip(req)
	}
	body, err := readBody(req)
	if err != nil {
		return nil, err
	}
	id, secret := e.names(string(body))
	if !secret || private != "" && strings.EqualFold(repoOf(req.URL.Path), private) {
		return t.next.RoundTrip(req)
	}
	e.refuse("refused a GitHub write that would make an embargoed cut public", "cut", id, "method", req.Method, "repo", repoOf(req.URL.Path))
	return &http.Response{StatusCode: http.StatusForbidden, Status: "403 Forbidden", Header: http.Header{"Content-Type": {"application/json"}}, Request: req,
		Body: io.NopCloser(strings.NewReader(`{"message":"refused by cutbot: this would make an embargoed release public"}`))}, nil
}

// repoOf reads "owner/repo" from a GitHub API path (…/repos/OWNER/REPO/…), or "".
func repoOf(path string) string {
	parts := strings.Split(path, "/")
	for i := 0; i+2 < len(parts); i++ {
		if parts[i] == "repos" {
			return parts[i+1] + "/" + parts[i+2]
		}
	}
	return ""
}

func (s embargoStore) Cut(ctx context.Context, id string) (*cutbot.Cut, error) {
	return s.one(s.CutStore.Cut(ctx, id))
}

func (s embargoStore) ActiveCut(ctx context.Context, v cutbot.Version) (*cutbot.Cut, error) {
	return s.one(s.CutStore.ActiveCut(ctx, v))
}

func (s embargoStore) LatestCut(ctx context.Context, v cutbot.Version) (*cutbot.Cut, error) {
	return s.one(s.CutStore.LatestCut(ctx, v))
}

func (s embargoStore) ActiveCuts(ctx context.Context) ([]*cutbot.Cut, error) {
	return s.all(s.CutStore.ActiveCuts(ctx))
}

func (s embargoStore) CutsWithEffects(ctx context.Context) ([]*cutbot.Cut, error) {
	return s.all(s.CutStore.CutsWithEffects(ctx))
}

func (s embargoStore) one(c *cutbot.Cut, err error) (*cutbot.Cut, error) {
	if err == nil {
		s.e.observe(c)
	}
	return c, err
}

func (s embargoStore) all(cuts []*cutbot.Cut, err error) ([]*cutbot.Cut, error) {
	for _, c := range cuts {
		s.e.observe(c)
	}
	return cuts, err
}
