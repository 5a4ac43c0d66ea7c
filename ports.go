package cutbot

import (
	"context"
	"strconv"
	"time"
)

// Clock tells the time. Tests swap it for a fixed or stepped clock.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }

// CutStore keeps every cut, so a restarted bot knows them all.
type CutStore interface {
	// CreateCut stores a new cut and assigns its ID. It fails with ECONFLICT if the version
	// already has an active cut.
	CreateCut(ctx context.Context, c *Cut) error
	// UpdateCut runs fn on the stored cut and stores the result, atomically with respect to
	// other updates. If fn returns an error nothing is stored.
	UpdateCut(ctx context.Context, id string, fn func(*Cut) error) (*Cut, error)
	// Cut returns the cut with this ID, or ENOTFOUND.
	Cut(ctx context.Context, id string) (*Cut, error)
	// ActiveCut returns the active cut of v, or ENOTFOUND.
	ActiveCut(ctx context.Context, v Version) (*Cut, error)
	// LatestCut returns the most recently opened cut of v in any status, or ENOTFOUND.
	LatestCut(ctx context.Context, v Version) (*Cut, error)
	// ActiveCuts returns every active cut, oldest first.
	ActiveCuts(ctx context.Context) ([]*Cut, error)
	// CutsWithEffects returns the cuts, of any status, whose journal holds intents: work a
	// crash or an outage left unfinished.
	CutsWithEffects(ctx context.Context) ([]*Cut, error)
}

// Messenger shows a cut where release managers follow it (a Slack thread). It renders the
// message named by key from the cut's state: MessageThread, MessagePlan, a stage's line,
// a confirmation, MessageLive, or AuditMessageKey for a note about one audit entry.
type Messenger interface {
	// Post posts the message key of c: the thread's parent into c.Channel, anything else as
	// a reply in the cut's thread. It waits for Slack's answer (the message's timestamp).
	Post(ctx context.Context, c *Cut, key string) (MessageRef, error)
	// PostLater posts the message key of c when Slack's budget allows, the most urgent first,
	// as the cut stands by then (see Show), and calls done with the outcome. It returns at
	// once: the cut's owner does not wait on Slack.
	PostLater(c *Cut, key string, done func(MessageRef, error))
	// Find looks for the message key of c that an earlier, interrupted Post may have left.
	Find(ctx context.Context, c *Cut, key string) (MessageRef, bool, error)
	// Show brings every posted message of c in line with c's state. It returns at once; only
	// the messages whose text changed are edited, paced to Slack's limits, the latest text
	// winning.
	Show(c *Cut)
}

// AuditMessageKey is the message key of a thread note about audit entry seq.
func AuditMessageKey(seq int) string { return "audit:" + strconv.Itoa(seq) }

// BuildRef names a Cloud Build job.
type BuildRef struct {
	ID     string
	LogURL string
}

// BuildState is where a job stands, simplified from Cloud Build's statuses.
type BuildState string

// The states of a job.
const (
	BuildQueued    BuildState = "queued"
	BuildWorking   BuildState = "working"
	BuildSucceeded BuildState = "succeeded"
	BuildFailed    BuildState = "failed" // also timed out, expired, internal error
	BuildCancelled BuildState = "cancelled"
)

// BuildStatus is a job as last seen.
type BuildStatus struct {
	Ref        BuildRef
	State      BuildState
	Step       string // the step running now, e.g. "compiling"
	FailedStep string // the step that failed
	Detail     string // Cloud Build's status detail, if any
	StartTime  time.Time
	FinishTime time.Time
}

// Builder runs stage and release jobs (Cloud Build). Errors are coded: EUNAVAILABLE for
// what is worth retrying, EUNAUTHORIZED for missing permissions (with what to fix).
type Builder interface {
	Submit(ctx context.Context, req BuildRequest) (BuildRef, error)
	Status(ctx context.Context, id string) (BuildStatus, error)
	Cancel(ctx context.Context, id string) error
	// FindByTag returns the job carrying cutbot's tag for an attempt, if there is one.
	FindByTag(ctx context.Context, tag string) (BuildRef, bool, error)
}

// VersionSource resolves the build version a stage builds from, as krel does: the latest CI
// build of the branch.
type VersionSource interface {
	CIVersion(ctx context.Context, branch string) (string, error)
}

// Directory answers who may do what.
type Directory interface {
	// IsReleaseManager reports whether the user may run commands that change anything.
	IsReleaseManager(ctx context.Context, userID string) (bool, error)
	// ReleaseManagers names who may, for refusal messages (e.g. "@release-managers").
	ReleaseManagers(ctx context.Context) string
}

// Issue is a GitHub issue as cutbot reads it.
type Issue struct {
	Repo   string
	Number int
	URL    string
	Title  string
	Body   string
	State  string // "open" or "closed"
	Labels []string
}

