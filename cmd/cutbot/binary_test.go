package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var built struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// cutbotBinary builds cmd/cutbot once per test run and returns the binary's path: the tests
// that use it run the program exactly as it ships.
func cutbotBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "cutbot-bin-"); built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "cutbot")
		if out, err := exec.Command("go", "build", "-o", built.path, ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// process is a running cutbot binary and what it logged.
type process struct {
	t    *testing.T
	cmd  *exec.Cmd
	logs syncBuffer
	done chan error
}

// environ is the environment a binary gets: only what the test gives it (and PATH, HOME), so
// nothing from the machine running the tests leaks in.
func environ(vars map[string]string) []string {
	out := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	return out
}

// startBinary runs `cutbot args...` with vars as its whole configuration.
func startBinary(t *testing.T, vars map[string]string, args ...string) *process {
	t.Helper()
	p := &process{t: t, cmd: exec.Command(cutbotBinary(t), args...), done: make(chan error, 1)}
	p.cmd.Env = environ(vars)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s := bufio.NewScanner(stderr)
		for s.Scan() {
			fmt.Fprintln(&p.logs, s.Text())
		}
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
		}
	})
	return p
}

var sigterm = syscall.SIGTERM

// stop sends SIGTERM and expects a clean exit within timeout.
func (p *process) stop(timeout time.Duration) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sigterm); err != nil {
		p.t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			p.t.Fatalf("cutbot exited with %v after SIGTERM:\n%s", err, p.logs.String())
		}
	case <-time.After(timeout):
		p.cmd.Process.Kill()
		p.t.Fatalf("cutbot did not stop within %s of SIGTERM:\n%s", timeout, p.logs.String())
	}
}

// waitLog waits until the process has logged a line containing s.
func (p *process) waitLog(ctx context.Context, s string) {
	p.t.Helper()
	for !strings.Contains(p.logs.String(), s) {
		select {
		case err := <-p.done:
			p.t.Fatalf("cutbot exited (%v) before logging %q:\n%s", err, s, p.logs.String())
		case <-ctx.Done():
			p.t.Fatalf("cutbot did not log %q:\n%s", s, p.logs.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
