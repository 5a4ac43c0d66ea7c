package handlers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/cutbot"
)

// The patch-release board: each release branch's cherry-picks, read from GitHub on a
// schedule, with the team's notes, what changed since each person last looked, the ones a
// review would approve, and the known issues.

// Approvable-notice modes.
const (
	NoticeDigest = "digest" // once a day, at the reminders' time
	NoticeNow    = "now"    // after the refresh that finds it
	NoticeOff    = "off"
)

// noticePrefix begins the reminder-store ids of approvable notices ("approvable:owner/repo#N").
const noticePrefix = "approvable:"

type board struct {
	store      cutbot.BoardStore
	announcer  cutbot.BoardAnnouncer
	branches   []string // configured; none: the calendar's branches with a next patch
	knownQuery string
	notice     string
	history    time.Duration // how far back closed picks are read when the calendar has no earlier release
}

func newBoard(d Deps) board {
	b := board{store: d.Board, announcer: d.BoardAnnouncer, branches: d.BoardBranches, knownQuery: d.KnownIssuesQuery, notice: cmp.Or(d.ApprovableNotice, NoticeDigest), history: d.BoardHistory}
	if b.history <= 0 {
		b.history = 45 * 24 * time.Hour
	}
	return b
}

func boardLane(branch string) string { return "board:" + branch }

var reReleaseBranch = regexp.MustCompile(`^release-\d+\.\d+$`)

// boardReady says why the board cannot be read, if it cannot.
func (h *Handlers) boardReady() error {
	switch {
	case h.board.store == nil:
		return cutbot.Errorf(cutbot.EUNAVAILABLE, "the patch-release board is not kept by this cutbot (no store for it)")
	case h.gh.api == nil:
		return cutbot.Errorf(cutbot.EUNAVAILABLE, "the patch-release board needs GitHub: set GITHUB_TOKEN")
	}
	return nil
}

// BoardBranches are the branches on the board: the configured ones, else those the calendar
// plans a next patch release for, newest first.
func (h *Handlers) BoardBranches() []string {
	if len(h.board.branches) > 0 {
		return h.board.branches
	}
	var out []string
	for _, m := range h.milestones() {
		if m.Kind != cutbot.PatchTarget {
			continue
		}
		if v, err := cutbot.ParseVersion(m.What); err == nil && !slices.Contains(out, v.ReleaseBranch()) {
			out = append(out, v.ReleaseBranch())
		}
	}
	slices.SortFunc(out, func(a, b string) int { return branchCompare(b, a) })
	return out
}

// branchCompare orders release-1.9 before release-1.31.
func branchCompare(a, b string) int {
	va, ea := cutbot.ParseVersion("v" + strings.TrimPrefix(a, "release-") + ".0")
	vb, eb := cutbot.ParseVersion("v" + strings.TrimPrefix(b, "release-") + ".0")
	if ea != nil || eb != nil {
		return strings.Compare(a, b)
	}
	return va.Compare(vb)
}

func (h *Handlers) milestones() []cutbot.Milestone {
	h.cal.mu.Lock()
	defer h.cal.mu.Unlock()
	return slices.Clone(h.cal.milestones)
}

// patchSections are a branch's patch releases from the calendar: the next one (its
// cherry-pick deadline and target date) and the past ones.
func (h *Handlers) patchSections(branch string) []cutbot.PatchSection {
	byVersion := map[string]*cutbot.PatchSection{}
	for _, m := range h.milestones() {
		v, err := cutbot.ParseVersion(m.What)
		if err != nil || v.ReleaseBranch() != branch {
			continue
		}
		s := byVersion[m.What]
		if s == nil {
			s = &cutbot.PatchSection{Version: m.What}
			byVersion[m.What] = s
		}
		switch m.Kind {
		case cutbot.CherryPickDeadline:
			s.Deadline = m.Day
		case cutbot.PatchTarget, cutbot.PatchReleased:
			s.Target = m.Day
		}
	}
	var out []cutbot.PatchSection
	for _, s := range byVersion {
		if !s.Target.IsZero() {
			out = append(out, *s)
		}
	}
	slices.SortFunc(out, func(a, b cutbot.PatchSection) int { return b.Target.Compare(a.Target) })
	return out
}

