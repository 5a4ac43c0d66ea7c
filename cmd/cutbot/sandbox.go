package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/bot"
	"sigs.k8s.io/cutbot/integrations/cloudbuildfake"
	"sigs.k8s.io/cutbot/integrations/schedule"
	"sigs.k8s.io/cutbot/integrations/slackfake"
)

const sandboxGitHubToken = "ghp_sandbox_fake_token"

// The sandbox workspace: a #release-management channel, a @release-managers group with
// "you" and "alex" in it, and "guest", who is not a release manager.
const (
	sandboxChannel = "C0RELMGMT"
	sandboxPrivate = "G0PRIVATE" // where embargoed cuts live
	sandboxGroup   = "S0RELMGRS"
	sandboxYou     = "U0SANDBOX"
)

var sandboxUsers = []slackfake.User{
	{ID: sandboxYou, Name: "you", RealName: "You (release manager)"},
	{ID: "U0ALEX", Name: "alex", RealName: "Alex (release manager)"},
	{ID: "U0GUEST", Name: "guest", RealName: "Guest (not a release manager)"},
}

const sandboxIntro = `cutbot sandbox: the real bot, against fake Slack, Cloud Build, GitHub, testgrid and
prow on this machine. #release-management is the release channel; @release-managers holds
@you and @alex; builds take a few seconds.
  /release ...            a command (try /release help)
  click LABEL [on VERSION] press the newest button whose label starts with LABEL (one only you
                          see first), or the newest one on VERSION's cut
  @alex ..., @guest ...   act as them (@guest is not a release manager)
  !wait                   wait until every build has finished and the thread caught up
  !home                   open cutbot's Home tab (the patch-release board); click its buttons
  !submit K=V; K=V        fill in the open modal and save it (summary=…; todo=a\nb; disposition=to merge; cve=cve)
  !fail-next STEP         make the next build fail at STEP (clone, compiling, staging, ...)
  !testgrid JOB STATUS    set a job of sig-release-1.31-blocking (PASSING, FAILING, FLAKY)
  !kpromo VERSION         open the image-promotion PR by hand, as kpromo pr does (cutbot opens it itself here)
  !approve VERSION        /lgtm and /approve the promotion PR (cutbot lifts its own hold)
  !merge VERSION          merge it
  !promo-job STATUS       post-k8sio-image-promo finishes on the merge (success, failure)
  # ...                   a note, printed as is
`

