package bot

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/handlers"
)

// The patch-release board in Slack: the /release picks reply, the App Home, the modal that
// lists a whole branch, and the notes modal.

// Action and callback ids of the board.
const (
	actionBoardNote = "board_note" // value: BRANCH#N; opens the notes modal
	actionBoardAll  = "board_all"  // value: BRANCH; opens the branch in a modal
	callbackNote    = "board_note"
	noticeMetadata  = "cutbot_approvable"

	blockSummary     = "summary"
	blockTODO        = "todo"
	blockDisposition = "disposition"
	blockCVE         = "cve"
)

// colourEmoji is the playbook's row colour.
func colourEmoji(c string) string {
	switch c {
	case "red":
		return ":red_circle:"
	case "green":
		return ":large_green_circle:"
	}
	return ":large_yellow_circle:"
}

func pickLink(p cutbot.CherryPick) string {
	return link(cmp.Or(p.URL, fmt.Sprintf("https://github.com/%s/pull/%d", p.Repo, p.Number)), "#"+strconv.Itoa(p.Number))
}

func repoLink(repo string, n int, kind string) string {
	return link(fmt.Sprintf("https://github.com/%s/%s/%d", repo, kind, n), "#"+strconv.Itoa(n))
}

func shortBranch(b string) string { return strings.TrimPrefix(b, "release-") }

// boardRow is one row of the board, as the playbook's spreadsheet has its columns: PR,
// parents, issue, kind, SIG, submitter, release note; disposition and what the approval
// plugin still wants; the team's note and TODO lines; the cluster's other branches.
func boardRow(r handlers.BoardRow, loc *time.Location) string {
	p := r.Pick
	var parents []string
	for _, n := range r.Parents {
		parents = append(parents, repoLink(p.Repo, n, "pull"))
	}
	parent := "made on the branch"
	if len(parents) > 0 {
		parent = "picks " + strings.Join(parents, ", ")
	}
	issue := "issue: none"
	if len(r.Issues) > 0 {
		var is []string
		for _, n := range r.Issues {
			is = append(is, repoLink(p.Repo, n, "issues"))
		}
		issue = "issue: " + strings.Join(is, ", ")
	}
	cve := ""
	if r.Note != nil && r.Note.CVE {
		cve = " :lock: *CVE*"
	}
	lines := []string{
		fmt.Sprintf("%s %s %s%s", colourEmoji(r.Colour), pickLink(p), escape(clip(p.Title, 120)), cve),
		fmt.Sprintf("    %s · %s · kind: %s · SIG: %s · release note: %s · by %s", parent, issue, strings.Join(p.Kinds(), ", "), strings.Join(p.SIGs(), ", "), p.ReleaseNote(), escape(cmp.Or(p.Author, "?"))),
	}
	state := "*" + r.Disposition + "*"
	if r.SetBy != "" {
		state += " (" + user(r.SetBy) + ")"
	}
	switch {
	case r.Approvable:
		state += " · :white_check_mark: approvable: a release manager's approving review is all it needs"
	case len(r.Blockers) > 0:
		state += " · " + escape(strings.Join(r.Blockers, "; "))
	}
	lines = append(lines, "    "+state)
	if n := r.Note; n != nil {
		if n.Summary != "" {
			lines = append(lines, fmt.Sprintf("    _%s_ (%s, %s)", escape(clip(n.Summary, 200)), user(n.By), n.At.In(loc).Format("Jan 2")))
		}
		for _, t := range n.TODO {
			lines = append(lines, fmt.Sprintf("    • %s (%s, %s)", escape(clip(t.Text, 200)), user(t.By), t.At.In(loc).Format("Jan 2")))
		}
	}
	if len(r.Others) > 0 {
		var others []string
		for _, o := range r.Others {
			others = append(others, fmt.Sprintf("%s %s (%s)", shortBranch(o.Branch), pickLink(o), o.State))
		}
		lines = append(lines, "    CP in other releases: "+strings.Join(others, ", "))
	}
	return strings.Join(lines, "\n")
}

