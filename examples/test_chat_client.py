#!/usr/bin/env python3
"""chat_client against `server --workload chat` of every registered back end (issue 16's acceptance):

- two clients in one group see each other's messages;
- after `/leave` a client gets none of that group's messages (checked by order, not by waiting: the leaver's next
  ack follows anything the hub could still have queued for it);
- a line over the server's --max-line is refused as the protocol says (the server closes that connection): the
  client says so and exits 0, and the other client carries on;
- a client exits 0 at the end of its input, and when the server goes away.

  test_chat_client.py CHAT_CLIENT SERVER [BACKEND...]     (default: every back end `server --list-backends` prints)
Stdlib only. Every wait is bounded.
"""
import json
import queue
import re
import subprocess
import sys
import threading
import time
import unittest

CHAT_CLIENT, SERVER = sys.argv[1], sys.argv[2]
# A close with unread input pending reaches the client as a reset; either way the client says the server closed.
SERVER_CLOSED = re.compile(r"\* the server closed the connection( \(.*\))?")
MAX_LINE = 1024
WAIT_S = 10


class Client:
    """A running chat_client with its stdout lines in a queue."""

    def __init__(self, port):
        self.proc = subprocess.Popen([CHAT_CLIENT, "127.0.0.1", str(port)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)  # end of output

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def expect(self, wanted):
        """Waits for a line equal to `wanted` (or matching it, if it is a compiled regex); returns the lines that
        came before it."""
        before = []
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                raise AssertionError(f"client ended before {wanted!r}; saw {self.seen + before}")
            if line == wanted or (isinstance(wanted, re.Pattern) and wanted.fullmatch(line)):
                self.seen += before + [line]
                return before
            before.append(line)
        raise AssertionError(f"no {wanted!r} within {WAIT_S} s; saw {self.seen + before}")

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                pipe.close()
            except (BrokenPipeError, ValueError):
                pass

    def exit_code(self):
        try:
            return self.proc.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return "still running"


class Server:
    def __init__(self, backend):
        self.proc = subprocess.Popen([SERVER, "--backend", backend, "--workload", "chat", "--port", "0",
                                      "--max-line", str(MAX_LINE)], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        match = re.search(r"ready port=(\d+)", line)
        if not match:
            self.proc.kill()
            raise AssertionError(f"server {backend} did not get ready: {line!r}")
        self.port = int(match.group(1))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(timeout=WAIT_S)


def backends():
    if len(sys.argv) > 3:
        return sys.argv[3:]
    out = subprocess.run([SERVER, "--list-backends"], stdout=subprocess.PIPE, text=True, check=True).stdout
    return [json.loads(line)["name"] for line in out.splitlines() if line.strip()]  # JSON Lines (docs/CONTRACTS.md)


class ChatClientTest(unittest.TestCase):
    def conversation(self, backend):
        server = Server(backend)
        a, b = Client(server.port), Client(server.port)
        clients = [a, b]
        try:
            a.send("/join seed")
            a.expect("* joined seed")
            b.send("/join seed")
            b.expect("* joined seed")
            a.send("hello from a")
            b.expect("[seed] hello from a")
            a.expect("[seed] hello from a")  # the sender is a member too
            b.send("hello from b")
            a.expect("[seed] hello from b")

            b.send("/leave seed")
            b.expect("* left seed")
            a.send("after b left")
            a.expect("[seed] after b left")
            b.send("/join other")  # its ack comes after anything still queued for b
            stray = b.expect("* joined other")
            self.assertEqual(stray, [], "b got messages of a group it had left")

            a.send("x" * (2 * MAX_LINE))  # over --max-line: the protocol says the server closes the connection
            a.expect(SERVER_CLOSED)
            self.assertEqual(a.exit_code(), 0)

            b.send("/join seed")
            b.expect("* joined seed")
            b.send("still here")
            b.expect("[seed] still here")
            b.proc.stdin.close()  # end of input: a clean exit
            self.assertEqual(b.exit_code(), 0)

            c = Client(server.port)
            clients.append(c)
            c.send("/join seed")
            c.expect("* joined seed")
            self.assertEqual(server.stop(), 0)  # the server goes: the client notices and exits
            c.expect(SERVER_CLOSED)
            self.assertEqual(c.exit_code(), 0)
        finally:
            for client in clients:
                client.close()
            server.stop()
            server.proc.stdout.close()

    def test_every_backend(self):
        names = backends()
        self.assertGreaterEqual(len(names), 3)
        for backend in names:
            with self.subTest(backend=backend):
                self.conversation(backend)
                print(f"chat_client against {backend}: ok", flush=True)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