// PullRequest is a GitHub pull request as cutbot follows it.
type PullRequest struct {
	Repo      string
	Number    int
	URL       string
	Title     string
	HeadRef   string // the branch, e.g. kubernetes-v1.31.3-image-promotion
	HeadSHA   string
	Base      string // the branch it merges into
	Author    string
	State     string // "open" or "closed"
	Labels    []string
	Approved  bool // an approving review, or the approved and lgtm labels
	Held      bool // do-not-merge/hold
	Merged    bool
	MergeSHA  string
	MergedAt  time.Time
	CreatedAt time.Time
	ClosedAt  time.Time
	Body      string
}

// Ref is "owner/repo#number".
func (p PullRequest) Ref() string { return p.Repo + "#" + strconv.Itoa(p.Number) }

// CommitStatus is one context of a commit's combined status.
type CommitStatus struct {
	State string // pending, success, failure, error
	URL   string
	At    time.Time
}

// GitHub is what cutbot reads and writes on GitHub. Errors are coded; EUNAVAILABLE for rate
// limits and outages, which are worth retrying later.
type GitHub interface {
	CreateIssue(ctx context.Context, repo, title, body string, labels []string) (Issue, error)
	Issue(ctx context.Context, repo string, number int) (Issue, error)
	EditIssueBody(ctx context.Context, repo string, number int, body string) error
	// CloseIssue closes an issue with GitHub's state_reason ("completed", "not_planned").
	CloseIssue(ctx context.Context, repo string, number int, reason string) error
	// FindIssue returns an issue of repo created since since whose body holds marker.
	FindIssue(ctx context.Context, repo, marker string, since time.Time) (Issue, bool, error)
	FileContent(ctx context.Context, repo, path, ref string) (string, error)
	OpenPullRequests(ctx context.Context, repo string) ([]PullRequest, error)
	PullRequest(ctx context.Context, repo string, number int) (PullRequest, error)
	Comments(ctx context.Context, repo string, number int) ([]string, error)
	Comment(ctx context.Context, repo string, number int, body string) error
	// CommitStatus returns the status of one context on a commit, if it has one.
	CommitStatus(ctx context.Context, repo, sha, context string) (CommitStatus, bool, error)
	// Contains reports whether head's history includes base.
	Contains(ctx context.Context, repo, base, head string) (bool, error)
	// Release returns the URL of the GitHub release of tag, if it exists.
	Release(ctx context.Context, repo, tag string) (string, bool, error)
	// ReleasedAt is when the GitHub release of tag was published, if it exists.
	ReleasedAt(ctx context.Context, repo, tag string) (time.Time, bool, error)
	// Tags lists the git tags of repo that start with prefix (e.g. "v1.31.").
	Tags(ctx context.Context, repo, prefix string) ([]string, error)
	// BranchExists reports whether repo has the branch.
	BranchExists(ctx context.Context, repo, branch string) (bool, error)
	// CreateBranch creates branch in repo at the commit the tag points to, and returns the
	// commit's sha. It fails with ECONFLICT if the branch exists.
	CreateBranch(ctx context.Context, repo, branch, tag string) (string, error)
	// PullRequestsTo lists the open pull requests into base.
	PullRequestsTo(ctx context.Context, repo, base string) ([]PullRequest, error)
	// ClosedPullRequestsTo lists the pull requests into base closed since since.
	ClosedPullRequestsTo(ctx context.Context, repo, base string, since time.Time) ([]PullRequest, error)
	// SearchIssues searches issues (GitHub's search syntax), up to max results.
	SearchIssues(ctx context.Context, query string, max int) ([]Issue, error)
	// CombinedStatus is a commit's combined status and the contexts that failed.
	CombinedStatus(ctx context.Context, repo, sha string) (state string, failing []string, err error)
	// RemoveLabel removes a label from an issue or PR; ENOTFOUND if it does not have it.
	RemoveLabel(ctx context.Context, repo string, number int, label string) error
	AddLabel(ctx context.Context, repo string, number int, label string) error
}

// TestGridJob is one job (tab) of a testgrid dashboard's summary.
type TestGridJob struct {
	Name   string
	Status string // PASSING, FAILING, FLAKY, ...
	URL    string
}

// TestGrid reads dashboard summaries, as krel testgridshot does.
type TestGrid interface {
	Summary(ctx context.Context, dashboard string) (url string, jobs []TestGridJob, err error)
}

// ProwJob is one run of a prow job.
type ProwJob struct {
	Job     string
	State   string // triggered, pending, success, failure, aborted, error
	BaseSHA string
	URL     string
	Start   time.Time
}

// Prow lists runs of a job.
type Prow interface {
	Jobs(ctx context.Context, job string) ([]ProwJob, error)
}

// CalendarSource reads a release calendar (schedule.yaml, a cycle's .ics, ...). Problems are
// entries it skipped, with the reason, for a log line.
type CalendarSource interface {
	Name() string
	Milestones(ctx context.Context) (ms []Milestone, problems []string, err error)
}

// ReminderState is what became of a planned reminder.
type ReminderState string

// The states of a reminder. Posting is the intent recorded before the post.
const (
	ReminderPosting ReminderState = "posting"
	ReminderSent    ReminderState = "sent"
	ReminderDropped ReminderState = "dropped" // its moment passed while cutbot was down
	ReminderMuted   ReminderState = "muted"
)