// since is how far back a branch's closed cherry-picks are read: from the target of the
// release before the last one out (so the last release's section is whole), else history.
func (h *Handlers) since(branch string, now time.Time) time.Time {
	today := cutbot.DayOf(now.UTC())
	var past []cutbot.Day
	for _, s := range h.patchSections(branch) {
		if s.Target.Before(today) {
			past = append(past, s.Target)
		}
	}
	if len(past) >= 2 {
		return past[1].AddDays(1).At(0, 0, time.UTC)
	}
	return now.Add(-h.board.history)
}

// RefreshBoard reads every branch of the board from GitHub, each on its own lane, then the
// known issues, and posts what became approvable if notices go out at once. It waits for the
// branches to be read.
func (h *Handlers) RefreshBoard(ctx context.Context) error {
	if err := h.boardReady(); err != nil {
		return nil // nothing to refresh
	}
	var errs []error
	for _, branch := range h.BoardBranches() {
		var err error
		done, lerr := h.lanes.do(ctx, boardLane(branch), func() { err = h.refreshBranch(ctx, branch) })
		switch {
		case lerr != nil:
			errs = append(errs, lerr)
		case !done:
			errs = append(errs, fmt.Errorf("refresh %s: panicked", branch))
		case err != nil:
			errs = append(errs, err)
		}
	}
	errs = append(errs, h.refreshKnownIssues(ctx))
	if h.board.notice == NoticeNow {
		errs = append(errs, h.NoticeApprovable(ctx))
	}
	return errors.Join(errs...)
}

// ensureRead reads, now, the branches that were never read (cutbot just started, or a branch
// was named for the first time), each on its lane: a person is shown the board, not "later".
func (h *Handlers) ensureRead(ctx context.Context, branches []string) {
	for _, br := range branches {
		if _, err := h.board.store.Board(ctx, br); cutbot.ErrorCode(err) != cutbot.ENOTFOUND {
			continue
		}
		h.lanes.do(ctx, boardLane(br), func() {
			if _, err := h.board.store.Board(ctx, br); cutbot.ErrorCode(err) == cutbot.ENOTFOUND {
				if err := h.refreshBranch(ctx, br); err != nil {
					h.log.Warn("board: first read", "branch", br, "err", err)
				}
			}
		})
	}
}

// refreshBranch reads one branch: its open cherry-picks (with their heads' statuses) and
// those closed since the window began. A failed read keeps the last good board and says when
// it failed.
func (h *Handlers) refreshBranch(ctx context.Context, branch string) error {
	now := h.clock.Now()
	repo := h.cpRepo
	old, err := h.board.store.Board(ctx, branch)
	if err != nil && cutbot.ErrorCode(err) != cutbot.ENOTFOUND {
		return err
	}
	cur, rerr := h.readBranch(ctx, repo, branch, now)
	if rerr != nil {
		h.log.Warn("board: could not read a branch; keeping the last good read", "branch", branch, "err", rerr)
		kept := old
		if kept == nil {
			kept = &cutbot.BranchBoard{Repo: repo, Branch: branch}
		}
		kept.Error, kept.ErrorAt = cutbot.ErrorMessage(rerr), now
		if err := h.board.store.SaveBoard(ctx, kept, nil); err != nil {
			return err
		}
		return fmt.Errorf("board %s: %w", branch, rerr)
	}
	changes := cutbot.DiffBoards(old, cur, h.cpLabel, now)
	if err := h.board.store.SaveBoard(ctx, cur, changes); err != nil {
		return err
	}
	h.log.Info("board read", "branch", branch, "picks", len(cur.Picks), "changes", len(changes))
	return nil
}