func sectionTitle(s handlers.BoardSection) string {
	if s.Version == "" {
		return "*Cherry-picks* (the calendar names no patch release for this branch)"
	}
	t := "*" + s.Version + "*"
	if !s.Deadline.IsZero() {
		t += " · cherry-pick deadline " + dayName(s.Deadline)
	}
	if !s.Target.IsZero() {
		t += " · target " + dayName(s.Target)
	}
	return t
}

func readLine(v handlers.BranchView, loc *time.Location) string {
	line := "read from GitHub " + v.ReadAt.In(loc).Format("Jan 2 15:04 MST")
	if v.ReadAt.IsZero() {
		line = "not read from GitHub yet"
	}
	if v.Error != "" {
		line += fmt.Sprintf(" · :warning: the last read failed (%s, %s): this is the last good one", escape(v.Error), v.ErrorAt.In(loc).Format("15:04"))
	}
	return line
}

func counts(v handlers.BranchView) string {
	parts := []string{fmt.Sprintf(":large_yellow_circle: %d", v.Counts["yellow"]), fmt.Sprintf(":large_green_circle: %d", v.Counts["green"]), fmt.Sprintf(":red_circle: %d", v.Counts["red"])}
	if n := v.Counts["approvable"]; n > 0 {
		parts = append([]string{fmt.Sprintf("*%d approvable*", n)}, parts...)
	}
	if v.Hidden > 0 {
		parts = append(parts, fmt.Sprintf("%d more only release managers see", v.Hidden))
	}
	return strings.Join(parts, " · ")
}

// branchBlocks is one branch of the board, every row.
func branchBlocks(v handlers.BranchView, loc *time.Location, noteButtons bool) []slack.Block {
	blocks := []slack.Block{header(v.Branch + " cherry-picks"), contextBlock(counts(v), readLine(v, loc))}
	for _, s := range v.Sections {
		blocks = append(blocks, section(sectionTitle(s)))
		if len(s.Rows) == 0 {
			blocks = append(blocks, contextBlock("No cherry-picks."))
			continue
		}
		if noteButtons {
			for _, r := range s.Rows {
				sb := section(boardRow(r, loc))
				sb.Accessory = slack.NewAccessory(button(actionBoardNote, v.Branch+"#"+strconv.Itoa(r.Pick.Number), "Notes"))
				blocks = append(blocks, sb)
			}
			continue
		}
		var lines []string
		for _, r := range s.Rows {
			lines = append(lines, boardRow(r, loc))
		}
		blocks = append(blocks, sections(lines)...)
	}
	if k := knownLines(v.Known); len(k) > 0 {
		blocks = append(blocks, section("*Known issues*"))
		blocks = append(blocks, sections(k)...)
	}
	return blocks
}

func knownLines(ks []handlers.KnownView) []string {
	var out []string
	for _, k := range ks {
		what := map[cutbot.KnownStanding]string{
			cutbot.KnownOpen:       ":red_circle: open",
			cutbot.KnownFixedNext:  ":large_green_circle: the next patch resolves it",
			cutbot.KnownFixedLater: ":large_yellow_circle: a later patch resolves it",
			cutbot.KnownFixed:      ":white_check_mark: resolved",
			cutbot.KnownUnreadable: ":warning: its ```release block cannot be read: " + escape(strings.Join(k.Issue.Problems, "; ")),
		}[k.Standing]
		var prio []string
		for _, l := range k.Issue.Labels {
			if strings.HasPrefix(l, "priority/") || strings.HasPrefix(l, "sig/") {
				prio = append(prio, l)
			}
		}
		out = append(out, fmt.Sprintf("%s %s — %s %s", link(k.Issue.URL, fmt.Sprintf("%s#%d", k.Issue.Repo, k.Issue.Number)), escape(clip(k.Issue.Title, 150)), what, strings.Join(prio, " ")))
	}
	return out
}

