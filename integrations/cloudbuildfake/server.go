// Package cloudbuildfake is an in-process fake of Cloud Build's v1 gRPC API, for tests and the
// sandbox: the real cloud.google.com/go/cloudbuild client talks to it over gRPC on loopback.
// It keeps every build, records every request, serves google.longrunning.Operations (the
// client's LRO helpers call it), and moves builds through QUEUED → WORKING (step by step) →
// SUCCESS, FAILURE or CANCELLED, either when a test says so or on a timer (the sandbox).
package cloudbuildfake

import (
	"context"
	"fmt"
	"log"
	"maps"
	"net"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/cloudbuild/apiv1/v2/cloudbuildpb"
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"sigs.k8s.io/cutbot/integrations/fakekit"
)

// Request is one call the fake answered.
type Request struct {
	Method string
	Parent string // CreateBuild, ListBuilds
	Filter string // ListBuilds
	ID     string // GetBuild, CancelBuild
	Build  *cloudbuildpb.Build
}

// Auto makes builds progress on their own, for the sandbox.
type Auto struct {
	Queued time.Duration // time in QUEUED
	Step   time.Duration // time per step
	// Created, if set, hears of every build accepted (a copy), as what the build will have
	// done by its end happens in the world (the sandbox pushes a no-mock stage's images).
	Created func(tags []string, substitutions map[string]string)
}

// Server is a running fake.
type Server struct {
	cloudbuildpb.UnimplementedCloudBuildServer
	longrunningpb.UnimplementedOperationsServer

	grpc *grpc.Server
	lis  net.Listener
	now  func() time.Time

	mu       sync.Mutex
	changes  fakekit.Changes
	builds   map[string]*cloudbuildpb.Build
	order    []string
	ops      map[string]string // operation name → build id
	requests []Request
	faults   map[string][]codes.Code
	auto     *Auto
	failAt   map[string]int // build id → step index where it fails (auto mode)
	failNext []string       // step ids at which the next auto builds fail
	seq      int
}

// New starts a fake on 127.0.0.1 with a free port. now may be nil (time.Now).
func New(now func() time.Time) (*Server, error) {
	if now == nil {
		now = time.Now
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{grpc: grpc.NewServer(), lis: lis, now: now,
		builds: map[string]*cloudbuildpb.Build{}, ops: map[string]string{}, faults: map[string][]codes.Code{}, failAt: map[string]int{}}
	cloudbuildpb.RegisterCloudBuildServer(s.grpc, s)
	longrunningpb.RegisterOperationsServer(s.grpc, s)
	go func() {
		defer func() {
			if p := recover(); p != nil { // a fake's panic is reported, not fatal to the tests
				log.Printf("cloudbuildfake: gRPC server panicked: %v", p)
			}
		}()
		s.grpc.Serve(lis)
	}()
	return s, nil
}

// Addr is the host:port to dial, e.g. for CUTBOT_CLOUDBUILD_ENDPOINT.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Close stops the server.
func (s *Server) Close() { s.grpc.Stop() }

// SetAuto makes builds progress by themselves (nil stops it).
func (s *Server) SetAuto(a *Auto) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.auto = a
}

// FailNextAt makes the next build created (in auto mode) fail at the step with this id.
func (s *Server) FailNextAt(stepID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = append(s.failNext, stepID)
}

// Fault makes the next call of method ("CreateBuild", "GetBuild", ...) fail with code.
func (s *Server) Fault(method string, code codes.Code) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[method] = append(s.faults[method], code)
}

func (s *Server) fault(method string) error {
	q := s.faults[method]
	if len(q) == 0 {
		return nil
	}
	s.faults[method] = q[1:]
	return status.Errorf(q[0], "fake: injected %s", q[0])
}

func (s *Server) notify() { s.changes.Notify() }

// WaitFor blocks until cond holds or ctx ends; cond may call the Server's methods.
func (s *Server) WaitFor(ctx context.Context, cond func() bool) error {
	return s.changes.Wait(ctx, cond)
}

// Requests returns the calls so far, optionally of some methods only.
func (s *Server) Requests(methods ...string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if len(methods) == 0 || slices.Contains(methods, r.Method) {
			out = append(out, r)
		}
	}
	return out
}

// Builds returns copies of every build, oldest first.
func (s *Server) Builds() []*cloudbuildpb.Build {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked()
	out := make([]*cloudbuildpb.Build, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, proto.Clone(s.builds[id]).(*cloudbuildpb.Build))
	}
	return out
}

// Active is the number of builds not yet finished.
func (s *Server) Active() int {
	n := 0
	for _, b := range s.Builds() {
		if !terminal(b.Status) {
			n++
		}
	}
	return n
}

var reParent = regexp.MustCompile(`^projects/([^/]+)/locations/([^/]+)$`)