func (h *Handlers) readBranch(ctx context.Context, repo, branch string, now time.Time) (*cutbot.BranchBoard, error) {
	open, err := h.gh.api.PullRequestsTo(ctx, repo, branch)
	if err != nil {
		return nil, err
	}
	closed, err := h.gh.api.ClosedPullRequestsTo(ctx, repo, branch, h.since(branch, now))
	if err != nil {
		return nil, err
	}
	b := &cutbot.BranchBoard{Repo: repo, Branch: branch, ReadAt: now}
	for _, pr := range append(open, closed...) {
		p := cutbot.CherryPick{Repo: repo, Number: pr.Number, URL: pr.URL, Title: pr.Title, Branch: branch, HeadRef: pr.HeadRef, Author: pr.Author,
			Body: pr.Body, Labels: pr.Labels, State: cutbot.PickOpen, CreatedAt: pr.CreatedAt, ClosedAt: pr.ClosedAt}
		switch {
		case pr.Merged:
			p.State = cutbot.PickMerged
			p.ClosedAt = cmp.Or(pr.MergedAt, pr.ClosedAt)
		case pr.State == "closed":
			p.State = cutbot.PickClosed
		case pr.HeadSHA != "":
			if p.StatusState, p.Failing, err = h.gh.api.CombinedStatus(ctx, repo, pr.HeadSHA); err != nil {
				return nil, err
			}
		}
		b.Picks = append(b.Picks, p)
	}
	slices.SortFunc(b.Picks, func(x, y cutbot.CherryPick) int { return cmp.Compare(y.Number, x.Number) })
	return b, nil
}

// refreshKnownIssues searches the issues in the patch-release format.
func (h *Handlers) refreshKnownIssues(ctx context.Context) error {
	if h.board.knownQuery == "" {
		return nil
	}
	found, err := h.gh.api.SearchIssues(ctx, h.board.knownQuery, 200)
	if err != nil {
		return fmt.Errorf("known issues: %w", err)
	}
	var out []cutbot.KnownIssue
	for _, is := range found {
		in, res, problems, ok := cutbot.ParseReleaseBlocks(is.Body)
		if !ok {
			continue // found by the words, but without a release block
		}
		out = append(out, cutbot.KnownIssue{Repo: is.Repo, Number: is.Number, Title: is.Title, URL: is.URL, State: is.State, Labels: is.Labels,
			Introduced: in, Resolved: res, Problems: problems})
	}
	return h.board.store.SaveKnownIssues(ctx, out, h.clock.Now())
}

// BoardRow is one cherry-pick as a person sees it: what GitHub says, what the team wrote,
// and the other branches' picks of the same change.
type BoardRow struct {
	Pick        cutbot.CherryPick
	Parents     []int
	Issues      []int
	Disposition string
	SetBy       string // who set the disposition, if a person did
	Note        *cutbot.PickNote
	Others      []cutbot.CherryPick // the cluster's picks on other branches
	Blockers    []string
	Colour      string
	Approvable  bool
}

// BoardSection is a patch release's rows.
type BoardSection struct {
	cutbot.PatchSection
	Rows []BoardRow
}

// BranchView is one branch as a person sees it.
type BranchView struct {
	Branch   string
	ReadAt   time.Time
	Error    string
	ErrorAt  time.Time
	Sections []BoardSection
	Hidden   int // CVE rows not shown to this person
	Counts   map[string]int
	Known    []KnownView
}

// KnownView is a known issue and where it stands on a branch.
type KnownView struct {
	Issue    cutbot.KnownIssue
	Standing cutbot.KnownStanding
}

