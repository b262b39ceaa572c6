package server

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// rateLimitedLog writes at most burst lines per second to stderr and then says how many it suppressed, so a flood
// of bad clients cannot turn the server into a log writer (the C++ net::RateLimitedLog rule).
type rateLimitedLog struct {
	mu         sync.Mutex
	window     time.Time
	written    int
	suppressed int
}

const logBurst = 10

var connLog rateLimitedLog

func (l *rateLimitedLog) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if now.Sub(l.window) >= time.Second {
		if l.suppressed > 0 {
			fmt.Fprintf(os.Stderr, "tvt-peer-go: %d similar lines suppressed\n", l.suppressed)
		}
		l.window, l.written, l.suppressed = now, 0, 0
	}
	if l.written >= logBurst {
		l.suppressed++
		return
	}
	l.written++
	fmt.Fprintf(os.Stderr, "tvt-peer-go: "+format+"\n", args...)
}