// ReminderRecord is the stored fate of one reminder.
type ReminderRecord struct {
	ID    string
	State ReminderState
	At    time.Time
	By    string // who muted it
	Ref   MessageRef
	Late  bool
}

// ReminderStore remembers which reminders were handled, so each is posted once.
type ReminderStore interface {
	ReminderRecords(ctx context.Context) (map[string]ReminderRecord, error)
	SetReminder(ctx context.Context, r ReminderRecord) error
	// ClaimReminder records the intent to post id, unless a record of it exists; it reports
	// whether this caller may post.
	ClaimReminder(ctx context.Context, id string, at time.Time) (bool, error)
	DeleteReminder(ctx context.Context, id string) error
}

// Announcer posts reminders in the release channel.
type Announcer interface {
	PostReminder(ctx context.Context, d Due) (MessageRef, error)
	// FindReminder looks for a reminder an interrupted post may have left since since.
	FindReminder(ctx context.Context, id string, since time.Time) (MessageRef, bool, error)
}

// FreezeStore keeps cherry-pick freezes.
type FreezeStore interface {
	// CreateFreeze stores a new freeze and assigns its ID.
	CreateFreeze(ctx context.Context, f *Freeze) error
	// UpdateFreeze runs fn on the stored freeze and stores the result atomically.
	UpdateFreeze(ctx context.Context, id string, fn func(*Freeze) error) (*Freeze, error)
	Freeze(ctx context.Context, id string) (*Freeze, error)
	// ActiveFreezes lists the freezes that hold their branch (FreezeState.Active), oldest
	// first, without reading the others in full.
	ActiveFreezes(ctx context.Context) ([]*Freeze, error)
}

// BoardStore keeps the patch-release board: each branch's cherry-picks as last read, the
// team's notes and dispositions, what changed and when, each person's last look, and the
// known issues.
type BoardStore interface {
	// Board returns a branch's board as last read; ENOTFOUND if it was never read.
	Board(ctx context.Context, branch string) (*BranchBoard, error)
	// SaveBoard stores a branch's board and appends what changed, in one transaction.
	SaveBoard(ctx context.Context, b *BranchBoard, changes []PickChange) error
	// PickNotes returns every note by cluster, and every disposition by PR.
	PickNotes(ctx context.Context) (map[string]PickNote, map[string]PickDisposition, error)
	// SavePickNote stores n if the stored note's Rev is still base (0: none yet), as Rev
	// base+1, and records the change; else ECONFLICT with the stored note.
	SavePickNote(ctx context.Context, n PickNote, base int, change PickChange) (PickNote, error)
	// SaveDisposition does the same for a PR's disposition.
	SaveDisposition(ctx context.Context, d PickDisposition, base int, change PickChange) (PickDisposition, error)
	// PickChanges lists what changed after since, oldest first.
	PickChanges(ctx context.Context, since time.Time) ([]PickChange, error)
	// LastLook is when user last looked at the board (zero: never); SetLastLook records now.
	LastLook(ctx context.Context, user string) (time.Time, error)
	SetLastLook(ctx context.Context, user string, at time.Time) error
	// KnownIssues returns the known issues as last read, and when.
	KnownIssues(ctx context.Context) ([]KnownIssue, time.Time, error)
	SaveKnownIssues(ctx context.Context, issues []KnownIssue, at time.Time) error
}

// BoardAnnouncer tells the release channel which cherry-picks a release manager's review would
// now approve.
type BoardAnnouncer interface {
	PostApprovable(ctx context.Context, picks []CherryPick) (MessageRef, error)
	// FindApprovable looks in the channel, since since, for a notice that names pr.
	FindApprovable(ctx context.Context, pr string, since time.Time) (MessageRef, bool, error)
}

// ConflictError is an edit refused because someone else's newer edit is stored: both are
// shown, nothing is lost.
type ConflictError[T any] struct {
	Stored T
}

func (e *ConflictError[T]) Error() string { return "someone else saved it meanwhile" }

func (e *ConflictError[T]) Unwrap() error { return &Error{Code: ECONFLICT, Message: e.Error()} }

// PromotionPR is an image-promotion PR cutbot opened, or the finding that there was nothing
// to promote (NoOp).
type PromotionPR struct {
	PullRequest
	NoOp   bool
	Images int // images added to the manifest
}

// PromotionOpener opens the image-promotion PR of a release, as `kpromo pr` does.
type PromotionOpener interface {
	// Open reads the staged images of v's promotion tags and opens the PR (extra is added to
	// its body), or reports a no-op promotion.
	Open(ctx context.Context, v Version, extra string) (PromotionPR, error)
	// Find looks for the PR an earlier Open made.
	Find(ctx context.Context, v Version) (PromotionPR, bool, error)
}

// ScheduleUpdater proposes the release calendar's update after a patch release: the
// schedule.yaml pull request on kubernetes/website that schedule-builder's user would open.
type ScheduleUpdater interface {
	// Open opens it for v, released on day; ok is false when the file has v already.
	Open(ctx context.Context, v Version, day Day) (pr PullRequest, ok bool, err error)
	// Find looks for the PR an earlier Open made.
	Find(ctx context.Context, v Version) (PullRequest, bool, error)
}
