package handlers

import (
	"context"
	"runtime/debug"
	"sync"
)

// lanes own the cuts. Every change to a cut, whatever it comes from (a command, a button, a
// poll tick, a GitHub watch, a freeze writing to the cut's thread, the resume at start), is
// a job on that cut's lane; a lane runs one job at a time, in the order they arrived, so no
// two writers ever race on one cut. Lanes of different cuts run side by side. The key of a
// cut's lane is its version (a version has at most one active cut); a branch's freezes have
// the lane "freeze:" + branch.
//
// A named job (a poll, a settle) is not queued twice: while one is waiting, a second of the
// same name and key is dropped, so ticks never pile up behind a slow cut. A panic in a job is
// recovered, handed to onPanic (which logs it and marks the cut for a person), and the lane
// goes on.
type lanes struct {
	onPanic func(key string, p any, stack []byte)
	// after runs after every job on the lane of key (shows what the job changed, once).
	after func(key string)

	mu      sync.Mutex
	queues  map[string]*lane
	allIdle chan struct{} // closed while no lane has work
}

type lane struct {
	jobs    []job
	waiting map[string]bool // names of named jobs queued and not yet started
	idle    chan struct{}   // closed when the lane has nothing left
}

type job struct {
	name string
	fn   func()
	done chan struct{} // closed when fn has returned (or panicked)
}

// goAsync queues fn on the lane of key and returns at once. A job with a name is dropped if
// one of that name is already waiting on the lane.
func (l *lanes) goAsync(key, name string, fn func()) {
	l.enqueue(key, name, fn)
}

// do runs fn on the lane of key and waits for it (or for ctx). It reports whether fn ran to
// its end without a panic.
func (l *lanes) do(ctx context.Context, key string, fn func()) (completed bool, err error) {
	finished := false
	done := l.enqueue(key, "", func() { fn(); finished = true })
	select {
	case <-done:
		return finished, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

func (l *lanes) enqueue(key, name string, fn func()) chan struct{} {
	done := make(chan struct{})
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.queues == nil {
		l.queues = map[string]*lane{}
	}
	q := l.queues[key]
	if q == nil {
		if len(l.queues) == 0 {
			l.allIdle = make(chan struct{})
		}
		q = &lane{waiting: map[string]bool{}, idle: make(chan struct{})}
		l.queues[key] = q
		go l.drain(key, q)
	}
	if name != "" {
		if q.waiting[name] {
			close(done)
			return done
		}
		q.waiting[name] = true
	}
	q.jobs = append(q.jobs, job{name: name, fn: fn, done: done})
	return done
}

// drain runs the lane's jobs until there are none left, then retires the lane.
func (l *lanes) drain(key string, q *lane) {
	for {
		l.mu.Lock()
		if len(q.jobs) == 0 {
			delete(l.queues, key)
			close(q.idle)
			if len(l.queues) == 0 {
				close(l.allIdle)
			}
			l.mu.Unlock()
			return
		}
		j := q.jobs[0]
		q.jobs = q.jobs[1:]
		if j.name != "" {
			delete(q.waiting, j.name)
		}
		l.mu.Unlock()
		l.run(key, j)
	}
}

func (l *lanes) run(key string, j job) {
	defer close(j.done)
	if l.after != nil {
		defer l.after(key)
	}
	defer func() {
		if p := recover(); p != nil && l.onPanic != nil {
			stack := debug.Stack()
			func() {
				defer func() { recover() }() // the handler of a panic must not take the lane down either
				l.onPanic(key, p, stack)
			}()
		}
	}()
	j.fn()
}

// idle waits until the lane of key has run everything queued on it so far and more.
func (l *lanes) idle(ctx context.Context, key string) error {
	for {
		l.mu.Lock()
		q := l.queues[key]
		l.mu.Unlock()
		if q == nil {
			return nil
		}
		select {
		case <-q.idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// wait waits until every lane is idle, or ctx ends.
func (l *lanes) wait(ctx context.Context) error {
	for {
		l.mu.Lock()
		if len(l.queues) == 0 {
			l.mu.Unlock()
			return nil
		}
		all := l.allIdle
		l.mu.Unlock()
		select {
		case <-all:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// quiet reports whether no lane has work.
func (l *lanes) quiet() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.queues) == 0
}
