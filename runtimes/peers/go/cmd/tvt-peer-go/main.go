// Command tvt-peer-go is the Go peer back end: `server --backend go|go-mt ...` execs it with the same command line.
// It serves one workload with a goroutine per connection until SIGINT/SIGTERM, printing exactly one stdout line,
// "ready port=<p> pid=<pid>", once the socket listens (runtimes/peers/README.md has the contract).
package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"tvt/peers/go/internal/server"
)

// gracefulStopBudget matches runtimes/server/main.cpp: exit within 2 s of the signal, exit 3 if serving overran.
const gracefulStopBudget = 1800 * time.Millisecond

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "tvt-peer-go: %v\n", err)
		os.Exit(2)
	}
	// go: one P, the single-threaded model; go-mt: one P per core unless --threads says otherwise.
	switch {
	case cfg.backend == "go":
		runtime.GOMAXPROCS(1)
	case cfg.threads > 0:
		runtime.GOMAXPROCS(cfg.threads)
	}

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)

	var ln net.Listener
	if cfg.listenFD >= 0 {
		ln, err = server.FileListener(cfg.listenFD)
	} else {
		ln, err = server.Listen(cfg.host, cfg.port)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "tvt-peer-go: %v\n", err)
		os.Exit(1)
	}
	srv, err := server.New(ln, cfg.options)
	if err != nil {
		fmt.Fprintf(os.Stderr, "tvt-peer-go: %v\n", err)
		os.Exit(1)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	fmt.Printf("ready port=%d pid=%d\n", server.Port(ln), os.Getpid())

	select {
	case <-signals:
	case err := <-served: // the listener failed on its own
		fmt.Fprintf(os.Stderr, "tvt-peer-go: accept: %v\n", err)
		srv.Shutdown(gracefulStopBudget)
		os.Exit(1)
	}
	if !srv.Shutdown(gracefulStopBudget) {
		fmt.Fprintf(os.Stderr, "tvt-peer-go: graceful stop took longer than %v; exiting\n", gracefulStopBudget)
		os.Exit(3)
	}
}
