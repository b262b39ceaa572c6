package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"tvt/peers/go/internal/protocol"
)

// Server owns the listener and every live connection, so that Shutdown can close them all.
type Server struct {
	opts    Options
	ln      net.Listener
	handle  func(net.Conn)
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	closing bool
	stop    chan struct{}
	wg      sync.WaitGroup // one per live connection goroutine
}

// New prepares a server for the workload in opts on ln.
func New(ln net.Listener, opts Options) (*Server, error) {
	s := &Server{opts: opts, ln: ln, conns: make(map[net.Conn]struct{}), stop: make(chan struct{})}
	timeout := deadline{timeout: opts.IdleTimeout}
	if opts.Workload == protocol.Chat {
		h := newHub(opts.Limits.ChatOutboxBytes)
		s.handle = func(c net.Conn) { serveChat(c, h, opts.Limits.MaxLineBytes, timeout) }
		return s, nil
	}
	newSession, err := protocol.NewSessionFactory(opts.Workload, opts.Limits)
	if err != nil {
		return nil, err
	}
	s.handle = func(c net.Conn) { serveSession(c, newSession(), timeout) }
	return s, nil
}

// Serve accepts until Shutdown. Out of descriptors (or kernel memory) it backs off instead of spinning on a
// listener it cannot accept from, as net/http does; the pause is capped so that accepting resumes soon after
// descriptors free up.
func (s *Server) Serve() error {
	const minPause, maxPause = 5 * time.Millisecond, 100 * time.Millisecond
	pause := time.Duration(0)
	for {
		c, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.stop:
				return nil
			default:
			}
			if !isResourceShortage(err) {
				return err
			}
			pause = clamp(2*pause, minPause, maxPause)
			connLog.printf("accept: %v; pausing %v", err, pause)
			select {
			case <-s.stop:
				return nil
			case <-time.After(pause):
			}
			continue
		}
		pause = 0
		if !s.track(c) {
			c.Close()
			continue
		}
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			s.handle(c)
		}()
	}
}

// Shutdown stops accepting, closes every connection (which ends their reads and writes) and waits at most budget
// for their goroutines. False: some did not finish in time.
func (s *Server) Shutdown(budget time.Duration) bool {
	s.mu.Lock()
	s.closing = true
	close(s.stop)
	s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(budget):
		return false
	}
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

func isResourceShortage(err error) bool {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM} {
		if errors.Is(err, errno) {
			return true
		}
	}
	return false
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

func clamp(d, lo, hi time.Duration) time.Duration {
	if d < lo {
		return lo
	}
	if d > hi {
		return hi
	}
	return d
}

// Listen opens the listening socket. TCP keep-alive probes are off (Go turns them on by default), as on the C++
// back ends: an idle benchmark connection must cost the same timers everywhere.
func Listen(host string, port int) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(context.Background(), "tcp", net.JoinHostPort(host, fmt.Sprint(port)))
	if err != nil {
		return nil, err
	}
	return ln, nil
}

// FileListener serves the listening socket inherited as descriptor fd (a shard of `server --shards N`: the
// supervisor opened it with SO_REUSEPORT). net.FileListener dups it, so the inherited descriptor is closed here.
func FileListener(fd int) (net.Listener, error) {
	f := os.NewFile(uintptr(fd), "listen-fd")
	if f == nil {
		return nil, fmt.Errorf("--listen-fd %d is not a valid descriptor", fd)
	}
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("--listen-fd %d: %w", fd, err)
	}
	tcp, ok := ln.(*net.TCPListener)
	if !ok {
		ln.Close()
		return nil, fmt.Errorf("--listen-fd %d is not a TCP socket", fd)
	}
	return noKeepAliveListener{tcp}, nil
}

// noKeepAliveListener turns keep-alive probes off on every accepted connection: a listener made from a file has no
// ListenConfig, and Go's default (probes on) would give an idle connection timers the C++ back ends do not set.
type noKeepAliveListener struct{ *net.TCPListener }

func (l noKeepAliveListener) Accept() (net.Conn, error) {
	for {
		c, err := l.TCPListener.AcceptTCP()
		if err != nil {
			return nil, err
		}
		if c.SetKeepAlive(false) == nil {
			return c, nil
		}
		c.Close() // reset before it could be set up: the next one
	}
}

// Port is the port ln listens on (the one picked for --port 0).
func Port(ln net.Listener) int {
	if a, ok := ln.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	return 0
}
