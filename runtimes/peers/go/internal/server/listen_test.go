package server

import (
	"net"
	"os"
	"syscall"
	"testing"
)

// A shard's socket (server --shards N): FileListener serves the descriptor it is given, with keep-alive probes off on
// what it accepts (a listener made from a file has no ListenConfig to say so), and refuses what is not a TCP socket.
func TestFileListenerServesTheInheritedSocket(t *testing.T) {
	ln, err := Listen("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	fd, err := syscall.Dup(int(f.Fd())) // FileListener takes this one over; f and ln keep theirs
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	inherited, err := FileListener(fd)
	if err != nil {
		t.Fatal(err)
	}
	defer inherited.Close()
	ln.Close() // the inherited descriptor alone listens now
	if Port(inherited) == 0 {
		t.Fatal("no port")
	}
	client, err := net.Dial("tcp", inherited.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c, err := inherited.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	keepAlive := -1
	if err := raw.Control(func(s uintptr) {
		keepAlive, _ = syscall.GetsockoptInt(int(s), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
	}); err != nil {
		t.Fatal(err)
	}
	if keepAlive != 0 {
		t.Fatalf("SO_KEEPALIVE = %d on an accepted connection, want 0", keepAlive)
	}
}

func TestFileListenerRefusesWhatIsNotATCPSocket(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "not-a-socket")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if ln, err := FileListener(fd); err == nil {
		ln.Close()
		t.Fatal("a regular file was accepted as a listening socket")
	}
}