func changeLine(c cutbot.PickChange, loc *time.Location) string {
	who := "GitHub"
	if c.By != "" {
		who = user(c.By)
	}
	what := map[string]string{"new": "new cherry-pick", "approved": "approved", "merged": "merged", "closed": "closed", "labels": "labels", "note": "note", "disposition": "disposition"}[c.What]
	line := fmt.Sprintf("• %s %s %s: %s", c.At.In(loc).Format("Jan 2 15:04"), shortBranch(c.Branch), link(fmt.Sprintf("https://github.com/%s", strings.Replace(c.PR, "#", "/pull/", 1)), c.PR), cmp.Or(what, c.What))
	if c.Detail != "" {
		line += " " + escape(clip(c.Detail, 150))
	}
	return line + " (" + who + ")"
}

func changesBlocks(cv *handlers.ChangesView, loc *time.Location) []slack.Block {
	since := "ever"
	if !cv.Since.IsZero() {
		since = "you last looked (" + cv.Since.In(loc).Format("Jan 2 15:04") + ")"
	}
	if len(cv.Changes) == 0 {
		return []slack.Block{section("*What changed since " + since + ":* nothing.")}
	}
	var lines []string
	for i := len(cv.Changes) - 1; i >= 0; i-- { // newest first
		lines = append(lines, changeLine(cv.Changes[i], loc))
	}
	return append([]slack.Block{section(fmt.Sprintf("*What changed since %s:* %d", since, len(cv.Changes)))}, sections(lines)...)
}

func (v view) boardReply(r handlers.BoardReply) (string, []slack.Block) {
	loc := v.loc()
	var blocks []slack.Block
	if r.Refresh != "" {
		blocks = append(blocks, contextBlock(r.Refresh))
	}
	if r.Changes != nil {
		blocks = append(blocks, changesBlocks(r.Changes, loc)...)
	}
	var names []string
	for _, b := range r.Branches {
		names = append(names, b.Branch)
		blocks = append(blocks, branchBlocks(b, loc, false)...)
	}
	text := "Cherry-picks of " + strings.Join(names, ", ")
	more := "The App Home shows every row (cutbot's Home tab, \"Show all\")."
	if len(names) > 1 {
		more = "`/release picks BRANCH` shows one branch; the App Home shows every row."
	}
	return fit(text, blocks, maxMessageBlocks, more)
}

func knownIssuesReply(r handlers.KnownIssuesReply) (string, []slack.Block) {
	next := "its next patch release"
	if !r.Next.IsZero() {
		next = r.Next.String()
	}
	text := fmt.Sprintf("Known issues of %s before %s", r.Branch, next)
	if len(r.Issues) == 0 {
		q := "no search is set (CUTBOT_KNOWN_ISSUES_QUERY)"
		if r.Query != "" {
			q = "search: `" + escape(r.Query) + "`"
		}
		return text, []slack.Block{section(fmt.Sprintf("*%s:* none known. An issue is known when it has a ```release block with introduced-in= and resolved-in= lines (%s).", text, q))}
	}
	blocks := []slack.Block{section("*" + text + "*")}
	blocks = append(blocks, sections(knownLines(r.Issues))...)
	if !r.ReadAt.IsZero() {
		blocks = append(blocks, contextBlock("read from GitHub "+r.ReadAt.UTC().Format("Jan 2 15:04 UTC")))
	}
	return fit(text, blocks, maxMessageBlocks, "")
}

