// Package fakekit holds what cutbot's fakes of outside systems share.
package fakekit

import (
	"context"
	"sync"
)

// Changes lets tests wait for a fake's state to change. The zero value is ready to use.
type Changes struct {
	mu sync.Mutex
	ch chan struct{}
}

func (c *Changes) current() chan struct{} {
	if c.ch == nil {
		c.ch = make(chan struct{})
	}
	return c.ch
}

// Notify wakes everyone waiting.
func (c *Changes) Notify() {
	c.mu.Lock()
	defer c.mu.Unlock()
	close(c.current())
	c.ch = make(chan struct{})
}

// Wait blocks until cond holds or ctx ends; cond is checked now and after every Notify.
func (c *Changes) Wait(ctx context.Context, cond func() bool) error {
	for {
		c.mu.Lock()
		ch := c.current()
		c.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
