package protocol

import "fmt"

// Session is one connection's protocol state: bytes in, replies appended to out.
type Session interface {
	Consume(in []byte, out *Reply) Verdict
	// CloseReason is why the session asked to close ("" for an orderly close such as Connection: close).
	CloseReason() string
	// HasPartial is true while a request is half-received (for the slowloris rule).
	HasPartial() bool
}

// Workload names, as `server --list-workloads` prints them.
const (
	Echo    = "echo"
	HTTP    = "http"
	Chat    = "chat"
	Compute = "compute"
)

// NewSessionFactory maps a request-reply workload name to its session constructor. Chat is not a Session: its
// state lives in the server's hub.
func NewSessionFactory(workload string, limits Limits) (func() Session, error) {
	switch workload {
	case Echo:
		return func() Session { return NewEchoSession(limits) }, nil
	case HTTP:
		replies := NewHTTPReplies(limits)
		return func() Session { return NewHTTPSession(replies) }, nil
	case Compute:
		return func() Session { return NewComputeSession(limits) }, nil
	}
	return nil, fmt.Errorf("no request-reply session for workload %q", workload)
}
