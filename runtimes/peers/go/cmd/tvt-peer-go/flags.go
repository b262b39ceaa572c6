package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"tvt/peers/go/internal/protocol"
	"tvt/peers/go/internal/server"
)

type config struct {
	backend string
	host    string
	port    int
	threads int
	// listenFD >= 0: a shard of `server --shards N`, serving the listening socket the supervisor passed
	// (runtimes/server/supervisor.hpp); --host, --port and --shards are then the supervisor's.
	listenFD int
	options  server.Options
}

// parseFlags accepts the options of runtimes/server/main.cpp. --stack-size and --offload are accepted and ignored, as
// by the C++ back ends without threads or fibers (asio, uring): goroutine stacks grow on demand, and compute runs
// inline on the connection's goroutine, which the Go scheduler preempts like any other.
func parseFlags(args []string) (config, error) {
	cfg := config{options: server.Options{Limits: protocol.DefaultLimits()}}
	fs := flag.NewFlagSet("tvt-peer-go", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	l := &cfg.options.Limits
	var idleMS, stackSize int64 // stackSize: parsed so that the server's command line is accepted, then ignored
	var offload bool            // likewise
	fs.StringVar(&cfg.backend, "backend", "", "go or go-mt")
	fs.StringVar(&cfg.backend, "b", "", "go or go-mt")
	fs.StringVar(&cfg.options.Workload, "workload", protocol.HTTP, "echo, http, chat, compute")
	fs.StringVar(&cfg.options.Workload, "w", protocol.HTTP, "echo, http, chat, compute")
	fs.StringVar(&cfg.host, "host", "127.0.0.1", "address to listen on")
	fs.IntVar(&cfg.port, "port", 0, "port to listen on (0 = pick a free one)")
	fs.IntVar(&cfg.port, "p", 0, "port to listen on (0 = pick a free one)")
	fs.Int64Var(&idleMS, "idle-timeout-ms", 0, "close a connection idle, or slow to send a whole request, for this long")
	fs.IntVar(&cfg.threads, "threads", 0, "go-mt: GOMAXPROCS (0 = one per core)")
	fs.IntVar(&l.HTTPBodyBytes, "body-size", l.HTTPBodyBytes, "http: bytes in the 200 response body")
	fs.IntVar(&l.MaxLineBytes, "max-line", l.MaxLineBytes, "echo, chat, compute: longest accepted line")
	fs.IntVar(&l.ChatOutboxBytes, "chat-outbox-bytes", l.ChatOutboxBytes, "chat: bytes queued per connection")
	fs.IntVar(&l.MaxHeaderBytes, "max-header-bytes", l.MaxHeaderBytes, "http: largest header section")
	fs.IntVar(&l.MaxHeaderFields, "max-header-fields", l.MaxHeaderFields, "http: most header fields")
	var shards int // the supervisor's option, passed on to every shard with the rest of its command line
	fs.IntVar(&shards, "shards", 1, "processes on one port (the supervisor, runtimes/server, starts them)")
	fs.IntVar(&cfg.listenFD, "listen-fd", -1, "a shard: serve this listening socket instead of opening one")
	fs.Int64Var(&stackSize, "stack-size", 0, "ignored: goroutine stacks grow on demand")
	fs.BoolVar(&offload, "offload", false, "ignored: compute runs inline on its goroutine")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	switch {
	case fs.NArg() > 0:
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case cfg.backend != "go" && cfg.backend != "go-mt":
		return cfg, fmt.Errorf("unknown --backend %q (have: go, go-mt)", cfg.backend)
	case !knownWorkload(cfg.options.Workload):
		return cfg, fmt.Errorf("unknown --workload %q", cfg.options.Workload)
	case idleMS < 0, cfg.threads < 0, cfg.port < 0 || cfg.port > 65535, stackSize < 0:
		return cfg, errors.New("--idle-timeout-ms, --threads and --port must be non-negative (port at most 65535)")
	case shards < 1 || shards > 1024:
		return cfg, errors.New("--shards must be in [1, 1024]")
	case shards > 1 && cfg.listenFD < 0:
		// server's main starts the supervisor before it execs a peer: a peer sees --shards only with its socket.
		return cfg, errors.New("--shards > 1 needs --listen-fd (run it through `server --shards N`)")
	case l.ChatOutboxBytes < 256 || l.ChatOutboxBytes > 1<<30:
		return cfg, errors.New("--chat-outbox-bytes must be in [256, 1073741824]")
	case l.HTTPBodyBytes < 0 || l.MaxLineBytes < 0 || l.MaxHeaderBytes < 0 || l.MaxHeaderFields < 0:
		return cfg, errors.New("sizes must be non-negative")
	}
	cfg.options.IdleTimeout = time.Duration(idleMS) * time.Millisecond
	return cfg, nil
}

func knownWorkload(w string) bool {
	switch w {
	case protocol.Echo, protocol.HTTP, protocol.Chat, protocol.Compute:
		return true
	}
	return false
}