func (s *Server) CreateBuild(_ context.Context, req *cloudbuildpb.CreateBuildRequest) (*longrunningpb.Operation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notify()
	s.requests = append(s.requests, Request{Method: "CreateBuild", Parent: req.GetParent(), Build: proto.Clone(req.GetBuild()).(*cloudbuildpb.Build)})
	if err := s.fault("CreateBuild"); err != nil {
		return nil, err
	}
	m := reParent.FindStringSubmatch(req.GetParent())
	if m == nil {
		return nil, status.Errorf(codes.InvalidArgument, "parent %q is not projects/*/locations/*", req.GetParent())
	}
	if req.GetProjectId() != "" && req.GetProjectId() != m[1] {
		return nil, status.Errorf(codes.InvalidArgument, "project_id %q does not match parent %q", req.GetProjectId(), req.GetParent())
	}
	if len(req.GetBuild().GetSteps()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "invalid build: no steps")
	}
	for _, t := range req.GetBuild().GetTags() {
		if !reTag.MatchString(t) {
			return nil, status.Errorf(codes.InvalidArgument, "invalid build tag %q: must match %s", t, reTag)
		}
	}
	s.seq++
	id := fmt.Sprintf("%08x-fake-%04d", s.seq*2654435761%(1<<32), s.seq)
	b := proto.Clone(req.GetBuild()).(*cloudbuildpb.Build)
	b.Id, b.ProjectId = id, m[1]
	b.Name = fmt.Sprintf("projects/%s/locations/%s/builds/%s", m[1], m[2], id)
	b.Status = cloudbuildpb.Build_QUEUED
	b.CreateTime = timestamppb.New(s.now())
	b.LogUrl = fmt.Sprintf("https://console.cloud.google.com/cloud-build/builds;region=%s/%s?project=%s", m[2], id, m[1])
	for _, st := range b.Steps {
		st.Status = cloudbuildpb.Build_QUEUED
	}
	if s.auto != nil && len(s.failNext) > 0 {
		for i, st := range b.Steps {
			if st.Id == s.failNext[0] {
				s.failAt[id] = i
			}
		}
		s.failNext = s.failNext[1:]
	}
	s.builds[id] = b
	s.order = append(s.order, id)
	if s.auto != nil && s.auto.Created != nil {
		s.auto.Created(slices.Clone(b.Tags), maps.Clone(b.Substitutions))
	}
	opName := fmt.Sprintf("projects/%s/locations/%s/operations/op-%s", m[1], m[2], id)
	s.ops[opName] = id
	return s.operation(opName, b)
}

var reTag = regexp.MustCompile(`^[\w][\w.-]{0,127}$`)

func (s *Server) operation(name string, b *cloudbuildpb.Build) (*longrunningpb.Operation, error) {
	meta, err := anypb.New(&cloudbuildpb.BuildOperationMetadata{Build: b})
	if err != nil {
		return nil, err
	}
	op := &longrunningpb.Operation{Name: name, Metadata: meta, Done: terminal(b.Status)}
	if op.Done {
		resp, err := anypb.New(b)
		if err != nil {
			return nil, err
		}
		op.Result = &longrunningpb.Operation_Response{Response: resp}
	}
	return op, nil
}

func (s *Server) GetOperation(_ context.Context, req *longrunningpb.GetOperationRequest) (*longrunningpb.Operation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notify() // a test may wait for a request, not only a change
	s.requests = append(s.requests, Request{Method: "GetOperation", ID: req.GetName()})
	s.advanceLocked()
	id, ok := s.ops[req.GetName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "operation %q not found", req.GetName())
	}
	return s.operation(req.GetName(), s.builds[id])
}

func buildID(id, name string) string {
	if id != "" {
		return id
	}
	return name[strings.LastIndex(name, "/")+1:]
}

func (s *Server) GetBuild(_ context.Context, req *cloudbuildpb.GetBuildRequest) (*cloudbuildpb.Build, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := buildID(req.GetId(), req.GetName())
	defer s.notify() // a test may wait for a request, not only a change
	s.requests = append(s.requests, Request{Method: "GetBuild", ID: id})
	if err := s.fault("GetBuild"); err != nil {
		return nil, err
	}
	s.advanceLocked()
	b, ok := s.builds[id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "build %q not found", id)
	}
	return proto.Clone(b).(*cloudbuildpb.Build), nil
}

var reTagFilter = regexp.MustCompile(`^tags\s*=\s*"([^"]*)"$`)

func (s *Server) ListBuilds(_ context.Context, req *cloudbuildpb.ListBuildsRequest) (*cloudbuildpb.ListBuildsResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notify() // a test may wait for a request, not only a change
	s.requests = append(s.requests, Request{Method: "ListBuilds", Parent: req.GetParent(), Filter: req.GetFilter()})
	if err := s.fault("ListBuilds"); err != nil {
		return nil, err
	}
	s.advanceLocked()
	var want string
	if f := strings.TrimSpace(req.GetFilter()); f != "" {
		m := reTagFilter.FindStringSubmatch(f)
		if m == nil {
			return nil, status.Errorf(codes.InvalidArgument, "fake: unsupported filter %q (only tags=\"...\")", f)
		}
		want = m[1]
	}
	resp := &cloudbuildpb.ListBuildsResponse{}
	for i := len(s.order) - 1; i >= 0; i-- { // newest first, as Cloud Build lists
		b := s.builds[s.order[i]]
		if want == "" || slices.Contains(b.Tags, want) {
			resp.Builds = append(resp.Builds, proto.Clone(b).(*cloudbuildpb.Build))
		}
	}
	return resp, nil
}