// boardView builds what a person sees of branches: CVE rows only for release managers.
func (h *Handlers) boardView(ctx context.Context, branches []string, manager bool) ([]BranchView, error) {
	notes, disps, err := h.board.store.PickNotes(ctx)
	if err != nil {
		return nil, err
	}
	boards := map[string]*cutbot.BranchBoard{}
	clusters := map[string][]cutbot.CherryPick{}
	for _, br := range h.BoardBranches() {
		b, err := h.board.store.Board(ctx, br)
		if err != nil {
			continue
		}
		boards[br] = b
		for _, p := range b.Picks {
			clusters[p.Cluster()] = append(clusters[p.Cluster()], p)
		}
	}
	known, _, _ := h.board.store.KnownIssues(ctx)
	var out []BranchView
	for _, br := range branches {
		b := boards[br]
		if b == nil {
			if b, err = h.board.store.Board(ctx, br); err != nil {
				return nil, cutbot.Errorf(cutbot.ENOTFOUND, "%s has not been read yet: the board reads GitHub every few minutes (`/release picks %s --refresh` reads it now)", br, br)
			}
		}
		v := BranchView{Branch: br, ReadAt: b.ReadAt, Error: b.Error, ErrorAt: b.ErrorAt, Counts: map[string]int{}}
		for _, s := range cutbot.Sections(b, h.patchSections(br)) {
			sec := BoardSection{PatchSection: s}
			for _, p := range s.Picks {
				row := h.row(p, notes, disps, clusters)
				if row.Note != nil && row.Note.CVE && !manager {
					v.Hidden++
					continue
				}
				v.Counts[row.Colour]++
				if row.Approvable {
					v.Counts["approvable"]++
				}
				sec.Rows = append(sec.Rows, row)
			}
			sec.Picks = nil
			v.Sections = append(v.Sections, sec)
		}
		v.Known = knownOn(known, br, h.nextPatch(br))
		out = append(out, v)
	}
	return out, nil
}

func (h *Handlers) row(p cutbot.CherryPick, notes map[string]cutbot.PickNote, disps map[string]cutbot.PickDisposition, clusters map[string][]cutbot.CherryPick) BoardRow {
	parents, _ := p.Parents()
	d := disps[p.Ref()]
	row := BoardRow{Pick: p, Parents: parents, Issues: cutbot.FixedIssues(p.Body), Disposition: p.Disposition(h.cpLabel, d.Value), Blockers: p.Blockers(),
		Colour: p.Colour(h.cpLabel), Approvable: p.Approvable(h.cpLabel)}
	if d.Value != "" && p.State == cutbot.PickOpen {
		row.SetBy = d.By
	}
	if n, ok := notes[p.Cluster()]; ok {
		row.Note = &n
	}
	for _, o := range clusters[p.Cluster()] {
		if o.Branch != p.Branch && len(parents) > 0 {
			row.Others = append(row.Others, o)
		}
	}
	slices.SortFunc(row.Others, func(a, b cutbot.CherryPick) int { return branchCompare(b.Branch, a.Branch) })
	return row
}

// nextPatch is the branch's next patch release from the calendar, if it says.
func (h *Handlers) nextPatch(branch string) cutbot.Version {
	today := cutbot.DayOf(h.clock.Now().UTC())
	var next cutbot.Version
	for _, s := range h.patchSections(branch) {
		if !s.Target.Before(today) {
			if v, err := cutbot.ParseVersion(s.Version); err == nil && (next.IsZero() || v.Compare(next) < 0) {
				next = v
			}
		}
	}
	return next
}

// knownOn lists the known issues on a branch, open ones first.
func knownOn(all []cutbot.KnownIssue, branch string, next cutbot.Version) []KnownView {
	v, err := cutbot.ParseVersion("v" + strings.TrimPrefix(branch, "release-") + ".0")
	if err != nil {
		return nil
	}
	var out []KnownView
	for _, k := range all {
		if s := k.On(v.Major, v.Minor, next); s != cutbot.KnownNotHere {
			out = append(out, KnownView{Issue: k, Standing: s})
		}
	}
	order := map[cutbot.KnownStanding]int{cutbot.KnownOpen: 0, cutbot.KnownFixedNext: 1, cutbot.KnownFixedLater: 2, cutbot.KnownUnreadable: 3, cutbot.KnownFixed: 4}
	slices.SortStableFunc(out, func(a, b KnownView) int { return cmp.Compare(order[a.Standing], order[b.Standing]) })
	return out
}