// homeView is a person's App Home: within 100 blocks, the board's rows of each branch in a
// "Show all" modal.
func (v view) homeView(h handlers.Home) slack.HomeTabViewRequest {
	loc := v.loc()
	blocks := []slack.Block{header("cutbot: release cuts and the patch-release board")}
	if h.Changes != nil {
		ch := changesBlocks(h.Changes, loc)
		if len(ch) > 12 {
			ch = append(ch[:11:11], contextBlock(fmt.Sprintf("…and more: `/release picks --changes` lists them all (%d)", len(h.Changes.Changes))))
		}
		blocks = append(blocks, ch...)
	}
	blocks = append(blocks, slack.NewDividerBlock(), section("*Active cuts*"))
	if len(h.Cuts) == 0 {
		blocks = append(blocks, contextBlock("None. `/release cut VERSION` opens one."))
	}
	var cuts []string
	for _, c := range h.Cuts {
		cuts = append(cuts, fmt.Sprintf("%s *%s* · %s", statusEmoji(c), cutLink(c), capitalize(c.Standing())))
	}
	blocks = append(blocks, sections(cuts)...)
	if len(h.Upcoming) > 0 {
		var lines []string
		for _, m := range h.Upcoming {
			lines = append(lines, fmt.Sprintf("• %s %s %s", dayName(m.Day), kindLabel(m.Kind), escape(m.What)))
		}
		blocks = append(blocks, section("*Next dates*"))
		blocks = append(blocks, sections(lines)...)
	}
	blocks = append(blocks, slack.NewDividerBlock(), section("*Patch-release board*"))
	if h.Board != nil {
		blocks = append(blocks, contextBlock(escape(cutbot.ErrorMessage(h.Board))))
	}
	for _, b := range h.Branches {
		summary := section(fmt.Sprintf("*%s* · %s", b.Branch, counts(b)))
		summary.Accessory = slack.NewAccessory(button(actionBoardAll, b.Branch, "Show all"))
		blocks = append(blocks, summary, contextBlock(readLine(b, loc)))
		// The approvable ones first: a review is all they wait for.
		for _, s := range b.Sections {
			for _, r := range s.Rows {
				if r.Approvable {
					sb := section(boardRow(r, loc))
					sb.Accessory = slack.NewAccessory(button(actionBoardNote, b.Branch+"#"+strconv.Itoa(r.Pick.Number), "Notes"))
					blocks = append(blocks, sb)
				}
			}
		}
	}
	_, blocks = fit("", blocks, maxViewBlocks, "`/release picks BRANCH` shows a branch in full.")
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}}
}

// branchModal lists one branch in full, each row with its Notes button.
func (v view) branchModal(b handlers.BranchView) slack.ModalViewRequest {
	blocks := branchBlocks(b, v.loc(), true)
	_, blocks = fit("", blocks, maxViewBlocks, "`/release picks "+b.Branch+"` lists every row.")
	return slack.ModalViewRequest{Type: slack.VTModal, Title: plain(clip(b.Branch, 24), 24), Close: plain("Close", 24), Blocks: slack.Blocks{BlockSet: blocks}}
}

// noteMeta travels in the notes modal's private_metadata: which PR, and the revisions the
// person saw.
type noteMeta struct {
	Branch  string `json:"branch"`
	Number  int    `json:"number"`
	NoteRev int    `json:"note_rev"`
	DispRev int    `json:"disp_rev"`
}