func (m *Main) sandbox(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cutbot sandbox", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	script := fs.String("script", "", "read commands from this file instead of standard input")
	dbPath := fs.String("db", "", "bbolt file to keep (default: a temporary one, removed at exit)")
	verbose := fs.Bool("v", false, "show the bot's logs")
	step := fs.Duration("build-step", 400*time.Millisecond, "how long each step of a fake build takes")
	poll := fs.Duration("poll", time.Second, "how often the bot polls the fake Cloud Build")
	httpAddr := fs.String("http-addr", "off", "serve the health checks and /metrics here, e.g. 127.0.0.1:8080 (off: not at all)")
	paced := fs.Bool("pace", false, "make the fake workspace enforce Slack's rate limits, and cutbot pace to them (slower, as in a real workspace)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errUsage
		}
		return err
	}
	in := m.Stdin
	if *script != "" {
		f, err := os.Open(*script)
		if err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
		defer f.Close()
		in = f
	}
	if *dbPath == "" {
		dir, err := os.MkdirTemp("", "cutbot-sandbox-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*dbPath = filepath.Join(dir, "cutbot.db")
	}

	fake := slackfake.New(slackfake.Options{})
	defer fake.Close()
	cb, err := cloudbuildfake.New(nil)
	if err != nil {
		return err
	}
	defer cb.Close()
	stageConfig, releaseConfig, err := cloudbuildfake.WriteConfigs(filepath.Dir(*dbPath))
	if err != nil {
		return err
	}
	ci := &ciVersions{n: map[string]int{}}
	dl := httptest.NewServer(ci)
	defer dl.Close()
	world := newSandboxWorld()
	defer world.close()
	cb.SetAuto(&cloudbuildfake.Auto{Queued: *step, Step: *step, Created: world.pushStaged})
	for _, u := range sandboxUsers {
		fake.AddUser(u)
	}
	fake.AddChannel(sandboxChannel, "release-management", fake.Options().BotUserID, sandboxYou, "U0ALEX", "U0GUEST")
	fake.AddPrivateChannel(sandboxPrivate, "release-managers-private", fake.Options().BotUserID, sandboxYou, "U0ALEX")
	fake.AddUsergroup(slackfake.Usergroup{ID: sandboxGroup, Handle: "release-managers", Name: "Release Managers", Users: []string{sandboxYou, "U0ALEX"}})

	// The sandbox configures its bot the way a person configures `cutbot run`: through the
	// documented settings, read by the same loadConfig and validate, so nothing works here
	// that the shipped binary could not be told to do.
	calendars, err := sandboxCalendars(filepath.Dir(*dbPath), time.Now())
	if err != nil {
		return err
	}
	logLevel := "warn"
	if *verbose {
		logLevel = "info"
	}
	pace := "off" // the fake workspace does not limit, unless -pace
	if *paced {
		fake.EnforceRateLimits(slackfake.SlackRateLimits())
		pace = "slack"
	}
	// kubernetes/website holds the same schedule.yaml, for the PR cutbot opens after a patch.
	for _, c := range calendars {
		if strings.HasSuffix(c, "schedule.yaml") {
			body, err := os.ReadFile(c)
			if err != nil {
				return err
			}
			world.gh.AddBranches("kubernetes/website", "main")
			world.gh.SetFile("kubernetes/website", schedule.DefaultSchedulePath, string(body))
		}
	}
	opts := fake.Options()
	vars := map[string]string{
		"SLACK_APP_TOKEN": opts.AppToken, "SLACK_BOT_TOKEN": opts.BotToken, "SLACK_API_URL": fake.APIURL(),
		"CUTBOT_SLACK_PACE": pace, "CUTBOT_HTTP_ADDR": *httpAddr,
		"CUTBOT_DB": *dbPath, "CUTBOT_CHANNEL": sandboxChannel, "CUTBOT_MANAGERS_GROUP": sandboxGroup, "CUTBOT_LOG_LEVEL": logLevel,
		"CUTBOT_CLOUDBUILD_ENDPOINT": cb.Addr(), "CUTBOT_STAGE_BUILD_CONFIG": stageConfig, "CUTBOT_RELEASE_BUILD_CONFIG": releaseConfig,
		"CUTBOT_CI_VERSION_URL": dl.URL + "/ci/", "CUTBOT_POLL_INTERVAL": poll.String(),
		"GITHUB_TOKEN": sandboxGitHubToken, "GITHUB_API_URL": world.gh.URL(),
		"CUTBOT_TESTGRID_URL": world.testgrid.URL(), "CUTBOT_PROW_URL": world.prow.URL(),
		"CUTBOT_GITHUB_POLL_INTERVAL": "0s", // GitHub is read on every poll: the fake answers at once
		"CUTBOT_CALENDARS":            strings.Join(calendars, ","),
		// cutbot opens the image-promotion PRs from its fork, with the digests the no-mock
		// stages pushed to the (in-memory) staging registry.
		"CUTBOT_PROMOTION_FORK":   "cutbot-sandbox/k8s.io",
		"CUTBOT_STAGING_REGISTRY": world.staging.Host() + "/k8s-staging-kubernetes",
		// ... and the schedule.yaml PR on kubernetes/website after each patch release.
		"CUTBOT_WEBSITE_FORK": "cutbot-sandbox/website",
		// Embargoed security releases live in the private channel.
		"CUTBOT_PRIVATE_CHANNEL": sandboxPrivate,
	}
	cfg, err := loadConfig(func(k string) string { return vars[k] }, flag.NewFlagSet("sandbox", flag.ContinueOnError), nil)
	if err == nil {
		err = cfg.validate()
	}
	if err != nil {
		return fmt.Errorf("sandbox configuration: %w", err)
	}

	handled := newSignals()
	inner := m.OnHandled
	polls := make(chan struct{}, 1)
	started := make(chan *bot.Bot, 1)
	runner := &Main{Stdout: m.Stdout, Stderr: m.Stderr, Getenv: m.Getenv, OnBot: func(b *bot.Bot) { started <- b }, OnHandled: func(id string) {
		handled.fire(id)
		if inner != nil {
			inner(id)
		}
	}, OnPolled: func() {
		select {
		case polls <- struct{}{}:
		default:
		}
	}}
	botCtx, stopBot := context.WithCancel(ctx)
	botDone := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				botDone <- fmt.Errorf("the bot panicked: %v", p)
			}
		}()
		botDone <- runner.serve(botCtx, cfg, newLogger(m.Stderr, cfg.LogLevel, cfg.LogFormat, cfg.Secrets()))
	}()
	defer func() { stopBot(); <-botDone }()

	connect, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := waitEither(connect, fake.WaitConnected, botDone); err != nil {
		return fmt.Errorf("sandbox: the bot did not connect to the fake workspace: %w", err)
	}
	// The script starts once the bot has started: its cuts resumed, the board first read.
	if err := waitEither(connect, func(ctx context.Context) error { return (<-started).WaitStarted(ctx) }, botDone); err != nil {
		return fmt.Errorf("sandbox: the bot did not start: %w", err)
	}
	fmt.Fprint(m.Stdout, sandboxIntro)

	seen := 0
	show := func() {
		for _, c := range fake.Changes(seen) {
			fmt.Fprintln(m.Stdout, indentBlock(fake.Describe(c), "  "))
			seen = c.Seq + 1
		}
	}
	lines := bufio.NewScanner(in)
	note := false
	for lines.Scan() {
		line := strings.TrimSpace(lines.Text())
		switch {
		case line == "":
			note = false
			continue
		case strings.HasPrefix(line, "#"):
			if !note {
				fmt.Fprintln(m.Stdout)
			}
			fmt.Fprintln(m.Stdout, line)
			note = true
			continue
		}
		note = false
		userID, name, text := sandboxYou, "you", line
		if strings.HasPrefix(line, "@") {
			who, rest, _ := strings.Cut(line[1:], " ")
			id := ""
			for _, u := range sandboxUsers {
				if u.Name == who {
					id = u.ID
				}
			}
			if id == "" {
				fmt.Fprintf(m.Stdout, "sandbox: there is no @%s here; the people are @you, @alex and @guest\n", who)
				continue
			}
			userID, name, text = id, who, strings.TrimSpace(rest)
		}
		cmd, rest, _ := strings.Cut(text, " ")
		rest = strings.TrimSpace(rest)
		wait, done := context.WithTimeout(ctx, 2*time.Minute)
		var err error
		switch cmd {
		case "/release":
			fmt.Fprintf(m.Stdout, "\n› @%s: %s\n", name, text)
			var id string
			if id, err = fake.SendSlashCommand(wait, slackfake.SlashCommand{UserID: userID, ChannelID: sandboxChannel, Text: rest}); err == nil {
				err = handled.wait(wait, id)
			}
		case "click":
			label, version, _ := strings.Cut(rest, " on ")
			fmt.Fprintf(m.Stdout, "\n› @%s clicks [%s]%s\n", name, label, map[bool]string{true: " on " + version}[version != ""])
			var id string
			if v, b, ok := findViewButton(fake, userID, label, version); ok {
				// A button of the person's open modal or Home tab.
				if id, err = fake.ClickInView(wait, userID, v, b); err == nil {
					err = handled.wait(wait, id)
				}
				showModal(m.Stdout, fake, userID)
				break
			}
			b, ok := findButton(fake, userID, label, version)
			if !ok {
				fmt.Fprintf(m.Stdout, "sandbox: no button labelled %q in #release-management, your Home tab or your modal\n", rest)
				break
			}
			if id, err = fake.Click(wait, userID, sandboxChannel, b); err == nil {
				err = handled.wait(wait, id)
			}
		case "!home":
			fmt.Fprintf(m.Stdout, "\n› @%s opens cutbot's Home tab\n", name)
			var id string
			if id, err = fake.OpenHome(wait, userID); err == nil {
				err = handled.wait(wait, id)
			}
			if v, ok := fake.Home(userID); ok {
				fmt.Fprintln(m.Stdout, indentBlock(fake.Text(slackfake.Message{Blocks: v.Blocks}), "      "))
			}
		case "!submit":
			fmt.Fprintf(m.Stdout, "\n› @%s fills in the modal and saves: %s\n", name, rest)
			values := map[string]string{}
			for _, kv := range strings.Split(rest, ";") {
				if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok {
					values[strings.TrimSpace(k)] = strings.ReplaceAll(strings.TrimSpace(v), `\n`, "\n")
				}
			}
			var ack slackfake.Ack
			if ack, err = fake.SubmitModal(wait, userID, values); err == nil {
				err = handled.wait(wait, ack.EnvelopeID)
			}
			if err == nil && !showModal(m.Stdout, fake, userID) {
				fmt.Fprintln(m.Stdout, "  (saved; the modal closed)")
			}
		case "!wait":
			fmt.Fprintf(m.Stdout, "\n… waiting for the builds (the bot polls Cloud Build every %s)\n", cfg.PollInterval)
			err = waitBuilds(wait, cb, polls, world)
		case "!fail-next":
			cb.FailNextAt(rest)
			fmt.Fprintf(m.Stdout, "\n(sandbox: the next build will fail at step %q)\n", rest)
		case "!testgrid", "!kpromo", "!approve", "!merge", "!promo-job":
			var said string
			said, err = world.do(cmd, rest)
			if err == nil {
				fmt.Fprintf(m.Stdout, "\n(sandbox: %s)\n", said)
			}
		default:
			fmt.Fprintf(m.Stdout, "sandbox: type /release commands, click LABEL, !wait or !fail-next STEP (got %q)\n", text)
		}
		done()
		if err != nil {
			return fmt.Errorf("sandbox: %s: %w", text, err)
		}
		show()
	}
	if err := lines.Err(); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "\n── the channel as it stands ──\n%s", fake.Transcript(sandboxChannel))
	for i, n := range world.gh.IssueNumbers("kubernetes/sig-release") {
		title, body, state, _, _ := world.gh.Issue("kubernetes/sig-release", n)
		if n <= 2990 {
			continue
		}
		fmt.Fprintf(m.Stdout, "\n── https://github.com/kubernetes/sig-release/issues/%d (%s): %s ──\n", n, state, title)
		if i == 1 { // the first cut's issue, in full
			fmt.Fprintln(m.Stdout, body)
		}
	}
	return nil
}