// BoardReply shows branches of the board (and, with --changes, what changed since the
// person last looked).
type BoardReply struct {
	Branches []BranchView
	Changes  *ChangesView
	Label    string
	Refresh  string // what --refresh did
	Location *time.Location
}

// ChangesView is what changed since a person last looked.
type ChangesView struct {
	Since   time.Time
	Changes []cutbot.PickChange
}

// KnownIssuesReply lists a branch's known issues.
type KnownIssuesReply struct {
	Branch string
	Next   cutbot.Version
	Issues []KnownView
	ReadAt time.Time
	Query  string
}

func (BoardReply) isReply()       {}
func (KnownIssuesReply) isReply() {}

func (h *Handlers) picks(x *execution) (Reply, error) {
	if err := h.boardReady(); err != nil {
		return nil, err
	}
	ctx := x.ctx
	branches := h.BoardBranches()
	if b := x.inv.Arg(0); b != "" {
		if !reReleaseBranch.MatchString(b) {
			return ErrorReply{Message: fmt.Sprintf("%q is not a release branch: use release-1.31", b), Usage: x.inv.Command}, nil
		}
		branches = []string{b}
	}
	if len(branches) == 0 {
		return nil, cutbot.Errorf(cutbot.ENOTFOUND, "no branch is on the board: name one (`/release picks release-1.31`), or set CUTBOT_BOARD_BRANCHES or a calendar (CUTBOT_CALENDARS) that plans patch releases")
	}
	reply := BoardReply{Label: h.cpLabel, Location: h.cal.policy.Location}
	if x.inv.Has("refresh") {
		var errs []error
		for _, br := range branches {
			var err error
			if _, lerr := h.lanes.do(ctx, boardLane(br), func() { err = h.refreshBranch(ctx, br) }); lerr != nil {
				err = lerr
			}
			errs = append(errs, err)
		}
		reply.Refresh = "Read from GitHub just now."
		if err := errors.Join(errs...); err != nil {
			reply.Refresh = "Could not read GitHub just now (" + cutbot.ErrorMessage(err) + "); showing the last good read."
		}
	}
	h.ensureRead(ctx, branches)
	manager, _ := h.dir.IsReleaseManager(ctx, x.req.UserID)
	views, err := h.boardView(ctx, branches, manager)
	if err != nil {
		return nil, err
	}
	reply.Branches = views
	if x.inv.Has("changes") {
		cv, err := h.changesFor(ctx, x.req.UserID, manager, branches)
		if err != nil {
			return nil, err
		}
		reply.Changes = cv
	}
	return reply, nil
}

// changesFor is what changed on branches since user last looked, without their own notes and
// without CVE rows for those who may not see them; the look is then recorded.
func (h *Handlers) changesFor(ctx context.Context, user string, manager bool, branches []string) (*ChangesView, error) {
	since, err := h.board.store.LastLook(ctx, user)
	if err != nil {
		return nil, err
	}
	all, err := h.board.store.PickChanges(ctx, since)
	if err != nil {
		return nil, err
	}
	notes, _, err := h.board.store.PickNotes(ctx)
	if err != nil {
		return nil, err
	}
	cve := map[string]bool{}
	for _, br := range branches {
		if b, err := h.board.store.Board(ctx, br); err == nil {
			for _, p := range b.Picks {
				cve[p.Ref()] = notes[p.Cluster()].CVE
			}
		}
	}
	cv := &ChangesView{Since: since}
	for _, c := range all {
		if c.By == user || (c.Branch != "" && !slices.Contains(branches, c.Branch)) || cve[c.PR] && !manager {
			continue
		}
		cv.Changes = append(cv.Changes, c)
	}
	if err := h.board.store.SetLastLook(ctx, user, h.clock.Now()); err != nil {
		return nil, err
	}
	return cv, nil
}