// noteModal is the notes modal of one cherry-pick; conflict, if any, shows what another
// person saved meanwhile next to what this one wrote.
func (v view) noteModal(f handlers.NoteForm, conflict *handlers.NoteConflict) slack.ModalViewRequest {
	p := f.Pick
	meta := noteMeta{Branch: p.Branch, Number: p.Number, NoteRev: f.Note.Rev, DispRev: f.Disposition.Rev}
	summary, todo, cve, disp := f.Note.Summary, todoText(f.Note.TODO), f.Note.CVE, f.Disposition.Value
	var blocks []slack.Block
	blocks = append(blocks, section(fmt.Sprintf("%s %s\nNotes are shared by every branch's pick of %s; the disposition is this PR's.", pickLink(p), escape(clip(p.Title, 200)), p.Cluster())))
	if c := conflict; c != nil {
		// The stored texts are what the form now starts from (and its revisions); what this
		// person wrote is shown, to copy back in.
		meta.NoteRev = c.Stored.Rev
		summary, todo, cve = c.Stored.Summary, todoText(c.Stored.TODO), c.Stored.CVE
		if c.StoredDisposition != nil {
			meta.DispRev, disp = c.StoredDisposition.Rev, c.StoredDisposition.Value
		}
		blocks = append(blocks, section(fmt.Sprintf(":warning: *%s saved this meanwhile; nothing of yours was saved.* The form now holds theirs. Yours was:\nsummary: %s\nTODO: %s\ndisposition: %s",
			user(cmp.Or(c.Stored.By, "someone")), escape(cmp.Or(c.Mine.Summary, "(empty)")), escape(cmp.Or(strings.Join(c.Mine.TODO, " / "), "(empty)")), escape(cmp.Or(c.Mine.Disposition, "(GitHub's)")))))
	}
	raw, _ := json.Marshal(meta)
	options := []*slack.OptionBlockObject{slack.NewOptionBlockObject("", plain("(what GitHub says)", 75), nil)}
	options[0].Value = "github"
	var initial *slack.OptionBlockObject = options[0]
	for _, d := range cutbot.Dispositions {
		o := slack.NewOptionBlockObject(d, plain(d, 75), nil)
		options = append(options, o)
		if d == disp {
			initial = o
		}
	}
	sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Disposition", 75), "value", options...)
	sel.InitialOption = initial
	sum := slack.NewPlainTextInputBlockElement(plain("race in the ECR credentials provider → kubelet panic", 150), "value")
	sum.InitialValue, sum.MaxLength = clip(summary, 300), 300
	td := slack.NewPlainTextInputBlockElement(plain("one line each: needs lgtm, CVE-2018-1002105, …", 150), "value")
	td.Multiline, td.InitialValue, td.MaxLength = true, clip(todo, 3000), 3000
	cveBox := slack.NewCheckboxGroupsBlockElement("value", slack.NewOptionBlockObject("cve", plain("CVE or security fix: shown to release managers only", 75), nil))
	if cve {
		cveBox.InitialOptions = []*slack.OptionBlockObject{cveBox.Options[0]}
	}
	input := func(id, label string, el slack.BlockElement, optional bool) *slack.InputBlock {
		b := slack.NewInputBlock(id, plain(label, 2000), nil, el)
		b.Optional = optional
		return b
	}
	blocks = append(blocks,
		input(blockDisposition, "Disposition", sel, false),
		input(blockSummary, "Summary", sum, true),
		input(blockTODO, "TODO", td, true),
		input(blockCVE, "Security", cveBox, true))
	return slack.ModalViewRequest{Type: slack.VTModal, CallbackID: callbackNote, Title: plain("Notes on #"+strconv.Itoa(p.Number), 24),
		Submit: plain("Save", 24), Close: plain("Cancel", 24), PrivateMetadata: string(raw), Blocks: slack.Blocks{BlockSet: blocks}}
}

func todoText(ls []cutbot.TODOLine) string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Text)
	}
	return strings.Join(out, "\n")
}

// noteEdit reads a submitted notes modal.
func noteEdit(v slack.View) (handlers.NoteEdit, error) {
	var meta noteMeta
	if err := json.Unmarshal([]byte(v.PrivateMetadata), &meta); err != nil || meta.Number == 0 {
		return handlers.NoteEdit{}, errors.New("the form lost which cherry-pick it is about; open it again")
	}
	vals := v.State.Values
	e := handlers.NoteEdit{Branch: meta.Branch, Number: meta.Number, NoteRev: meta.NoteRev, DispRev: meta.DispRev,
		Summary: vals[blockSummary]["value"].Value}
	if d := vals[blockDisposition]["value"].SelectedOption.Value; d != "github" {
		e.Disposition = d
	}
	for _, l := range strings.Split(vals[blockTODO]["value"].Value, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			e.TODO = append(e.TODO, l)
		}
	}
	for _, o := range vals[blockCVE]["value"].SelectedOptions {
		e.CVE = e.CVE || o.Value == "cve"
	}
	return e, nil
}