func (s *Server) CancelBuild(_ context.Context, req *cloudbuildpb.CancelBuildRequest) (*cloudbuildpb.Build, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notify()
	id := buildID(req.GetId(), req.GetName())
	s.requests = append(s.requests, Request{Method: "CancelBuild", ID: id})
	if err := s.fault("CancelBuild"); err != nil {
		return nil, err
	}
	s.advanceLocked()
	b, ok := s.builds[id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "build %q not found", id)
	}
	if !terminal(b.Status) {
		s.finish(b, cloudbuildpb.Build_CANCELLED, -1, "")
	}
	return proto.Clone(b).(*cloudbuildpb.Build), nil
}

func terminal(st cloudbuildpb.Build_Status) bool {
	switch st {
	case cloudbuildpb.Build_SUCCESS, cloudbuildpb.Build_FAILURE, cloudbuildpb.Build_INTERNAL_ERROR,
		cloudbuildpb.Build_TIMEOUT, cloudbuildpb.Build_CANCELLED, cloudbuildpb.Build_EXPIRED:
		return true
	}
	return false
}

// Step makes build id work on step i (0-based): earlier steps succeeded.
func (s *Server) Step(id string, i int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notify()
	b, ok := s.builds[id]
	if !ok || terminal(b.Status) || i >= len(b.Steps) {
		return fmt.Errorf("fake: build %s cannot work on step %d", id, i)
	}
	s.work(b, i)
	return nil
}

func (s *Server) work(b *cloudbuildpb.Build, i int) {
	if b.Status != cloudbuildpb.Build_WORKING {
		b.Status, b.StartTime = cloudbuildpb.Build_WORKING, timestamppb.New(s.now())
	}
	for j, st := range b.Steps {
		switch {
		case j < i:
			st.Status = cloudbuildpb.Build_SUCCESS
		case j == i:
			st.Status = cloudbuildpb.Build_WORKING
		default:
			st.Status = cloudbuildpb.Build_QUEUED
		}
	}
}

// Succeed finishes build id successfully.
func (s *Server) Succeed(id string) error { return s.end(id, cloudbuildpb.Build_SUCCESS, -1, "") }

// Fail finishes build id with a failure at step i.
func (s *Server) Fail(id string, i int, detail string) error {
	return s.end(id, cloudbuildpb.Build_FAILURE, i, detail)
}

func (s *Server) end(id string, st cloudbuildpb.Build_Status, failed int, detail string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notify()
	b, ok := s.builds[id]
	if !ok || terminal(b.Status) {
		return fmt.Errorf("fake: build %s cannot finish", id)
	}
	s.finish(b, st, failed, detail)
	return nil
}

func (s *Server) finish(b *cloudbuildpb.Build, st cloudbuildpb.Build_Status, failed int, detail string) {
	if b.StartTime == nil && st != cloudbuildpb.Build_CANCELLED {
		b.StartTime = timestamppb.New(s.now())
	}
	b.Status, b.FinishTime, b.StatusDetail = st, timestamppb.New(s.now()), detail
	for j, step := range b.Steps {
		switch {
		case st == cloudbuildpb.Build_SUCCESS || (failed >= 0 && j < failed):
			step.Status = cloudbuildpb.Build_SUCCESS
		case j == failed:
			step.Status = cloudbuildpb.Build_FAILURE
		case step.Status == cloudbuildpb.Build_WORKING && st == cloudbuildpb.Build_CANCELLED:
			step.Status = cloudbuildpb.Build_CANCELLED
		}
	}
}

// advanceLocked moves builds along in auto mode, from their creation time.
func (s *Server) advanceLocked() {
	if s.auto == nil {
		return
	}
	now := s.now()
	for _, id := range s.order {
		b := s.builds[id]
		if terminal(b.Status) {
			continue
		}
		elapsed := now.Sub(b.CreateTime.AsTime()) - s.auto.Queued
		if elapsed < 0 {
			continue
		}
		i := int(elapsed / s.auto.Step)
		if at, ok := s.failAt[id]; ok && i >= at {
			s.work(b, at)
			s.finish(b, cloudbuildpb.Build_FAILURE, at, fmt.Sprintf("Build step %d %q failed: step exited with non-zero status: 1", at, b.Steps[at].Id))
			continue
		}
		if i >= len(b.Steps) {
			s.finish(b, cloudbuildpb.Build_SUCCESS, -1, "")
			// It finished when its last step did, not when someone first looked.
			created := b.CreateTime.AsTime()
			b.StartTime = timestamppb.New(created.Add(s.auto.Queued))
			b.FinishTime = timestamppb.New(created.Add(s.auto.Queued + time.Duration(len(b.Steps))*s.auto.Step))
			continue
		}
		s.work(b, i)
	}
}