// findViewButton finds a button labelled label... (valued value..., if given) on userID's open
// modal, else their Home tab.
func findViewButton(fake *slackfake.Server, userID, label, value string) (slackfake.View, slackfake.Button, bool) {
	var views []slackfake.View
	if v, ok := fake.Modal(userID); ok {
		views = append(views, v)
	}
	if v, ok := fake.Home(userID); ok {
		views = append(views, v)
	}
	for _, v := range views {
		for _, b := range slackfake.ViewButtons(v) {
			if strings.HasPrefix(b.Label, label) && (value == "" || strings.HasSuffix(b.Value, value)) {
				return v, b, true
			}
		}
	}
	return slackfake.View{}, slackfake.Button{}, false
}

// showModal prints the modal open for userID, if one is; it reports whether one is.
func showModal(w io.Writer, fake *slackfake.Server, userID string) bool {
	v, ok := fake.Modal(userID)
	if !ok {
		return false
	}
	fmt.Fprintf(w, "  cutbot opened a modal, %q:\n%s\n", v.Title, indentBlock(fake.Text(slackfake.Message{Blocks: v.Blocks}), "      "))
	for block, e := range v.Errors {
		fmt.Fprintf(w, "      ! %s: %s\n", block, e)
	}
	return true
}

// findButton is the newest button labelled label... that only userID sees, else in the
// release channel; with a version, only a button about that cut.
func findButton(fake *slackfake.Server, userID, label, version string) (slackfake.Button, bool) {
	if version == "" {
		if b, ok := fake.FindEphemeralButton(userID, label); ok {
			return b, true
		}
		return fake.FindButton(sandboxChannel, label)
	}
	buttons := fake.Buttons(sandboxChannel)
	for i := len(buttons) - 1; i >= 0; i-- {
		if b := buttons[i]; strings.HasPrefix(b.Label, label) && strings.HasPrefix(b.Value, version+"|") {
			return b, true
		}
	}
	return slackfake.Button{}, false
}

