// Package cloudbuild submits and follows cutbot's stage and release jobs on Google Cloud
// Build, with the real cloud.google.com/go/cloudbuild client. It implements cutbot.Builder.
package cloudbuild

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"time"

	cloudbuild "cloud.google.com/go/cloudbuild/apiv1/v2"
	"cloud.google.com/go/cloudbuild/apiv1/v2/cloudbuildpb"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"

	"sigs.k8s.io/cutbot"
)

// Config says where jobs run and what they run.
type Config struct {
	Project string // e.g. k8s-release
	Region  string // e.g. us-central1
	// Endpoint is Cloud Build's gRPC address; "" means Google's. A loopback address (an
	// emulator, a test's fake) is dialled without TLS or credentials.
	Endpoint string
	// StageConfig and ReleaseConfig are cloudbuild YAML files: kubernetes/release's
	// gcb/stage/cloudbuild.yaml and gcb/release/cloudbuild.yaml at the ref to use.
	StageConfig, ReleaseConfig string
	// Interceptor, if set, sees every gRPC call (cutbot's metrics count them).
	Interceptor grpc.UnaryClientInterceptor
}

// Client is a cutbot.Builder on Cloud Build.
type Client struct {
	cfg       Config
	c         *cloudbuild.Client
	templates map[cutbot.BuildJob]*cloudbuildpb.Build
}

var _ cutbot.Builder = (*Client)(nil)

// New connects to Cloud Build and loads the build configs. Credentials are Application
// Default Credentials, except for a loopback endpoint.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Project == "" || cfg.Region == "" {
		return nil, errors.New("cloud build: project and region are required")
	}
	templates := map[cutbot.BuildJob]*cloudbuildpb.Build{}
	for job, path := range map[cutbot.BuildJob]string{cutbot.JobStage: cfg.StageConfig, cutbot.JobRelease: cfg.ReleaseConfig} {
		b, err := LoadConfig(path)
		if err != nil {
			return nil, err
		}
		templates[job] = b
	}
	var opts []option.ClientOption
	if cfg.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(cfg.Endpoint))
		if IsLoopback(cfg.Endpoint) {
			opts = append(opts, option.WithoutAuthentication(), option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
		}
	}
	if cfg.Interceptor != nil {
		opts = append(opts, option.WithGRPCDialOption(grpc.WithChainUnaryInterceptor(cfg.Interceptor)))
	}
	c, err := cloudbuild.NewClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("cloud build client: %w (credentials come from Application Default Credentials: GOOGLE_APPLICATION_CREDENTIALS or the workload's service account)", err)
	}
	return &Client{cfg: cfg, c: c, templates: templates}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.c.Close() }