func (h *Handlers) knownIssues(x *execution) (Reply, error) {
	if err := h.boardReady(); err != nil {
		return nil, err
	}
	branch := x.inv.Arg(0)
	if !reReleaseBranch.MatchString(branch) {
		return ErrorReply{Message: fmt.Sprintf("%q is not a release branch: use release-1.31", branch), Usage: x.inv.Command}, nil
	}
	all, at, err := h.board.store.KnownIssues(x.ctx)
	if err != nil {
		return nil, err
	}
	next := h.nextPatch(branch)
	return KnownIssuesReply{Branch: branch, Next: next, Issues: knownOn(all, branch, next), ReadAt: at, Query: h.board.knownQuery}, nil
}

// KnownIssuesLine is the line a new cut's thread gets about the known issues of its branch:
// "v1.31.3 resolves 2 known issues: …; 1 still open: …", or "" when there are none.
func (h *Handlers) KnownIssuesLine(ctx context.Context, v cutbot.Version) string {
	if h.board.store == nil {
		return ""
	}
	all, _, err := h.board.store.KnownIssues(ctx)
	if err != nil || len(all) == 0 {
		return ""
	}
	var fixed, open []string
	for _, k := range all {
		ref := fmt.Sprintf("%s#%d", k.Repo, k.Number)
		switch k.On(v.Major, v.Minor, v) {
		case cutbot.KnownFixedNext:
			fixed = append(fixed, ref)
		case cutbot.KnownOpen, cutbot.KnownFixedLater:
			open = append(open, ref)
		}
	}
	if len(fixed)+len(open) == 0 {
		return ""
	}
	var parts []string
	if len(fixed) > 0 {
		parts = append(parts, fmt.Sprintf("%s resolves %s: %s", v, plural(len(fixed), "known issue"), strings.Join(fixed, ", ")))
	}
	if len(open) > 0 {
		parts = append(parts, fmt.Sprintf("%d still open: %s", len(open), strings.Join(open, ", ")))
	}
	return strings.Join(parts, "; ")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// NoticeApprovable tells the release channel, once per cherry-pick, which ones a release
// manager's approving review would now approve (CVE rows never). Each is claimed (the
// intent) before the post; a claim read back after a crash is looked for in the channel first.
func (h *Handlers) NoticeApprovable(ctx context.Context) error {
	if h.board.notice == NoticeOff || h.board.announcer == nil || h.cal.store == nil || h.boardReady() != nil {
		return nil
	}
	notes, _, err := h.board.store.PickNotes(ctx)
	if err != nil {
		return err
	}
	records, err := h.cal.store.ReminderRecords(ctx)
	if err != nil {
		return err
	}
	now := h.clock.Now()
	var fresh, pending []cutbot.CherryPick
	var since time.Time
	for _, br := range h.BoardBranches() {
		b, err := h.board.store.Board(ctx, br)
		if err != nil {
			continue
		}
		for _, p := range b.Picks {
			if !p.Approvable(h.cpLabel) || notes[p.Cluster()].CVE {
				continue
			}
			rec, ok := records[noticePrefix+p.Ref()]
			switch {
			case !ok:
				fresh = append(fresh, p)
			case rec.State == cutbot.ReminderPosting:
				pending = append(pending, p)
				if since.IsZero() || rec.At.Before(since) {
					since = rec.At
				}
			}
		}
	}
	// Claims left by an interrupted post: posted already if the channel holds them.
	if len(pending) > 0 {
		ref, found, err := h.board.announcer.FindApprovable(ctx, pending[0].Ref(), since.Add(-time.Minute))
		if err != nil {
			return err
		}
		if found {
			for _, p := range pending {
				if err := h.cal.store.SetReminder(ctx, cutbot.ReminderRecord{ID: noticePrefix + p.Ref(), State: cutbot.ReminderSent, At: now, Ref: ref}); err != nil {
					return err
				}
			}
			pending = nil
		}
	}
	for _, p := range fresh {
		ok, err := h.cal.store.ClaimReminder(ctx, noticePrefix+p.Ref(), now)
		if err != nil {
			return err
		}
		if ok {
			pending = append(pending, p)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	ref, err := h.board.announcer.PostApprovable(ctx, pending)
	if err != nil {
		return fmt.Errorf("post approvable cherry-picks: %w", err) // the claims stay: the next run looks first
	}
	for _, p := range pending {
		if err := h.cal.store.SetReminder(ctx, cutbot.ReminderRecord{ID: noticePrefix + p.Ref(), State: cutbot.ReminderSent, At: now, Ref: ref}); err != nil {
			return err
		}
	}
	h.log.Info("approvable cherry-picks noticed", "count", len(pending))
	return nil
}

// NoteForm is what the notes modal of one cherry-pick opens with.
type NoteForm struct {
	Pick        cutbot.CherryPick
	Note        cutbot.PickNote // Rev 0: none yet
	Disposition cutbot.PickDisposition
	Others      []cutbot.CherryPick
}

// NoteFormFor reads the notes of a cherry-pick (owner/repo#N on branch) for the modal. Only
// release managers write notes.
func (h *Handlers) NoteFormFor(ctx context.Context, user, branch string, number int) (NoteForm, error) {
	if err := h.mayWriteNotes(ctx, user); err != nil {
		return NoteForm{}, err
	}
	b, err := h.board.store.Board(ctx, branch)
	if err != nil {
		return NoteForm{}, err
	}
	p := b.Pick(number)
	if p == nil {
		return NoteForm{}, cutbot.Errorf(cutbot.ENOTFOUND, "#%d is no longer on the board of %s", number, branch)
	}
	notes, disps, err := h.board.store.PickNotes(ctx)
	if err != nil {
		return NoteForm{}, err
	}
	f := NoteForm{Pick: *p, Note: notes[p.Cluster()], Disposition: disps[p.Ref()]}
	f.Note.Cluster = p.Cluster()
	f.Disposition.PR = p.Ref()
	return f, nil
}

func (h *Handlers) mayWriteNotes(ctx context.Context, user string) error {
	ok, err := h.dir.IsReleaseManager(ctx, user)
	if err != nil {
		return cutbot.Errorf(cutbot.EUNAVAILABLE, "could not check whether you are a release manager; try again in a moment")
	}
	if !ok {
		return cutbot.Errorf(cutbot.EUNAUTHORIZED, "Only release managers (%s) write notes on the board.", h.dir.ReleaseManagers(ctx))
	}
	return nil
}

// NoteEdit is what a person submitted in the notes modal, with the revisions they started from.
type NoteEdit struct {
	Branch      string
	Number      int
	Summary     string
	TODO        []string
	CVE         bool
	Disposition string // "" leaves it to GitHub
	NoteRev     int
	DispRev     int
}

// NoteConflict is an edit refused because another person saved first: both texts, so the
// person can merge them by hand; nothing was saved.
type NoteConflict struct {
	Mine   NoteEdit
	Stored cutbot.PickNote
	// StoredDisposition, when the disposition is what clashed.
	StoredDisposition *cutbot.PickDisposition
}

func (e *NoteConflict) Error() string {
	return fmt.Sprintf("%s saved this note meanwhile; nothing was saved", cmp.Or(e.Stored.By, "someone"))
}

// SaveNote stores a note and a disposition from the modal. A note or disposition someone else
// saved since the modal opened is not overwritten: a *NoteConflict says so with both texts.
func (h *Handlers) SaveNote(ctx context.Context, user string, e NoteEdit) error {
	if err := h.mayWriteNotes(ctx, user); err != nil {
		return err
	}
	if e.Disposition != "" && !slices.Contains(cutbot.Dispositions, e.Disposition) {
		return cutbot.Errorf(cutbot.EINVALID, "%q is not a disposition: %s", e.Disposition, strings.Join(cutbot.Dispositions, ", "))
	}
	f, err := h.NoteFormFor(ctx, user, e.Branch, e.Number)
	if err != nil {
		return err
	}
	now := h.clock.Now()
	change := func(what, detail string) cutbot.PickChange {
		return cutbot.PickChange{At: now, Branch: e.Branch, PR: f.Pick.Ref(), Number: f.Pick.Number, What: what, Detail: detail, By: user}
	}
	n := cutbot.PickNote{Cluster: f.Pick.Cluster(), Summary: strings.TrimSpace(e.Summary), CVE: e.CVE, By: user, At: now}
	for _, line := range e.TODO {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		kept := false // a line kept as it was keeps who wrote it and when
		for _, old := range f.Note.TODO {
			if old.Text == line {
				n.TODO, kept = append(n.TODO, old), true
				break
			}
		}
		if !kept {
			n.TODO = append(n.TODO, cutbot.TODOLine{Text: line, By: user, At: now})
		}
	}
	noteChanged := n.Summary != f.Note.Summary || n.CVE != f.Note.CVE || !slices.EqualFunc(n.TODO, f.Note.TODO, func(a, b cutbot.TODOLine) bool { return a.Text == b.Text })
	if noteChanged || e.NoteRev != f.Note.Rev {
		detail := n.Summary
		if n.CVE {
			detail = "(security)" // a CVE row's note is not repeated in change lists
		}
		if _, err := h.board.store.SavePickNote(ctx, n, e.NoteRev, change("note", detail)); err != nil {
			var c *cutbot.ConflictError[cutbot.PickNote]
			if errors.As(err, &c) {
				return &NoteConflict{Mine: e, Stored: c.Stored}
			}
			return err
		}
	}
	if e.Disposition != f.Disposition.Value || e.DispRev != f.Disposition.Rev {
		d := cutbot.PickDisposition{PR: f.Pick.Ref(), Value: e.Disposition, By: user, At: now}
		if _, err := h.board.store.SaveDisposition(ctx, d, e.DispRev, change("disposition", cmp.Or(e.Disposition, "back to what GitHub says"))); err != nil {
			var c *cutbot.ConflictError[cutbot.PickDisposition]
			if errors.As(err, &c) {
				return &NoteConflict{Mine: e, Stored: f.Note, StoredDisposition: &c.Stored}
			}
			return err
		}
	}
	h.log.Info("board note saved", "pr", f.Pick.Ref(), "user", user)
	return nil
}

// Home is what a person's App Home shows.
type Home struct {
	Manager  bool
	Cuts     []*cutbot.Cut
	Upcoming []cutbot.Milestone
	Branches []BranchView
	Changes  *ChangesView
	Label    string
	Board    error // why the board is not shown, if it is not
}

// HomeFor builds a person's App Home: the active cuts, the next dates, the board's summary
// per branch, and what changed since they last looked (which is then recorded).
func (h *Handlers) HomeFor(ctx context.Context, user string) (Home, error) {
	manager, _ := h.dir.IsReleaseManager(ctx, user)
	home := Home{Manager: manager, Label: h.cpLabel}
	cuts, err := h.store.ActiveCuts(ctx)
	if err != nil {
		return home, err
	}
	home.Cuts = h.visible(ctx, user, cuts)
	today := cutbot.DayOf(h.clock.Now().In(h.cal.policy.Location))
	for _, m := range h.milestones() {
		if m.Kind != cutbot.PatchReleased && !m.Day.Before(today) && m.Day.Before(today.AddDays(29)) {
			home.Upcoming = append(home.Upcoming, m)
		}
	}
	slices.SortStableFunc(home.Upcoming, func(a, b cutbot.Milestone) int { return a.Day.Compare(b.Day) })
	if err := h.boardReady(); err != nil {
		home.Board = err
		return home, nil
	}
	branches := h.BoardBranches()
	h.ensureRead(ctx, branches)
	var read []string
	for _, br := range branches {
		if _, err := h.board.store.Board(ctx, br); err == nil {
			read = append(read, br)
		}
	}
	if home.Branches, err = h.boardView(ctx, read, manager); err != nil {
		return home, err
	}
	if home.Changes, err = h.changesFor(ctx, user, manager, branches); err != nil {
		return home, err
	}
	return home, nil
}
