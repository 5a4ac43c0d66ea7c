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
	// CutsWithUnpostedMessages returns the cuts, of any status, with a message whose intent
	// is recorded but which is not known to be posted: work a crash left unfinished.
	CutsWithUnpostedMessages(ctx context.Context) ([]*Cut, error)
}

// Messenger shows a cut where release managers follow it (a Slack thread). It renders the
// message named by key from the cut's state: MessageThread, MessagePlan, or AuditMessageKey
// for a note about one audit entry.
type Messenger interface {
	// Post posts the message key of c: the thread's parent into c.Channel, anything else as
	// a reply in the cut's thread.
	Post(ctx context.Context, c *Cut, key string) (MessageRef, error)
	// Update edits the posted message key of c to match c's current state.
	Update(ctx context.Context, c *Cut, key string) error
	// Find looks for the message key of c that an earlier, interrupted Post may have left.
	Find(ctx context.Context, c *Cut, key string) (MessageRef, bool, error)
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