// IsLoopback reports whether a host:port names this machine.
func IsLoopback(endpoint string) bool {
	host, _, err := net.SplitHostPort(endpoint)
	if err != nil {
		host = endpoint
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// LoadConfig reads a cloudbuild YAML file into a Build message, strictly: a field Cloud Build
// does not know is an error, not silently dropped.
func LoadConfig(path string) (*cloudbuildpb.Build, error) {
	if path == "" {
		return nil, errors.New("cloud build: a build config file is required")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read build config: %w", err)
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("build config %s: %w", path, err)
	}
	var b cloudbuildpb.Build
	if err := protojson.Unmarshal(js, &b); err != nil {
		return nil, fmt.Errorf("build config %s is not a Cloud Build config: %w", path, err)
	}
	if len(b.Steps) == 0 {
		return nil, fmt.Errorf("build config %s has no steps", path)
	}
	return &b, nil
}

func (c *Client) parent() string {
	return fmt.Sprintf("projects/%s/locations/%s", c.cfg.Project, c.cfg.Region)
}

var reSubst = regexp.MustCompile(`\$\{(_[A-Z0-9_]+)\}|\$(_[A-Z0-9_]+)`)

var reTag = regexp.MustCompile(`^[\w][\w.-]{0,127}$`)

// BuildMessage turns a request into the Build message to create: the job's config with the
// request's substitutions over the config's defaults, and the config's tags with
// substitutions applied (as krel's tags come out), plus cutbot's own tag.
func (c *Client) BuildMessage(req cutbot.BuildRequest) (*cloudbuildpb.Build, error) {
	tmpl, ok := c.templates[req.Job]
	if !ok {
		return nil, fmt.Errorf("no build config for %s jobs", req.Job)
	}
	b := proto.Clone(tmpl).(*cloudbuildpb.Build)
	subs := map[string]string{}
	for k, v := range b.Substitutions {
		subs[k] = v
	}
	for k, v := range req.Substitutions {
		subs[k] = v
	}
	b.Substitutions = subs
	var tags []string
	for _, t := range b.Tags {
		t = reSubst.ReplaceAllStringFunc(t, func(m string) string {
			key := strings.Trim(m, "${}")
			return subs[key]
		})
		if t == "" {
			continue // krel's _NOMOCK_TAG is empty for mock runs
		}
		if !reTag.MatchString(t) {
			return nil, cutbot.Errorf(cutbot.EINVALID, "tag %q (from the %s config) is not a valid Cloud Build tag", t, req.Job)
		}
		tags = append(tags, t)
	}
	b.Tags = append(tags, req.Tag)
	if b.Options == nil {
		b.Options = &cloudbuildpb.BuildOptions{}
	}
	// krel passes every substitution to both configs; not every config uses every one.
	b.Options.SubstitutionOption = cloudbuildpb.BuildOptions_ALLOW_LOOSE
	return b, nil
}

// Submit creates the job and returns its id and log link at once, from the operation's
// metadata; it never waits on the long-running operation.
func (c *Client) Submit(ctx context.Context, req cutbot.BuildRequest) (cutbot.BuildRef, error) {
	b, err := c.BuildMessage(req)
	if err != nil {
		return cutbot.BuildRef{}, err
	}
	op, err := c.c.CreateBuild(ctx, &cloudbuildpb.CreateBuildRequest{Parent: c.parent(), ProjectId: c.cfg.Project, Build: b})
	if err != nil {
		return cutbot.BuildRef{}, c.coded("create the "+string(req.Job)+" build", err)
	}
	meta, err := op.Metadata()
	if err != nil || meta == nil || meta.GetBuild().GetId() == "" {
		// The build exists but its id is unknown here: the caller finds it by its tag.
		return cutbot.BuildRef{}, cutbot.Errorf(cutbot.EUNAVAILABLE, "Cloud Build accepted the %s build but its operation carried no build id (%v); it will be looked up by its tag", req.Job, err)
	}
	return cutbot.BuildRef{ID: meta.GetBuild().GetId(), LogURL: meta.GetBuild().GetLogUrl()}, nil
}

// Status reads a job.
func (c *Client) Status(ctx context.Context, id string) (cutbot.BuildStatus, error) {
	b, err := c.c.GetBuild(ctx, &cloudbuildpb.GetBuildRequest{Name: c.parent() + "/builds/" + id, ProjectId: c.cfg.Project, Id: id})
	if err != nil {
		return cutbot.BuildStatus{}, c.coded("read build "+id, err)
	}
	return StatusOf(b), nil
}

// StatusOf reduces a Build to what cutbot follows.
func StatusOf(b *cloudbuildpb.Build) cutbot.BuildStatus {
	st := cutbot.BuildStatus{Ref: cutbot.BuildRef{ID: b.GetId(), LogURL: b.GetLogUrl()}, Detail: b.GetStatusDetail()}
	if t := b.GetStartTime(); t != nil {
		st.StartTime = t.AsTime()
	}
	if t := b.GetFinishTime(); t != nil {
		st.FinishTime = t.AsTime()
	}
	switch b.GetStatus() {
	case cloudbuildpb.Build_QUEUED, cloudbuildpb.Build_PENDING:
		st.State = cutbot.BuildQueued
	case cloudbuildpb.Build_SUCCESS:
		st.State = cutbot.BuildSucceeded
	case cloudbuildpb.Build_FAILURE, cloudbuildpb.Build_INTERNAL_ERROR, cloudbuildpb.Build_TIMEOUT, cloudbuildpb.Build_EXPIRED:
		st.State = cutbot.BuildFailed
		if st.Detail == "" {
			st.Detail = strings.ToLower(strings.ReplaceAll(b.GetStatus().String(), "_", " "))
		}
	case cloudbuildpb.Build_CANCELLED:
		st.State = cutbot.BuildCancelled
	default:
		st.State = cutbot.BuildWorking
	}
	for i, step := range b.GetSteps() {
		switch step.GetStatus() {
		case cloudbuildpb.Build_WORKING:
			if st.Step == "" {
				st.Step = StepLabel(i, step)
			}
		case cloudbuildpb.Build_FAILURE, cloudbuildpb.Build_TIMEOUT, cloudbuildpb.Build_INTERNAL_ERROR:
			if st.FailedStep == "" {
				st.FailedStep = StepLabel(i, step)
			}
		}
	}
	return st
}

// StepLabel names a step for people: its id when it has one, else its number and what it runs
// (krel's configs have no ids: "step 3: ./anago --stage").
func StepLabel(i int, step *cloudbuildpb.BuildStep) string {
	if step.GetId() != "" {
		return step.GetId()
	}
	what := step.GetName()
	if a := step.GetArgs(); len(a) > 0 {
		what = a[0]
		if len(a) > 1 && strings.HasPrefix(a[1], "-") {
			what += " " + a[1]
		} else if len(a) > 2 && strings.HasPrefix(a[2], "--") {
			what += " " + a[2]
		}
	}
	return fmt.Sprintf("step %d: %s", i, what)
}

// Cancel cancels a job.
func (c *Client) Cancel(ctx context.Context, id string) error {
	_, err := c.c.CancelBuild(ctx, &cloudbuildpb.CancelBuildRequest{Name: c.parent() + "/builds/" + id, ProjectId: c.cfg.Project, Id: id})
	return c.coded("cancel build "+id, err)
}

// FindByTag returns the newest job carrying tag.
func (c *Client) FindByTag(ctx context.Context, tag string) (cutbot.BuildRef, bool, error) {
	it := c.c.ListBuilds(ctx, &cloudbuildpb.ListBuildsRequest{Parent: c.parent(), ProjectId: c.cfg.Project, Filter: fmt.Sprintf(`tags="%s"`, tag), PageSize: 5})
	b, err := it.Next()
	if errors.Is(err, iterator.Done) {
		return cutbot.BuildRef{}, false, nil
	}
	if err != nil {
		return cutbot.BuildRef{}, false, c.coded("look up the build tagged "+tag, err)
	}
	return cutbot.BuildRef{ID: b.GetId(), LogURL: b.GetLogUrl()}, true, nil
}

// coded turns a gRPC error into a coded error that says what to do about it.
func (c *Client) coded(what string, err error) error {
	if err == nil {
		return nil
	}
	s, _ := status.FromError(err)
	switch s.Code() {
	case codes.Unavailable, codes.ResourceExhausted, codes.DeadlineExceeded, codes.Aborted, codes.Internal:
		return &codedError{cutbot.Errorf(cutbot.EUNAVAILABLE, "Cloud Build could not %s just now (%s); cutbot will try again", what, s.Code()), err}
	case codes.PermissionDenied, codes.Unauthenticated:
		return &codedError{cutbot.Errorf(cutbot.EUNAUTHORIZED, "Cloud Build refused to %s (%s) in project %s: give cutbot's service account the Cloud Build Editor role (roles/cloudbuild.builds.editor) on %s, and check its credentials", what, s.Code(), c.cfg.Project, c.cfg.Project), err}
	case codes.NotFound:
		return &codedError{cutbot.Errorf(cutbot.ENOTFOUND, "Cloud Build could not %s: not found (%s)", what, s.Message()), err}
	case codes.InvalidArgument, codes.FailedPrecondition:
		return &codedError{cutbot.Errorf(cutbot.EINVALID, "Cloud Build rejected the request to %s: %s", what, s.Message()), err}
	}
	return fmt.Errorf("cloud build: %s: %w", what, err)
}

// codedError is a coded error that keeps the gRPC error underneath for the logs.
type codedError struct {
	coded *cutbot.Error
	cause error
}

func (e *codedError) Error() string   { return e.coded.Message + ": " + e.cause.Error() }
func (e *codedError) Unwrap() []error { return []error{e.coded, e.cause} }

// Timeout is the job's configured timeout, for warnings.
func (c *Client) Timeout(job cutbot.BuildJob) time.Duration {
	if t := c.templates[job]; t != nil && t.Timeout != nil {
		return t.Timeout.AsDuration()
	}
	return 0
}