// approvableText is the channel's notice of cherry-picks a review would now approve.
func approvableText(picks []cutbot.CherryPick, label string) (string, []slack.Block) {
	text := fmt.Sprintf(":white_check_mark: %s wait only for a release manager's approving review (then prow adds `%s`):", cutbot.PRs(len(picks)), label)
	var lines []string
	for _, p := range picks {
		parents, _ := p.Parents()
		line := fmt.Sprintf("• %s %s %s", shortBranch(p.Branch), pickLink(p), escape(clip(p.Title, 150)))
		if len(parents) > 0 {
			line += fmt.Sprintf(" (picks %s)", repoLink(p.Repo, parents[0], "pull"))
		}
		lines = append(lines, line+fmt.Sprintf(" · <%s/files|review it>", cmp.Or(p.URL, fmt.Sprintf("https://github.com/%s/pull/%d", p.Repo, p.Number))))
	}
	blocks := append([]slack.Block{section(text)}, sections(lines)...)
	return fit(text, blocks, maxMessageBlocks, "The App Home lists every approvable cherry-pick.")
}

// PostApprovable posts the notice in the release channel, with the PRs it names in its
// metadata so that a notice posted just before a crash is found again.
func (m *messenger) PostApprovable(ctx context.Context, picks []cutbot.CherryPick) (cutbot.MessageRef, error) {
	text, blocks := approvableText(picks, m.base.Label)
	var refs []any
	for _, p := range picks {
		refs = append(refs, p.Ref())
	}
	return m.postInChannel(ctx, newContent(text, blocks), noticeMetadata, map[string]any{"prs": refs})
}

// FindApprovable looks in the channel's history for a notice that names pr.
func (m *messenger) FindApprovable(ctx context.Context, pr string, since time.Time) (cutbot.MessageRef, bool, error) {
	return m.findInHistory(ctx, m.channel, since, func(msg slack.Message) bool {
		if msg.Metadata.EventType != noticeMetadata {
			return false
		}
		prs, _ := msg.Metadata.EventPayload["prs"].([]any)
		return slices.ContainsFunc(prs, func(v any) bool { return fmt.Sprint(v) == pr })
	})
}

// publishHome publishes user's App Home as it stands.
func (b *Bot) publishHome(ctx context.Context, userID string) error {
	home, err := b.handlers.HomeFor(ctx, userID)
	if err != nil {
		return err
	}
	_, err = b.api.PublishViewContext(withPriority(ctx, PriorityReply), slack.PublishViewContextRequest{UserID: userID, View: b.msg.view().homeView(home)})
	return err
}

// boardAction answers a board button pressed in a view: it opens a modal with the
// interaction's trigger_id (valid three seconds, so this comes first).
func (b *Bot) boardAction(ctx context.Context, cb slack.InteractionCallback, act *slack.BlockAction) error {
	ctx = withPriority(ctx, PriorityReply)
	switch act.ActionID {
	case actionBoardAll:
		home, err := b.handlers.HomeFor(ctx, cb.User.ID)
		if err != nil {
			return err
		}
		for _, br := range home.Branches {
			if br.Branch == act.Value {
				_, err := b.api.OpenViewContext(ctx, cb.TriggerID, b.msg.view().branchModal(br))
				return err
			}
		}
		return fmt.Errorf("%s is not on the board", act.Value)
	case actionBoardNote:
		branch, num, _ := strings.Cut(act.Value, "#")
		n, err := strconv.Atoi(num)
		if err != nil {
			return fmt.Errorf("bad board button value %q", act.Value)
		}
		f, err := b.handlers.NoteFormFor(ctx, cb.User.ID, branch, n)
		if err != nil {
			return err
		}
		m := b.msg.view().noteModal(f, nil)
		if cb.View.Type == slack.VTModal { // from the branch modal: on top of it
			_, err = b.api.PushViewContext(ctx, cb.TriggerID, m)
		} else {
			_, err = b.api.OpenViewContext(ctx, cb.TriggerID, m)
		}
		return err
	}
	return fmt.Errorf("unknown board action %q", act.ActionID)
}