// waitBuilds waits until the fake Cloud Build has no build in progress and the bot has polled
// twice since (once to see the end, once more so its edits are out).
func waitBuilds(ctx context.Context, cb *cloudbuildfake.Server, polls chan struct{}, world *sandboxWorld) error {
	for cb.Active() > 0 {
		select {
		case <-polls:
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return fmt.Errorf("builds still running: %w", ctx.Err())
		}
	}
	world.publishReleases(cb)
	for range 2 {
		select {
		case <-polls:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// sandboxCalendars writes a schedule.yaml and a release-cycle timeline around today: the
// next patch day's cherry-pick deadline ten days out (so no reminder is due while the
// sandbox runs), its target four days later, a code freeze and a release day.
func sandboxCalendars(dir string, now time.Time) ([]string, error) {
	today := cutbot.DayOf(now.UTC())
	d := func(n int) string { return today.AddDays(n).String() }
	patches := fmt.Sprintf(`schedules:
- release: "1.31"
  maintenanceModeStartDate: "%[3]s"
  endOfLifeDate: "%[4]s"
  next: {release: 1.31.3, cherryPickDeadline: "%[1]s", targetDate: "%[2]s"}
  previousPatches: [{release: 1.31.2, cherryPickDeadline: "%[9]s", targetDate: "%[8]s"}]
- release: "1.30"
  maintenanceModeStartDate: "%[5]s"
  endOfLifeDate: "%[3]s"
  next: {release: 1.30.7, cherryPickDeadline: "%[1]s", targetDate: "%[2]s"}
  previousPatches: [{release: 1.30.6, cherryPickDeadline: "%[9]s", targetDate: "%[8]s"}]
- release: "1.29"
  maintenanceModeStartDate: "%[6]s"
  endOfLifeDate: "%[7]s"
  next: {release: 1.29.11, cherryPickDeadline: "%[1]s", targetDate: "%[2]s"}
upcoming_releases:
- {cherryPickDeadline: "%[1]s", targetDate: "%[2]s"}
- {cherryPickDeadline: "%[10]s", targetDate: "%[11]s"}
`, d(10), d(14), d(200), d(260), d(140), d(5), d(30), d(-21), d(-25), d(38), d(42))
	cycle := fmt.Sprintf(`- {what: Code Freeze, when: %q, cycle: v1.36}
- {what: Docs deadline, when: %q, cycle: v1.36}
- {what: v1.36.0 released, when: %q, cycle: v1.36}
`,
		today.AddDays(20).At(2, 0, time.UTC).Format(time.RFC3339), d(25), d(35))
	var out []string
	for name, body := range map[string]string{"schedule.yaml": patches, "release-1.36.yaml": cycle} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// ciVersions plays dl.k8s.io/ci: a made-up latest build version per branch, moving on each
// time it is asked (as CI does between a mock and a no-mock stage).
type ciVersions struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *ciVersions) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/ci/"), ".txt")
	c.mu.Lock()
	c.n[name]++
	n := c.n[name]
	c.mu.Unlock()
	switch {
	case name == "latest":
		fmt.Fprintf(w, "v1.36.0-alpha.2.%d+5a1c0d3e9f2b47\n", 117+n)
	case strings.HasPrefix(name, "latest-"):
		fmt.Fprintf(w, "v%s.0-rc.0.%d+%08x\n", strings.TrimPrefix(name, "latest-"), 40+n, uint32(n*2654435761))
	default:
		http.NotFound(w, r)
	}
}

func indentBlock(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// waitEither waits for f(ctx) to succeed, unless the bot stops first.
func waitEither(ctx context.Context, f func(context.Context) error, botDone chan error) error {
	errc := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				errc <- fmt.Errorf("panicked: %v", p)
			}
		}()
		errc <- f(ctx)
	}()
	select {
	case err := <-errc:
		return err
	case err := <-botDone:
		botDone <- err // let the deferred shutdown see it too
		if err == nil {
			err = errors.New("the bot stopped")
		}
		return err
	}
}

// signals lets the sandbox wait for the bot to finish one envelope.
type signals struct {
	mu   sync.Mutex
	done map[string]chan struct{}
}

func newSignals() *signals { return &signals{done: map[string]chan struct{}{}} }

func (s *signals) ch(id string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.done[id]
	if !ok {
		c = make(chan struct{})
		s.done[id] = c
	}
	return c
}

func (s *signals) fire(id string) {
	c := s.ch(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-c:
	default:
		close(c)
	}
}

func (s *signals) wait(ctx context.Context, id string) error {
	select {
	case <-s.ch(id):
		return nil
	case <-ctx.Done():
		return fmt.Errorf("the bot did not finish the command: %w", ctx.Err())
	}
}