// submitNote handles the notes modal's submission and returns the ack's payload: nil to
// close the modal, or an update of it (with both texts on a conflict) or errors.
func (b *Bot) submitNote(ctx context.Context, cb slack.InteractionCallback) any {
	e, err := noteEdit(cb.View)
	if err != nil {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{blockSummary: err.Error()})
	}
	err = b.handlers.SaveNote(ctx, cb.User.ID, e)
	var conflict *handlers.NoteConflict
	switch {
	case errors.As(err, &conflict):
		f, ferr := b.handlers.NoteFormFor(ctx, cb.User.ID, e.Branch, e.Number)
		if ferr != nil {
			return slack.NewErrorsViewSubmissionResponse(map[string]string{blockSummary: clip(cutbot.ErrorMessage(ferr), 150)})
		}
		return slack.NewUpdateViewSubmissionResponse(ptr(b.msg.view().noteModal(f, conflict)))
	case err != nil:
		return slack.NewErrorsViewSubmissionResponse(map[string]string{blockSummary: clip(cutbot.ErrorMessage(err), 150)})
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// homeOpenedBy is the user who opened cutbot's Home tab, if the event says so.
func homeOpenedBy(data any) string {
	ev, ok := data.(slackevents.EventsAPIEvent)
	if !ok || ev.InnerEvent.Type != string(slackevents.AppHomeOpened) {
		return ""
	}
	switch e := ev.InnerEvent.Data.(type) {
	case *slackevents.AppHomeOpenedEvent:
		if e.Tab == "home" || e.Tab == "" {
			return e.User
		}
	case slackevents.AppHomeOpenedEvent:
		if e.Tab == "home" || e.Tab == "" {
			return e.User
		}
	}
	return ""
}

// handleHomeOpened publishes the Home tab of whoever opened it.
func (b *Bot) handleHomeOpened(ctx context.Context, envelopeID, userID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.HandleTimeout)
	defer cancel()
	log := b.log.With("envelope", envelopeID, "user", userID)
	defer func() {
		if p := recover(); p != nil {
			b.obs.Recovered("home")
			log.Error("home panicked", "panic", p, "stack", string(debug.Stack()))
		}
		b.done(ctx, envelopeID, "")
	}()
	if first, err := b.store.MarkEnvelope(ctx, envelopeID); err != nil {
		log.Error("record envelope", "err", err)
	} else if !first {
		return
	}
	if err := b.publishHome(ctx, userID); err != nil {
		log.Warn("could not publish the Home tab", "err", err)
	}
}

// handleSubmission answers a modal's submission in its ack, then refreshes the person's Home.
func (b *Bot) handleSubmission(ctx context.Context, sm *socketmode.Client, req socketmode.Request, cb slack.InteractionCallback, read time.Time) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.HandleTimeout)
	defer cancel()
	log := b.log.With("envelope", req.EnvelopeID, "user", cb.User.ID)
	acked := false
	defer func() {
		if p := recover(); p != nil {
			b.obs.Recovered("modal")
			log.Error("modal submission panicked", "panic", p, "stack", string(debug.Stack()))
			if !acked {
				sm.Ack(req, slack.NewErrorsViewSubmissionResponse(map[string]string{blockSummary: "cutbot hit an internal error; nothing was saved"}))
			}
		}
		b.done(ctx, req.EnvelopeID, "")
	}()
	start := time.Now()
	var answer any
	if cb.View.CallbackID == callbackNote {
		answer = b.submitNote(ctx, cb)
	}
	if answer != nil {
		sm.Ack(req, answer)
	} else {
		sm.Ack(req)
	}
	acked = true
	b.obs.EnvelopeAcked(req.Type, time.Since(read))
	outcome := "ok"
	if answer != nil {
		outcome = "invalid"
	}
	b.obs.CommandDone("modal", outcome, time.Since(start))
	if answer == nil {
		if err := b.publishHome(ctx, cb.User.ID); err != nil {
			log.Warn("could not refresh the Home tab", "err", err)
		}
	}
}

// tellUser says something privately to a user who acted in a view (which has no channel):
// in their direct messages with the app.
func (b *Bot) tellUser(ctx context.Context, log *slog.Logger, userID, text string) {
	if _, _, err := b.api.PostMessageContext(withPriority(ctx, PriorityReply), userID, slack.MsgOptionText(clip(text, maxFallbackText), false)); err != nil {
		log.Warn("could not tell the user", "err", err)
	}
}
